r"""Learning-rate schedules: factories that return a function of the step $t = 0, 1, 2, \dots$

Each schedule is one SymPy expression in $t$ and its parameters. Called with a SymPy symbol it
returns the formula (numbers substituted for the parameters), for documents; called with an int
it returns a float, computed by the same expression compiled once. Arguments are validated up
front, and errors name the argument and its value.

The step convention is optax's and PyTorch's: the value at $t$ is the learning rate of the
$(t+1)$-th update, so ``schedule(0)`` is the initial learning rate, and a ``torch.optim``
scheduler stepped $t$ times reports ``schedule(t)``. The lecture notes "Loss Functions" list the
first kind ("a preset list of learning rates used for each epoch") and the idea behind the
rest ("progressively reduce over time"); the formulas are PyTorch's.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import sympy as sp

__all__ = [
    "Schedule",
    "constant",
    "preset",
    "step_decay",
    "multistep_decay",
    "exponential_decay",
    "inverse_time_decay",
    "cosine_annealing",
    "linear_warmup",
    "one_cycle",
]

#: The step, as the schedules' expressions use it.
T = sp.Symbol("t", integer=True, nonnegative=True)


def _display_number(value) -> sp.Expr:
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    return sp.Float(repr(float(value)))


class Schedule:
    r"""A learning rate as a function of the step.

    Attributes:
        name: the factory's name.
        expression: the SymPy expression in :data:`T` and the parameter symbols.
        parameters: parameter symbol -> value.
        arguments: the factory's arguments, by name (for ``repr`` and the torch twin).
    """

    def __init__(self, name: str, expression, parameters: Mapping, arguments: Mapping):
        self.name = name
        self.expression = expression
        self.parameters = dict(parameters)
        self.arguments = dict(arguments)
        symbols = list(self.parameters)
        self._values = tuple(float(v) for v in self.parameters.values())
        # Python floats and the math module: PyTorch's schedulers compute in Python floats too.
        self._function = sp.lambdify([T, *symbols], expression, modules="math")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.name}({args})"

    def formula(self, t=None) -> sp.Expr:
        """The schedule as a formula in ``t`` (default: the symbol ``t``), numbers substituted."""
        t = sp.Symbol("t") if t is None else t
        numbers_ = {s: _display_number(v) for s, v in self.parameters.items()}
        return self.expression.xreplace({**numbers_, T: t})

    def __call__(self, t):
        if isinstance(t, sp.Basic) and not t.is_number:
            return self.formula(t)
        if isinstance(t, bool) or not isinstance(t, (numbers.Real, sp.Basic)):
            raise TypeError(f"{t=} must be a step number or a SymPy symbol")
        if t < 0:
            raise ValueError(f"{t=} must be non-negative")
        return float(self._function(int(t) if float(t).is_integer() else float(t), *self._values))


# --------------------------------------------------------------------------------------------------
# Validation helpers: each names the argument.


def _positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name}={value!r} must be positive")


def _non_negative(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name}={value!r} must be non-negative")


def _positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer")


def _unit_interval(name: str, value) -> None:
    """``value`` in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(f"{name}={value!r} must be in (0, 1]")


ETA0 = sp.Symbol(r"\eta_{0}", positive=True)
GAMMA = sp.Symbol(r"\gamma", positive=True)


# --------------------------------------------------------------------------------------------------
# The factories


def constant(init_value: float) -> Schedule:
    r"""$\eta_t = \eta_0$."""
    _non_negative("init_value", init_value)
    return Schedule("constant", ETA0 + 0 * T, {ETA0: init_value}, dict(init_value=init_value))


def preset(values: Sequence[float]) -> Schedule:
    r"""The "preset list of learning rates used for each epoch" of the lecture notes "Loss
    Functions": $\eta_t$ = ``values[t]``, and the last value after the list ends."""
    values = list(values)
    if not values:
        raise ValueError(f"{values=} must hold at least one learning rate")
    for i, value in enumerate(values):
        _non_negative(f"values[{i}]", value)
    symbols = [sp.Symbol(f"\\eta_{{{i}}}", nonnegative=True) for i in range(len(values))]
    pieces = [(s, T < i + 1) for i, s in enumerate(symbols[:-1])] + [(symbols[-1], True)]
    return Schedule("preset", sp.Piecewise(*pieces), dict(zip(symbols, values)), dict(values=values))


