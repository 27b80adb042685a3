r"""Losses with structure across an axis: softmax over classes, norms over features, CTC.

The other rows of the catalog are generated: their per-element expression is rewritten to stable
forms and printed by ``symlearn.codegen`` (one path for the package and for ``symlearn export``).
The ten rows here are vectorized numpy written by hand, each following the formula its document
(``derivations/_loss_documents.py``) derives step by step and the reduction PyTorch uses,
because neither generated backend can express them:

* the elementwise backend (``lambdify`` of one element) has no reduction along an axis inside an
  element, and
* the matrix-graph backend (``symlearn.calculus.matrix``) has matrix products, elementwise
  functions and row log-sum-exp, but no indexing by data and no loop whose length the data sets.

Row by row, what each needs that neither backend has:

========================================  ====================================================
``cross_entropy``                         softmax over the class axis, then a gather
                                          ``z[n, y_n]`` by the integer targets
                                          (``ignore_index``, class ``weight``, label smoothing,
                                          ``(N, C, d1, ...)`` inputs); the plain ``(N, C)``
                                          case is the matrix form training uses
``nll_loss``                              the gather ``x[n, y_n]`` with ``ignore_index`` and
                                          class weights
``multi_margin_loss``                     a sum over the classes ``j != y_n`` (a data-chosen
                                          term is left out)
``multilabel_margin_loss``                each row's target is a set of labels of data-given
                                          length (ended by -1)
``cosine_embedding_loss``                 two norms over the feature axis in each sample
``triplet_margin_loss``                   p-norms over the feature axis, and ``swap`` takes the
                                          smaller of two distances
``triplet_margin_with_distance_loss``     the distance is any Python function the caller passes:
                                          there is no expression to generate (nor to export)
``linf_distance``                         a max over the feature axis
``minkowski_distance``                    a p-norm over the feature axis, p a run-time argument
``ctc_loss``                              a forward-backward recurrence over alignments whose
                                          length the targets set
========================================  ====================================================

The SymPy expression of each (``Loss.expr``) is the per-sample loss, written with ``Sum`` and
``Indexed`` for display. The hand-written values and gradients are checked against PyTorch
(float64, ``tests/test_losses.py`` and its OpInfo sample inputs in ``tests/test_losses_opinfo.py``)
and central differences (CTC: the gradient in the logits, as PyTorch defines it).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._course_sources import course_source
from ._spec import LossSpec, as_float_array

_SLIDES = "From " + course_source("003")
_BLOG = "From " + course_source("001")

__all__ = ["SPECS"]


# ----------------------------------------------------------------------------------------------
# Helpers


def _finish(loss, grad, reduction, denominator, want_value, want_grad):
    """Reduce per-sample ``loss`` and scale ``grad`` (the gradient of the sum) for 'mean'."""
    value = None
    if reduction == "mean":
        if want_grad:
            grad *= 1.0 / denominator
        if want_value:
            value = loss.sum() / denominator
    elif want_value:
        value = loss if reduction == "none" else loss.sum()
    return value, grad


def _mean_scale(reduction, total):
    """The factor of the gradient of the sum for ``reduction``: ``1 / total`` for 'mean' (inf when
    the total weight is 0, as PyTorch's division gives), else 1."""
    if reduction != "mean":
        return 1.0
    with np.errstate(divide="ignore"):
        return np.float64(1.0) / np.float64(total)


def _reduce_targets(loss, reduction, total):
    """The value for class-index targets: 'mean' divides by the total weight of the targets not
    ignored (NaN when every target is ignored: 0/0, as PyTorch)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.float64(loss.sum()) / np.float64(total)


def _class_indices(target, name, expected_shape, classes, ignore_index):
    """``(target as int64, valid)``: the labels, checked in [0, classes) where they are not
    ``ignore_index``, and the mask of those that are not.

    Every comparison is made in int64: in a small dtype (int8, uint8) a comparison with -100 or
    a class count above the dtype's range would wrap or be out of range."""
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer):
        raise ValueError(
            f"{name} must hold integer class indices, got dtype {target.dtype} (shape {target.shape})"
        )
    if target.dtype != np.int64:
        if target.dtype == np.uint64 and target.size and target.max() > np.iinfo(np.int64).max:
            raise ValueError(
                f"{name} holds the class index {int(target.max())}; expected indices in "
                f"[0, {classes - 1}] (or ignore_index={ignore_index})"
            )
        target = target.astype(np.int64)
    if target.shape != expected_shape:
        raise ValueError(
            f"{name} has shape {target.shape}; expected {expected_shape}, the shape of input "
            f"without its class axis"
        )
    valid = target != ignore_index
    if target.size:
        low, high = target[valid].min(initial=0), target[valid].max(initial=0)
        if low < 0 or high >= classes:
            bad = target[valid & ((target < 0) | (target >= classes))].flat[0]
            raise ValueError(
                f"{name} holds the class index {int(bad)}; expected indices in [0, {classes - 1}] "
                f"(or ignore_index={ignore_index})"
            )
    return target, valid


