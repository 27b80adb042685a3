r"""The optimizers of the course as update rules, with ``torch.optim``'s names and defaults.

Each factory validates its arguments up front, writes the update rule as SymPy equations in the
order PyTorch computes them (the structure depends on which hyper-parameters are non-zero, as
PyTorch's own branches do), and returns an :class:`~symlearn.optim._base.Optimizer`.

Notation (PyTorch's documentation of each algorithm uses the same letters where it can):
$t = 0, 1, \dots$ counts the updates already made, $g_t = \nabla f(\theta_t)$, $\eta_t$ is the
learning rate at step $t$, $\lambda$ the weight decay and $\epsilon$ the denominator's guard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import sympy as sp

from ._base import DELTA, GRAD, LR, T, THETA, THETA_NEXT, Optimizer, StateVar, UpdateRule

__all__ = [
    "sgd",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamw",
    "nadam",
    "SGDState",
    "AdagradState",
    "RMSpropState",
    "AdadeltaState",
    "AdamState",
    "NAdamState",
]


def _sym(name: str, **assumptions) -> sp.Symbol:
    return sp.Symbol(name, **assumptions)


# Hyper-parameter symbols.
MOMENTUM = _sym(r"\mu", nonnegative=True)
DAMPENING = _sym(r"\tau", nonnegative=True)
WEIGHT_DECAY = _sym(r"\lambda", nonnegative=True)
EPS = _sym(r"\epsilon", positive=True)
LR_DECAY = _sym(r"\kappa", nonnegative=True)
INITIAL_ACCUMULATOR = _sym(r"s_{0}", nonnegative=True)
ALPHA = _sym(r"\alpha", positive=True)
RHO = _sym(r"\rho", positive=True)
BETA1 = _sym(r"\beta_{1}", positive=True)
BETA2 = _sym(r"\beta_{2}", positive=True)
MOMENTUM_DECAY = _sym(r"\psi", nonnegative=True)

#: Each hyper-parameter symbol's factory argument (``betas[0]``: the first of the pair), for
#: code that takes the hyper-parameters at run time (``symlearn.export``). Metadata only.
HYPERPARAMETER_ARGUMENTS = {
    MOMENTUM: "momentum",
    DAMPENING: "dampening",
    WEIGHT_DECAY: "weight_decay",
    EPS: "eps",
    LR_DECAY: "lr_decay",
    INITIAL_ACCUMULATOR: "initial_accumulator_value",
    ALPHA: "alpha",
    RHO: "rho",
    BETA1: "betas[0]",
    BETA2: "betas[1]",
    MOMENTUM_DECAY: "momentum_decay",
}

#: The weight-decayed gradient $\tilde g_t = g_t + \lambda \theta_t$ (L2 penalty).
GRAD_L2 = _sym(r"\tilde{g}_{t}", real=True)


def _state(field: str, letter: str, initial: Any = 0, scalar: bool = False) -> StateVar:
    real = {"real": True}
    return StateVar(
        field, _sym(f"{letter}_{{t}}", **real), _sym(f"{letter}_{{t+1}}", **real), initial, scalar
    )


# --------------------------------------------------------------------------------------------------
# State NamedTuples: one per optimizer, with PyTorch's names for each buffer. Fields that the
# configuration does not use are None (e.g. the momentum buffer of SGD without momentum).


class SGDState(NamedTuple):
    count: int  # t: the number of updates made so far
    momentum_buffer: Any = None  # b_t, like params; None when momentum == 0


class AdagradState(NamedTuple):
    count: int  # t: the number of updates made so far
    sum: Any = None  # s_t = s_0 + sum of squared gradients, like params


class RMSpropState(NamedTuple):
    count: int  # t: the number of updates made so far
    square_avg: Any = None  # v_t: running mean of squared gradients, like params
    grad_avg: Any = None  # \bar g_t: running mean of gradients (centered=True only)
    momentum_buffer: Any = None  # b_t (momentum > 0 only)


class AdadeltaState(NamedTuple):
    count: int  # t: the number of updates made so far
    square_avg: Any = None  # v_t: running mean of squared gradients, like params
    acc_delta: Any = None  # u_t: running mean of squared steps, like params


class AdamState(NamedTuple):
    count: int  # t: the number of updates made so far
    exp_avg: Any = None  # m_t: first moment (mean of gradients), like params
    exp_avg_sq: Any = None  # v_t: second moment (mean of squared gradients), like params
    max_exp_avg_sq: Any = None  # \hat v^{max}_t: running maximum of v_t (amsgrad=True only)


class NAdamState(NamedTuple):
    count: int  # t: the number of updates made so far
    mu_product: float = 1.0  # P_t = mu_1 mu_2 ... mu_t, one number for all parameters
    exp_avg: Any = None  # m_t: first moment, like params
    exp_avg_sq: Any = None  # v_t: second moment, like params


# --------------------------------------------------------------------------------------------------
# Validation: messages name the argument and its value.


def _check_lr(lr) -> None:
    if callable(lr):
        return
    if not isinstance(lr, (int, float)) or isinstance(lr, bool):
        raise TypeError(f"{lr=} must be a number or a schedule (a function of the step)")
    if not lr >= 0.0:
        raise ValueError(f"{lr=} must be non-negative")


def _check_betas(betas) -> tuple[float, float]:
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{betas=} must be a pair (beta1, beta2)") from None
    if not 0.0 <= beta1 < 1.0:
        raise ValueError(f"{betas=}: betas[0]={beta1!r} must be in [0, 1)")
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"{betas=}: betas[1]={beta2!r} must be in [0, 1)")
    return float(beta1), float(beta2)


def _check_eps(eps) -> None:
    if not eps >= 0.0:
        raise ValueError(f"{eps=} must be non-negative")


def _check_weight_decay(weight_decay) -> None:
    if not weight_decay >= 0.0:
        raise ValueError(f"{weight_decay=} must be non-negative")


def _l2(weight_decay: float) -> tuple[list, sp.Symbol]:
    """PyTorch's ``weight_decay``: the gradient of $f + \\frac{\\lambda}{2}\\|\\theta\\|^2$."""
    if weight_decay == 0:
        return [], GRAD
    return [sp.Eq(GRAD_L2, GRAD + WEIGHT_DECAY * THETA)], GRAD_L2


