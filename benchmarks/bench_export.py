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
Run from a checkout: ``python benchmarks/bench_export.py [--budget SECONDS]``.
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
        for name in NAMES:
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
    print("\nTimes are medians per value+grad call; ratios are medians of per-round ratios "
          "(exported time / other time; below 1.0: the exported function is faster).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
