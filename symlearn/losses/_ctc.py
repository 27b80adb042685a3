r"""Connectionist temporal classification (Graves et al., 2006), vectorized over the batch.

There is no closed form: $p(l \mid x)$ sums over every alignment, which the forward (alpha) and
backward (beta) recursions compute in $O(T\,S)$ per sample. With $l'$ the target with blanks
around and between its labels ($|l'| = 2S + 1$) and $y_t(c) = e^{\text{log\_probs}[t, c]}$:

.. math::
    \alpha_t(s) = y_t(l'_s)\,\big(\alpha_{t-1}(s) + \alpha_{t-1}(s-1)
        + [l'_s \ne \text{blank},\ l'_s \ne l'_{s-2}]\,\alpha_{t-1}(s-2)\big),
    \qquad p(l \mid x) = \alpha_{T-1}(|l'| - 1) + \alpha_{T-1}(|l'| - 2).

Everything is computed in log space (``numpy.logaddexp``). A target that no alignment of the
input can produce (too long, or repeated labels without room for the blank between them) has
$p = 0$: its loss is $+\infty$ and, as in PyTorch's CPU kernel, its gradient is NaN at every used
step (0 with ``zero_infinity=True``, which also makes the loss 0). The gradient is PyTorch's:
$\text{grad}[t, c] = y_t(c) - \frac{1}{p\,y_t(c)} \sum_{s: l'_s = c} \alpha_t(s)\beta_t(s)$, which is
the gradient with respect to the logits $z$ when ``log_probs = log_softmax(z)`` (the term $y_t(c)$
is what the log-softmax adds); its document derives both on a tiny alphabet.
"""

from __future__ import annotations

import numpy as np

from ._spec import as_float_array

__all__: list[str] = []  # _ctc_loss is the catalog row's structured function

_NEG = -np.inf


def _lse(*terms):
    out = terms[0]
    for t in terms[1:]:
        out = np.logaddexp(out, t)
    return out


def _targets_padded(targets, target_lengths, batch):
    targets = np.asarray(targets)
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must hold integer labels, got dtype {targets.dtype}")
    if targets.ndim == 2:
        if targets.shape[0] != batch:
            raise ValueError(f"targets has shape {targets.shape}; expected ({batch}, S)")
        if np.any(target_lengths > targets.shape[1]):
            raise ValueError(
                f"target_lengths {target_lengths.tolist()} exceed the targets' width "
                f"{targets.shape[1]}"
            )
        return targets
    if targets.ndim == 1:
        if targets.size != target_lengths.sum():
            raise ValueError(
                f"targets has {targets.size} labels; expected sum(target_lengths) = "
                f"{int(target_lengths.sum())} (concatenated targets)"
            )
        width = int(target_lengths.max(initial=0))
        padded = np.zeros((batch, width), dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(target_lengths)])
        for n in range(batch):
            padded[n, : target_lengths[n]] = targets[offsets[n] : offsets[n + 1]]
        return padded
    raise ValueError(f"targets has shape {targets.shape}; expected (N, S) or (sum(target_lengths),)")


def _lengths(values, name, batch, limit, limit_name):
    lengths = np.asarray(values)
    if not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {lengths.dtype}")
    lengths = lengths.reshape(-1).astype(np.int64)
    if lengths.shape != (batch,):
        raise ValueError(f"{name} has shape {np.shape(values)}; expected ({batch},)")
    if np.any(lengths < 0) or np.any(lengths > limit):
        raise ValueError(f"{name} = {lengths.tolist()} must lie in [0, {limit}] ({limit_name})")
    return lengths


