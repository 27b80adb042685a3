"""The parser's DFA cache (``symlearn._parser_cache``) and SLL-first parsing (``symlearn.parse``).

Both only make parsing faster; these tests check that they never make it different: the same
SymPy trees and the same error messages, cold, warm from the cache, or predicted in LL mode.
The DFA is process-wide, so the cache is exercised in fresh processes.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sympy as sp

from symlearn import _parser_cache, parse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_verify import CORPUS

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
path = _parser_cache.cache_path()
print(json.dumps({"loaded": loaded, "before": before, "after": _parser_cache.dfa_size(),
                  "saved": saved, "results": out, "dropped": _parser_cache.dropped,
                  "healthy": path is not None and _parser_cache.healthy(path)}))
"""


def run(texts, cache_dir, mode="plain", timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMLEARN_CACHE_DIR=str(cache_dir))
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(texts), mode],
                            capture_output=True, text=True, env=env, timeout=timeout, check=True)
    assert "Traceback" not in result.stderr
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


# -- damage, and a cache that heals (issue 11) ---------------------------------------------------
# Each damaged cache is used by a fresh process, which must give cold's results: a few formulas
# (the course's gradients and a malformed one) keep 52 processes within the test's time.
SAMPLE = FORMULAS[:2] + MALFORMED[:1]
FLIP_SAMPLE = FORMULAS[:1] + MALFORMED[:1]


@pytest.fixture(scope="module")
def good_cache(tmp_path_factory):
    """A healthy cache file built from the warm-up formulas (bytes, and its file name)."""
    directory = tmp_path_factory.mktemp("good-cache")
    first = run(["x"], directory, mode="warm-up")
    assert first["saved"] is True and first["healthy"] is True
    (path,) = directory.glob("latex-parser-dfa-*.pickle")
    return path.read_bytes(), path.name


def damaged_variants(data: bytes, count: int = 52) -> list[bytes]:
    """Seeded: bit flips anywhere (header, checksum, pickle) and truncations at any length."""
    rng = random.Random(11)
    variants = []
    for k in range(count):
        if k % 4 == 3:
            variants.append(data[: rng.randrange(len(data))])
        else:
            flipped = bytearray(data)
            position = rng.randrange(len(data)) if k % 8 else rng.randrange(64)  # some in header
            flipped[position] ^= 1 << rng.randrange(8)
            variants.append(bytes(flipped))
    return variants


def test_bit_flipped_and_truncated_caches_heal(cold, good_cache, tmp_path):
    """52 damaged cache files: none passes the checksum (every flip and every truncation is
    caught, checked here in-process); 8 of them (flips in the header, the checksum and the pickle,
    and truncations) each in a fresh process: ignored, every formula gives cold's tree or error,
    and after the run the file on disk is a healthy cache again. (All 52 in fresh processes cost
    about three CPU-minutes and add nothing the checksum test does not show.)"""
    data, name = good_cache
    expected = {text: cold["results"][text] for text in FLIP_SAMPLE}
    for variant in damaged_variants(data):  # the check itself, in this process
        (tmp_path / name).write_bytes(variant)
        assert _parser_cache._read_verified(tmp_path / name) is None

    def one(k_variant):
        k, variant = k_variant
        directory = tmp_path / f"damaged-{k}"
        directory.mkdir()
        (directory / name).write_bytes(variant)
        return run(FLIP_SAMPLE, directory, timeout=120)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, enumerate(damaged_variants(data)[:8])))
    assert len(results) == 8
    for result in results:
        assert result["loaded"] is False  # ignored as if absent...
        assert result["results"] == expected  # ...so parsed cold, identically
        assert result["saved"] is True and result["healthy"] is True  # and replaced by a good one


def rewrite_blobs(data: bytes, damage) -> bytes:
    """The cache with its states' blobs changed by ``damage(k, rows)`` and a valid checksum: the
    damage a faulty writer would make, which the checksum cannot see."""
    parser, lexer = _parser_cache._recognizers()
    body = data[len(_parser_cache._MAGIC) + 32:]  # the magic, then a SHA-256 digest
    header, lexer_dfas, records = _parser_cache._Unpickler(
        __import__("io").BytesIO(body), parser, lexer).load()
    new_records = []
    for record in records:
        if record is None:
            new_records.append(None)
            continue
        members, s0, rows = record
        new_records.append((members, s0, [damage(rows, i) for i in range(len(rows))]))
    fresh = _parser_cache._dumps((header, lexer_dfas, new_records), parser, lexer)
    return _parser_cache._framed(fresh)