def _classes_last(z):
    """Move the class axis (1, or 0 for a 1-D input) last, as a view."""
    if z.ndim == 0:
        raise ValueError("input must have a class axis; got a 0-d array")
    return z if z.ndim <= 2 else np.moveaxis(z, 1, -1)


def _classes_back(g, ndim):
    return g if ndim <= 2 else np.moveaxis(g, -1, 1)


def _weight_vector(weight, classes):
    if weight is None:
        return None
    weight = as_float_array(weight, "weight")
    if weight.shape != (classes,):
        raise ValueError(f"weight has shape {weight.shape}; expected ({classes},), one per class")
    return weight


# ----------------------------------------------------------------------------------------------
# Cross-entropy and NLL


def _cross_entropy(bound, reduction, want_value, want_grad):
    r"""Softmax cross-entropy, $\ell = \operatorname{logsumexp}(z) - z_y$, vectorized.

    Log-softmax is computed as $z - \max z - \log\sum e^{z - \max z}$ (finite for any finite
    logits); the gradient is $w_y(\operatorname{softmax}(z) - \operatorname{onehot}(y))$, with label
    smoothing and probability targets as in PyTorch's ``cross_entropy``.
    """
    z = as_float_array(bound["input"], "input")
    target = np.asarray(bound["target"])
    ignore_index = int(bound["ignore_index"])
    # The plain formula ignores nothing: it needs every label in range and ignore_index outside
    # [0, C) (then no label can equal it).
    if (
        z.ndim == 2 and bound["weight"] is None and not bound["label_smoothing"]
        and not 0 <= ignore_index < z.shape[1]
        and target.dtype.kind in "iu" and target.shape == z.shape[:1] and target.size
        and _labels_in_range(target, z.shape[1])
    ):
        return _cross_entropy_plain(z, target, reduction, want_value, want_grad)
    zt = _classes_last(z)
    classes = zt.shape[-1]
    smoothing = float(bound["label_smoothing"])
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"label_smoothing={smoothing!r} must be in [0, 1]")
    weight = _weight_vector(bound["weight"], classes)
    shifted = zt - zt.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=-1, keepdims=True)
    logp = shifted - np.log(total)
    if np.issubdtype(target.dtype, np.floating):  # class probabilities, shape of input
        if target.shape != z.shape:
            raise ValueError(
                f"target has shape {target.shape}; probability targets need the shape of input "
                f"{z.shape}"
            )
        probs = _classes_last(target.astype(np.float64, copy=False))
        if smoothing:
            probs = probs * (1 - smoothing) + smoothing / classes
        weighted = probs if weight is None else probs * weight
        loss = -(logp * weighted).sum(axis=-1)
        grad = None
        if want_grad:
            grad = exp / total * weighted.sum(axis=-1, keepdims=True) - weighted
            grad = _classes_back(grad, z.ndim)
        denominator = z.size / classes if z.size else float("nan")
        return _finish(loss, grad, reduction, denominator, want_value, want_grad)
    target, valid = _class_indices(target, "target", zt.shape[:-1], classes, ignore_index)
    safe = np.where(valid, target, 0)[..., None]
    # Exact zeros at ignored targets (PyTorch never writes their gradient: 0, not 0 * inf).
    w_t = valid.astype(np.float64) if weight is None else np.where(valid, weight[safe[..., 0]], 0.0)
    picked = np.take_along_axis(logp, safe, axis=-1)[..., 0]
    nll = -w_t * picked
    smooth = None
    if smoothing:
        all_classes = logp.sum(axis=-1) if weight is None else logp @ weight
        smooth = np.where(valid, -all_classes, 0.0)
    weight_total = w_t.sum()  # 'mean' divides by the total weight of the targets not ignored
    grad = None
    if want_grad:
        # d/dz of -(1-eps) w_y log p_y - eps/C sum_c w_c log p_c, through log-softmax, with the
        # mean's factor in each row's coefficient: rows of ignored targets are exactly 0, even
        # when every target is ignored (total 0); other rows then get inf or nan, as PyTorch's.
        softmax = exp / total
        scale = _mean_scale(reduction, weight_total)
        with np.errstate(invalid="ignore"):
            own = np.where(valid, (1 - smoothing) * w_t * scale, 0.0)  # nll_loss's coefficient
            mass = own
            if smoothing:
                spread = np.where(valid, smoothing / classes * scale, 0.0)
                weight_sum = classes if weight is None else weight.sum()
                mass = own + spread * weight_sum
            grad = softmax * mass[..., None]
            np.put_along_axis(
                grad, safe, np.take_along_axis(grad, safe, axis=-1) - own[..., None], axis=-1
            )
            if smoothing:
                grad -= spread[..., None] * (1.0 if weight is None else weight)
        grad = _classes_back(grad, z.ndim)
    value = None
    if want_value:
        # PyTorch reduces the two terms apart, (1 - eps) NLL + eps/C smooth: under 'mean' with a
        # total weight of 0 the NLL term is 0/0 = NaN whatever the smoothing term is.
        value = (1 - smoothing) * _reduce_targets(nll, reduction, weight_total)
        if smooth is not None:
            value = value + smoothing / classes * _reduce_targets(smooth, reduction, weight_total)
    return value, grad


