"""Tests of the loss catalog against independent references.

One table (``CASES``) of inputs per loss drives every property test: value and gradient equal to
``torch.nn.functional`` in float64 (or to a hand-written numpy reference for the losses without a
torch twin), gradient equal to central finite differences, stability at logits of magnitude 1000,
and clear errors for bad input.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from symlearn import losses

REDUCTIONS = ("mean", "sum", "none")
RTOL = 1e-10


def close(actual, expected, rtol=RTOL):
    """Relative agreement, with an absolute floor at ``rtol`` times the array's scale."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# --------------------------------------------------------------------------------------------------
# The table of cases: inputs per loss (several shapes and options)


@dataclass
class Case:
    loss: str
    make: Callable  # rng -> (args, kwargs), numpy
    id: str
    twin: str | None = None  # torch.nn.functional name, if any
    reference: Callable | None = None  # numpy reference (args, kwargs, reduction) -> value
    reductions: tuple = REDUCTIONS
    fd: bool = True  # the gradient is a true gradient (not a convention) in the first argument
    extra: dict = field(default_factory=dict)


def _probs(rng, shape):
    return rng.uniform(0.02, 0.98, size=shape)


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


def _softmax_rows(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


SHAPES = [(7,), (4, 5), (3, 2, 4)]

CASES: list[Case] = []
for shape in SHAPES:
    sid = "x".join(map(str, shape))
    CASES += [
        Case("mse_loss", lambda r, s=shape: ((r.normal(size=s), r.normal(size=s)), {}), sid, "mse_loss"),
        Case("l1_loss", lambda r, s=shape: ((r.normal(size=s), r.normal(size=s)), {}), sid, "l1_loss"),
        Case("huber_loss", lambda r, s=shape: ((2 * r.normal(size=s), r.normal(size=s)), {"delta": 0.7}), sid, "huber_loss"),
        Case("smooth_l1_loss", lambda r, s=shape: ((2 * r.normal(size=s), r.normal(size=s)), {"beta": 0.5}), sid, "smooth_l1_loss"),
        Case("binary_cross_entropy", lambda r, s=shape: ((_probs(r, s), _probs(r, s)), {}), sid, "binary_cross_entropy"),
        Case("binary_cross_entropy_with_logits", lambda r, s=shape: ((3 * r.normal(size=s), _probs(r, s)), {}), sid, "binary_cross_entropy_with_logits"),
        Case("kl_div", lambda r, s=shape: ((np.log(_probs(r, s)), _probs(r, s)), {}), sid, "kl_div", reductions=REDUCTIONS + ("batchmean",)),
        Case("hinge_embedding_loss", lambda r, s=shape: ((2 * r.normal(size=s), _signs(r, s)), {"margin": 0.8}), sid, "hinge_embedding_loss"),
        Case("margin_ranking_loss", lambda r, s=shape: ((r.normal(size=s), r.normal(size=s), _signs(r, s)), {"margin": 0.3}), sid, "margin_ranking_loss"),
        Case("soft_margin_loss", lambda r, s=shape: ((3 * r.normal(size=s), _signs(r, s)), {}), sid, "soft_margin_loss"),
        Case("mean_squared_log_error", lambda r, s=shape: ((r.uniform(-0.5, 3, s), r.uniform(-0.5, 3, s)), {}), sid,
             reference=lambda a, k: (np.log1p(a[0]) - np.log1p(a[1])) ** 2),
        Case("mean_absolute_percentage_error", lambda r, s=shape: ((r.normal(size=s), r.uniform(0.5, 2, s) * _signs(r, s)), {}), sid,
             reference=lambda a, k: np.abs(a[0] - a[1]) / np.abs(a[1])),
        Case("logistic_loss", lambda r, s=shape: ((3 * r.normal(size=s), _signs(r, s)), {}), sid,
             reference=lambda a, k: np.log1p(np.exp(-a[1] * a[0]))),
        Case("hinge_loss", lambda r, s=shape: ((2 * r.normal(size=s), _signs(r, s)), {}), sid,
             reference=lambda a, k: np.maximum(0.0, 1 - a[1] * a[0])),
    ]

# Options: weights, pos_weight, log_target, legacy arguments, other defaults.
CASES += [
    Case("mse_loss", lambda r: ((r.normal(size=(4, 3)), r.normal(size=(4, 3))), {"weight": r.uniform(0.1, 2, (4, 3))}), "weight", "mse_loss"),
    Case("l1_loss", lambda r: ((r.normal(size=(4, 3)), r.normal(size=(4, 3))), {"weight": r.uniform(0.1, 2, (4, 3))}), "weight", "l1_loss"),
    Case("huber_loss", lambda r: ((2 * r.normal(size=(4, 3)), r.normal(size=(4, 3))), {"weight": r.uniform(0.1, 2, (4, 3))}), "weight", "huber_loss"),
    Case("smooth_l1_loss", lambda r: ((2 * r.normal(size=(6,)), r.normal(size=(6,))), {"beta": 0.0}), "beta0", "smooth_l1_loss"),
    Case("binary_cross_entropy", lambda r: ((_probs(r, (4, 3)), _probs(r, (4, 3))), {"weight": r.uniform(0.1, 2, (3,))}), "weight", "binary_cross_entropy"),
    Case("binary_cross_entropy_with_logits", lambda r: ((3 * r.normal(size=(4, 3)), _probs(r, (4, 3))), {"weight": r.uniform(0.1, 2, (4, 3)), "pos_weight": r.uniform(0.5, 3, (3,))}), "weights", "binary_cross_entropy_with_logits"),
    Case("kl_div", lambda r: ((np.log(_probs(r, (4, 3))), np.log(_probs(r, (4, 3)))), {"log_target": True}), "log_target", "kl_div", reductions=REDUCTIONS + ("batchmean",)),
    # Real-valued targets, as in PyTorch's own OpInfo samples: torch takes any target.
    Case("hinge_embedding_loss", lambda r: ((2 * r.normal(size=(4, 3)), np.array([1.0, -1.0, 0.5, 0.0, -2.0, 3.0] * 2).reshape(4, 3)), {"margin": 0.8}), "real-target", "hinge_embedding_loss"),
    Case("margin_ranking_loss", lambda r: ((r.normal(size=(4, 3)), r.normal(size=(4, 3)), 2 * r.normal(size=(4, 3))), {"margin": 0.3}), "real-target", "margin_ranking_loss"),
    Case("poisson_nll_loss", lambda r: ((r.normal(size=(4, 3)), r.poisson(2.0, (4, 3)).astype(float)), {}), "log-input", "poisson_nll_loss"),
    Case("poisson_nll_loss", lambda r: ((r.normal(size=(4, 3)), r.poisson(2.0, (4, 3)).astype(float)), {"full": True}), "log-input-full", "poisson_nll_loss"),
    Case("poisson_nll_loss", lambda r: ((r.uniform(0.1, 3, (4, 3)), r.poisson(2.0, (4, 3)).astype(float)), {"log_input": False, "eps": 1e-3}), "rate", "poisson_nll_loss"),
    Case("poisson_nll_loss", lambda r: ((r.uniform(0.1, 3, (6,)), r.poisson(2.0, 6).astype(float)), {"log_input": False, "full": True}), "rate-full", "poisson_nll_loss"),
    Case("gaussian_nll_loss", lambda r: ((r.normal(size=(4, 3)), r.normal(size=(4, 3)), r.uniform(0.1, 2, (4, 3))), {}), "heteroscedastic", "gaussian_nll_loss"),
    Case("gaussian_nll_loss", lambda r: ((r.normal(size=(4, 3)), r.normal(size=(4, 3)), r.uniform(0.1, 2, (4,))), {"full": True}), "homoscedastic-full", "gaussian_nll_loss"),
    Case("gaussian_nll_loss", lambda r: ((r.normal(size=(4, 3)), r.normal(size=(1, 3)), np.array([[0.5], [1e-9], [2.0], [0.0]])), {"eps": 1e-3}), "broadcast-clamped", "gaussian_nll_loss"),
    Case("mse_loss", lambda r: ((r.normal(size=(5,)), r.normal(size=(5,))), {"size_average": False}), "legacy", "mse_loss", reductions=("mean",)),
    Case("multilabel_soft_margin_loss", lambda r: ((3 * r.normal(size=(4, 5)), r.integers(0, 2, (4, 5)).astype(float)), {}), "4x5", "multilabel_soft_margin_loss"),
    Case("multilabel_soft_margin_loss", lambda r: ((3 * r.normal(size=(4, 5)), r.integers(0, 2, (4, 5)).astype(float)), {"weight": r.uniform(0.1, 2, (5,))}), "weight", "multilabel_soft_margin_loss"),
    Case("cross_entropy", lambda r: ((3 * r.normal(size=(6, 4)), r.integers(0, 4, 6)), {}), "indices", "cross_entropy"),
    Case("cross_entropy", lambda r: ((3 * r.normal(size=(4,)), np.array(2)), {}), "unbatched", "cross_entropy"),
    Case("cross_entropy", lambda r: ((3 * r.normal(size=(3, 4, 2, 2)), r.integers(0, 4, (3, 2, 2))), {"weight": r.uniform(0.2, 2, 4)}), "spatial-weight", "cross_entropy"),
    Case("cross_entropy", lambda r: ((3 * r.normal(size=(6, 4)), np.array([0, 1, -100, 3, 2, -100])), {"weight": r.uniform(0.2, 2, 4), "label_smoothing": 0.2}), "smoothing-ignore", "cross_entropy"),
    Case("cross_entropy", lambda r: ((3 * r.normal(size=(6, 4)), r.integers(0, 4, 6)), {"label_smoothing": 0.1}), "smoothing", "cross_entropy"),
    Case("cross_entropy", lambda r: ((3 * r.normal(size=(5, 4)), _softmax_rows(r.normal(size=(5, 4)))), {}), "probabilities", "cross_entropy"),
    Case("cross_entropy", lambda r: ((3 * r.normal(size=(5, 4)), _softmax_rows(r.normal(size=(5, 4)))), {"weight": r.uniform(0.2, 2, 4), "label_smoothing": 0.3}), "probabilities-weight-smoothing", "cross_entropy"),
    Case("nll_loss", lambda r: ((np.log(_softmax_rows(r.normal(size=(6, 4)))), r.integers(0, 4, 6)), {}), "indices", "nll_loss"),
    Case("nll_loss", lambda r: ((np.log(_softmax_rows(r.normal(size=(6, 4)))), np.array([0, 1, -100, 3, 2, 1])), {"weight": r.uniform(0.2, 2, 4)}), "weight-ignore", "nll_loss"),
    Case("nll_loss", lambda r: ((r.normal(size=(2, 3, 4)), r.integers(0, 3, (2, 4))), {}), "spatial", "nll_loss"),
    Case("cosine_embedding_loss", lambda r: ((r.normal(size=(6, 4)), r.normal(size=(6, 4)), _signs(r, 6)), {"margin": 0.2}), "6x4", "cosine_embedding_loss"),
    Case("cosine_embedding_loss", lambda r: ((r.normal(size=(5,)), r.normal(size=(5,)), np.array(-1.0)), {"margin": -0.5}), "unbatched", "cosine_embedding_loss"),
    Case("triplet_margin_loss", lambda r: ((r.normal(size=(6, 4)), r.normal(size=(6, 4)), r.normal(size=(6, 4))), {"margin": 2.0}), "p2", "triplet_margin_loss"),
    Case("triplet_margin_loss", lambda r: ((r.normal(size=(6, 4)), r.normal(size=(6, 4)), r.normal(size=(6, 4))), {"margin": 1.5, "p": 3, "swap": True}), "p3-swap", "triplet_margin_loss"),
    Case("triplet_margin_loss", lambda r: ((r.normal(size=(6, 4)), r.normal(size=(6, 4)), r.normal(size=(6, 4))), {"margin": 1.5, "p": 1.5}), "p1.5", "triplet_margin_loss"),
    Case("triplet_margin_with_distance_loss", lambda r: ((r.normal(size=(6, 4)), r.normal(size=(6, 4)), r.normal(size=(6, 4))), {"margin": 2.0}), "default", "triplet_margin_with_distance_loss"),
    Case("triplet_margin_with_distance_loss", lambda r: ((r.normal(size=(6, 4)), r.normal(size=(6, 4)), r.normal(size=(6, 4))), {"margin": 1.5, "swap": True}), "swap", "triplet_margin_with_distance_loss"),
    Case("triplet_margin_with_distance_loss", lambda r: ((r.normal(size=(4,)), r.normal(size=(4,)), r.normal(size=(4,))), {"margin": 3.0}), "unbatched", "triplet_margin_with_distance_loss"),
    Case("multi_margin_loss", lambda r: ((2 * r.normal(size=(6, 4)), r.integers(0, 4, 6)), {}), "p1", "multi_margin_loss"),
    Case("multi_margin_loss", lambda r: ((2 * r.normal(size=(6, 4)), r.integers(0, 4, 6)), {"p": 2, "margin": 0.5, "weight": r.uniform(0.2, 2, 4)}), "p2-weight", "multi_margin_loss"),
    Case("multi_margin_loss", lambda r: ((2 * r.normal(size=(5,)), np.array(3)), {"margin": 2.0}), "unbatched", "multi_margin_loss"),
    Case("multilabel_margin_loss", lambda r: ((2 * r.normal(size=(4, 5)), np.array([[3, 0, -1, 2, 2], [1, 1, 4, -1, 0], [0, 1, 2, 3, 4], [-1, 0, 0, 0, 0]])), {}), "4x5", "multilabel_margin_loss"),
    Case("multilabel_margin_loss", lambda r: ((2 * r.normal(size=(5,)), np.array([4, 2, -1, 0, 0])), {}), "unbatched", "multilabel_margin_loss"),
    Case("linf_distance", lambda r: ((r.normal(size=(5, 4)), r.normal(size=(5, 4))), {}), "5x4",
         reference=lambda a, k: np.abs(a[0] - a[1]).max(axis=-1)),
    Case("minkowski_distance", lambda r: ((r.normal(size=(5, 4)), r.normal(size=(5, 4))), {"p": 3}), "p3",
         reference=lambda a, k: (np.abs(a[0] - a[1]) ** 3).sum(-1) ** (1 / 3)),
    Case("minkowski_distance", lambda r: ((r.normal(size=(2, 3, 4)), r.normal(size=(2, 3, 4))), {}), "p2",
         reference=lambda a, k: np.sqrt(((a[0] - a[1]) ** 2).sum(-1))),
]


def _ctc_inputs(rng, unbatched=False, concatenated=False):
    steps, batch, classes, width = 8, 3, 5, 3
    logits = 2 * rng.normal(size=(steps, batch, classes))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = rng.integers(1, classes, (batch, width))
    targets[0, 1] = targets[0, 0]  # a repeated label needs a blank between
    input_lengths = np.array([8, 7, 6])
    target_lengths = np.array([3, 2, 1])
    if unbatched:
        return (log_probs[:, 0], targets[0], np.array(8), np.array(3)), {}
    if concatenated:
        flat = np.concatenate([targets[n, : target_lengths[n]] for n in range(batch)])
        return (log_probs, flat, input_lengths, target_lengths), {"blank": 0}
    return (log_probs, targets, input_lengths, target_lengths), {}


CASES += [
    # PyTorch's CTC gradient is the gradient in the logits (see symlearn.losses._ctc): not a
    # finite difference in log_probs; test_ctc_gradient_is_the_logit_gradient checks it instead.
    Case("ctc_loss", lambda r: _ctc_inputs(r), "padded", "ctc_loss", fd=False),
    Case("ctc_loss", lambda r: _ctc_inputs(r, concatenated=True), "concatenated", "ctc_loss", fd=False),
    Case("ctc_loss", lambda r: _ctc_inputs(r, unbatched=True), "unbatched", "ctc_loss", fd=False),
]


def _case_id(case):
    return f"{case.loss}-{case.id}"


# --------------------------------------------------------------------------------------------------
# Torch parity


def _torch_value_and_grad(case, args, kwargs, reduction):
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    import torch.nn.functional as F

    def convert(a, grad=False):
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.integer):
            return torch.as_tensor(a, dtype=torch.long)
        return torch.tensor(a, dtype=torch.float64, requires_grad=grad)

    targs = [convert(a, grad=(i == 0)) for i, a in enumerate(args)]
    tkwargs = {k: (convert(v) if isinstance(v, (np.ndarray, list)) else v) for k, v in kwargs.items()}
    if "size_average" not in kwargs:
        tkwargs["reduction"] = reduction
    with warnings.catch_warnings():  # kl_div warns about 'mean'; legacy arguments warn
        warnings.simplefilter("ignore")
        out = getattr(F, case.twin)(*targs, **tkwargs)
    out.sum().backward()
    return out.detach().numpy(), targs[0].grad.numpy()