def _finish(delta) -> list:
    return [sp.Eq(DELTA, delta), sp.Eq(THETA_NEXT, THETA + DELTA)]


def _lr_value(lr) -> dict:
    return {} if callable(lr) else {"lr": lr}


# --------------------------------------------------------------------------------------------------
# The factories


def sgd(
    lr: float | Callable = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> Optimizer:
    r"""Stochastic gradient descent, with PyTorch's momentum, dampening and Nesterov options.

    .. math::

        \tilde g_t &= g_t + \lambda \theta_t \\
        b_{t+1} &= \mu b_t + (1 - \tau [t > 0]) \tilde g_t, \qquad b_0 = 0 \\
        d_t &= \tilde g_t + \mu b_{t+1} \ \text{(nesterov)}, \quad b_{t+1} \ \text{(momentum)},
            \quad \tilde g_t \ \text{(plain)} \\
        \theta_{t+1} &= \theta_t - \eta_t d_t

    PyTorch starts the buffer at the first gradient without dampening (``buf = grad.clone()``),
    which is the $[t > 0]$ above. Defaults are ``torch.optim.SGD``'s.
    """
    _check_lr(lr)
    if not momentum >= 0.0:
        raise ValueError(f"{momentum=} must be non-negative")
    if not dampening >= 0.0:
        raise ValueError(f"{dampening=} must be non-negative")
    _check_weight_decay(weight_decay)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(
            f"{nesterov=} requires momentum > 0 and dampening == 0, got {momentum=}, {dampening=}"
        )
    equations, grad = _l2(weight_decay)
    state = ()
    if momentum != 0:
        buffer = _state("momentum_buffer", "b")
        state = (buffer,)
        coefficient = sp.Piecewise((1, sp.Eq(T, 0)), (1 - DAMPENING, True)) if dampening else 1
        equations.append(sp.Eq(buffer.next, MOMENTUM * buffer.current + coefficient * grad))
        direction = grad + MOMENTUM * buffer.next if nesterov else buffer.next
    else:
        direction = grad
    equations += _finish(-LR * direction)
    hyper = {MOMENTUM: momentum, DAMPENING: dampening, WEIGHT_DECAY: weight_decay}
    kwargs = dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
    kind = "Nesterov momentum" if nesterov else ("momentum" if momentum else "plain")
    return Optimizer(
        "sgd",
        UpdateRule(tuple(equations), state, hyper),
        SGDState,
        {"lr": lr, **kwargs},
        lr,
        "SGD",
        {**_lr_value(lr), **kwargs},
        f"stochastic gradient descent ({kind})",
    )


def adagrad(
    lr: float | Callable = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> Optimizer:
    r"""AdaGrad: per-parameter steps scaled by the root of the historical sum of squares.

    .. math::

        s_{t+1} &= s_t + \tilde g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
        \theta_{t+1} &= \theta_t - \frac{\eta_t}{1 + t \kappa}
            \frac{\tilde g_t}{\sqrt{s_{t+1}} + \epsilon}

    with $\kappa$ = ``lr_decay``. Defaults are ``torch.optim.Adagrad``'s.
    """
    _check_lr(lr)
    if not lr_decay >= 0.0:
        raise ValueError(f"{lr_decay=} must be non-negative")
    _check_weight_decay(weight_decay)
    if not initial_accumulator_value >= 0.0:
        raise ValueError(f"{initial_accumulator_value=} must be non-negative")
    _check_eps(eps)
    equations, grad = _l2(weight_decay)
    total = _state("sum", "s", initial=INITIAL_ACCUMULATOR)
    equations.append(sp.Eq(total.next, total.current + grad**2))
    rate = LR / (1 + T * LR_DECAY) if lr_decay else LR
    equations += _finish(-rate * grad / (sp.sqrt(total.next) + EPS))
    hyper = {
        LR_DECAY: lr_decay,
        WEIGHT_DECAY: weight_decay,
        INITIAL_ACCUMULATOR: initial_accumulator_value,
        EPS: eps,
    }
    kwargs = dict(
        lr_decay=lr_decay,
        weight_decay=weight_decay,
        initial_accumulator_value=initial_accumulator_value,
        eps=eps,
    )
    return Optimizer(
        "adagrad",
        UpdateRule(tuple(equations), (total,), hyper),
        AdagradState,
        {"lr": lr, **kwargs},
        lr,
        "Adagrad",
        {**_lr_value(lr), **kwargs},
        "AdaGrad: steps scaled by the historical sum of squared gradients",
    )


def rmsprop(
    lr: float | Callable = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> Optimizer:
    r"""RMSProp: AdaGrad with an exponentially decaying mean of squares (decay rate $\alpha$).

    .. math::

        v_{t+1} &= \alpha v_t + (1 - \alpha) \tilde g_t^2 \\
        \bar g_{t+1} &= \alpha \bar g_t + (1 - \alpha) \tilde g_t \quad \text{(centered)} \\
        \sigma_t &= \sqrt{v_{t+1} - \bar g_{t+1}^2} + \epsilon \ \text{(centered)}, \quad
            \sqrt{v_{t+1}} + \epsilon \ \text{(otherwise)} \\
        b_{t+1} &= \mu b_t + \tilde g_t / \sigma_t, \quad
            \theta_{t+1} = \theta_t - \eta_t b_{t+1} \ \text{(momentum)}, \quad
            \theta_{t+1} = \theta_t - \eta_t \tilde g_t / \sigma_t \ \text{(otherwise)}

    Defaults are ``torch.optim.RMSprop``'s (``alpha`` is the lecture slides'
    ``decay_rate``).
    """
    _check_lr(lr)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{alpha=} must be in [0, 1]")
    _check_eps(eps)
    _check_weight_decay(weight_decay)
    if not momentum >= 0.0:
        raise ValueError(f"{momentum=} must be non-negative")
    equations, grad = _l2(weight_decay)
    square_avg = _state("square_avg", "v")
    state = [square_avg]
    equations.append(sp.Eq(square_avg.next, ALPHA * square_avg.current + (1 - ALPHA) * grad**2))
    if centered:
        grad_avg = _state("grad_avg", r"\bar{g}")
        state.append(grad_avg)
        equations.append(sp.Eq(grad_avg.next, ALPHA * grad_avg.current + (1 - ALPHA) * grad))
        denominator = sp.sqrt(square_avg.next - grad_avg.next**2) + EPS
    else:
        denominator = sp.sqrt(square_avg.next) + EPS
    if momentum > 0:
        buffer = _state("momentum_buffer", "b")
        state.append(buffer)
        equations.append(sp.Eq(buffer.next, MOMENTUM * buffer.current + grad / denominator))
        equations += _finish(-LR * buffer.next)
    else:
        equations += _finish(-LR * grad / denominator)
    hyper = {ALPHA: alpha, EPS: eps, WEIGHT_DECAY: weight_decay, MOMENTUM: momentum}
    kwargs = dict(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
    return Optimizer(
        "rmsprop",
        UpdateRule(tuple(equations), tuple(state), hyper),
        RMSpropState,
        {"lr": lr, **kwargs},
        lr,
        "RMSprop",
        {**_lr_value(lr), **kwargs},
        "RMSProp: steps scaled by a decaying mean of squared gradients",
    )


def adadelta(
    lr: float | Callable = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
) -> Optimizer:
    r"""AdaDelta: the step's scale is the ratio of two running RMS values, so it has the units of
    $\theta$ and needs no learning rate (``lr = 1.0`` by default).

    .. math::

        v_{t+1} &= \rho v_t + (1 - \rho) \tilde g_t^2 \\
        \delta_t &= \frac{\sqrt{u_t + \epsilon}}{\sqrt{v_{t+1} + \epsilon}} \tilde g_t \\
        u_{t+1} &= \rho u_t + (1 - \rho) \delta_t^2 \\
        \theta_{t+1} &= \theta_t - \eta_t \delta_t

    Defaults are ``torch.optim.Adadelta``'s.
    """
    _check_lr(lr)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"{rho=} must be in [0, 1]")
    _check_eps(eps)
    _check_weight_decay(weight_decay)
    equations, grad = _l2(weight_decay)
    square_avg = _state("square_avg", "v")
    acc_delta = _state("acc_delta", "u")
    step = _sym(r"\delta_{t}", real=True)
    equations += [
        sp.Eq(square_avg.next, RHO * square_avg.current + (1 - RHO) * grad**2),
        sp.Eq(step, sp.sqrt(acc_delta.current + EPS) / sp.sqrt(square_avg.next + EPS) * grad),
        sp.Eq(acc_delta.next, RHO * acc_delta.current + (1 - RHO) * step**2),
    ]
    equations += _finish(-LR * step)
    hyper = {RHO: rho, EPS: eps, WEIGHT_DECAY: weight_decay}
    kwargs = dict(rho=rho, eps=eps, weight_decay=weight_decay)
    return Optimizer(
        "adadelta",
        UpdateRule(tuple(equations), (square_avg, acc_delta), hyper),
        AdadeltaState,
        {"lr": lr, **kwargs},
        lr,
        "Adadelta",
        {**_lr_value(lr), **kwargs},
        "AdaDelta: unit-consistent steps, RMS of past steps over RMS of gradients",
    )


#: $\hat m_{t+1}$ and $\hat v_{t+1}$: the bias-corrected moments.
M_HAT = _sym(r"\hat{m}_{t+1}", real=True)
V_HAT = _sym(r"\hat{v}_{t+1}", nonnegative=True)


#: $1 - \beta^{t+1} > 0$ for $0 \le \beta < 1$ (checked by :func:`_check_betas`) and $t \ge 0$:
#: facts the compiler may use (see ``UpdateRule.positive``) and SymPy cannot prove itself.
_BIAS_CORRECTIONS = (1 - BETA1 ** (T + 1), 1 - BETA2 ** (T + 1))


def _adam_rule(lr, betas, eps, weight_decay, amsgrad, decoupled) -> UpdateRule:
    if decoupled:
        equations, grad = [], GRAD
    else:
        equations, grad = _l2(weight_decay)
    exp_avg = _state("exp_avg", "m")
    exp_avg_sq = _state("exp_avg_sq", "v")
    state = [exp_avg, exp_avg_sq]
    equations += [
        sp.Eq(exp_avg.next, BETA1 * exp_avg.current + (1 - BETA1) * grad),
        sp.Eq(exp_avg_sq.next, BETA2 * exp_avg_sq.current + (1 - BETA2) * grad**2),
    ]
    second = exp_avg_sq.next
    if amsgrad:
        maximum = _state("max_exp_avg_sq", r"v^{\max}")
        state.append(maximum)
        equations.append(sp.Eq(maximum.next, sp.Max(maximum.current, exp_avg_sq.next)))
        second = maximum.next
    # Bias correction (Kingma & Ba 2015, section 3): E[m_{t+1}] = (1 - beta_1^{t+1}) E[g].
    equations += [
        sp.Eq(M_HAT, exp_avg.next / (1 - BETA1 ** (T + 1))),
        sp.Eq(V_HAT, second / (1 - BETA2 ** (T + 1))),
    ]
    delta = -LR * M_HAT / (sp.sqrt(V_HAT) + EPS)
    if decoupled and weight_decay:
        # AdamW (Loshchilov & Hutter 2019): theta shrinks by eta*lambda*theta, outside the moments.
        delta = -LR * WEIGHT_DECAY * THETA + delta
    equations += _finish(delta)
    hyper = {BETA1: betas[0], BETA2: betas[1], EPS: eps, WEIGHT_DECAY: weight_decay}
    return UpdateRule(tuple(equations), tuple(state), hyper, positive=_BIAS_CORRECTIONS)


def _adam_family(name, torch_name, summary, lr, betas, eps, weight_decay, amsgrad, decoupled):
    """Adam and AdamW: the same arguments, checks, state and rule; only the decay differs."""
    _check_lr(lr)
    betas = _check_betas(betas)
    _check_eps(eps)
    _check_weight_decay(weight_decay)
    kwargs = dict(betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
    return Optimizer(
        name,
        _adam_rule(lr, betas, eps, weight_decay, amsgrad, decoupled=decoupled),
        AdamState,
        {"lr": lr, **kwargs},
        lr,
        torch_name,
        {**_lr_value(lr), **kwargs},
        summary,
    )


def adam(
    lr: float | Callable = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
) -> Optimizer:
    r"""Adam: momentum (first moment) over RMSProp (second moment), both bias-corrected.

    .. math::

        m_{t+1} &= \beta_1 m_t + (1 - \beta_1) \tilde g_t \\
        v_{t+1} &= \beta_2 v_t + (1 - \beta_2) \tilde g_t^2 \\
        \hat m_{t+1} &= \frac{m_{t+1}}{1 - \beta_1^{t+1}}, \qquad
            \hat v_{t+1} = \frac{v_{t+1}}{1 - \beta_2^{t+1}} \\
        \theta_{t+1} &= \theta_t - \eta_t \frac{\hat m_{t+1}}{\sqrt{\hat v_{t+1}} + \epsilon}

    With ``amsgrad=True``, $v^{\max}_{t+1} = \max(v^{\max}_t, v_{t+1})$ replaces $v_{t+1}$ in
    $\hat v_{t+1}$. ``weight_decay`` is an L2 penalty ($\tilde g_t = g_t + \lambda\theta_t$); for
    decoupled weight decay use :func:`adamw`. Defaults are ``torch.optim.Adam``'s.
    """
    summary = "Adam" + (" (AMSGrad)" if amsgrad else "") + ": bias-corrected momentum over RMSProp"
    return _adam_family("adam", "Adam", summary, lr, betas, eps, weight_decay, amsgrad, False)


def adamw(
    lr: float | Callable = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
) -> Optimizer:
    r"""AdamW: Adam with decoupled weight decay.

    .. math::

        \theta_{t+1} = \theta_t - \eta_t \lambda \theta_t
            - \eta_t \frac{\hat m_{t+1}}{\sqrt{\hat v_{t+1}} + \epsilon}

    with $m$, $v$, $\hat m$, $\hat v$ as in :func:`adam` but computed from $g_t$ itself: the decay
    does not pass through the adaptive scaling, unlike Adam's L2 ``weight_decay``. Defaults are
    ``torch.optim.AdamW``'s (``weight_decay=1e-2``).
    """
    summary = "AdamW: Adam with decoupled weight decay"
    return _adam_family("adamw", "AdamW", summary, lr, betas, eps, weight_decay, amsgrad, True)


#: NAdam's momentum coefficients $\mu_{t+1}$ and $\mu_{t+2}$ (PyTorch's ``mu`` and ``mu_next``).
MU_NOW = _sym(r"\mu_{t+1}", positive=True)
MU_NEXT = _sym(r"\mu_{t+2}", positive=True)


def nadam(
    lr: float | Callable = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
) -> Optimizer:
    r"""NAdam: Adam with Nesterov momentum (Dozat 2016), PyTorch's form.

    .. math::

        \mu_{t+1} &= \beta_1 \left(1 - \tfrac12\, 0.96^{(t+1)\psi}\right), \qquad
            P_{t+1} = P_t\, \mu_{t+1}, \quad P_0 = 1 \\
        m_{t+1} &= \beta_1 m_t + (1 - \beta_1) \tilde g_t, \qquad
            v_{t+1} = \beta_2 v_t + (1 - \beta_2) \tilde g_t^2 \\
        \theta_{t+1} &= \theta_t - \eta_t \frac{1}{\sqrt{\hat v_{t+1}} + \epsilon}
            \left(\frac{1 - \mu_{t+1}}{1 - P_{t+1}} \tilde g_t
            + \frac{\mu_{t+2}}{1 - P_{t+1}\mu_{t+2}} m_{t+1}\right)

    with $\psi$ = ``momentum_decay`` and $\hat v_{t+1} = v_{t+1} / (1 - \beta_2^{t+1})$.
    Defaults are ``torch.optim.NAdam``'s.
    """
    _check_lr(lr)
    betas = _check_betas(betas)
    _check_eps(eps)
    _check_weight_decay(weight_decay)
    if not momentum_decay >= 0.0:
        raise ValueError(f"{momentum_decay=} must be non-negative")
    if decoupled_weight_decay:
        equations, grad = [], GRAD
    else:
        equations, grad = _l2(weight_decay)
    product = _state("mu_product", "P", initial=1, scalar=True)
    exp_avg = _state("exp_avg", "m")
    exp_avg_sq = _state("exp_avg_sq", "v")
    decay = sp.Rational(24, 25)  # PyTorch's 0.96 (Dozat's schedule)
    equations += [
        sp.Eq(MU_NOW, BETA1 * (1 - sp.Rational(1, 2) * decay ** ((T + 1) * MOMENTUM_DECAY))),
        sp.Eq(MU_NEXT, BETA1 * (1 - sp.Rational(1, 2) * decay ** ((T + 2) * MOMENTUM_DECAY))),
        sp.Eq(product.next, product.current * MU_NOW),
        sp.Eq(exp_avg.next, BETA1 * exp_avg.current + (1 - BETA1) * grad),
        sp.Eq(exp_avg_sq.next, BETA2 * exp_avg_sq.current + (1 - BETA2) * grad**2),
        sp.Eq(V_HAT, exp_avg_sq.next / (1 - BETA2 ** (T + 1))),
    ]
    denominator = sp.sqrt(V_HAT) + EPS
    delta = -LR * (1 - MU_NOW) / (1 - product.next) * grad / denominator - LR * MU_NEXT / (
        1 - product.next * MU_NEXT
    ) * exp_avg.next / denominator
    if decoupled_weight_decay and weight_decay:
        delta = -LR * WEIGHT_DECAY * THETA + delta
    equations += _finish(delta)
    hyper = {
        BETA1: betas[0],
        BETA2: betas[1],
        EPS: eps,
        WEIGHT_DECAY: weight_decay,
        MOMENTUM_DECAY: momentum_decay,
    }
    kwargs = dict(
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        momentum_decay=momentum_decay,
        decoupled_weight_decay=decoupled_weight_decay,
    )
    return Optimizer(
        "nadam",
        UpdateRule(tuple(equations), (product, exp_avg, exp_avg_sq), hyper, _BIAS_CORRECTIONS),
        NAdamState,
        {"lr": lr, **kwargs},
        lr,
        "NAdam",
        {**_lr_value(lr), **kwargs},
        "NAdam: Adam with Nesterov momentum",
    )
