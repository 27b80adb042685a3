"""``symlearn verify``: the latency of one call and the throughput of graders' batch mode.

Run: ``python benchmarks/bench_verify.py [repeats] [--single-only | --batch-only]``.

**Batch throughput** (issue 12: target <= 0.1 s per case with ``--jobs 2``): a corpus file in
JSON lines is built from the cases the tests already use (``tests/test_verify.py``'s CORPUS, the
course's gradients with their planted slips, and ``tests/test_verify_batch.py``'s JUDGED), and
``symlearn verify --batch corpus.jsonl --jobs N`` is timed for N = 1 and 2: the wall time of the
whole process (start, imports, forking the workers, every case, exit) divided by the number of
cases, median over the repeats, with the parser's cache warm.

**Single-call latency** (issue 6: target <= 1 s warm), process start included. Each call is a
separate process, as a student or another tool would run it, in two settings:

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

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
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


def corpus_lines() -> list[str]:
    """The batch corpus: every case of the verify tests, one JSON object a line."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_verify import CORPUS
    from test_verify_batch import JUDGED

    lines = [json.dumps({"id": case.name, "loss": case.loss, "wrt": case.wrt,
                         "claim": case.claim}) for case in CORPUS]
    for k, (loss, _, wrt, claim, _, assume) in enumerate(JUDGED):
        lines.append(json.dumps({"id": f"batch-{k}", "loss": loss, "wrt": wrt, "claim": claim,
                                 "assume": assume}))
    return lines


def children_cpu() -> float:
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def time_batch(path: Path, jobs: int, cache_dir: str) -> tuple[float, float, Counter]:
    """(wall seconds, CPU seconds of the batch process and its workers, verdict counts)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMLEARN_CACHE_DIR=cache_dir)
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "symlearn", "verify", "--batch", str(path),
                           "--jobs", str(jobs)], capture_output=True, env=env, check=True)
    wall = time.perf_counter() - start
    verdicts = Counter(json.loads(line)["verdict"] for line in done.stdout.splitlines())
    return wall, children_cpu() - cpu, verdicts


def batch_section(repeats: int) -> None:
    lines = corpus_lines()
    with tempfile.TemporaryDirectory(prefix="symlearn-bench-batch-") as folder:
        corpus = Path(folder) / "corpus.jsonl"
        corpus.write_text("\n".join(lines) + "\n")
        cache = str(Path(folder) / "cache")
        time_call(["x", "--wrt", "x", "--claim", "1"], cache)  # build the parser cache
        time_batch(corpus, 2, cache)  # untimed: saves the DFA states the corpus adds
        print(f"batch: {len(lines)} cases ({corpus.name}), {repeats} runs each, cache warm, "
              f"{os.cpu_count()} CPUs")
        print(f"{'--jobs':<7} {'median wall':>11} {'min':>6} {'per case':>9} {'CPU':>6} "
              f"{'CPU/case':>8}   verdicts")
        print("-" * 79)
        for jobs in (1, 2):
            walls, cpus, verdicts = [], [], Counter()
            for _ in range(repeats):
                wall, cpu, verdicts = time_batch(corpus, jobs, cache)
                walls.append(wall)
                cpus.append(cpu)
            median, cpu = statistics.median(walls), statistics.median(cpus)
            assert sum(verdicts.values()) == len(lines), "a case got no result"
            print(f"{jobs:<7} {median:>11.2f} {min(walls):>6.2f} {median / len(lines):>9.3f} "
                  f"{cpu:>6.2f} {cpu / len(lines):>8.3f}   {dict(sorted(verdicts.items()))}")
        print("-" * 79)
        print("target: <= 0.100 s per case with --jobs 2 (wall time including process start).")
        print("CPU: user + system seconds of the batch process and its workers; on a machine "
              "shared\nwith other work, wall time is longer than on an idle one, CPU time is "
              "not.\n")


def main() -> None:
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    numbers = [a for a in sys.argv[1:] if not a.startswith("--")]
    repeats = int(numbers[0]) if numbers else 5
    if "--single-only" not in flags:
        batch_section(repeats)
    if "--batch-only" in flags:
        return
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