def _our_kwargs(case, kwargs, reduction):
    return kwargs if "size_average" in kwargs else {**kwargs, "reduction": reduction}


TORCH_CASES = [(c, r) for c in CASES if c.twin for r in c.reductions]


@pytest.mark.parametrize(
    "case, reduction", TORCH_CASES, ids=[f"{_case_id(c)}-{r}" for c, r in TORCH_CASES]
)
def test_value_and_grad_equal_torch(case, reduction):
    args, kwargs = case.make(np.random.default_rng(0))
    expected_value, expected_grad = _torch_value_and_grad(case, args, kwargs, reduction)
    loss = losses.catalog[case.loss]
    ours = _our_kwargs(case, kwargs, reduction)
    value, grad = loss.value_and_grad(*args, **ours)
    close(value, expected_value)
    close(grad, expected_grad)
    close(loss(*args, **ours), expected_value)
    close(loss.grad(*args, **ours), expected_grad)


REFERENCE_CASES = [(c, r) for c in CASES if c.reference for r in c.reductions]


@pytest.mark.parametrize(
    "case, reduction", REFERENCE_CASES, ids=[f"{_case_id(c)}-{r}" for c, r in REFERENCE_CASES]
)
def test_value_equals_numpy_reference(case, reduction):
    args, kwargs = case.make(np.random.default_rng(1))
    per = case.reference(args, kwargs)
    expected = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    close(losses.catalog[case.loss](*args, **kwargs, reduction=reduction), expected)