def _labels_in_range(target, classes) -> bool:
    """All integer labels in [0, classes): one reduction (a negative signed label read as
    unsigned is larger than any class count)."""
    if target.dtype.kind == "i":
        if classes > _SIGNED_MAX[target.dtype]:
            # Every non-negative label is a class, and a negative one read as unsigned (-100 as
            # int8 is 156) could be one too: only the sign decides.
            return bool(np.minimum.reduce(target, axis=None) >= 0)
        target = target.view(_UNSIGNED[target.dtype.itemsize])
    return bool(np.maximum.reduce(target, axis=None) < classes)


_UNSIGNED = {np.dtype(t).itemsize: np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64)}
_SIGNED_MAX = {np.dtype(t): int(np.iinfo(t).max) for t in (np.int8, np.int16, np.int32, np.int64)}
_FLOAT64 = np.dtype(np.float64)


def _cross_entropy_fast(z, target, reduction, want_value, want_grad):
    """``cross_entropy(input, target[, reduction])`` on a float64 (N, C) array and N in-range
    integer labels, or ``None`` for anything else (the general path then validates)."""
    if (
        type(z) is np.ndarray and type(target) is np.ndarray and z.ndim == 2
        and z.dtype is _FLOAT64 and target.dtype.kind in "iu"
        and target.shape == z.shape[:1] and target.size and _labels_in_range(target, z.shape[1])
    ):
        return _cross_entropy_plain(z, target, reduction, want_value, want_grad)
    return None


def _cross_entropy_plain(z, target, reduction, want_value, want_grad):
    """The common case, (N, C) logits and in-range labels without options: the same formula
    with row indexing, which costs less than the general path's gathers at small N. Every
    array after the shifted logits is written in place: the exponentials overwrite the shifted
    logits and become the gradient (softmax / N for 'mean': one multiplication by
    ``scale / total`` per row), then the log of the row sums overwrites the sums."""
    n = z.shape[0]
    rows = np.arange(n)
    shifted = z - z.max(axis=1, keepdims=True)
    picked = shifted[rows, target]  # a copy: fancy indexing
    exp = np.exp(shifted, out=shifted)
    total = exp.sum(axis=1)
    scale = 1.0 / n if reduction == "mean" else 1.0
    grad = None
    if want_grad:
        np.multiply(exp, np.divide(scale, total)[:, None], out=exp)
        exp[rows, target] -= scale
        grad = exp
    value = None
    if want_value:
        log_total = np.log(total, out=total)
        if reduction == "none":
            value = np.subtract(log_total, picked, out=log_total)
        else:
            value = (log_total.sum() - picked.sum()) * scale
    return value, grad


def _nll_loss(bound, reduction, want_value, want_grad):
    r"""Negative log-likelihood, $\ell = -w_y x_y$ for log-probabilities $x$; gradient $-w_y$ at
    the target class and $0$ elsewhere; 'mean' divides by $\sum w_y$ (PyTorch)."""
    x = as_float_array(bound["input"], "input")
    xt = _classes_last(x)
    classes = xt.shape[-1]
    weight = _weight_vector(bound["weight"], classes)
    target, valid = _class_indices(
        bound["target"], "target", xt.shape[:-1], classes, int(bound["ignore_index"])
    )
    safe = np.where(valid, target, 0)[..., None]
    w_t = valid.astype(np.float64) if weight is None else np.where(valid, weight[safe[..., 0]], 0.0)
    loss = -w_t * np.take_along_axis(xt, safe, axis=-1)[..., 0]
    total = w_t.sum()
    grad = None
    if want_grad:
        # PyTorch writes -w_y / total at each target not ignored and leaves every other entry 0.
        with np.errstate(invalid="ignore"):
            own = np.where(valid, w_t * _mean_scale(reduction, total), 0.0)
        grad = np.zeros_like(xt)
        np.put_along_axis(grad, safe, -own[..., None], axis=-1)
        grad = _classes_back(grad, x.ndim)
    return (_reduce_targets(loss, reduction, total) if want_value else None), grad


# ----------------------------------------------------------------------------------------------
# Margin losses over the classes: multi_margin_loss, multilabel_margin_loss


def _rows_of_classes(x, name="input"):
    """``x`` as (N, C) rows: a 0-d input is one class of one sample, a vector one sample."""
    if x.ndim > 2:
        raise ValueError(f"{name} has shape {x.shape}; expected (N, C), (C,) or ()")
    return x.reshape(1, 1) if x.ndim == 0 else x.reshape(1, -1) if x.ndim == 1 else x


