"""One Adam step on n parameters: symlearn's compiled step vs hand-written numpy vs torch.optim.Adam.

Each contender does one full step, parameters included (symlearn: ``update`` + ``apply_updates``;
numpy: the textbook lines below, allocating like symlearn does, and an in-place variant with
``out=`` as a lower bound; torch: ``optimizer.step()`` with foreach True and False, float64, CPU).
Median of repeated timings; ratios are against the hand-written (allocating) numpy step.

Run: ``python benchmarks/bench_optim.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from symlearn import optim

LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def _median_seconds(step, repeats: int, inner: int) -> float:
    step()  # warm up (compilation, first allocations)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            step()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test)")
    args = parser.parse_args()
    repeats = 5 if args.quick else 21
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    print(f"Adam, one step, float64, median of {repeats} (ratios: time / hand-written numpy)")
    header = ["n", "symlearn", "numpy", "numpy in-place", "torch foreach", "torch loop",
              "symlearn/numpy", "torch foreach/numpy", "torch loop/numpy"]
    print(" | ".join(f"{h:>14}" for h in header))
    for n in (10**3, 10**4, 10**5, 10**6):
        inner = max(1, 10**5 // n) * (2 if n <= 10**4 else 1)
        row = {
            "symlearn": _median_seconds(symlearn_step(n), repeats, inner),
            "numpy": _median_seconds(numpy_step(n), repeats, inner),
            "numpy in-place": _median_seconds(numpy_inplace_step(n), repeats, inner),
        }
        if torch is not None:
            row["torch foreach"] = _median_seconds(torch_step(n, True), repeats, inner)
            row["torch loop"] = _median_seconds(torch_step(n, False), repeats, inner)
        base = row["numpy"]
        cells = [f"{n:>14.0e}"] + [
            f"{row[k] * 1e6:>12.1f}us" if k in row else f"{'-':>14}"
            for k in ["symlearn", "numpy", "numpy in-place", "torch foreach", "torch loop"]
        ]
        cells += [f"{row[k] / base:>13.2f}x" if k in row else f"{'-':>14}"
                  for k in ["symlearn", "torch foreach", "torch loop"]]
        print(" | ".join(cells))


if __name__ == "__main__":
    main()