# --------------------------------------------------------------------------------------------------
# Finite differences


def _central_difference(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


FD_CASES = [(c, r) for c in CASES if c.fd for r in ("mean", "none")]


@pytest.mark.parametrize("case, reduction", FD_CASES, ids=[f"{_case_id(c)}-{r}" for c, r in FD_CASES])
def test_grad_equals_central_differences(case, reduction):
    args, kwargs = case.make(np.random.default_rng(2))
    loss = losses.catalog[case.loss]
    kwargs = _our_kwargs(case, kwargs, reduction)
    first, rest = np.asarray(args[0], dtype=float), args[1:]
    numeric = _central_difference(lambda v: np.sum(loss(v, *rest, **kwargs)), first)
    np.testing.assert_allclose(loss.grad(first, *rest, **kwargs), numeric, rtol=1e-5, atol=1e-6)


def test_ctc_gradient_is_the_logit_gradient():
    """PyTorch's CTC gradient in log_probs equals the finite-difference gradient in the logits z
    of ``ctc(log_softmax(z))`` (and differs from the one in log_probs taken as free)."""
    rng = np.random.default_rng(3)
    (log_probs, targets, lengths_in, lengths_out), _ = _ctc_inputs(rng)

    def log_softmax(z):
        return z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)

    logits = log_probs + rng.normal(size=(1, 1, 1))  # any logits whose log-softmax is log_probs
    def value(z):
        return losses.ctc_loss(log_softmax(z), targets, lengths_in, lengths_out, reduction="sum")

    numeric = _central_difference(value, logits)
    ours = losses.ctc_loss.grad(log_probs, targets, lengths_in, lengths_out, reduction="sum")
    np.testing.assert_allclose(ours, numeric, rtol=1e-5, atol=1e-6)
    free = _central_difference(
        lambda lp: losses.ctc_loss(lp, targets, lengths_in, lengths_out, reduction="sum"), log_probs
    )
    assert not np.allclose(ours, free, atol=1e-3)
    np.testing.assert_allclose(ours - np.exp(log_probs) * (ours != 0), free, rtol=1e-5, atol=1e-6)