def _multi_margin(bound, reduction, want_value, want_grad):
    r"""$\ell = \frac{1}{C}\sum_{i \ne y} w_y \max(0, m - x_y + x_i)^p$ per sample, $p \in
    \{1, 2\}$, the weight outside the power (aten/src/ATen/native/LossMultiMargin.cpp).
    Gradient: $\frac{p}{C} w_y z_i^{p-1}$ at each $i \ne y$ with $z_i = m - x_y + x_i > 0$
    (0 at $z_i = 0$: PyTorch tests $z > 0$), and minus their sum at $y$."""
    x = as_float_array(bound["input"], "input")
    p = bound["p"]
    if p not in (1, 2):
        raise ValueError(f"p={p!r} must be 1 or 2 (as in PyTorch)")
    margin = float(bound["margin"])
    rows = _rows_of_classes(x)
    n, classes = rows.shape
    target = np.asarray(bound["target"])
    expected = (n,) if x.ndim == 2 else (target.shape if target.shape in ((), (1,)) else ())
    if not np.issubdtype(target.dtype, np.integer):
        raise ValueError(
            f"target must hold integer class indices, got dtype {target.dtype} (shape {target.shape})"
        )
    if target.shape != expected:
        raise ValueError(f"target has shape {target.shape}; expected {expected}, one per sample")
    labels = target.astype(np.int64).reshape(-1)
    outside = (labels < 0) | (labels >= classes)
    if np.any(outside):
        raise ValueError(
            f"target holds the class index {int(labels[outside][0])}; expected indices in "
            f"[0, {classes - 1}]"
        )
    weight = _weight_vector(bound["weight"], classes)
    index = np.arange(n)
    z = margin - rows[index, labels][:, None] + rows
    active = z > 0
    active[index, labels] = False
    w_y = np.ones(n) if weight is None else weight[labels]
    h = np.where(active, z if p == 1 else z * z, 0.0)
    loss = (h.sum(axis=1) * w_y / classes).reshape(expected)
    grad = None
    if want_grad:
        slope = np.where(active, 1.0 if p == 1 else 2 * z, 0.0) * (w_y / classes)[:, None]
        slope[index, labels] = -slope.sum(axis=1)
        grad = slope.reshape(x.shape)
    return _finish(loss, grad, reduction, n, want_value, want_grad)


def _multilabel_margin(bound, reduction, want_value, want_grad):
    r"""$\ell = \frac{1}{C}\sum_{j} \sum_{i \notin Y} \max(0, 1 - x_{y_j} + x_i)$ per sample,
    where $y_1, y_2, \dots$ are the target's labels up to its first negative entry and $Y$ their
    set (a repeated label counts again, as in aten/src/ATen/native/LossMultiLabelMargin.cpp).
    Gradient: $+\frac{1}{C}$ at $x_i$ and $-\frac{1}{C}$ at $x_{y_j}$ for each active pair
    ($z > 0$; 0 at $z = 0$, as PyTorch)."""
    x = as_float_array(bound["input"], "input")
    rows = _rows_of_classes(x)
    n, classes = rows.shape
    target = np.asarray(bound["target"])
    if not np.issubdtype(target.dtype, np.integer):
        raise ValueError(
            f"target must hold integer class indices, got dtype {target.dtype} (shape {target.shape})"
        )
    if target.shape != x.shape:
        raise ValueError(f"target has shape {target.shape}; expected {x.shape}, the shape of input")
    labels = target.astype(np.int64).reshape(n, classes)
    used = np.cumprod(labels >= 0, axis=1).astype(bool)  # up to the first negative label
    bad = used & (labels >= classes)
    if np.any(bad):
        raise ValueError(
            f"target holds the class index {int(labels[bad][0])}; expected indices in "
            f"[0, {classes - 1}], ended by -1"
        )
    safe = np.where(used, labels, 0)
    index = np.arange(n)[:, None]
    is_target = np.zeros((n, classes), dtype=bool)
    is_target[np.broadcast_to(index, safe.shape)[used], safe[used]] = True
    picked = rows[index, safe]  # (n, j): x at each listed label
    z = 1.0 - picked[:, :, None] + rows[:, None, :]  # (n, j, i)
    active = (z > 0) & used[:, :, None] & ~is_target[:, None, :]
    loss = np.where(active, z, 0.0).sum(axis=(1, 2)) / classes
    loss = loss.reshape(()) if x.ndim < 2 else loss
    grad = None
    if want_grad:
        grad = active.sum(axis=1) / classes  # +1/C at every non-target i per active pair
        pairs = active.sum(axis=2) / classes  # -1/C at the listed label per active pair
        np.add.at(grad, (np.broadcast_to(index, safe.shape), safe), -pairs)
        grad = grad.reshape(x.shape)
    return _finish(loss, grad, reduction, n, want_value, want_grad)


