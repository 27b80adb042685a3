"""The public API: every exported name resolves, and importing symlearn stays light."""

import subprocess
import sys

import symlearn


def test_every_public_name_resolves():
    for name in symlearn.__all__:
        assert getattr(symlearn, name) is not None, name


def test_import_does_not_load_sympy():
    code = "import sys, symlearn, symlearn.cli; print('sympy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