def test_ctc_impossible_alignment_zero_infinity():
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    import torch.nn.functional as F

    rng = np.random.default_rng(4)
    log_probs = np.log(_softmax_rows(rng.normal(size=(3, 2, 4))))
    targets = np.array([[1, 1, 2], [1, 2, 3]])  # 1,1,2 needs 4 steps; only 3 are given
    args = (log_probs, targets, np.array([3, 3]), np.array([3, 3]))
    value, grad = losses.ctc_loss.value_and_grad(*args, zero_infinity=True, reduction="sum")
    lp = torch.tensor(log_probs, requires_grad=True)
    out = F.ctc_loss(lp, torch.tensor(targets), torch.tensor([3, 3]), torch.tensor([3, 3]),
                     zero_infinity=True, reduction="sum")
    out.backward()
    close(value, out.item())
    close(grad, lp.grad.numpy())
    assert losses.ctc_loss(*args, reduction="none")[0] == np.inf


# --------------------------------------------------------------------------------------------------
# Conventions at kinks (PyTorch's)


@pytest.mark.parametrize(
    "name, args, kwargs, expected",
    [
        ("l1_loss", ([1.0, 2.0], [1.0, 1.0]), {}, [0.0, 1.0]),  # sign(0) = 0
        ("mean_absolute_percentage_error", ([1.0], [1.0]), {}, [0.0]),
        ("hinge_embedding_loss", ([1.0], [-1.0]), {}, [-1.0]),  # clamp_min passes at 0
        ("margin_ranking_loss", ([1.0], [1.0], [1.0]), {}, [-1.0]),
        ("hinge_loss", ([1.0], [1.0]), {}, [0.0]),  # relu's convention
        ("smooth_l1_loss", ([1.0], [1.0]), {"beta": 0.0}, [0.0]),
        ("minkowski_distance", ([[1.0, 2.0]], [[1.0, 2.0]]), {}, [[0.0, 0.0]]),
        ("linf_distance", ([[2.0, -2.0, 0.0]], [[0.0, 0.0, 0.0]]), {}, [[0.5, -0.5, 0.0]]),
    ],
)
def test_subgradient_convention_at_kinks(name, args, kwargs, expected):
    arrays = [np.asarray(a, dtype=float) for a in args]
    np.testing.assert_array_equal(losses.catalog[name].grad(*arrays, reduction="sum", **kwargs), expected)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_normalized_weights_summing_to_zero_give_nan_as_torch(name):
    """'mean' divides by the sum of the weights: 0/0 is NaN for the value and the gradient."""
    x, y, weight = np.array([0.0, 1.0]), np.zeros(2), np.zeros(2)
    case = Case(name, None, "zero-weights", name)
    expected_value, expected_grad = _torch_value_and_grad(case, (x, y), {"weight": weight}, "mean")
    value, grad = losses.catalog[name].value_and_grad(x, y, weight=weight)
    assert np.isnan(expected_value) and np.isnan(value)
    assert np.all(np.isnan(expected_grad)) and np.all(np.isnan(grad))


def test_binary_cross_entropy_gradient_at_probabilities_0_and_1_equals_torch():
    """The clamped denominator: torch's 1e-12 is a float32 constant (9.99999996e-13)."""
    x, y = np.array([0.0, 1.0, 1e-13, 0.5]), np.array([1.0, 0.0, 1.0, 1.0])
    case = Case("binary_cross_entropy", None, "ends", "binary_cross_entropy")
    expected_value, expected_grad = _torch_value_and_grad(case, (x, y), {}, "sum")
    value, grad = losses.binary_cross_entropy.value_and_grad(x, y, reduction="sum")
    close(value, expected_value)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13)


