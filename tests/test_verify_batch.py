"""``symlearn verify --batch`` (issue 12 item 7): graders' JSON-lines mode through a real process.

One result line per input line, in order, streamed; bad lines are "bad_input" results, a case
over its deadline is "undetermined" and the batch goes on. The verdicts expected for the judged
cases come from ``sympy.diff`` of hand-written SymPy twins, not from symlearn.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ["id", "verdict", "counterexample", "expected", "claimed", "hint", "derivative",
          "warnings", "error"]

x, y, w, b, p = sp.symbols("x y w b p", real=True)
# (loss LaTeX, its SymPy twin, wrt, claim LaTeX, the claim's twin, assume)
JUDGED = [
    ("(y - w x - b)^2", (y - w * x - b) ** 2, "w", "-2x(y - wx - b)", -2 * x * (y - w * x - b), []),
    ("(y - w x - b)^2", (y - w * x - b) ** 2, "w", "-x(y - wx - b)", -x * (y - w * x - b), []),
    (r"-y\ln p", -y * sp.log(p), "p", r"-\frac{y}{p}", -y / p, ["p>0"]),
    (r"-y\ln p", -y * sp.log(p), "p", r"\frac{y}{p}", y / p, ["p>0"]),
    (r"\tanh(w x)", sp.tanh(w * x), "w", r"x(1-\tanh^2(wx))", x * (1 - sp.tanh(w * x) ** 2), []),
    (r"\tanh(w x)", sp.tanh(w * x), "w", r"1-\tanh^2(wx)", 1 - sp.tanh(w * x) ** 2, []),
    ("x^3 y", x**3 * y, "x", "3x^2 y", 3 * x**2 * y, []),
    ("x^3 y", x**3 * y, "y", "3x^2 y", 3 * x**2 * y, []),
]


def truth(loss, wrt, claim) -> str:
    difference = sp.simplify(sp.diff(loss, sp.Symbol(wrt, real=True)) - claim)
    return "correct" if difference == 0 else "wrong"


def batch(*args: str, input: bytes | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "symlearn", "verify", *args],
                          capture_output=True, input=input, env=env, timeout=timeout, check=False)


def results(completed: subprocess.CompletedProcess) -> list[dict]:
    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")

    lines = completed.stdout.decode().splitlines()
    out = [json.loads(line, parse_constant=refuse) for line in lines]
    for obj in out:
        assert list(obj) == SCHEMA  # id first, the verdict's keys, error last
    return out


def case(case_id, loss, wrt, claim, **extra) -> str:
    return json.dumps({"id": case_id, "loss": loss, "wrt": wrt, "claim": claim, **extra})


def test_verdicts_in_order_with_jobs(tmp_path):
    source = tmp_path / "cases.jsonl"
    lines = [case(f"c{k}", loss, wrt, claim, assume=assume)
             for k, (loss, _, wrt, claim, _, assume) in enumerate(JUDGED)]
    source.write_text("\n".join(lines) + "\n")
    for jobs in ("1", "2"):
        completed = batch("--batch", str(source), "--jobs", jobs)
        assert completed.returncode == 0, completed.stderr
        out = results(completed)
        assert [o["id"] for o in out] == [f"c{k}" for k in range(len(JUDGED))]
        for obj, (_, twin, wrt, _, claim_twin, _) in zip(out, JUDGED):
            assert obj["verdict"] == truth(twin, wrt, claim_twin), obj
            assert obj["error"] is None and obj["derivative"]
            if obj["verdict"] == "wrong":  # the counterexample is one: the twins differ there
                point = {sp.Symbol(k, real=True): v for k, v in obj["counterexample"].items()}
                expected = sp.diff(twin, sp.Symbol(wrt, real=True)).subs(point)
                assert obj["expected"] == pytest.approx(float(expected), rel=1e-9)


def test_bad_lines_are_results_and_the_batch_goes_on(tmp_path):
    source = tmp_path / "cases.jsonl"
    long_line = json.dumps({"id": "long", "loss": "x" * (2 * 2**20), "wrt": "x", "claim": "1"})
    rows = [
        case("ok1", "x^2", "x", "2x"),                                   # 1
        "this is not json",                                              # 2
        "",                                                              # 3 (blank: no result)
        json.dumps({"id": "nofield", "loss": "x^2", "wrt": "x"}),        # 4
        json.dumps({"loss": "x^2", "wrt": "x", "claim": "2x"}),          # 5 (no id)
        json.dumps({"id": "type", "loss": "x^2", "wrt": "x", "claim": 2}),  # 6
        json.dumps({"id": "unknown", "loss": "x", "wrt": "x", "claim": "1", "asume": "x>0"}),
        "[1, 2, 3]",                                                     # 8
        json.dumps({"id": 1.5, "loss": "x", "wrt": "x", "claim": "1"}),  # 9
        '{"id": "nan", "loss": "x", "wrt": "x", "claim": NaN}',          # 10
        '{"id": "twice", "loss": "x", "wrt": "x", "claim": "1", "claim": "2"}',  # 11
        case("parse", r"\frac{2", "x", "0"),                             # 12
        case("wrt", "x^2", "1x", "2x"),                                  # 13
        case("assume", "x^2", "x", "2x", assume=["x>0", 3]),             # 14
        long_line,                                                       # 15
        case(7, "x^2", "x", "3x"),                                       # 16
    ]
    data = "\n".join(rows).encode() + b"\n" + b'{"id": "latin", "loss": "\xe9"}\n'  # 17
    data += case("last", "x^2", "x", "2x", assume="x>0", let=[]).encode()  # 18, no newline
    source.write_bytes(data)
    completed = batch("--batch", str(source), "--jobs", "2")
    assert completed.returncode == 0, completed.stderr
    assert b"Traceback" not in completed.stderr
    out = results(completed)
    by_position = [(o["id"], o["verdict"]) for o in out]
    assert by_position == [
        ("ok1", "correct"), (2, "bad_input"), ("nofield", "bad_input"), (5, "bad_input"),
        ("type", "bad_input"), ("unknown", "bad_input"), (8, "bad_input"), (9, "bad_input"),
        (10, "bad_input"), (11, "bad_input"), ("parse", "bad_input"), ("wrt", "bad_input"),
        ("assume", "bad_input"), (15, "bad_input"), (7, "wrong"), (17, "bad_input"),
        ("last", "correct"),
    ]
    errors = {o["id"]: o["error"] for o in out}
    assert "not valid JSON" in errors[2]
    assert "'claim'" in errors["nofield"] and "'claim'" in errors["type"]
    assert "'id'" in errors[5] and "asume" in errors["unknown"]
    assert "twice" in errors[11] and "NaN" in errors[10]
    assert "column" in errors["parse"] and "UTF-8" in errors[17]
    assert "longer than" in errors[15] and "'assume'" in errors["assume"]
    for obj in out:
        assert (obj["error"] is None) == (obj["verdict"] != "bad_input")


# Overruns are made with verify_gradient replaced, in the batch process before its workers fork,
# by one that sleeps or allocates for the marked cases: the test must not depend on which
# formulas the checker happens to find slow.
PATCHED = r"""
import sys, time
import symlearn.verify as checker
original = checker.verify_gradient

