"""Median latency of one ``symlearn verify`` call, process start included (issue 6: target <= 1 s).

Run: ``python benchmarks/bench_verify.py [repeats]``. Each row is a separate process per call,
as a student or another tool would run it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
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


def time_call(args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symlearn", "verify", *args, "--json"],
                   capture_output=True, env=env, check=False)
    return time.perf_counter() - start


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    baseline = statistics.median(
        time_call_plain() for _ in range(repeats)
    )
    print(f"{'case':<28} {'median s':>9} {'min s':>7}   ({repeats} runs each)")
    print("-" * 48)
    medians = []
    for label, args in CASES:
        times = [time_call(args) for _ in range(repeats)]
        medians.append(statistics.median(times))
        print(f"{label:<28} {medians[-1]:>9.3f} {min(times):>7.3f}")
    print("-" * 48)
    print(f"{'all cases (median of medians)':<28} {statistics.median(medians):>9.3f}")
    print(f"{'python -m symlearn --help':<28} {baseline:>9.3f}   (process start + import)")


def time_call_plain() -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symlearn", "--help"], capture_output=True, env=env,
                   check=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
