"""The command line: list, derive, build; unknown names; exit codes; no tracebacks."""

import subprocess
import sys
from pathlib import Path

import pytest

from symlearn.cli import main
from symlearn.render import tex_engine

ROOT = Path(__file__).resolve().parent.parent
FOUNDATION = ["chain-rule-basics", "sigmoid-neuron", "normal-equations", "nonlinear-first-order",
              "information-theory"]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "symlearn", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)


def test_list_names_every_foundation_derivation(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in FOUNDATION:
        assert name in out


def test_unknown_name_is_one_sentence_and_exit_2():
    done = run("derive", "sigmoid-nueron")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "sigmoid-neuron" in done.stderr  # the close match
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("loading derivation sources from ")  # said before running them
    assert len(lines) == 2


def test_derive_writes_markdown(tmp_path):
    done = run("derive", "chain-rule-basics", "--format", "md", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "chain-rule-basics.md").read_text()
    assert "\\frac{\\partial f}{\\partial x}" in md


@pytest.mark.parametrize("below", [False, True])
def test_derive_refuses_an_output_that_is_a_file_before_any_work(tmp_path, below):
    blocker = tmp_path / "taken.md"
    blocker.write_text("keep me")
    output = blocker / "sub" if below else blocker
    done = run("derive", "chain-rule-basics", "--format", "md", "-o", str(output))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(blocker) in lines[0], done.stderr
    assert "loading derivation sources" not in done.stderr  # refused before running any source
    assert blocker.read_text() == "keep me"


def test_wrong_step_makes_build_fail_naming_the_step(tmp_path):
    source = tmp_path / "derivations"
    source.mkdir()
    (source / "broken.py").write_text(
        '"""A derivation with a planted slip."""\n'
        "import sympy as sp\n"
        "from symlearn import Derivation, Step, sigmoid\n"
        "z = sp.Symbol('z')\n"
        "def build():\n"
        "    return Derivation('broken', 'Broken').steps(\n"
        "        Step(sp.Derivative(sigmoid(z), z), sigmoid(z) * (1 - sigmoid(z)), 'fdiff'),\n"
        "        Step(sp.Derivative(sigmoid(z), z), sigmoid(z) ** 2, 'the slip'))\n"
    )
    done = run("build", "--source", str(source), "-o", str(tmp_path / "out"), "--format", "md")
    assert done.returncode == 1
    assert "step 2 of 'broken'" in done.stderr and "the slip" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "broken.md").exists()


@pytest.mark.skipif(tex_engine() is None, reason="no TeX engine installed")
def test_build_foundation_with_pdf(tmp_path):
    done = run("build", "-o", str(tmp_path), "--only", *FOUNDATION)
    assert done.returncode == 0, done.stderr
    for name in FOUNDATION:
        for suffix in (".tex", ".md", ".pdf"):
            assert (tmp_path / f"{name}{suffix}").stat().st_size > 0
    assert "built 5 of 5 derivations" in done.stdout


def test_python_dash_m_help():
    done = run("--help")
    assert done.returncode == 0 and "derive" in done.stdout and "build" in done.stdout
