"""Parity with PyTorch on PyTorch's own test inputs.

``torch.testing._internal.common_methods_invocations.op_db`` holds an OpInfo for each
``torch.nn.functional`` loss; its ``sample_inputs`` are the inputs PyTorch tests that function
with. For every loss of the catalog that has an OpInfo, every sample (float64, CPU) is run through
symlearn and through torch autograd, and the value and the gradient with respect to the first
argument must agree to 1e-10 relative (with an absolute floor of 1e-10 times the array's scale).

A sample is skipped only when it uses an option symlearn does not support; each skip names its
reason (``SKIPS``) and the counts are asserted, so a new kind of skip cannot hide.
"""

from __future__ import annotations

import sys
import types
import unittest
import warnings
from collections import Counter

import numpy as np
import pytest

from symlearn import losses

torch = pytest.importorskip("torch", reason="the torch extra is not installed")

RTOL = 1e-10

# Why a sample is skipped, by loss: a predicate on (args, kwargs) as torch gets them and the
# reason. Nothing else is skipped.
SKIPS: dict = {}

#: Filled as the tests run: loss -> Counter of "compared" and each skip reason; the last test
#: checks and prints it. ``max_rel`` holds the largest relative error seen per loss.
COUNTS: dict = {}
MAX_REL: dict = {}


@pytest.fixture(scope="module")
def op_db():
    """PyTorch's OpInfo database, imported once (it takes seconds).

    ``torch.testing._internal.common_utils`` imports ``expecttest`` (a test-only package PyTorch
    does not install) for its TestCase base class only; without it a stand-in with
    ``unittest.TestCase`` is enough for ``sample_inputs``."""
    if "expecttest" not in sys.modules:
        try:
            import expecttest  # noqa: F401
        except ImportError:
            stand_in = types.ModuleType("expecttest")
            stand_in.TestCase = unittest.TestCase
            sys.modules["expecttest"] = stand_in
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db as database
    return {op.name: op for op in database if op.variant_test_name == ""}


def _numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy().copy()
    return value


def _relative_error(actual, expected) -> float:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    finite = np.isfinite(expected)
    if not finite.any():
        return 0.0
    scale = max(1.0, float(np.max(np.abs(expected[finite]))))
    return float(np.max(np.abs(actual[finite] - expected[finite]) / np.maximum(
        np.abs(expected[finite]), scale * 1.0)))


def _close(actual, expected, what):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(np.max(finite, initial=0.0)))
    np.testing.assert_allclose(
        actual, expected, rtol=RTOL, atol=RTOL * scale, equal_nan=True, err_msg=what
    )


TWINS = [name for name, loss in losses.catalog.items() if loss.torch]


@pytest.mark.parametrize("name", TWINS)
def test_opinfo_samples_equal_torch(name, op_db):
    op = op_db.get(f"nn.functional.{name}")
    if op is None:
        COUNTS[name] = Counter({"no OpInfo in torch": 1})
        pytest.skip(f"torch has no OpInfo for nn.functional.{name}")
    counts = COUNTS.setdefault(name, Counter())
    loss = losses.catalog[name]
    for index, sample in enumerate(op.sample_inputs("cpu", torch.float64, requires_grad=True)):
        args = [sample.input, *sample.args]
        kwargs = dict(sample.kwargs)
        reason = next((why for when, why in SKIPS.get(name, ()) if when(args, kwargs)), None)
        if reason is not None:
            counts[reason] += 1
            continue
        first = sample.input.detach().clone().requires_grad_(True)
        rest = [a.detach() if isinstance(a, torch.Tensor) else a for a in sample.args]
        tkwargs = {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kl_div's 'mean' warning
            out = op.op(first, *rest, **tkwargs)
        out.sum().backward()
        expected_value, expected_grad = _numpy(out), _numpy(first.grad)
        ours = [_numpy(a) for a in args]
        our_kwargs = {k: _numpy(v) for k, v in kwargs.items()}
        what = f"{name} sample {index}: {[np.shape(a) for a in ours]} {kwargs}"
        value, grad = loss.value_and_grad(*ours, **our_kwargs)
        _close(value, expected_value, what + " (value)")
        _close(grad, expected_grad, what + " (gradient)")
        # The value-only and gradient-only calls take their own paths.
        _close(loss(*ours, **our_kwargs), expected_value, what + " (loss(...))")
        _close(loss.grad(*ours, **our_kwargs), expected_grad, what + " (loss.grad(...))")
        MAX_REL[name] = max(
            MAX_REL.get(name, 0.0),
            _relative_error(value, expected_value),
            _relative_error(grad, expected_grad),
        )
        counts["compared"] += 1
    assert counts["compared"] > 0, f"{name}: every OpInfo sample was skipped"


def test_opinfo_counts(op_db):
    """Every catalog twin with an OpInfo compared at least one sample; print the tally."""
    if len(COUNTS) < len(TWINS):
        pytest.skip("run with the parity tests above (the counts are theirs)")
    compared = sum(c["compared"] for c in COUNTS.values())
    skipped = Counter()
    for name, counts in COUNTS.items():
        for reason, k in counts.items():
            if reason != "compared":
                skipped[f"{name}: {reason}"] += k
    worst = max(MAX_REL.values(), default=0.0)
    lines = [f"OpInfo samples compared: {compared}; max error relative to max(1, |torch|) {worst:.3g}"]
    lines += [f"  {name}: {c['compared']} compared, max rel {MAX_REL.get(name, 0.0):.3g}"
              for name, c in sorted(COUNTS.items())]
    lines += [f"  skipped {k} ({reason})" for reason, k in sorted(skipped.items())]
    print("\n".join(lines))
    assert compared > 0
    assert max(MAX_REL.values(), default=0.0) <= 1e-10
