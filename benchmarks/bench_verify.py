"""Median latency of one ``symlearn verify`` call, process start included (issue 6: target <= 1 s).

Run: ``python benchmarks/bench_verify.py [repeats]``. Each call is a separate process, as a
student or another tool would run it, in two settings:

* ``warm``: the parser's DFA cache (``symlearn._parser_cache``) exists, as it does for every call
  after the first on a machine. It is built before timing by one untimed call on a formula that
  is not among the cases (that call parses the built-in warm-up formulas, which are not the cases
  either); a case that still adds DFA states saves them during its first timed call, and that
  cost is in its times.
* ``cold``: the cache is off (``SYMLEARN_CACHE_DIR=''``): the parser builds its DFA from nothing
  in every process, as the first call on a machine does (that first call also writes the cache).

The contenders alternate per repeat (warm, cold, floor, ...) so a drift of the machine's speed
falls on all alike. ``floor`` is a process that only imports the two libraries every verify
needs (``import sympy, latex2sympy2_extended`` and one SymPy sum, which loads the part of SymPy
that an addition imports lazily): no verify can be faster than that, and the column ``over
floor`` is what symlearn itself adds (median of the per-repeat differences, warm).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    ("nll, correct", [r"-y\ln p", "--wrt", "p", "--claim", r"-\frac{y}{p}"]),
    ("mse, wrong", [r"(y - w x - b)^2", "--wrt", "w", "--claim", r"-x(y - wx - b)"]),
    ("bce on sigmoid, correct",
     [r"-y\log(\sigma(w x + b)) - (1-y)\log(1-\sigma(w x+b))", "--wrt", "w",
      "--claim", r"x\sigma(wx+b) - xy"]),
    ("sigmoid neuron, wrong",
     [r"\frac{1}{1+e^{-(w_1x_1+w_2x_2+b)}}", "--wrt", "w_1",
      "--claim", r"\sigma(w_1x_1+w_2x_2+b)(1-\sigma(w_1x_1+w_2x_2+b))"]),
    ("ln x vs 1/|x|, numeric", [r"\ln x", "--wrt", "x", "--claim", r"\frac{1}{|x|}"]),
    ("bad input (exit 2)", ["x^2", "--wrt", "1x", "--claim", "2x"]),
]


def time_call(args: list[str], cache_dir: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMLEARN_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symlearn", "verify", *args, "--json"],
                   capture_output=True, env=env, check=False)
    return time.perf_counter() - start


FLOOR = "import sympy, latex2sympy2_extended; sympy.Symbol('x') + 1"


def time_floor() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    baseline = statistics.median(time_call_plain() for _ in range(repeats))
    floors = []
    with tempfile.TemporaryDirectory(prefix="symlearn-bench-cache-") as cache:
        first = time_call([r"\frac{a}{1+a^2}", "--wrt", "a", "--claim", "1"], cache)
        print(f"building the cache (first call on a machine): {first:.2f} s\n")
        print(f"{'case':<28} {'warm median':>11} {'min':>6} {'cold median':>11} {'min':>6}"
              f" {'over floor':>10}   ({repeats} runs each)")
        print("-" * 79)
        warm_medians, cold_medians = [], []
        for label, args in CASES:
            warm, cold, floor = [], [], []
            for _ in range(repeats):
                warm.append(time_call(args, cache))
                cold.append(time_call(args, ""))
                floor.append(time_floor())
            floors += floor
            warm_medians.append(statistics.median(warm))
            cold_medians.append(statistics.median(cold))
            over = statistics.median(w - f for w, f in zip(warm, floor))
            print(f"{label:<28} {warm_medians[-1]:>11.3f} {min(warm):>6.3f} "
                  f"{cold_medians[-1]:>11.3f} {min(cold):>6.3f} {over:>+10.3f}")
    print("-" * 79)
    print(f"{'all cases (median of medians)':<28} {statistics.median(warm_medians):>11.3f} "
          f"{'':>6} {statistics.median(cold_medians):>11.3f}")
    print(f"{'floor: import sympy + parser':<28} {statistics.median(floors):>11.3f} "
          f"{min(floors):>6.3f}   (python -c \"{FLOOR}\")")
    print(f"{'python -m symlearn --help':<28} {baseline:>11.3f}   (process start + import)")


def time_call_plain() -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symlearn", "--help"], capture_output=True, env=env,
                   check=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
