"""Hypothesis-generated inputs for ``cross_entropy`` and ``nll_loss`` across every option, against
PyTorch float64 autograd (the independent reference): ``ignore_index`` (default, a class, every
label ignored), class ``weight`` (including zeros), ``label_smoothing``, every reduction, integer
targets of dtype int8/int16/int32/int64/uint8, probability targets, unbatched, batched and spatial
inputs, and class counts above int8's range (where -100 read as unsigned is 156, a class).
Then the other losses with options (weights, pos_weight, delta, beta, log_target, log_input, full,
eps, var's shapes, margins, p, real-valued targets), each option drawn, against torch.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from symlearn import losses

torch = pytest.importorskip("torch", reason="the torch extra is not installed")
F = torch.nn.functional

RTOL = 1e-10
INDEX_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8)


def close(actual, expected, rtol=RTOL):
    """Relative agreement with an absolute floor at ``rtol`` times the array's scale; NaN must
    sit where torch's NaN sits (every label ignored under 'mean' gives NaN)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(np.max(finite, initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, equal_nan=True)


def _torch(name, z, target, kwargs, reduction):
    """Value and gradient (of the sum of the output) of ``torch.nn.functional.<name>``."""
    tz = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    if np.issubdtype(target.dtype, np.integer):
        tt = torch.tensor(target.astype(np.int64))  # torch takes Long (int8 is refused)
    else:
        tt = torch.tensor(target, dtype=torch.float64)
    tkwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    out = getattr(F, name)(tz, tt, reduction=reduction, **tkwargs)
    out.sum().backward()
    return out.detach().numpy(), tz.grad.numpy()


@st.composite
def cross_entropy_inputs(draw, probabilities_allowed=True):
    classes = draw(st.one_of(st.integers(1, 6), st.sampled_from([130, 157, 200])))
    layout = draw(st.sampled_from(["unbatched", "batched", "spatial"]))
    batch = draw(st.integers(0 if layout == "batched" else 1, 5))
    shape = {"unbatched": (classes,), "batched": (batch, classes),
             "spatial": (batch, classes, draw(st.integers(1, 3)))}[layout]
    scale = draw(st.sampled_from([1.0, 10.0, 1000.0]))
    z = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1))) * scale
    kwargs: dict = {}
    target_shape = shape[:1] + shape[2:] if layout != "unbatched" else ()
    kind = draw(st.sampled_from(["indices", "probabilities"] if probabilities_allowed else ["indices"]))
    if kind == "probabilities":
        raw = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
        target = raw  # torch accepts any real target of the input's shape
    else:
        dtype = draw(st.sampled_from(INDEX_DTYPES))
        top = min(classes, int(np.iinfo(dtype).max) + 1)
        target = draw(hnp.arrays(np.int64, target_shape, elements=st.integers(0, top - 1)))
        ignore = draw(st.sampled_from(["default", "class", "absent"]))
        ignore_index = -100
        if ignore == "class":
            ignore_index = draw(st.integers(0, top - 1))
            kwargs["ignore_index"] = ignore_index
        elif ignore == "absent":
            kwargs["ignore_index"] = ignore_index = draw(st.sampled_from([-1, classes, 1000]))
        if np.iinfo(dtype).min <= ignore_index <= np.iinfo(dtype).max:
            mask = draw(hnp.arrays(np.bool_, target_shape, elements=st.booleans()))
            if draw(st.booleans()):  # every label ignored
                mask = np.ones(target_shape, dtype=bool)
            target = np.where(mask, ignore_index, target)
        target = target.astype(dtype)
    if draw(st.booleans()):
        zero = draw(st.booleans())
        kwargs["weight"] = draw(hnp.arrays(
            np.float64, classes, elements=st.floats(0 if zero else 0.1, 3)
        ))
    if draw(st.booleans()):
        kwargs["label_smoothing"] = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return z, target, kwargs, reduction


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cross_entropy_inputs())
def test_cross_entropy_equals_torch_for_every_option(inputs):
    z, target, kwargs, reduction = inputs
    expected_value, expected_grad = _torch("cross_entropy", z, target, kwargs, reduction)
    # The default reduction alone keeps the call on the fast path (loss(z, y)), which must agree.
    ours = {**kwargs, "reduction": reduction} if kwargs or reduction != "mean" else {}
    value, grad = losses.cross_entropy.value_and_grad(z, target, **ours)
    close(value, expected_value)
    close(grad, expected_grad)
    close(losses.cross_entropy(z, target, **ours), expected_value)
    close(losses.cross_entropy.grad(z, target, **ours), expected_grad)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cross_entropy_inputs(probabilities_allowed=False))
def test_nll_loss_equals_torch_for_every_option(inputs):
    z, target, kwargs, reduction = inputs
    kwargs.pop("label_smoothing", None)
    log_probs = z - np.logaddexp.reduce(z, axis=0 if z.ndim == 1 else 1, keepdims=True)
    expected_value, expected_grad = _torch("nll_loss", log_probs, target, kwargs, reduction)
    value, grad = losses.nll_loss.value_and_grad(log_probs, target, **kwargs, reduction=reduction)
    close(value, expected_value)
    close(grad, expected_grad)