@pytest.mark.parametrize("kind", ["truncated", "swapped", "garbage"])
def test_undecodable_states_are_dropped_and_never_saved_back(cold, good_cache, tmp_path, kind):
    """Blobs that do not decode (truncated, not a pickle) or decode to another state's
    configurations (swapped: caught by the state's recorded hash), behind a valid checksum: the
    cache loads, each damaged state that a parse reads is dropped and predicted cold, the trees
    and errors equal cold's, and the file written back is healthy."""
    data, name = good_cache
    rng = random.Random(kind)

    def damage(rows, i):
        row = list(rows[i])
        if rng.random() < 0.4:
            if kind == "truncated":
                row[6] = row[6][: len(row[6]) // 2]
            elif kind == "garbage":
                row[6] = b"not a pickle"
            elif len(rows) > 1:
                row[6] = rows[(i + 1) % len(rows)][6]
        return tuple(row)

    (tmp_path / name).write_bytes(rewrite_blobs(data, damage))
    assert not _parser_cache.healthy(tmp_path / name)
    result = run(FORMULAS + MALFORMED, tmp_path)
    assert result["loaded"] is True and result["dropped"] > 0
    assert result["results"] == cold["results"]
    assert result["saved"] is True and result["healthy"] is True
    again = run(FORMULAS + MALFORMED, tmp_path)  # the healed cache: nothing to drop
    assert again["loaded"] is True and again["dropped"] == 0
    assert again["results"] == cold["results"]


@pytest.mark.parametrize("kind", ["fifo", "directory", "dev-zero", "dangling"])
def test_a_non_regular_file_in_place_of_the_cache(cold, good_cache, tmp_path, kind):
    """A FIFO (no writer: reading it would block forever), a directory, a link to /dev/zero
    (endless) or to nothing: ignored without blocking, parsing is cold and identical."""
    _, name = good_cache
    target = tmp_path / name
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    else:
        target.symlink_to(tmp_path / "nowhere")
    result = run(SAMPLE, tmp_path, timeout=60)
    assert result["loaded"] is False
    assert result["results"] == {text: cold["results"][text] for text in SAMPLE}
    if kind != "directory":  # the save replaces the FIFO or the link with a healthy file
        assert result["saved"] is True and result["healthy"] is True
        assert target.is_file() and not target.is_symlink()


def test_unwritable_cache_directory(cold, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run(SAMPLE, blocker / "cache")  # cannot be created
    assert result["saved"] is False
    assert result["results"] == {text: cold["results"][text] for text in SAMPLE}
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        result = run(SAMPLE, readonly)
        if not os.access(readonly, os.W_OK):  # (root writes anywhere)
            assert result["saved"] is False
        assert result["results"] == {text: cold["results"][text] for text in SAMPLE}
    finally:
        readonly.chmod(0o700)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMLEARN_CACHE_DIR=str(blocker / "cache"))
    cli = subprocess.run([sys.executable, "-m", "symlearn", "verify", "x^2", "--wrt", "x",
                          "--claim", "2x"], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert cli.returncode == 0 and cli.stderr == ""


def test_cli_heals_a_damaged_cache(good_cache, tmp_path):
    """Through ``symlearn verify`` (which parses in a forked worker that saves): a truncated
    cache is replaced by a healthy one after one call."""
    data, name = good_cache
    (tmp_path / name).write_bytes(data[: len(data) // 3])
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMLEARN_CACHE_DIR=str(tmp_path))
    cli = subprocess.run([sys.executable, "-m", "symlearn", "verify", r"\tanh(w x)", "--wrt", "w",
                          "--claim", r"x(1-\tanh^2(wx))"], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert cli.returncode == 0, cli.stderr
    assert _parser_cache.healthy(tmp_path / name)
    shutil.rmtree(tmp_path)