def step_decay(init_value: float, step_size: int, decay_rate: float = 0.1) -> Schedule:
    r"""$\eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}$: multiply by $\gamma$ every $s$ steps
    (``torch.optim.lr_scheduler.StepLR(step_size, gamma)``)."""
    _non_negative("init_value", init_value)
    _positive_int("step_size", step_size)
    _unit_interval("decay_rate", decay_rate)
    s = sp.Symbol("s", positive=True, integer=True)
    expression = ETA0 * GAMMA ** sp.floor(T / s)
    parameters = {ETA0: init_value, GAMMA: decay_rate, s: step_size}
    arguments = dict(init_value=init_value, step_size=step_size, decay_rate=decay_rate)
    return Schedule("step_decay", expression, parameters, arguments)


def multistep_decay(init_value: float, milestones: Sequence[int], decay_rate: float = 0.1) -> Schedule:
    r"""$\eta_t = \eta_0\, \gamma^{k(t)}$ with $k(t)$ the number of milestones $\le t$
    (``torch.optim.lr_scheduler.MultiStepLR(milestones, gamma)``)."""
    _non_negative("init_value", init_value)
    _unit_interval("decay_rate", decay_rate)
    milestones = list(milestones)
    if not milestones:
        raise ValueError(f"{milestones=} must hold at least one step")
    for i, m in enumerate(milestones):
        _positive_int(f"milestones[{i}]", m)
    if any(b <= a for a, b in zip(milestones, milestones[1:])):
        raise ValueError(f"{milestones=} must be strictly increasing")
    pieces = [(ETA0 * GAMMA**k, T < m) for k, m in enumerate(milestones)]
    pieces.append((ETA0 * GAMMA ** len(milestones), True))
    arguments = dict(init_value=init_value, milestones=milestones, decay_rate=decay_rate)
    return Schedule(
        "multistep_decay", sp.Piecewise(*pieces), {ETA0: init_value, GAMMA: decay_rate}, arguments
    )


def exponential_decay(init_value: float, decay_rate: float) -> Schedule:
    r"""$\eta_t = \eta_0\, \gamma^t$ (``torch.optim.lr_scheduler.ExponentialLR(gamma)``)."""
    _non_negative("init_value", init_value)
    _unit_interval("decay_rate", decay_rate)
    return Schedule(
        "exponential_decay",
        ETA0 * GAMMA**T,
        {ETA0: init_value, GAMMA: decay_rate},
        dict(init_value=init_value, decay_rate=decay_rate),
    )


def inverse_time_decay(init_value: float, decay_rate: float, decay_steps: int = 1) -> Schedule:
    r"""$\eta_t = \eta_0 / (1 + k\, t / s)$, the "1/t" decay (AdaGrad's ``lr_decay`` is this with
    $s = 1$). Its sum diverges and the sum of its squares converges, the Robbins--Monro
    conditions for SGD to converge."""
    _non_negative("init_value", init_value)
    _non_negative("decay_rate", decay_rate)
    _positive_int("decay_steps", decay_steps)
    k = sp.Symbol("k", nonnegative=True)
    s = sp.Symbol("s", positive=True, integer=True)
    return Schedule(
        "inverse_time_decay",
        ETA0 / (1 + k * T / s),
        {ETA0: init_value, k: decay_rate, s: decay_steps},
        dict(init_value=init_value, decay_rate=decay_rate, decay_steps=decay_steps),
    )


