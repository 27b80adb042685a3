"""Exported value+grad (``symlearn.export(losses=...)``) vs the package, hand-written numpy and
PyTorch CPU.

For n = 1e3, 1e4, 1e5, 1e6 float64 elements (softmax cross-entropy: n logits, n/10 samples of 10
classes), times the median of repeated calls of

* the exported module's ``name_value_and_grad(input, target)`` (the module written by
  ``symlearn.export``, imported from a file; argument checks included),
* the package's ``loss.value_and_grad(input, target)``,
* idiomatic hand-written numpy (``benchmarks/bench_losses.py``'s references),
* ``torch.nn.functional`` forward + ``backward()`` on float64 CPU tensors (``from_numpy``),

interleaved in one process (``bench_losses.interleaved_medians``: every round times one sample of
each contender, in a rotated order). torch runs on 1 thread; numpy's ufuncs are single-threaded.
Prints median times and the medians of the per-round ratios exported/numpy and exported/torch
(below 1.0: the exported function is faster).
Then one Adam step (``adam_rows``): the exported ``adam_update`` against the package's
``optim.adam().update``, idiomatic numpy, numpy tuned with ``out=`` buffers and
``torch.optim.Adam.step()``, same sizes, same interleaving.
Run from a checkout: ``python benchmarks/bench_export.py [--budget SECONDS] [--only-adam]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# The checkout's symlearn, not whichever one is installed: a benchmark measures this tree.
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench_losses

from symlearn import (
    export,
    losses,
)

NAMES = ("mse_loss", "binary_cross_entropy_with_logits", "cross_entropy")


def exported_module(directory: Path):
    path = directory / "exported_losses.py"
    path.write_text(export(losses=NAMES))
    spec = importlib.util.spec_from_file_location("exported_losses", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.6, help="seconds per cell (default 0.6)")
    parser.add_argument("--only-adam", action="store_true", help="only the Adam step rows")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    header = (f"{'loss':<34}{'n':>7}{'exported':>11}{'package':>11}{'numpy':>11}{'torch':>11}"
              f"{'exp/np':>8}{'exp/torch':>10}{'exp/pkg':>8}")
    print(f"numpy {np.__version__}, torch {torch.__version__} on {torch.get_num_threads()} thread")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as directory:
        module = exported_module(Path(directory))
        for name in NAMES if not args.only_adam else ():
            exported = getattr(module, f"{name}_value_and_grad")
            for n in (10**3, 10**4, 10**5, 10**6):
                x, y = bench_losses.inputs(name, n, rng)
                reference = bench_losses.HAND[name](x, y)
                ours = exported(x, y)
                assert np.isclose(ours[0], reference[0], rtol=1e-10)
                assert np.allclose(ours[1], reference[1], rtol=1e-9, atol=1e-15)
                contenders = {
                    "exported": exported,
                    "package": losses.catalog[name].value_and_grad,
                    "numpy": bench_losses.HAND[name],
                    "torch": bench_losses.torch_value_and_grad(name),
                }
                medians, ratios, _ = bench_losses.interleaved_medians(contenders, (x, y),
                                                                      args.budget)
                print(
                    f"{name:<34}{n:>7.0e}"
                    + "".join(f"{medians[c] * 1e6:>9.1f}us" for c in contenders)
                    + f"{ratios['numpy']:>8.2f}{ratios['torch']:>10.2f}"
                    f"{ratios['package']:>8.2f}",
                    flush=True,
                )
    if not args.only_adam:
        print("\nTimes are medians per value+grad call; ratios are medians of per-round ratios "
              "(exported time / other time; below 1.0: the exported function is faster).")
    adam_rows(args.budget, torch)
    return 0


def adam_rows(budget: float, torch) -> None:
    """One Adam step (defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8) on one float64 array of n
    parameters: the exported ``adam_update`` (run-time hyper-parameters, argument checks and the
    tree walk included), the package's ``optim.adam().update``, idiomatic numpy, numpy tuned with
    ``out=`` buffers, and ``torch.optim.Adam.step()`` (1 thread, float64, grads set once). Each
    call is a full step from the same state (the numpy and torch contenders update their buffers
    in place; the values do not matter for the time)."""
    from symlearn import optim

    b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8

    def idiomatic(g, m, v, t):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** (t + 1))
        v_hat = v / (1 - b2 ** (t + 1))
        return -lr * m_hat / (np.sqrt(v_hat) + eps), m, v

    def tuned_for(n):
        tmp, out = np.empty(n), np.empty(n)

        def tuned(g, m, v, t):
            c1, c2 = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)
            np.multiply(m, b1, out=m)
            np.multiply(g, 1 - b1, out=tmp)
            np.add(m, tmp, out=m)
            np.multiply(v, b2, out=v)
            np.multiply(g, g, out=tmp)
            np.multiply(tmp, 1 - b2, out=tmp)
            np.add(v, tmp, out=v)
            np.sqrt(v, out=out)
            np.multiply(out, 1 / c2 ** 0.5, out=out)
            np.add(out, eps, out=out)
            np.divide(m, out, out=out)
            np.multiply(out, -lr / c1, out=out)
            return out, m, v

        return tuned

    print(f"\n{'adam step':<34}{'n':>7}{'exported':>11}{'package':>11}{'numpy':>11}"
          f"{'tuned':>11}{'torch':>11}{'exp/np':>8}{'exp/tuned':>10}{'exp/torch':>10}"
          f"{'exp/pkg':>8}")
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "exported_adam.py"
        path.write_text(export(optimizers=["adam"]))
        spec = importlib.util.spec_from_file_location("exported_adam", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        package = optim.adam()
        for n in (10**3, 10**4, 10**5, 10**6):
            p, g = rng.normal(size=n), rng.normal(size=n)
            state = package.update(g, package.init(p), p)[1]  # t = 1: both moments non-zero
            m, v = state.exp_avg.copy(), state.exp_avg_sq.copy()
            exported_state = module.adam_update(g, module.adam_init(p), p)[1]
            ours = module.adam_update(g, exported_state, p)[0]
            reference = idiomatic(g, m, v, 1)[0]
            assert np.allclose(ours, reference, rtol=1e-12, atol=0)
            tensor = torch.tensor(p, requires_grad=True)
            tensor.grad = torch.from_numpy(g.copy())
            adam = torch.optim.Adam([tensor], lr=lr, betas=(b1, b2), eps=eps)
            adam.step()
            tuned = tuned_for(n)
            m_tuned, v_tuned = m.copy(), v.copy()
            contenders = {
                "exported": lambda g=g, s=exported_state, p=p: module.adam_update(g, s, p),
                "package": lambda g=g, s=state, p=p: package.update(g, s, p),
                "numpy": lambda g=g, m=m, v=v: idiomatic(g, m, v, 1),
                "tuned": lambda g=g, m=m_tuned, v=v_tuned, f=tuned: f(g, m, v, 1),
                "torch": adam.step,
            }
            medians, ratios, _ = bench_losses.interleaved_medians(contenders, (), budget)
            print(
                f"{'adam':<34}{n:>7.0e}"
                + "".join(f"{medians[c] * 1e6:>9.1f}us" for c in contenders)
                + f"{ratios['numpy']:>8.2f}{ratios['tuned']:>10.2f}{ratios['torch']:>10.2f}"
                f"{ratios['package']:>8.2f}",
                flush=True,
            )
    print("\nTimes are medians per step; ratios are medians of per-round ratios (exported time /"
          " other time; below 1.0: the exported step is faster).")


if __name__ == "__main__":
    raise SystemExit(main())
