"""Compiled value+grad of three losses vs hand-written numpy vs PyTorch autograd (CPU).

For n = 1e3, 1e4, 1e5, 1e6 elements (softmax cross-entropy: n logits, n/10 samples of 10 classes),
times the median of repeated calls of

* symlearn's ``loss.value_and_grad(input, target)`` (compiled from the catalog's SymPy expression;
  argument checks included),
* a hand-written numpy value and gradient (stable forms, as a careful engineer writes them),
* ``torch.nn.functional`` forward + ``backward()`` on float64 CPU tensors (from_numpy, zero-copy),

all in one process, and prints the times and the ratios symlearn/numpy and symlearn/torch
(below 1.0 means symlearn is faster). Run: ``python benchmarks/bench_losses.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import symlearn.losses as losses

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


def median_time(function, args, budget):
    function(*args)  # warm up (and compile, for symlearn)
    start = time.perf_counter()
    function(*args)
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(0.01 / once))  # each sample takes about 10 ms
    repeats = max(5, min(51, int(budget / (once * number))))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            function(*args)
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller time budget per cell")
    args = parser.parse_args(argv)
    budget = 0.2 if args.quick else 1.0
    try:
        import torch

        torch.set_num_threads(1)
        have_torch = True
    except ImportError:  # the torch extra is optional
        have_torch = False
    rng = np.random.default_rng(0)
    header = f"{'loss':<34}{'n':>9}{'symlearn':>12}{'numpy':>12}{'torch':>12}{'sym/np':>9}{'sym/torch':>11}"
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
            t_ours = median_time(loss.value_and_grad, (x, y), budget)
            t_numpy = median_time(HAND[name], (x, y), budget)
            if have_torch:
                t_torch = median_time(torch_value_and_grad(name), (x, y), budget)
                torch_cells = f"{t_torch * 1e6:>10.1f}us{t_ours / t_torch:>11.2f}"
            else:
                torch_cells = f"{'(no torch)':>12}{'-':>11}"
            print(
                f"{name:<34}{n:>9.0e}{t_ours * 1e6:>10.1f}us{t_numpy * 1e6:>10.1f}us"
                f"{torch_cells[:12]}{t_ours / t_numpy:>9.2f}{torch_cells[12:]}"
            )
    print("\nTimes are medians per value+grad call; ratios below 1.0 mean symlearn is faster.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