# --------------------------------------------------------------------------------------------------
# The cases of issue 11, spelled out


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [0, 2])
def test_cross_entropy_ignore_index_of_a_class_on_plain_logits(reduction, ignore_index):
    """(N, C) logits, in-range labels, no other option: the case that took the fast branch."""
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(6, 3)), np.array([0, 1, 2, 0, 2, 1])
    kwargs = {"ignore_index": ignore_index}
    expected_value, expected_grad = _torch("cross_entropy", z, y, kwargs, reduction)
    value, grad = losses.cross_entropy.value_and_grad(z, y, **kwargs, reduction=reduction)
    close(value, expected_value)
    close(grad, expected_grad)
    assert np.all(grad[y == ignore_index] == 0.0)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_label_ignored_gives_zero_gradient(name, reduction):
    z = np.random.default_rng(1).normal(size=(4, 3))
    y = np.full(4, -100)
    expected_value, expected_grad = _torch(name, z, y, {}, reduction)
    value, grad = losses.catalog[name].value_and_grad(z, y, reduction=reduction)
    np.testing.assert_array_equal(grad, np.zeros((4, 3)))
    np.testing.assert_array_equal(expected_grad, 0.0)
    close(value, expected_value)  # NaN for 'mean' (0/0), 0 for 'sum'
    assert bool(np.all(np.isnan(value))) == (reduction == "mean")


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_small_integer_labels_do_not_wrap_above_156_classes(dtype):
    """-100 in int8 read as unsigned is 156: with 200 classes it must stay 'ignored'."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=(4, 200))
    y = np.array([3, -100, 127, -100], dtype=dtype)
    for reduction in ("mean", "sum", "none"):
        expected_value, expected_grad = _torch("cross_entropy", z, y, {}, reduction)
        value, grad = losses.cross_entropy.value_and_grad(z, y, reduction=reduction)
        close(value, expected_value)
        close(grad, expected_grad)
        assert np.all(grad[1] == 0.0) and np.all(grad[3] == 0.0)
    with pytest.raises(ValueError, match="class index -5"):
        losses.cross_entropy(z, np.array([3, -5, 1, 2], dtype=dtype))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_zero_total_weight_gives_nan_mean_and_gradient_as_torch(name):
    """Targets not ignored but of weight 0: 'mean' is 0/0, and PyTorch's gradient of those rows
    is NaN (their coefficient is 0 * inf), while an ignored row's stays 0."""
    z = np.random.default_rng(3).normal(size=(3, 4))
    y = np.array([1, -100, 2])
    kwargs = {"weight": np.array([1.0, 0.0, 0.0, 1.0])}
    expected_value, expected_grad = _torch(name, z, y, kwargs, "mean")
    value, grad = losses.catalog[name].value_and_grad(z, y, **kwargs)
    assert np.isnan(expected_value) and np.isnan(value)
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(expected_grad))
    np.testing.assert_array_equal(grad[1], 0.0)
    close(grad, expected_grad)


# --------------------------------------------------------------------------------------------------
# The other losses with options: every option drawn, against torch


def _reals(shape, low=-5.0, high=5.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high))