def cosine_annealing(init_value: float, T_max: int, eta_min: float = 0.0) -> Schedule:  # noqa: N803
    r"""$\eta_t = \eta_{\min} + \frac12 (\eta_0 - \eta_{\min})(1 + \cos(\pi t / T_{\max}))$
    (``torch.optim.lr_scheduler.CosineAnnealingLR(T_max, eta_min)``; periodic after $T_{\max}$,
    as PyTorch's is)."""
    _non_negative("init_value", init_value)
    _positive_int("T_max", T_max)
    _non_negative("eta_min", eta_min)
    t_max = sp.Symbol(r"T_{\max}", positive=True, integer=True)
    eta_min_ = sp.Symbol(r"\eta_{\min}", nonnegative=True)
    expression = eta_min_ + (ETA0 - eta_min_) * (1 + sp.cos(sp.pi * T / t_max)) / 2
    return Schedule(
        "cosine_annealing",
        expression,
        {ETA0: init_value, t_max: T_max, eta_min_: eta_min},
        dict(init_value=init_value, T_max=T_max, eta_min=eta_min),
    )


def linear_warmup(
    init_value: float, total_iters: int = 5, start_factor: float = 1 / 3, end_factor: float = 1.0
) -> Schedule:
    r"""$\eta_t = \eta_0 \left(a + (b - a) \min(t, N) / N\right)$: from $a\eta_0$ to $b\eta_0$ in
    $N$ steps, then constant (``torch.optim.lr_scheduler.LinearLR``, same defaults)."""
    _non_negative("init_value", init_value)
    _positive_int("total_iters", total_iters)
    _unit_interval("start_factor", start_factor)
    if not 0 <= end_factor <= 1:
        raise ValueError(f"{end_factor=} must be in [0, 1]")
    a, b = sp.Symbol("a", positive=True), sp.Symbol("b", nonnegative=True)
    n = sp.Symbol("N", positive=True, integer=True)
    expression = ETA0 * (a + (b - a) * sp.Min(T, n) / n)
    return Schedule(
        "linear_warmup",
        expression,
        {ETA0: init_value, a: start_factor, b: end_factor, n: total_iters},
        dict(init_value=init_value, total_iters=total_iters, start_factor=start_factor,
             end_factor=end_factor),
    )


def _anneal(start, end, fraction, strategy: str):
    if strategy == "cos":
        return end + (start - end) / 2 * (sp.cos(sp.pi * fraction) + 1)
    return (end - start) * fraction + start


def one_cycle(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Schedule:
    r"""The one-cycle policy (Smith & Topin 2017), PyTorch's ``OneCycleLR`` (learning rate only):
    from $\eta_{\max}/d$ up to $\eta_{\max}$ over the first ``pct_start`` of the steps, then down to
    $\eta_{\max}/(d\,d_f)$ (cosine or linear), optionally symmetric first (``three_phase``)."""
    _positive("max_lr", max_lr)
    _positive_int("total_steps", total_steps)
    if isinstance(pct_start, bool) or not isinstance(pct_start, numbers.Real) or not 0 < pct_start < 1:
        raise ValueError(f"{pct_start=} must be in (0, 1)")
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"{anneal_strategy=} must be 'cos' or 'linear'")
    _positive("div_factor", div_factor)
    _positive("final_div_factor", final_div_factor)
    peak = sp.Symbol(r"\eta_{\max}", positive=True)
    n, p = sp.Symbol("N", positive=True, integer=True), sp.Symbol("p", positive=True)
    d, d_f = sp.Symbol("d", positive=True), sp.Symbol("d_{f}", positive=True)
    initial = peak / d
    final = initial / d_f
    end1 = p * n - 1
    if three_phase:
        end2 = 2 * p * n - 2
        pieces = [
            (_anneal(initial, peak, T / end1, anneal_strategy), T <= end1),
            (_anneal(peak, initial, (T - end1) / (end2 - end1), anneal_strategy), T <= end2),
            (_anneal(initial, final, (T - end2) / (n - 1 - end2), anneal_strategy), True),
        ]
    else:
        pieces = [
            (_anneal(initial, peak, T / end1, anneal_strategy), T <= end1),
            (_anneal(peak, final, (T - end1) / (n - 1 - end1), anneal_strategy), True),
        ]
    parameters = {peak: max_lr, n: total_steps, p: pct_start, d: div_factor, d_f: final_div_factor}
    arguments = dict(
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )
    return Schedule("one_cycle", sp.Piecewise(*pieces), parameters, arguments)