def patched(loss, *args, **kwargs):
    if loss == "SLOW":
        time.sleep(120)
    if loss == "HOG":
        blocks = []
        while True:
            blocks.append(bytearray(10 * 2**20))
    return original(loss, *args, **kwargs)

checker.verify_gradient = patched
from symlearn.cli import main
sys.exit(main(sys.argv[1:]))
"""


def patched_batch(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", PATCHED, "verify", *args], capture_output=True,
                          env=env, timeout=240, check=False)


def test_a_case_over_its_deadline_is_undetermined_and_the_batch_goes_on(tmp_path):
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join([
        case("before", "x^2", "x", "2x"),
        case("slow1", "SLOW", "x", "0"),
        case("slow2", "SLOW", "x", "1"),
        case("after", "x^2", "x", "3x"),
        case("end", r"\ln x", "x", r"\frac{1}{x}"),
    ]) + "\n")
    start = time.monotonic()
    completed = patched_batch("--batch", str(source), "--jobs", "2", "--timeout", "2")
    assert time.monotonic() - start < 60
    assert completed.returncode == 0, completed.stderr
    out = results(completed)
    assert [(o["id"], o["verdict"]) for o in out] == [
        ("before", "correct"), ("slow1", "undetermined"), ("slow2", "undetermined"),
        ("after", "wrong"), ("end", "correct")]
    assert out[1]["hint"] == out[2]["hint"] == "the check ran over its 2 s deadline"
    assert out[1]["error"] is None and out[1]["derivative"] is None


def test_a_case_over_the_memory_ceiling(tmp_path):
    source = tmp_path / "cases.jsonl"
    source.write_text(case("big", "HOG", "a", "0") + "\n" + case("small", "x^2", "x", "2x") + "\n")
    completed = patched_batch("--batch", str(source), "--jobs", "1", "--memory", "150M",
                              "--timeout", "40")
    assert completed.returncode == 0, completed.stderr
    out = results(completed)
    assert out[0]["verdict"] == "undetermined"
    assert out[0]["hint"] == "the check needed more than 150 MB of memory"
    assert out[1]["verdict"] == "correct"  # a fresh worker took the next case


def test_streaming_from_standard_input():
    """The first result arrives while the input is still open: results stream."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "symlearn", "verify", "--batch", "-", "--jobs", "2"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        process.stdin.write((case("one", "x^2", "x", "2x") + "\n").encode())
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 120)
        assert ready, "no result while the input is still open"
        first = json.loads(process.stdout.readline())
        assert first["id"] == "one" and first["verdict"] == "correct"
        process.stdin.write((case("two", "x^2", "x", "x") + "\n").encode())
        process.stdin.close()
        second = json.loads(process.stdout.readline())
        assert second["id"] == "two" and second["verdict"] == "wrong"
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def test_standard_input_and_empty_input():
    completed = batch("--batch", "-", input=(case(1, "x", "x", "1") + "\n").encode())
    assert completed.returncode == 0 and [o["verdict"] for o in results(completed)] == ["correct"]
    empty = batch("--batch", "-", input=b"")
    assert empty.returncode == 0 and empty.stdout == b""