# ----------------------------------------------------------------------------------------------
# Embedding losses: cosine, triplet; distances over the last axis


def _same_shape(names, arrays):
    shape = arrays[0].shape
    for name, array in zip(names[1:], arrays[1:]):
        if array.shape != shape:
            raise ValueError(
                f"{name} has shape {array.shape}; expected {shape}, the shape of {names[0]}"
            )
    return shape


def _sign_target(target, expected_shape):
    target = as_float_array(target, "target")
    if target.shape != expected_shape:
        raise ValueError(
            f"target has shape {target.shape}; expected {expected_shape}, one per row of input1"
        )
    bad = (target != 1) & (target != -1)
    if np.any(bad):
        raise ValueError(f"target must be 1 or -1; got {target[bad].flat[0]!r}")
    return target


_COSINE_EPSILON = 1e-12  # aten/src/ATen/native/Loss.cpp, cosine_embedding_loss


def _cosine_embedding(bound, reduction, want_value, want_grad):
    r"""$\ell = 1 - \cos(x_1, x_2)$ for $y = 1$, $\max(0, \cos(x_1, x_2) - m)$ for $y = -1$,
    with $\cos = \frac{\langle x_1, x_2\rangle}{\sqrt{(\|x_1\|^2 + \epsilon)(\|x_2\|^2 + \epsilon)}}$
    over the last axis ($\epsilon = 10^{-12}$, PyTorch's). Gradient in ``input1``:
    $\frac{\partial \cos}{\partial x_1} = \frac{x_2}{\sqrt{ab}} - \cos \frac{x_1}{a}$,
    $a = \|x_1\|^2 + \epsilon$, $b = \|x_2\|^2 + \epsilon$."""
    a1 = as_float_array(bound["input1"], "input1")
    a2 = as_float_array(bound["input2"], "input2")
    shape = _same_shape(("input1", "input2"), (a1, a2))
    if a1.ndim not in (1, 2):
        raise ValueError(f"input1 has shape {shape}; expected (N, D) or (D,)")
    target = _sign_target(bound["target"], shape[:-1])
    margin = float(bound["margin"])
    dot = (a1 * a2).sum(axis=-1)
    sq1 = (a1 * a1).sum(axis=-1) + _COSINE_EPSILON
    sq2 = (a2 * a2).sum(axis=-1) + _COSINE_EPSILON
    root = np.sqrt(sq1 * sq2)
    cos = dot / root
    positive = target == 1
    loss = np.where(positive, 1 - cos, np.maximum(cos - margin, 0.0))
    grad = None
    if want_grad:
        # clamp_min passes the gradient at cos == margin (PyTorch's convention).
        dloss_dcos = np.where(positive, -1.0, (cos - margin >= 0).astype(np.float64))
        dcos = a2 / root[..., None] - (cos / sq1)[..., None] * a1
        grad = dloss_dcos[..., None] * dcos
    return _finish(loss, grad, reduction, loss.size, want_value, want_grad)


def _p_norm(u, p):
    """``(norm, d norm / d u)`` over the last axis; the gradient is 0 where the norm is 0."""
    absolute = np.abs(u)
    if p == 2:
        norm = np.sqrt((u * u).sum(axis=-1))
    elif p == 1:
        norm = absolute.sum(axis=-1)
    else:
        norm = (absolute**p).sum(axis=-1) ** (1.0 / p)
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 1:
            grad = np.sign(u)
        elif p == 2:
            grad = u / norm[..., None]
        else:
            grad = np.sign(u) * absolute ** (p - 1) / norm[..., None] ** (p - 1)
    grad = np.where((norm > 0)[..., None], grad, 0.0)
    return norm, grad


def _check_p(p):
    p = float(p)
    if not (np.isfinite(p) and p > 0):
        raise ValueError(f"p={p!r} must be a positive finite number")
    return p


def _triplet_margin(bound, reduction, want_value, want_grad):
    r"""$\ell = \max(0, m + d(a, p) - d(a, n))$ with $d(u, v) = \|u - v + \epsilon\|_p$ over the
    last axis (``torch.pairwise_distance``); with ``swap``, $d(a, n)$ becomes
    $\min(d(a, n), d(p, n))$. Gradient in ``anchor``:
    $\nabla_a d(a, p) - \nabla_a d(a, n)$ where the hinge is active, with
    $\nabla_u \|u\|_p = \operatorname{sign}(u)|u|^{p-1} / \|u\|_p^{p-1}$."""
    names = ("anchor", "positive", "negative")
    anchor, positive, negative = (as_float_array(bound[n], n) for n in names)
    shape = _same_shape(names, (anchor, positive, negative))
    if anchor.ndim not in (1, 2):
        raise ValueError(f"anchor has shape {shape}; expected (N, D) or (D,)")
    p, eps, margin = _check_p(bound["p"]), float(bound["eps"]), float(bound["margin"])
    if not margin > 0:
        raise ValueError(f"margin={margin!r} must be positive")
    d_pos, g_pos = _p_norm(anchor - positive + eps, p)
    d_neg, g_neg = _p_norm(anchor - negative + eps, p)
    if bound["swap"]:
        # d(p, n) does not depend on the anchor; torch.minimum's gradient splits a tie in half.
        d_swap, _ = _p_norm(positive - negative + eps, p)
        share = np.where(d_swap < d_neg, 0.0, np.where(d_swap == d_neg, 0.5, 1.0))
        d_neg = np.minimum(d_neg, d_swap)
        g_neg = share[..., None] * g_neg
    hinge = margin + d_pos - d_neg
    loss = np.maximum(hinge, 0.0)
    grad = None
    if want_grad:
        grad = (hinge >= 0)[..., None] * (g_pos - g_neg)  # clamp_min: gradient passes at 0
    return _finish(loss, grad, reduction, loss.size, want_value, want_grad)