# --------------------------------------------------------------------------------------------------
# Stability at logits of magnitude 1000


def _extreme(rng, shape):
    return 1000.0 * _signs(rng, shape) * rng.uniform(0.5, 1.0, shape)


STABLE_CASES = [
    ("binary_cross_entropy_with_logits", lambda r: ((_extreme(r, (4, 3)), _probs(r, (4, 3))), {})),
    ("soft_margin_loss", lambda r: ((_extreme(r, (6,)), _signs(r, 6)), {})),
    ("multilabel_soft_margin_loss", lambda r: ((_extreme(r, (4, 3)), r.integers(0, 2, (4, 3)).astype(float)), {})),
    ("cross_entropy", lambda r: ((_extreme(r, (5, 4)), r.integers(0, 4, 5)), {})),
    ("cross_entropy", lambda r: ((_extreme(r, (5, 4)), _softmax_rows(r.normal(size=(5, 4)))), {"label_smoothing": 0.1})),
    ("kl_div", lambda r: ((-_extreme(r, (3, 4)) ** 2 / 1000, np.log(_probs(r, (3, 4)))), {"log_target": True})),
]


@pytest.mark.parametrize("name, make", STABLE_CASES, ids=[n for n, _ in STABLE_CASES])
def test_finite_and_equal_to_torch_at_magnitude_1000(name, make):
    args, kwargs = make(np.random.default_rng(5))
    case = Case(name, make, "extreme", name)
    for reduction in REDUCTIONS:
        expected_value, expected_grad = _torch_value_and_grad(case, args, kwargs, reduction)
        value, grad = losses.catalog[name].value_and_grad(*args, **kwargs, reduction=reduction)
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
        close(value, expected_value)
        close(grad, expected_grad)


@pytest.mark.parametrize("name", ["binary_cross_entropy_with_logits", "soft_margin_loss", "logistic_loss"])
def test_naive_lambdify_fails_where_the_compiled_loss_does_not(name):
    """The contrast: sympy.lambdify of the exponential form overflows at |logit| = 1000."""
    from symlearn.functions import log_sigmoid, sigmoid, softplus

    loss = losses.catalog[name]
    x, y = loss.spec.symbols
    expr = loss.expr.subs(loss.spec.defaults_for_absent and {sp.Symbol("p_w", positive=True): 1})
    naive_form = expr.replace(
        lambda e: isinstance(e, (sigmoid, softplus, log_sigmoid)), lambda e: e.rewrite(sp.exp)
    )
    naive_grad = sp.diff(naive_form, x)
    logits = np.array([-1000.0, 1000.0])
    target = np.array([1.0, -1.0]) if name != "binary_cross_entropy_with_logits" else np.array([1.0, 0.0])
    with np.errstate(all="ignore"):
        naive = [sp.lambdify((x, y), e, "numpy")(logits, target) for e in (naive_form, naive_grad)]
    assert not (np.all(np.isfinite(naive[0])) and np.all(np.isfinite(naive[1])))
    value, grad = loss.value_and_grad(logits, target, reduction="none")
    # Independent references: 1000 * (1 + tiny) and the sigmoid's saturated values.
    np.testing.assert_allclose(value, [1000.0, 1000.0], rtol=1e-12)
    assert np.all(np.isfinite(grad)) and np.all(np.abs(grad) == 1.0)


# --------------------------------------------------------------------------------------------------
# Hypothesis: finite for finite input, non-negative, zero at a perfect prediction

ELEMENTWISE_NONNEGATIVE = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy_with_logits",
    "soft_margin_loss", "logistic_loss", "hinge_loss", "mean_squared_log_error",
    "mean_absolute_percentage_error",
]
finite = st.floats(-1e3, 1e3, allow_nan=False)


@pytest.mark.parametrize("name", ELEMENTWISE_NONNEGATIVE)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_property_finite_and_nonnegative(name, data):
    n = data.draw(st.integers(1, 6))
    prediction = data.draw(hnp.arrays(np.float64, n, elements=finite))
    if name in ("logistic_loss", "hinge_loss", "soft_margin_loss"):
        target = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([-1.0, 1.0])))
    elif name == "binary_cross_entropy_with_logits":
        target = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0, 1)))
    elif name == "mean_squared_log_error":
        prediction = np.abs(prediction)
        target = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0, 1e3)))
    elif name == "mean_absolute_percentage_error":
        target = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.01, 1e3)))
    else:
        target = data.draw(hnp.arrays(np.float64, n, elements=finite))
    value, grad = losses.catalog[name].value_and_grad(prediction, target, reduction="none")
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    assert np.all(value >= 0)


PERFECT = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "mean_squared_log_error",
           "mean_absolute_percentage_error", "linf_distance", "minkowski_distance"]


@pytest.mark.parametrize("name", PERFECT)
@settings(max_examples=30, deadline=None)
@given(target=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.5, 100)))
def test_property_zero_at_a_perfect_prediction(name, target):
    value, grad = losses.catalog[name].value_and_grad(target.copy(), target)
    assert value == 0.0
    assert np.all(grad == 0.0)


@settings(max_examples=40, deadline=None)
@given(logits=hnp.arrays(np.float64, (3, 5), elements=st.floats(-1e4, 1e4)),
       labels=hnp.arrays(np.int64, 3, elements=st.integers(0, 4)))
def test_property_cross_entropy_finite_nonnegative_and_gradient_rows_sum_to_zero(logits, labels):
    value, grad = losses.cross_entropy.value_and_grad(logits, labels, reduction="none")
    assert np.all(np.isfinite(value)) and np.all(value >= 0)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# Bad input: one clear ValueError naming the argument