def test_let_field(tmp_path):
    """``let`` reaches verify_gradient; until verify accepts it, the case is bad_input saying so."""
    from symlearn.commands.verify import _supports_let

    rows = [case("let", r"\frac{1}{1+e^{-(w_1x_1+b)}}", "w_1", r"x_1\sigma(z)(1-\sigma(z))",
                 let="z=w_1x_1+b"),
            case("lets", r"\frac{1}{1+e^{-(w_1x_1+b)}}", "w_1", r"\sigma(z)(1-\sigma(z))",
                 let=["z=w_1x_1+b"])]
    out = results(batch("--batch", "-", input="\n".join(rows).encode()))
    if _supports_let():
        assert [o["verdict"] for o in out] == ["correct", "wrong"]
    else:
        assert [o["verdict"] for o in out] == ["bad_input", "bad_input"]
        assert all("let" in o["error"] for o in out)


@pytest.mark.parametrize("target", ["missing", "directory", "/dev/zero"])
def test_unreadable_file_exit_2(tmp_path, target):
    path = {"missing": str(tmp_path / "none.jsonl"), "directory": str(tmp_path)}.get(target, target)
    completed = batch("--batch", path)
    assert completed.returncode == 2 and completed.stdout == b""
    assert b"Traceback" not in completed.stderr
    assert len(completed.stderr.decode().strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ("--batch", "-", "--jobs", "0"), ("--batch", "-", "--jobs", "x"),
    ("--batch", "-", "--jobs", "-3"), ("--batch", "-", "x^2"),
    ("--batch", "-", "--timeout", "0"), ("--batch", "-", "--wrt", "x"),
    ("--batch", "-", "--assume", "x>0"), ("--batch", "-", "--let", "z=x"),
    ("x^2", "--wrt", "x", "--claim", "2x", "--jobs", "2"),
])
def test_bad_options_exit_2(args):
    completed = batch(*args, input=b"")
    assert completed.returncode == 2 and completed.stdout == b""
    assert len(completed.stderr.decode().strip().splitlines()) == 1
