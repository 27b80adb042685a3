"""Time ``symlearn build``: cold (empty cache), warm (nothing changed) and after editing one
source, with ``-j 1`` and ``-j 2``, into temporary folders (the repository is not touched).

    python benchmarks/bench_build.py                      # every bundled derivation, tex + md
    python benchmarks/bench_build.py --only chain-rule-basics sigmoid-neuron --jobs 2
    python benchmarks/bench_build.py --pdf                # with PDFs

Each build is a fresh ``python -m symlearn build`` process (its start-up included), with its own
cache folder (``SYMLEARN_CACHE_DIR``) and a copy of ``derivations/`` as the source, so the edit is
made on the copy. Prints a Markdown table: wall seconds, documents, seconds per document, and how
many came from the cache.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(source: Path, out: Path, cache: Path, jobs: int, formats, only) -> tuple[float, str]:
    command = [sys.executable, "-m", "symlearn", "build", "--source", str(source), "-o", str(out),
               "-j", str(jobs)]
    for fmt in formats:
        command += ["--format", fmt]
    if only:
        command += ["--only", *only]
    env = {**os.environ, "SYMLEARN_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"build failed ({done.returncode}):\n{done.stderr[-2000:]}")
    summary = done.stdout.strip().splitlines()[0]
    return elapsed, summary


def edit_one(source: Path, only) -> str:
    """Append a comment to one source file (the first one that holds a wanted derivation)."""
    candidates = sorted(p for p in source.glob("*.py") if not p.name.startswith("_"))
    target = candidates[0]
    if only:
        stems = {name.replace("-", "_") for name in only}
        target = next((p for p in candidates if p.stem in stems), target)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(f"\n# edited by bench_build.py at {time.time()}\n")
    return target.name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="+", metavar="NAME")
    parser.add_argument("--pdf", action="store_true", help="build PDFs too")
    args = parser.parse_args(argv)
    formats = ("tex", "md", "pdf") if args.pdf else ("tex", "md")
    rows = []
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory(prefix="bench-build-") as scratch:
            scratch = Path(scratch)
            source = scratch / "derivations"
            shutil.copytree(ROOT / "derivations", source,
                            ignore=shutil.ignore_patterns("__pycache__"))
            out, cache = scratch / "out", scratch / "cache"
            for phase in ("cold", "warm", "one edit"):
                note = ""
                if phase == "one edit":
                    note = f" ({edit_one(source, args.only)})"
                elapsed, summary = build(source, out, cache, jobs, formats, args.only)
                match = re.search(r"built (\d+) of (\d+).*\((\d+) from the cache, (\d+) rebuilt\)",
                                  summary)
                total, cached, rebuilt = (int(match.group(i)) for i in (2, 3, 4))
                rows.append((jobs, phase + note, elapsed, total, cached, rebuilt))
                print(f"-j {jobs} {phase}{note}: {elapsed:.1f} s ({summary})", file=sys.stderr)
    print("| -j | build | wall s | documents | s / document | from cache | rebuilt |")
    print("|---|---|---|---|---|---|---|")
    for jobs, phase, elapsed, total, cached, rebuilt in rows:
        print(f"| {jobs} | {phase} | {elapsed:.1f} | {total} | {elapsed / max(total, 1):.2f} | "
              f"{cached} | {rebuilt} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