def _pairwise_distance_options(distance_function):
    """``(p, eps)`` of a distance function symlearn can derive: None and
    ``torch.nn.functional.pairwise_distance`` (p = 2, eps = 1e-6), or a
    ``torch.nn.PairwiseDistance`` module (its ``norm`` and ``eps``). Any other callable is
    refused: symlearn derives the loss symbolically and cannot see inside Python code."""
    if distance_function is None:
        return 2.0, 1e-6
    kind = type(distance_function)
    module = getattr(kind, "__module__", "") or ""
    if kind.__name__ == "PairwiseDistance" and module.startswith("torch"):
        if getattr(distance_function, "keepdim", False):
            raise ValueError("distance_function: a PairwiseDistance with keepdim=True is not supported")
        return float(distance_function.norm), float(distance_function.eps)
    if (
        getattr(distance_function, "__name__", "") == "pairwise_distance"
        and (getattr(distance_function, "__module__", "") or "").startswith("torch")
    ):
        return 2.0, 1e-6
    raise ValueError(
        f"distance_function={distance_function!r} is not supported: symlearn derives the loss "
        "symbolically, so it takes only None (torch.pairwise_distance), "
        "torch.nn.functional.pairwise_distance or a torch.nn.PairwiseDistance(p, eps) module"
    )


def _triplet_with_distance(bound, reduction, want_value, want_grad):
    r"""``triplet_margin_with_distance_loss`` for the pairwise $p$-norm distances
    (:func:`_pairwise_distance_options`): the triplet margin loss with that distance."""
    p, eps = _pairwise_distance_options(bound["distance_function"])
    margin = float(bound["margin"])
    if not margin > 0:
        raise ValueError(f"margin={margin!r} must be greater than 0")
    return _triplet_margin(
        {**bound, "p": p, "eps": eps, "margin": margin}, reduction, want_value, want_grad
    )


def _rows(bound):
    x = as_float_array(bound["input"], "input")
    t = as_float_array(bound["target"], "target")
    shape = _same_shape(("input", "target"), (x, t))
    if x.ndim == 0:
        raise ValueError("input must have at least one axis (the vector's); got a 0-d array")
    return x, t, shape


def _linf_distance(bound, reduction, want_value, want_grad):
    r"""$\ell = \max_i |x_i - y_i|$ over the last axis. Subgradient: $\operatorname{sign}(x_k -
    y_k)$ at the maximizing $k$, shared equally between ties (the convention of
    ``torch.amax`` and ``torch.linalg.vector_norm(ord=inf)``)."""
    x, t, _shape = _rows(bound)
    difference = x - t
    absolute = np.abs(difference)
    loss = absolute.max(axis=-1)
    grad = None
    if want_grad:
        at_max = absolute == loss[..., None]
        grad = np.sign(difference) * at_max / at_max.sum(axis=-1, keepdims=True)
    return _finish(loss, grad, reduction, loss.size, want_value, want_grad)


def _minkowski_distance(bound, reduction, want_value, want_grad):
    r"""$\ell = \left(\sum_i |x_i - y_i|^p\right)^{1/p}$ over the last axis; gradient
    $\operatorname{sign}(d_i)|d_i|^{p-1}/\ell^{p-1}$, and $0$ where $\ell = 0$ (PyTorch's
    convention for norms)."""
    x, t, _shape = _rows(bound)
    p = _check_p(bound["p"])
    loss, grad = _p_norm(x - t, p)
    return _finish(loss, grad if want_grad else None, reduction, loss.size, want_value, want_grad)


# ----------------------------------------------------------------------------------------------
# Signatures (torch.nn.functional's)


def _sig_cross_entropy(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean", label_smoothing=0.0,
):
    return dict(locals())


def _sig_nll(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean",
):
    return dict(locals())