@st.composite
def options_inputs(draw):
    """(name, args, kwargs) for a loss with options, its arrays of one drawn shape."""
    name = draw(st.sampled_from([
        "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
        "binary_cross_entropy_with_logits", "kl_div", "soft_margin_loss", "poisson_nll_loss",
        "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss",
        "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss",
    ]))
    shape = draw(st.sampled_from([(1,), (5,), (3, 4), (2, 3, 2)]))
    if name in ("multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss"):
        shape = draw(st.sampled_from([(4,), (3, 5)]))
    x = draw(_reals(shape))
    kwargs: dict = {}
    weight = draw(st.booleans())
    if name in ("mse_loss", "l1_loss", "huber_loss"):
        args = (x, draw(_reals(shape)))
        if name == "huber_loss":
            kwargs["delta"] = draw(st.floats(0.1, 3.0))
        if weight:
            kwargs["weight"] = draw(_reals(shape, 0.0, 2.0))
    elif name == "smooth_l1_loss":
        args = (x, draw(_reals(shape)))
        kwargs["beta"] = draw(st.sampled_from([0.0, 0.5, 2.0]))
    elif name == "binary_cross_entropy":
        args = (draw(_reals(shape, 0.0, 1.0)), draw(_reals(shape, 0.0, 1.0)))
        if weight:
            kwargs["weight"] = draw(_reals(shape[-1:], 0.0, 2.0))
    elif name == "binary_cross_entropy_with_logits":
        args = (x * 100, draw(_reals(shape, 0.0, 1.0)))
        if weight:
            kwargs["weight"] = draw(_reals(shape, 0.0, 2.0))
        if draw(st.booleans()):
            kwargs["pos_weight"] = draw(_reals(shape[-1:], 0.1, 3.0))
    elif name == "kl_div":
        kwargs["log_target"] = draw(st.booleans())
        target = draw(_reals(shape, -5.0, 0.0)) if kwargs["log_target"] else draw(
            _reals(shape, 0.0, 1.0))
        args = (draw(_reals(shape, -5.0, 0.0)), target)
    elif name == "soft_margin_loss":
        # |y x| stays below 709: torch computes log(1 + exp(-y x)) and overflows to inf beyond
        # (symlearn's logaddexp form stays finite there: test_naive_lambdify_fails... checks it).
        args = (x * 60, draw(_reals(shape, -2.0, 2.0)))
    elif name == "poisson_nll_loss":
        kwargs["log_input"] = log_input = draw(st.booleans())
        kwargs["full"] = draw(st.booleans())
        kwargs["eps"] = draw(st.sampled_from([1e-8, 1e-3]))
        rate = x if log_input else np.abs(x)
        args = (rate, np.floor(draw(_reals(shape, 0.0, 6.0))))
    elif name == "gaussian_nll_loss":
        kind = draw(st.sampled_from(["same", "short", "float"]))
        var = (draw(_reals(shape, 0.0, 3.0)) if kind == "same" else
               draw(_reals(shape[:-1], 0.0, 3.0)) if kind == "short" else draw(st.floats(0.0, 3.0)))
        args = (x, draw(_reals(shape)), var)
        kwargs["full"] = draw(st.booleans())
        kwargs["eps"] = draw(st.sampled_from([1e-6, 0.1]))
    elif name == "hinge_embedding_loss":
        target = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([1.0, -1.0, 0.5, 0.0])))
        args = (x, target)
        kwargs["margin"] = draw(st.floats(-1.0, 3.0))
    elif name == "margin_ranking_loss":
        args = (x, draw(_reals(shape)), draw(_reals(shape, -2.0, 2.0)))
        kwargs["margin"] = draw(st.floats(-1.0, 3.0))
    elif name == "multilabel_soft_margin_loss":
        args = (x, draw(_reals(shape, 0.0, 1.0)))
        if weight:
            kwargs["weight"] = draw(_reals(shape[-1:], 0.0, 2.0))
    elif name == "multi_margin_loss":
        classes = shape[-1]
        target_shape = shape[:1] if len(shape) == 2 else ()
        args = (x, draw(hnp.arrays(np.int64, target_shape, elements=st.integers(0, classes - 1))))
        kwargs["p"] = draw(st.sampled_from([1, 2]))
        kwargs["margin"] = draw(st.floats(-1.0, 3.0))
        if weight:
            kwargs["weight"] = draw(_reals((classes,), 0.0, 2.0))
    else:  # multilabel_margin_loss
        classes = shape[-1]
        args = (x, draw(hnp.arrays(np.int64, shape, elements=st.integers(-1, classes - 1))))
    reductions = ["mean", "sum", "none"] + (["batchmean"] if name == "kl_div" else [])
    return name, args, kwargs, draw(st.sampled_from(reductions))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options_inputs())
def test_losses_with_options_equal_torch(inputs):
    name, args, kwargs, reduction = inputs
    first = torch.tensor(args[0], dtype=torch.float64, requires_grad=True)

    def tensor(a):
        if not isinstance(a, np.ndarray):
            return a
        return torch.tensor(a) if np.issubdtype(a.dtype, np.integer) else torch.tensor(
            a, dtype=torch.float64)

    with warnings.catch_warnings():  # kl_div warns that 'mean' is not 'batchmean'
        warnings.simplefilter("ignore")
        out = getattr(F, name)(first, *[tensor(a) for a in args[1:]], reduction=reduction,
                               **{k: tensor(v) for k, v in kwargs.items()})
    out.sum().backward()
    value, grad = losses.catalog[name].value_and_grad(*args, **kwargs, reduction=reduction)
    close(value, out.detach().numpy())
    close(grad, first.grad.numpy())


def test_smoothing_with_target_weights_zero_gives_nan_mean_as_torch():
    """Found by hypothesis: the targets' weights are 0 but other classes' are not, so the
    smoothing term's sum is not 0; PyTorch reduces NLL and smoothing apart and its NLL term is
    0/0 = NaN (the value was +inf when the two were summed before the division)."""
    z = np.random.default_rng(4).normal(size=(3, 4))
    y, kwargs = np.array([0, 1, 0]), {"weight": np.array([0.0, 0.0, 1e-238, 1.0]),
                                      "label_smoothing": 0.1}
    expected_value, expected_grad = _torch("cross_entropy", z, y, kwargs, "mean")
    value, grad = losses.cross_entropy.value_and_grad(z, y, **kwargs)
    assert np.isnan(expected_value) and np.isnan(value)
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(expected_grad))
