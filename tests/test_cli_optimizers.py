"""``symlearn optimizers``, run as a user runs it: ``python -m symlearn optimizers ...``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The names the issue requires (torch.optim's, lowercase), and their torch.optim classes.
TORCH_NAMES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adadelta": "Adadelta",
               "adam": "Adam", "adamw": "AdamW", "nadam": "NAdam"}


def run(*args):
    return subprocess.run([sys.executable, "-m", "symlearn", "optimizers", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_lists_every_optimizer_with_its_rule():
    done = run()
    assert done.returncode == 0, done.stderr
    blocks = done.stdout.strip().split("\n\n")
    assert [block.split("(")[0] for block in blocks] == list(TORCH_NAMES)
    for block, (name, torch_name) in zip(blocks, TORCH_NAMES.items()):
        assert f"[torch.optim.{torch_name}]" in block.splitlines()[0]
        assert "theta_{t+1} = dtheta_t + theta_t" in block
    adam = blocks[list(TORCH_NAMES).index("adam")]
    assert "m_{t+1} = " in adam and "v_{t+1} = " in adam and "sqrt(vhat_{t+1})" in adam
    assert "betas=(0.9, 0.999), eps=1e-08" in adam  # torch.optim.Adam's defaults


def test_latex():
    done = run("adam", "--latex")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("adam(")
    assert r"\hat{m}_{t+1} = \frac{m_{t+1}}{1 - \beta_{1}^{t + 1}}" in done.stdout
    assert r"\sqrt{\hat{v}_{t+1}}" in done.stdout
    assert "sgd(" not in done.stdout


@pytest.mark.parametrize("names", [("adamm",), ("sgd", "lbfgs")])
def test_unknown_name_is_one_line_exit_2(names):
    done = run(*names)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and repr(names[-1]) in lines[0] and "adam" in lines[0]
    assert done.stdout == ""