def _sig_cosine(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    return dict(locals())


def _sig_triplet(
    anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, size_average=None,
    reduce=None, reduction="mean",
):
    return dict(locals())


def _sig_triplet_distance(
    anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
    reduction="mean",
):
    return dict(locals())


def _sig_multi_margin(
    input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"
):
    return dict(locals())


def _sig_multilabel_margin(input, target, size_average=None, reduce=None, reduction="mean"):
    return dict(locals())


def _sig_ctc(
    log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
    zero_infinity=False,
):
    return dict(locals())


def _sig_plain(input, target, reduction="mean"):
    return dict(locals())


def _sig_minkowski(input, target, p=2, reduction="mean"):
    return dict(locals())


# ----------------------------------------------------------------------------------------------
# Display expressions (per sample)

_i, _j = sp.symbols("i j", integer=True)
_C, _D = sp.symbols("C D", integer=True, positive=True)
_z = sp.IndexedBase("z")
_xi = sp.IndexedBase("x")
_yi = sp.IndexedBase("y")
_w = sp.IndexedBase("w")
_label = sp.Symbol("y", integer=True)
_cos = sp.Symbol(r"\cos", real=True)
_m = sp.Symbol("m", real=True)
_p = sp.Symbol("p", positive=True)


def _norm(u, p=_p):
    return sp.Sum(sp.Abs(u) ** p, (_i, 1, _D)) ** (1 / p)


def _ctc_spec():
    from . import _ctc

    return LossSpec(
        name="ctc_loss",
        title="Connectionist temporal classification",
        latex_name=r"\operatorname{CTC}",
        signature=_sig_ctc,
        arrays=("log_probs", "targets", "input_lengths", "target_lengths"),
        symbols=(),
        expr=-sp.log(sp.Function(r"\alpha_T")(sp.Symbol("S'")) + sp.Function(r"\alpha_T")(
            sp.Symbol("S'") - 1)),
        structured=_ctc._ctc_loss,
        torch="torch.nn.functional.ctc_loss",
        domain={
            "log_probs": "log-probabilities, (T, N, C) or (T, C)",
            "targets": "labels in [0, C) other than blank",
        },
        notes=(
            "Forward-backward in log space; the gradient follows PyTorch's (the gradient with "
            "respect to the logits when log_probs = log_softmax(logits))."
        ),
    )


SPECS = [
    LossSpec(
        name="cross_entropy",
        title="Softmax cross-entropy",
        latex_name=r"\operatorname{CE}",
        signature=_sig_cross_entropy,
        arrays=("input", "target"),
        symbols=(),
        expr=sp.log(sp.Sum(sp.exp(_z[_j]), (_j, 1, _C))) - _z[_label],
        structured=_cross_entropy,
        fast=_cross_entropy_fast,
        torch="torch.nn.functional.cross_entropy",
        domain={
            "input": "logits, (N, C) or (C,) or (N, C, d1, ...)",
            "target": "class indices in [0, C) or probabilities of input's shape",
        },
        notes=f"{_SLIDES}, slide 'Cross Entropy': "
              "$H(p, q) = -\\sum_i p_i \\log q_i$ with $q$ = softmax.",
    ),
    LossSpec(
        name="nll_loss",
        title="Negative log-likelihood",
        latex_name=r"\operatorname{NLL}",
        signature=_sig_nll,
        arrays=("input", "target"),
        symbols=(),
        expr=-_w[_label] * _xi[_label],
        structured=_nll_loss,
        torch="torch.nn.functional.nll_loss",
        domain={"input": "log-probabilities, (N, C) or (C,)", "target": "class indices in [0, C)"},
        notes="Cross-entropy is nll_loss(log_softmax(z), y).",
    ),
    LossSpec(
        name="cosine_embedding_loss",
        title="Cosine embedding loss",
        latex_name=r"\operatorname{CosEmb}",
        signature=_sig_cosine,
        arrays=("input1", "input2", "target"),
        symbols=(),
        expr=sp.Piecewise((1 - _cos, sp.Eq(_label, 1)), (sp.Max(0, _cos - _m), True)),
        structured=_cosine_embedding,
        torch="torch.nn.functional.cosine_embedding_loss",
        domain={"input1": "(N, D) or (D,)", "input2": "shape of input1", "target": "{1, -1}"},
        kink=r"at $\cos = m$ (for $y = -1$) PyTorch's clamp_min passes the gradient.",
        notes="The gradient is with respect to input1.",
    ),
    LossSpec(
        name="triplet_margin_loss",
        title="Triplet margin loss",
        latex_name=r"\operatorname{Triplet}",
        signature=_sig_triplet,
        arrays=("anchor", "positive", "negative"),
        symbols=(),
        expr=sp.Max(
            0,
            _m + _norm(sp.IndexedBase("a")[_i] - sp.IndexedBase("p")[_i])
            - _norm(sp.IndexedBase("a")[_i] - sp.IndexedBase("n")[_i]),
        ),
        structured=_triplet_margin,
        torch="torch.nn.functional.triplet_margin_loss",
        domain={"anchor": "(N, D) or (D,)", "positive": "shape of anchor", "negative": "shape of anchor"},
        kink="at a zero hinge PyTorch's clamp_min passes the gradient.",
        notes="The gradient is with respect to anchor; distances add eps as torch.pairwise_distance.",
    ),
    LossSpec(
        name="triplet_margin_with_distance_loss",
        title="Triplet margin loss with a distance function",
        latex_name=r"\operatorname{Triplet}_{d}",
        signature=_sig_triplet_distance,
        arrays=("anchor", "positive", "negative"),
        symbols=(),
        expr=sp.Max(
            0,
            _m + _norm(sp.IndexedBase("a")[_i] - sp.IndexedBase("p")[_i], sp.Integer(2))
            - _norm(sp.IndexedBase("a")[_i] - sp.IndexedBase("n")[_i], sp.Integer(2)),
        ),
        structured=_triplet_with_distance,
        torch="torch.nn.functional.triplet_margin_with_distance_loss",
        domain={
            "anchor": "(N, D) or (D,)", "positive": "shape of anchor",
            "negative": "shape of anchor",
            "distance_function": "None, torch's pairwise_distance or a PairwiseDistance module",
        },
        kink="at a zero hinge PyTorch's clamp_min passes the gradient; with swap, a tie between "
        "the two negative distances splits the gradient in half (torch.minimum).",
        notes=(
            "The gradient is with respect to anchor. Only the pairwise p-norm distances are "
            "supported: an arbitrary Python distance_function cannot be derived symbolically and "
            "is refused with a ValueError."
        ),
    ),
    LossSpec(
        name="multi_margin_loss",
        title="Multi-class margin loss",
        latex_name=r"\operatorname{MultiMargin}",
        signature=_sig_multi_margin,
        arrays=("input", "target"),
        symbols=(),
        expr=sp.Sum(
            _w[_label] * sp.Max(0, _m - _xi[_label] + _xi[_i]) ** _p, (_i, 1, _C)
        ) / _C,
        structured=_multi_margin,
        torch="torch.nn.functional.multi_margin_loss",
        domain={
            "input": "scores, (N, C), (C,) or ()", "target": "class indices in [0, C)",
            "p": "1 or 2", "weight": "(C,), one per class",
        },
        kink="at $m - x_y + x_i = 0$ the gradient is 0 (PyTorch tests $z > 0$).",
        notes=(
            r"The sum runs over $i \ne y$ (shown over every $i$: the $i = y$ term is excluded); "
            r"the class weight $w_y$ multiplies the $p$-th power, as PyTorch's kernel does."
        ),
    ),
    LossSpec(
        name="multilabel_margin_loss",
        title="Multi-label margin loss",
        latex_name=r"\operatorname{MultiLabelMargin}",
        signature=_sig_multilabel_margin,
        arrays=("input", "target"),
        symbols=(),
        expr=sp.Sum(
            sp.Max(0, 1 - _xi[sp.IndexedBase("y")[_j]] + _xi[_i]), (_i, 1, _C), (_j, 1, _C)
        ) / _C,
        structured=_multilabel_margin,
        torch="torch.nn.functional.multilabel_margin_loss",
        domain={
            "input": "scores, (N, C), (C,) or ()",
            "target": "class indices of input's shape, ended by -1",
        },
        kink="at $1 - x_{y_j} + x_i = 0$ the gradient is 0 (PyTorch tests $z > 0$).",
        notes=(
            r"The sum runs over the target's labels $y_j$ before its first $-1$ and over the "
            r"classes $i$ that are not among them."
        ),
    ),
    LossSpec(
        name="linf_distance",
        title="L-infinity distance",
        latex_name=r"L_{\infty}",
        signature=_sig_plain,
        arrays=("input", "target"),
        symbols=(),
        expr=sp.Max(*[sp.Abs(sp.Symbol(f"x_{k}") - sp.Symbol(f"y_{k}")) for k in (1, 2, 3)]),
        structured=_linf_distance,
        domain={"input": "(..., D)", "target": "shape of input"},
        kink="ties share the gradient equally (torch.amax's convention).",
        notes=f"{_BLOG}, section 'Infinity Norm': "
              r"$\max_i |x_i - y_i|$ over the last axis (shown for D = 3).",
    ),
    LossSpec(
        name="minkowski_distance",
        title="Minkowski (L_p) distance",
        latex_name=r"L_p",
        signature=_sig_minkowski,
        arrays=("input", "target"),
        symbols=(),
        expr=_norm(_xi[_i] - _yi[_i]),
        structured=_minkowski_distance,
        domain={"input": "(..., D)", "target": "shape of input", "p": "> 0"},
        kink=r"at $x = y$ the gradient is $0$ (PyTorch's convention for norms).",
        notes=f"{_SLIDES}, slide 'Regression: L_p Distances'; over the last axis.",
    ),
]
SPECS.append(_ctc_spec())