def _ctc_loss(bound, reduction, want_value, want_grad):
    """CTC loss and PyTorch's gradient with respect to ``log_probs`` (see the module docstring)."""
    log_probs = as_float_array(bound["log_probs"], "log_probs")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs[:, None, :]
    if log_probs.ndim != 3:
        raise ValueError(f"log_probs has shape {log_probs.shape}; expected (T, N, C) or (T, C)")
    steps, batch, classes = log_probs.shape
    blank = int(bound["blank"])
    if not 0 <= blank < classes:
        raise ValueError(f"blank={blank} must be a class index in [0, {classes - 1}]")
    input_lengths = _lengths(bound["input_lengths"], "input_lengths", batch, steps, "T")
    target_lengths = _lengths(bound["target_lengths"], "target_lengths", batch, 10**9, "any")
    targets = bound["targets"]
    if unbatched:
        targets = np.asarray(targets).reshape(1, -1)
    labels = _targets_padded(targets, target_lengths, batch)
    width = labels.shape[1]
    in_use = np.arange(width)[None, :] < target_lengths[:, None]
    bad = in_use & ((labels < 0) | (labels >= classes) | (labels == blank))
    if np.any(bad):
        raise ValueError(
            f"targets holds the label {int(labels[bad][0])}; expected labels in [0, {classes - 1}] "
            f"other than blank={blank}"
        )

    # Extended labels l' (blank, l1, blank, l2, ..., blank); positions past 2 S_n + 1 are unused.
    extended = np.full((batch, 2 * width + 1), blank, dtype=np.int64)
    extended[:, 1::2] = labels
    length = 2 * target_lengths + 1
    positions = np.arange(extended.shape[1])
    valid = positions[None, :] < length[:, None]
    skip = np.zeros_like(valid)
    skip[:, 2:] = (extended[:, 2:] != blank) & (extended[:, 2:] != extended[:, :-2])
    batch_index = np.arange(batch)[:, None]
    emit = log_probs[:, batch_index, extended]  # (T, N, L): log y_t(l'_s)
    emit = np.where(valid[None], emit, _NEG)

    alpha = np.full(emit.shape, _NEG)
    alpha[0, :, :2] = emit[0, :, :2]
    for t in range(1, steps):
        previous = alpha[t - 1]
        one = np.concatenate([np.full((batch, 1), _NEG), previous[:, :-1]], axis=1)
        two = np.concatenate([np.full((batch, 2), _NEG), previous[:, :-2]], axis=1)
        two = np.where(skip, two, _NEG)
        alpha[t] = emit[t] + _lse(previous, one, two)
    last = np.maximum(input_lengths - 1, 0)
    final = alpha[last, np.arange(batch)]  # (N, L)
    end = final[np.arange(batch), length - 1]
    before = np.where(length >= 2, final[np.arange(batch), np.maximum(length - 2, 0)], _NEG)
    log_likelihood = np.logaddexp(end, before)
    log_likelihood = np.where(input_lengths > 0, log_likelihood, np.where(length == 1, 0.0, _NEG))
    loss = -log_likelihood
    infinite = ~np.isfinite(loss)
    zero_infinity = bool(bound["zero_infinity"])
    if zero_infinity:
        loss = np.where(infinite, 0.0, loss)

    grad = None
    if want_grad:
        beta = np.full(emit.shape, _NEG)
        for t in range(steps - 1, -1, -1):
            following = beta[t + 1] if t + 1 < steps else np.full((batch, emit.shape[2]), _NEG)
            one = np.concatenate([following[:, 1:], np.full((batch, 1), _NEG)], axis=1)
            two = np.concatenate([following[:, 2:], np.full((batch, 2), _NEG)], axis=1)
            skip_next = np.concatenate([skip[:, 2:], np.zeros((batch, 2), dtype=bool)], axis=1)
            two = np.where(skip_next, two, _NEG)
            recursed = emit[t] + _lse(following, one, two)
            start = np.full_like(recursed, _NEG)
            start[np.arange(batch), length - 1] = emit[t, np.arange(batch), length - 1]
            penultimate = np.maximum(length - 2, 0)
            start[np.arange(batch), penultimate] = np.where(
                length >= 2, emit[t, np.arange(batch), penultimate], start[np.arange(batch), penultimate]
            )
            is_last = (t == input_lengths - 1)[:, None]
            alive = (t < input_lengths - 1)[:, None]
            beta[t] = np.where(is_last, start, np.where(alive, recursed, _NEG))
        both = alpha + beta  # (T, N, L): log of alpha_t(s) beta_t(s)
        peak = both.max(axis=2, keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0.0)
        onehot = (extended[:, :, None] == np.arange(classes)[None, None, :]).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            gathered = np.einsum("tnl,nlc->tnc", np.exp(both - peak), onehot)
            share = gathered * np.exp(peak + loss[None, :, None] - log_probs)
            grad = np.exp(log_probs) - np.where(gathered > 0, share, 0.0)
        time_used = np.arange(steps)[:, None] < input_lengths[None, :]
        grad = np.where(time_used[..., None], grad, 0.0)
        # An impossible alignment (p = 0, loss +inf) has no gradient. PyTorch's CPU kernel
        # (torch 2.13, ctc_loss_backward_cpu_template) computes exp(log(0) + inf - log_probs),
        # i.e. NaN, at every step t < input_length, and 0 beyond: the same here, so that such a
        # sample cannot train silently. zero_infinity=True makes its loss and gradient 0.
        grad = np.where(
            infinite[None, :, None] & time_used[..., None], 0.0 if zero_infinity else np.nan, grad
        )
        if reduction == "mean":
            grad = grad / (np.maximum(target_lengths, 1) * batch)[None, :, None]
        if unbatched:
            grad = grad[:, 0, :]

    value = None
    if want_value:
        if reduction == "none":
            value = loss[0] if unbatched else loss
        elif reduction == "sum":
            value = loss.sum()
        else:
            value = (loss / np.maximum(target_lengths, 1)).mean()
    return value, grad
