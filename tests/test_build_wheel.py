"""A non-editable install (a wheel) lists, derives and builds the bundled derivations: the
sources ship as data in ``<prefix>/share/symlearn/derivations``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_install_finds_the_bundled_derivations(tmp_path):
    pytest.importorskip("setuptools")
    source = tmp_path / "src"  # a copy: building must not write into the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("symlearn", "derivations"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(wheels)], capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("symlearn-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "SYMLEARN_DERIVATIONS"}}
    elsewhere = tmp_path / "elsewhere"  # no ./derivations here
    elsewhere.mkdir()

    def symlearn(*args):
        return subprocess.run([str(python), "-m", "symlearn", *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    where = subprocess.run([str(python), "-c", "import symlearn; print(symlearn.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert str(venv) in where.stdout  # the wheel's copy, not the checkout
    listed = symlearn("list")
    assert listed.returncode == 0, listed.stderr
    data = venv / "share" / "symlearn" / "derivations"
    assert f"loading derivation sources from {data}" in listed.stderr
    for name in ("chain-rule-basics", "sigmoid-neuron", "mse-loss", "adam"):
        assert name in listed.stdout
    shipped = {p.name for p in data.glob("*.py")}
    assert shipped == {p.name for p in (ROOT / "derivations").glob("*.py")}
    derived = symlearn("derive", "chain-rule-basics", "--format", "md", "-o", str(tmp_path / "o"))
    assert derived.returncode == 0, derived.stderr
    assert (tmp_path / "o" / "chain-rule-basics.md").stat().st_size > 0
