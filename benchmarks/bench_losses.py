"""Compiled value+grad of three losses vs hand-written numpy vs PyTorch autograd (CPU).

For n = 1e3, 1e4, 1e5, 1e6 elements (softmax cross-entropy: n logits, n/10 samples of 10 classes),
times the median of repeated calls of

* symlearn's ``loss.value_and_grad(input, target)`` (compiled from the catalog's SymPy expression;
  argument checks included),
* a hand-written numpy value and gradient (stable forms, as a careful engineer writes them),
* ``torch.nn.functional`` forward + ``backward()`` on float64 CPU tensors (from_numpy, zero-copy),

all in one process, interleaved: every round times one sample of each contender (in a rotated
order), so a drift of the machine's speed falls on all three alike. It prints the median times and
the medians of the per-round ratios symlearn/numpy and symlearn/torch (below 1.0 means symlearn is
faster). Run from a checkout: ``python benchmarks/bench_losses.py [--quick] [--budget SECONDS]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import sys
from pathlib import Path

import numpy as np

# The checkout's symlearn, not whichever one is installed: a benchmark measures this tree.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import symlearn.losses as losses  # noqa: E402

CLASSES = 10


# --- hand-written numpy references ---------------------------------------------------------------
def numpy_mse(x, y):
    d = x - y
    return np.dot(d, d) / d.size, (2.0 / d.size) * d


def numpy_bce_logits(x, y):
    softplus = np.logaddexp(0.0, x)
    value = (softplus - y * x).mean()
    return value, (np.exp(x - softplus) - y) / x.size


def numpy_cross_entropy(z, labels):
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    value = -(shifted[rows, labels] - np.log(total[:, 0])).mean()
    grad = exp / total
    grad[rows, labels] -= 1.0
    grad /= n
    return value, grad


# --- inputs and the three contenders --------------------------------------------------------------
def inputs(name, n, rng):
    if name == "cross_entropy":
        return 3 * rng.normal(size=(n // CLASSES, CLASSES)), rng.integers(0, CLASSES, n // CLASSES)
    if name == "binary_cross_entropy_with_logits":
        return 3 * rng.normal(size=n), rng.uniform(0, 1, n)
    return rng.normal(size=n), rng.normal(size=n)


HAND = {
    "mse_loss": numpy_mse,
    "binary_cross_entropy_with_logits": numpy_bce_logits,
    "cross_entropy": numpy_cross_entropy,
}


def torch_value_and_grad(name):
    import torch
    import torch.nn.functional as F

    function = getattr(F, name)

    def run(x, y):
        xt = torch.from_numpy(x).requires_grad_()
        value = function(xt, torch.from_numpy(y))
        value.backward()
        return value.item(), xt.grad.numpy()

    return run


def _calibrate(function, args, sample_seconds):
    """Calls per timed sample so that one sample takes about ``sample_seconds``."""
    function(*args)  # warm up (and compile, for symlearn)
    start = time.perf_counter()
    function(*args)
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(sample_seconds / once)), once


def interleaved_medians(contenders, args, budget, sample_seconds=0.002):
    """Median seconds per call of each contender, and the median of the per-round ratios of
    each contender's time to the first's.

    The contenders run in rounds: each round times one sample of every contender, in an order
    rotated from round to round, so that a drift in the machine's speed (a shared VM drifts over
    seconds) falls on all of them alike; the ratios are paired within a round.
    """
    names = list(contenders)
    numbers, round_seconds = {}, 0.0
    for name in names:
        numbers[name], once = _calibrate(contenders[name], args, sample_seconds)
        round_seconds += once * numbers[name]
    rounds = max(15, min(201, int(budget / round_seconds)))
    samples = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            function, number = contenders[name], numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                function(*args)
            samples[name].append((time.perf_counter() - start) / number)
    medians = {name: statistics.median(samples[name]) for name in names}
    first = samples[names[0]]
    ratios = {
        name: statistics.median(a / b for a, b in zip(first, samples[name])) for name in names[1:]
    }
    return medians, ratios, rounds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller time budget per cell")
    parser.add_argument("--budget", type=float, default=None, help="seconds per cell (default 2)")
    args = parser.parse_args(argv)
    budget = args.budget if args.budget is not None else (0.3 if args.quick else 2.0)
    try:
        import torch

        torch.set_num_threads(1)
        have_torch = True
    except ImportError:  # the torch extra is optional
        have_torch = False
    rng = np.random.default_rng(0)
    header = (
        f"{'loss':<34}{'n':>7}{'symlearn':>11}{'numpy':>11}{'torch':>11}{'sym/np':>8}"
        f"{'sym/torch':>10}{'rounds':>7}"
    )
    print(header)
    print("-" * len(header))
    for name in HAND:
        loss = losses.catalog[name]
        for n in (10**3, 10**4, 10**5, 10**6):
            x, y = inputs(name, n, rng)
            ours = loss.value_and_grad(x, y)
            reference = HAND[name](x, y)
            assert np.isclose(ours[0], reference[0], rtol=1e-10)
            assert np.allclose(ours[1], reference[1], rtol=1e-9, atol=1e-15)
            contenders = {"symlearn": loss.value_and_grad, "numpy": HAND[name]}
            if have_torch:
                contenders["torch"] = torch_value_and_grad(name)
                value, grad = contenders["torch"](x, y)
                assert np.isclose(value, reference[0], rtol=1e-10)
                assert np.allclose(grad, reference[1], rtol=1e-9, atol=1e-15)
            medians, ratios, rounds = interleaved_medians(contenders, (x, y), budget)
            torch_time = f"{medians['torch'] * 1e6:>9.1f}us" if have_torch else f"{'-':>11}"
            torch_ratio = f"{ratios['torch']:>10.2f}" if have_torch else f"{'-':>10}"
            print(
                f"{name:<34}{n:>7.0e}{medians['symlearn'] * 1e6:>9.1f}us"
                f"{medians['numpy'] * 1e6:>9.1f}us{torch_time}{ratios['numpy']:>8.2f}"
                f"{torch_ratio}{rounds:>7}",
                flush=True,
            )
    print(
        "\nTimes are medians per value+grad call over interleaved rounds; the ratios are medians "
        "of the per-round ratios (below 1.0: symlearn is faster)."
    )
    if have_torch:
        floors(budget)
    return 0


def floors(budget):
    """The least numpy work each loss needs at n = 1e4, against a third of torch's whole call:
    where the floor is larger, '3x faster than torch' cannot be met by any numpy code."""
    rng = np.random.default_rng(1)
    n = 10**4
    print(f"\nAt n = {n:.0e}: the unavoidable numpy work against torch autograd / 3")
    x, y = inputs("binary_cross_entropy_with_logits", n, rng)
    z, labels = inputs("cross_entropy", n, rng)
    rows = [
        # A stable softplus needs one exp and one log1p per element (log1p(exp(-|x|))); its
        # sigmoid can reuse the exp.
        ("binary_cross_entropy_with_logits", "exp + log1p",
         lambda: np.log1p(np.exp(-np.abs(x))), (), torch_value_and_grad(
             "binary_cross_entropy_with_logits"), (x, y)),
        # A stable softmax needs each row's max (to shift by), one exp per logit and each row's
        # sum (the shift itself and the log per row are left out: a lower bound).
        ("cross_entropy", "row max+exp+row sum",
         lambda: (z.max(axis=1), np.exp(z).sum(axis=1)), (),
         torch_value_and_grad("cross_entropy"), (z, labels)),
    ]
    for name, what, floor, floor_args, torch_run, torch_args in rows:
        medians, _, _ = interleaved_medians(
            {"floor": lambda *a: floor(), "torch": torch_run}, torch_args, budget
        )
        print(
            f"  {name:<34}{what:<20} floor {medians['floor'] * 1e6:8.1f}us   torch/3 "
            f"{medians['torch'] / 3 * 1e6:8.1f}us"
        )


if __name__ == "__main__":
    raise SystemExit(main())