@pytest.mark.parametrize(
    "name, args, kwargs, words",
    [
        ("mse_loss", (np.zeros(3), np.zeros(4)), {}, ["target", "(4,)", "(3,)"]),
        ("binary_cross_entropy", (np.array([-0.1, 0.5]), np.array([0.0, 1.0])), {}, ["input", "-0.1", "[0, 1]"]),
        ("binary_cross_entropy", (np.array([0.1, 0.5]), np.array([0.0, 1.5])), {}, ["target", "1.5"]),
        ("cross_entropy", (np.zeros((2, 3)), np.array([0, 3])), {}, ["target", "3", "[0, 2]"]),
        ("cross_entropy", (np.zeros((2, 3)), np.array([0, 1, 2])), {}, ["target", "(3,)", "(2,)"]),
        ("nll_loss", (np.zeros((2, 3)), np.array([0, -1])), {}, ["target", "-1"]),
        ("huber_loss", (np.zeros(2), np.zeros(2)), {"delta": 0.0}, ["delta"]),
        ("multi_margin_loss", (np.zeros((2, 3)), np.array([0, 3])), {}, ["target", "3", "[0, 2]"]),
        ("multi_margin_loss", (np.zeros((2, 3)), np.array([0, 1])), {"p": 3}, ["p=3", "1 or 2"]),
        ("multilabel_margin_loss", (np.zeros((1, 3)), np.array([[0, 5, -1]])), {}, ["target", "5"]),
        ("multilabel_margin_loss", (np.zeros((1, 3)), np.array([0, 1, -1])), {}, ["target", "(3,)", "(1, 3)"]),
        ("gaussian_nll_loss", (np.zeros((2, 3)), np.zeros((2, 3)), np.ones((3,))), {}, ["var", "(3,)", "(2, 3)"]),
        ("gaussian_nll_loss", (np.zeros(2), np.zeros(2), np.array([1.0, -0.5])), {}, ["var", "-0.5"]),
        ("gaussian_nll_loss", (np.zeros(2), np.zeros(3), np.ones(2)), {}, ["broadcast", "(3,)"]),
        ("mse_loss", (np.zeros(2), np.zeros(2)), {"reduction": "avg"}, ["reduction", "'avg'"]),
        ("kl_div", (np.zeros(2), np.array([0.5, -0.5])), {}, ["target", "-0.5"]),
        ("mean_absolute_percentage_error", (np.zeros(2), np.array([1.0, 0.0])), {}, ["target", "non-zero"]),
        ("minkowski_distance", (np.zeros((2, 2)), np.zeros((2, 2))), {"p": -1}, ["p=-1"]),
        ("ctc_loss", (np.zeros((4, 1, 3)), np.array([[1, 3]]), np.array([4]), np.array([2])), {}, ["targets", "3"]),
        ("cosine_embedding_loss", (np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 2.0])), {}, ["target", "2.0"]),
    ],
)
def test_bad_input_raises_one_clear_value_error(name, args, kwargs, words):
    with pytest.raises(ValueError) as error:
        losses.catalog[name](*args, **kwargs)
    message = str(error.value)
    for word in words:
        assert word in message, message


# --------------------------------------------------------------------------------------------------
# The API


TWINLESS = ["mean_squared_log_error", "mean_absolute_percentage_error", "linf_distance",
            "minkowski_distance", "logistic_loss", "hinge_loss"]


def test_catalog_holds_every_loss_of_the_issue():
    twins = [n for n in losses.catalog if n not in TWINLESS]
    assert len(losses.catalog) == 27
    assert all(getattr(losses, n) is losses.catalog[n] for n in losses.catalog)
    assert all(losses.catalog[n].torch is None for n in TWINLESS)
    assert all(losses.catalog[n].torch == f"torch.nn.functional.{n}" for n in twins)


@pytest.mark.parametrize("name", [n for n in losses.catalog if n not in TWINLESS])
def test_signature_and_defaults_equal_torch(name):
    pytest.importorskip("torch", reason="the torch extra is not installed")
    import inspect

    import torch.nn.functional as F

    theirs = inspect.signature(getattr(F, name)).parameters
    ours = inspect.signature(losses.catalog[name]).parameters
    assert list(ours) == list(theirs)
    assert {k: p.default for k, p in ours.items()} == {k: p.default for k, p in theirs.items()}


def test_grad_with_reduction_none_is_gradient_of_the_sum():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=5), rng.normal(size=5)
    close(losses.huber_loss.grad(x, y, reduction="none"), losses.huber_loss.grad(x, y, reduction="sum"))
    close(losses.huber_loss.grad(x, y), losses.huber_loss.grad(x, y, reduction="sum") / 5)


def test_textbook_gradients():
    """diff of the expression equals the textbook form (symbolically where SymPy decides)."""
    from symlearn.functions import sigmoid

    x, y = losses.binary_cross_entropy_with_logits.spec.symbols
    pw = sp.Symbol("p_w", positive=True)
    grad = sp.diff(losses.binary_cross_entropy_with_logits.expr.subs(pw, 1), x)
    assert sp.simplify((grad - (sigmoid(x) - y)).rewrite(sp.exp)) == 0
    assert sp.diff(losses.mse_loss.expr, x) == 2 * x - 2 * y


# --------------------------------------------------------------------------------------------------
# Documents, the derivation catalog and the CLI


def _loss_documents():
    """The loss documents' builder, course content beside the derivation sources."""
    from pathlib import Path

    from symlearn.registry import load_helper

    return load_helper(Path(__file__).resolve().parents[1] / "derivations" / "losses.py",
                       "_loss_documents")


@pytest.mark.parametrize("name", list(losses.catalog))
def test_every_loss_has_a_checked_derivation(name):
    from symlearn.derivation import require_checked

    document = losses.catalog[name].derivation()
    assert document.name == name.replace("_", "-")
    assert document.all_steps(), "a document without a checked step"
    require_checked(document)


def test_a_wrong_gradient_cannot_enter_a_document():
    from dataclasses import replace

    from symlearn.derivation import StepCheckError
    _elementwise_document = _loss_documents()._elementwise_document

    x, y = losses.mse_loss.spec.symbols
    wrong = replace(losses.mse_loss.spec, textbook_grad=x - y)  # the factor 2 is missing
    with pytest.raises(StepCheckError):
        _elementwise_document(wrong)


