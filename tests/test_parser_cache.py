"""The parser's DFA cache (``symlearn._parser_cache``) and SLL-first parsing (``symlearn.parse``).

Both only make parsing faster; these tests check that they never make it different: the same
SymPy trees and the same error messages, cold, warm from the cache, or predicted in LL mode.
The DFA is process-wide, so the cache is exercised in fresh processes.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

import symlearn.parse as parse
from symlearn import _parser_cache

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_verify import CORPUS  # noqa: E402  (the issue-6 corpus: course formulas)

FORMULAS = sorted({text for case in CORPUS for text in (case.loss, case.claim)}) + [
    r"\frac{\partial}{\partial w_1}(w_1^2 x_1)", r"\sum_{i=1}^{3} x_i", r"\max(0, x) + |y|",
    r"\sqrt{x^2+1}\cdot\tanh^2(x)", r"\log_2 x + \operatorname{relu}(z)", r"2\frac{x}{y}",
]
MALFORMED = [r"\frac12", "x_", "(x", r"\sigma'(z)", "x = 1", "x + y; z", "a,b", r"x + \foo",
             r"\frac{\partial L}{\partial w}", "x^", r"\frac{1}{", "1 + * 2", r"\sqrt{}"]

SCRIPT = r"""
import json, sys
import sympy as sp
from symlearn import _parser_cache
from symlearn.parse import parse_latex, ParseError
loaded = _parser_cache.load()
before = _parser_cache.dfa_size()
out = {}
for text in json.loads(sys.argv[1]):
    try:
        out[text] = sp.srepr(parse_latex(text))
    except ParseError as error:
        out[text] = "error: " + str(error)
if sys.argv[2] == "warm-up":
    _parser_cache.warm_up()
saved = _parser_cache.save_if_grown()
print(json.dumps({"loaded": loaded, "before": before, "after": _parser_cache.dfa_size(),
                  "saved": saved, "results": out}))
"""


def run(texts, cache_dir, mode="plain"):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMLEARN_CACHE_DIR=str(cache_dir))
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(texts), mode],
                            capture_output=True, text=True, env=env, timeout=300, check=True)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def cold():
    """Every formula parsed with the cache off (an empty SYMLEARN_CACHE_DIR)."""
    return run(FORMULAS + MALFORMED, "")


def test_cache_off_writes_nothing(cold, tmp_path):
    assert cold["loaded"] is False and cold["saved"] is False
    assert run(["x"], "")["saved"] is False


def test_warm_results_equal_cold_results(cold, tmp_path):
    first = run(FORMULAS[:3], tmp_path, mode="warm-up")  # no file yet: build and save it
    assert first["loaded"] is False and first["saved"] is True
    files = list(tmp_path.glob("latex-parser-dfa-*.pickle"))
    assert len(files) == 1 and not list(tmp_path.glob(".*"))  # no temporary file left
    warm = run(FORMULAS + MALFORMED, tmp_path)
    assert warm["loaded"] is True and warm["before"] >= first["after"] > 0
    assert warm["results"] == cold["results"]  # the same trees and the same error messages
    again = run(FORMULAS + MALFORMED, tmp_path)  # the states the last run added were saved
    assert again["loaded"] is True and again["saved"] is False
    assert again["before"] == again["after"] and again["results"] == cold["results"]


def test_corrupt_or_foreign_cache_is_ignored(cold, tmp_path):
    run(["x"], tmp_path)
    (path,) = tmp_path.glob("latex-parser-dfa-*.pickle")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated
    result = run(FORMULAS + MALFORMED, tmp_path)
    assert result["loaded"] is False and result["results"] == cold["results"]
    path.write_bytes(b"not a pickle")
    assert run(FORMULAS[:5], tmp_path)["loaded"] is False


def test_a_hostile_pickle_runs_no_code(tmp_path):
    """Only the ANTLR runtime's DFA classes may be unpickled: a pickle that would call
    os.system (a REDUCE on a global) is refused before anything runs."""
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    run(["x"], tmp_path)
    (path,) = tmp_path.glob("latex-parser-dfa-*.pickle")
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        parser, lexer = _parser_cache._recognizers()
        _parser_cache._loads(path.read_bytes(), parser, lexer)
    result = run(FORMULAS[:3], tmp_path)  # (which then replaces the file with a good cache)
    assert result["loaded"] is False and not marker.exists()


def test_cache_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMLEARN_CACHE_DIR", str(tmp_path))
    assert _parser_cache.cache_path().parent == tmp_path
    monkeypatch.setenv("SYMLEARN_CACHE_DIR", "")
    assert _parser_cache.cache_path() is None
    monkeypatch.delenv("SYMLEARN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _parser_cache.cache_path().parent == tmp_path / "symlearn"


@pytest.mark.parametrize("text", FORMULAS + MALFORMED)
def test_sll_first_parsing_equals_ll_parsing(text, monkeypatch):
    """ANTLR's guarantee, checked on the course's formulas: an SLL parse returns LL's tree or
    fails (and then LL decides, so errors are LL's)."""

    def outcome():
        try:
            return sp.srepr(parse.parse_latex(text))
        except parse.ParseError as error:
            return f"error: {error}"

    default = outcome()
    ll_only = parse._convert
    monkeypatch.setattr(parse, "_convert", lambda canonical, sll: ll_only(canonical, sll=False))
    assert outcome() == default
