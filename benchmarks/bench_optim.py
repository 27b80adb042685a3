"""One Adam step on n parameters: symlearn's compiled step vs hand-written numpy vs torch.optim.Adam.

Each contender does one full step, parameters included (symlearn: ``update`` + ``params +
updates``; numpy: the textbook lines below, allocating like symlearn does, and an in-place variant
with ``out=`` as a lower bound; torch: ``optimizer.step()`` with foreach True and False, float64,
CPU, one thread). The contenders are interleaved: each repeat times every contender once, in an
order that rotates from repeat to repeat, so a slow spell on a shared machine hits all of them
alike. Each cell is the median over the repeats; ratios are medians of the per-repeat ratios to
the hand-written (allocating) numpy step of the same repeat.

Run: ``python benchmarks/bench_optim.py [--quick] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# Measure the checkout this file sits in, not whatever copy of symlearn is installed: run as a
# script, Python puts benchmarks/ on the path, not the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from symlearn import optim  # noqa: E402

LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def _seconds(step, inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        step()
    return (time.perf_counter() - start) / inner


def interleaved(contenders: dict, repeats: int, inner: int) -> dict[str, list[float]]:
    """Seconds per step of each contender, one sample per repeat, contenders interleaved."""
    for step in contenders.values():
        step()  # warm up (compilation, first allocations)
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(_seconds(contenders[name], inner))
    return samples


def symlearn_step(n: int):
    optimizer = optim.adam(lr=LR)
    rng = np.random.default_rng(0)
    box = {"params": rng.standard_normal(n), "grads": rng.standard_normal(n)}
    box["state"] = optimizer.init(box["params"])

    def step():
        updates, box["state"] = optimizer.update(box["grads"], box["state"], box["params"])
        box["params"] = box["params"] + updates

    return step


def numpy_step(n: int):
    """Seed 003's Adam, line for line, with PyTorch's bias correction."""
    rng = np.random.default_rng(0)
    box = {"x": rng.standard_normal(n), "dx": rng.standard_normal(n), "m": np.zeros(n),
           "v": np.zeros(n), "t": 0}

    def step():
        dx, t = box["dx"], box["t"] + 1
        m = BETA1 * box["m"] + (1 - BETA1) * dx
        v = BETA2 * box["v"] + (1 - BETA2) * dx * dx
        step_size = LR / (1 - BETA1**t)
        denominator = np.sqrt(v) / (1 - BETA2**t) ** 0.5 + EPS
        box.update(x=box["x"] - step_size * m / denominator, m=m, v=v, t=t)

    return step


def numpy_inplace_step(n: int):
    """The same step with every array op in place (out=): a lower bound for numpy."""
    rng = np.random.default_rng(0)
    x, dx = rng.standard_normal(n), rng.standard_normal(n)
    m, v, work = np.zeros(n), np.zeros(n), np.empty(n)
    box = {"t": 0}

    def step():
        box["t"] += 1
        t = box["t"]
        np.multiply(m, BETA1, out=m)
        np.multiply(dx, 1 - BETA1, out=work)
        np.add(m, work, out=m)
        np.multiply(dx, dx, out=work)
        np.multiply(work, 1 - BETA2, out=work)
        np.multiply(v, BETA2, out=v)
        np.add(v, work, out=v)
        np.sqrt(v, out=work)
        np.multiply(work, 1 / (1 - BETA2**t) ** 0.5, out=work)
        np.add(work, EPS, out=work)
        np.divide(m, work, out=work)
        np.multiply(work, -LR / (1 - BETA1**t), out=work)
        np.add(x, work, out=x)

    return step


def torch_step(n: int, foreach: bool):
    import torch

    generator = torch.Generator().manual_seed(0)
    param = torch.randn(n, dtype=torch.float64, generator=generator, requires_grad=True)
    param.grad = torch.randn(n, dtype=torch.float64, generator=generator)
    optimizer = torch.optim.Adam([param], lr=LR, foreach=foreach)

    def step():
        optimizer.step()

    return step


COLUMNS = ["symlearn", "numpy", "numpy in-place", "torch foreach", "torch loop"]
RATIOS = ["symlearn", "numpy in-place", "torch foreach", "torch loop"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per size (default 21)")
    args = parser.parse_args()
    print(f"symlearn from {Path(optim.__file__).parents[1]}")
    repeats = args.repeats or (5 if args.quick else 21)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    print(f"Adam, one step, float64, interleaved, median of {repeats} "
          "(ratios: median of per-repeat time / hand-written numpy)")
    header = ["n"] + COLUMNS + [f"{k}/numpy" for k in RATIOS]
    print(" | ".join(f"{h:>14}" for h in header))
    for n in (10**3, 10**4, 10**5, 10**6):
        inner = max(1, 10**5 // n) * (2 if n <= 10**4 else 1)
        contenders = {
            "symlearn": symlearn_step(n),
            "numpy": numpy_step(n),
            "numpy in-place": numpy_inplace_step(n),
        }
        if torch is not None:
            contenders["torch foreach"] = torch_step(n, True)
            contenders["torch loop"] = torch_step(n, False)
        samples = interleaved(contenders, repeats, inner)
        base = samples["numpy"]
        cells = [f"{n:>14.0e}"] + [
            f"{statistics.median(samples[k]) * 1e6:>12.1f}us" if k in samples else f"{'-':>14}"
            for k in COLUMNS
        ]
        cells += [
            f"{statistics.median(a / b for a, b in zip(samples[k], base)):>13.2f}x"
            if k in samples else f"{'-':>14}"
            for k in RATIOS
        ]
        print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