def test_derivations_catalog_lists_every_loss_and_the_overview():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "derivations" / "losses.py"
    spec = importlib.util.spec_from_file_location("derivations_losses", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = {"losses-overview"} | {n.replace("_", "-") for n in losses.catalog}
    assert set(module.CATALOG) == expected
    _summary, build = module.CATALOG["losses-overview"]
    overview = build()
    assert overview.figures()
    # "The two gradients every course shows" are derived rule by rule: two blocks of several
    # steps, each naming a rule, each ending at the derivative sympy.diff gives for the loss
    # written out here (not taken from the document).
    from symlearn.derivation import Steps

    x, y = sp.symbols("x y", real=True)
    losses_shown = (sp.log(1 + sp.exp(x)) - y * x, (x - y) ** 2)
    blocks = [b for b in overview.blocks if isinstance(b, Steps)]
    assert len(blocks) == len(losses_shown)
    for block, loss in zip(blocks, losses_shown):
        assert len(block.steps) >= 3
        assert all(step.reason.strip() for step in block.steps)
        assert any("chain rule" in step.reason for step in block.steps)
        assert all(step.result is not None and step.result.passed for step in block.steps)
        final = block.steps[-1].rhs.rewrite(sp.exp)
        assert sp.simplify(final - sp.diff(loss, x)) == 0


def test_overview_figure_draws_an_svg(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    build_overview = _loss_documents().build_overview

    (figure,) = build_overview().figures()
    target = tmp_path / "overview.svg"
    figure.draw(target)
    assert target.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_cli_lists_the_catalog(capsys):
    from symlearn.cli import main

    assert main(["losses"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["name", "formula", "torch", "twin"]
    assert len(lines) == 2 + len(losses.catalog)
    assert any(line.startswith("hinge_loss") and " - " in line for line in lines)
    assert main(["losses", "cross_entropy", "--latex"]) == 0
    assert r"\sum_{j=1}^{C}" in capsys.readouterr().out
    assert main(["losses", "no_such_loss"]) == 2
    assert "unknown loss 'no_such_loss'" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# The fast path (loss(x, y[, reduction]) on float64 ndarrays) against torch, on inputs it must
# not get wrong: views with strides, 0-d and empty arrays, value-only and gradient-only calls.


def _fast_path_inputs():
    rng = np.random.default_rng(8)
    wide = rng.normal(size=(6, 8))
    return [
        ("strided", wide[:, ::2], rng.normal(size=(6, 4))),
        ("transposed", wide.T, rng.uniform(0, 1, (8, 6))),
        ("0-d", np.array(0.7), np.array(0.2)),
        ("empty", np.zeros(0), np.zeros(0)),
    ]


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "soft_margin_loss"])
@pytest.mark.parametrize("label, x, y", _fast_path_inputs(), ids=[c[0] for c in _fast_path_inputs()])
def test_fast_path_equals_torch_on_views_scalars_and_empty_arrays(name, label, x, y):
    if name == "soft_margin_loss":
        y = np.where(y > np.median(y) if y.size else y, 1.0, -1.0)
    case = Case(name, None, label, name)
    loss = losses.catalog[name]
    for reduction in REDUCTIONS:
        expected_value, expected_grad = _torch_value_and_grad(case, (x, y), {}, reduction)
        with np.errstate(invalid="ignore"):  # the mean of nothing is nan, as in torch
            value, grad = loss.value_and_grad(x, y, reduction=reduction)
            only_value, only_grad = loss(x, y, reduction=reduction), loss.grad(x, y, reduction=reduction)
        for ours in (value, only_value):
            np.testing.assert_allclose(ours, expected_value, rtol=RTOL, atol=RTOL)
        for ours in (grad, only_grad):
            assert np.shape(ours) == np.shape(x)
            np.testing.assert_allclose(ours, expected_grad, rtol=RTOL, atol=RTOL)


def test_fast_path_still_rejects_bad_shapes_and_takes_other_dtypes_the_general_way():
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"target has shape \(2,\); expected \(3,\)"):
        losses.mse_loss.value_and_grad(x, np.zeros(2))
    with pytest.raises(ValueError, match="reduction='avg'"):
        losses.mse_loss(x, x, reduction="avg")
    # float32 and lists are converted (the general path), as float64 results.
    value, grad = losses.mse_loss.value_and_grad(np.ones(3, np.float32), [0.0, 0.0, 0.0])
    assert value == 1.0 and grad.dtype == np.float64 and np.all(grad == 2.0 / 3)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
def test_cross_entropy_fast_path_labels_of_any_integer_type(dtype):
    rng = np.random.default_rng(9)
    logits = 3 * rng.normal(size=(5, 4))
    labels = rng.integers(0, 4, 5).astype(dtype)
    case = Case("cross_entropy", None, "dtype", "cross_entropy")
    for reduction in REDUCTIONS:
        expected_value, expected_grad = _torch_value_and_grad(
            case, (logits, labels.astype(np.int64)), {}, reduction
        )
        value, grad = losses.cross_entropy.value_and_grad(logits, labels, reduction=reduction)
        close(value, expected_value)
        close(grad, expected_grad)
    bad = labels.copy()
    bad[2] = 4
    with pytest.raises(ValueError, match="class index 4"):
        losses.cross_entropy(logits, bad)
    if np.issubdtype(dtype, np.signedinteger):
        bad[2] = -1  # a negative label is not an index from the end
        with pytest.raises(ValueError, match="class index -1"):
            losses.cross_entropy(logits, bad)


@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss_takes_torch_pairwise_distances(swap):
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    import torch.nn.functional as F

    rng = np.random.default_rng(13)
    a, p, n = (rng.normal(size=(5, 3)) for _ in range(3))
    for distance in (torch.nn.PairwiseDistance(p=3.0, eps=1e-4), F.pairwise_distance):
        ta = torch.tensor(a, requires_grad=True)
        out = F.triplet_margin_with_distance_loss(
            ta, torch.tensor(p), torch.tensor(n), distance_function=distance, swap=swap
        )
        out.backward()
        value, grad = losses.triplet_margin_with_distance_loss.value_and_grad(
            a, p, n, distance_function=distance, swap=swap
        )
        close(value, out.item())
        close(grad, ta.grad.numpy())
    with pytest.raises(ValueError, match="distance_function=.*not supported.*symbolically"):
        losses.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda u, v: u - v)
    with pytest.raises(ValueError, match="margin=0.0 must be greater than 0"):
        losses.triplet_margin_with_distance_loss(a, p, n, margin=0.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_with_a_float_variance_equals_torch(reduction):
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    import torch.nn.functional as F

    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    tx = torch.tensor(x, requires_grad=True)
    out = F.gaussian_nll_loss(tx, torch.tensor(y), 0.3, full=True, reduction=reduction)
    out.sum().backward()
    value, grad = losses.gaussian_nll_loss.value_and_grad(x, y, 0.3, full=True, reduction=reduction)
    close(value, out.detach().numpy())
    close(grad, tx.grad.numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_impossible_alignment_without_zero_infinity_matches_torch(reduction):
    """p = 0 has no gradient: torch's CPU kernel gives NaN at the sample's used steps (t <
    input_length) and 0 beyond; the other sample's gradient is unaffected."""
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    import torch.nn.functional as F

    rng = np.random.default_rng(10)
    log_probs = np.log(_softmax_rows(rng.normal(size=(5, 2, 4))))
    targets = np.array([[1, 1, 2], [1, 2, 3]])  # 1,1,2 needs 4 steps; sample 0 has 3
    input_lengths, target_lengths = np.array([3, 5]), np.array([3, 3])
    lp = torch.tensor(log_probs, requires_grad=True)
    out = F.ctc_loss(lp, torch.tensor(targets), torch.tensor(input_lengths),
                     torch.tensor(target_lengths), reduction=reduction, zero_infinity=False)
    out.sum().backward()
    expected = lp.grad.numpy()
    assert np.all(np.isnan(expected[:3, 0])) and np.all(expected[3:, 0] == 0)  # torch's convention
    value, grad = losses.ctc_loss.value_and_grad(
        log_probs, targets, input_lengths, target_lengths, reduction=reduction
    )
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(value), np.isinf(out.detach().numpy()))
    close(grad[:, 1], expected[:, 1])
    np.testing.assert_array_equal(grad[3:, 0], 0.0)
    if reduction == "none":
        close(value[1], out.detach().numpy()[1])


# --------------------------------------------------------------------------------------------------
# The worked example in each document, against torch or an independent numpy reference

# Per element (or per row, for the distances), written here from the definitions.
EXAMPLE_REFERENCES = {
    "mean_squared_log_error": lambda a: (np.log1p(a[0]) - np.log1p(a[1])) ** 2,
    "mean_absolute_percentage_error": lambda a: np.abs(a[0] - a[1]) / np.abs(a[1]),
    "logistic_loss": lambda a: np.log1p(np.exp(-a[1] * a[0])),
    "hinge_loss": lambda a: np.maximum(0.0, 1 - a[1] * a[0]),
    "linf_distance": lambda a: np.abs(a[0] - a[1]).max(axis=-1),
    "minkowski_distance": lambda a: (np.abs(a[0] - a[1]) ** 3).sum(-1) ** (1 / 3),
}


def _example_steps(name):
    document = losses.catalog[name].derivation()
    blocks = list(document.blocks)
    start = next(i for i, b in enumerate(blocks) if getattr(b, "title", "") == "A worked example")
    (steps,) = [b for b in blocks[start:] if hasattr(b, "steps")]
    return steps.steps


@pytest.mark.parametrize("name", list(losses.catalog))
def test_worked_example_numbers_equal_torch_or_a_numpy_reference(name):
    worked_example = _loss_documents().worked_example

    example = worked_example(name)
    kwargs = dict(example.kwargs)
    reduction = kwargs.pop("reduction", "mean")
    if name in EXAMPLE_REFERENCES:
        reference = EXAMPLE_REFERENCES[name]
        rest = example.args[1:]
        mean = lambda v: float(np.mean(reference((v, *rest))))
        expected_value = mean(example.args[0])
        expected_grad = _central_difference(mean, example.args[0].astype(float))
        tolerance = 1e-8  # finite differences
    else:
        case = Case(name, None, "example", name)
        expected_value, expected_grad = _torch_value_and_grad(case, example.args, kwargs, reduction)
        tolerance = RTOL
    expected = [float(expected_value), *np.asarray(expected_grad, dtype=float).reshape(-1)]
    steps = _example_steps(name)
    assert len(steps) == len(expected)
    for step, number in zip(steps, expected):
        exact, shown = step.claim
        assert step.result.passed and step.result.method == "rounded"
        assert float(sp.N(exact, 30)) == pytest.approx(number, rel=tolerance, abs=tolerance)
        assert abs(float(shown) - number) <= 0.5e-6 + 1e-12, (step.lhs, shown, number)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "soft_margin_loss"])
@pytest.mark.parametrize("shape", [(1,), (9,), (3, 4)])
def test_plain_fast_path_is_in_place_and_equals_the_general_path(name, shape):
    """value_and_grad(x, y) and grad(x, y) on float64 arrays run the in-place kernel: the same
    numbers as the general path (lists), the inputs unchanged, a gradient that aliases neither."""
    loss = losses.catalog[name]
    rng = np.random.default_rng(11)
    x = rng.normal(size=shape)
    y = np.where(rng.normal(size=shape) > 0, 1.0, -1.0) if name == "soft_margin_loss" else (
        rng.uniform(0, 1, shape)
    )
    copies = x.copy(), y.copy()
    value, grad = loss.value_and_grad(x, y)
    only_grad = loss.grad(x, y)
    expected_value, expected_grad = loss.value_and_grad(x.tolist(), y.tolist())
    close(value, expected_value)
    close(grad, expected_grad)
    close(only_grad, expected_grad)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(y, copies[1])
    for out in (grad, only_grad):
        assert out.shape == x.shape and out.dtype == np.float64
        assert not np.shares_memory(out, x) and not np.shares_memory(out, y)
    assert not np.shares_memory(grad, only_grad)
    kernel = loss._plain_kernel
    assert kernel.direct and hasattr(kernel.reduced_both, "inplace")
