r"""Verify a hand-derived partial derivative: correct, wrong (with a counterexample), or undetermined.

Given a loss :math:`L`, a variable :math:`w` and a claimed derivative :math:`C`, the truth is
:math:`T = \partial L / \partial w` from ``sympy.diff``. A "correct" rests on a proof or on a
coverage of the whole domain, never on a box of sample points:

1. **Symbolic equivalence.** :math:`T - C`, rewritten to exponentials, expanded and cancelled; if
   it is identically 0 the claim is *correct* everywhere. Attempted only when the expansion is
   bounded (its number of terms is estimated from the tree before anything is expanded), and
   skipped when the first random point already shows a confirmed difference.
2. **Identity testing over the whole domain.** Both sides are compiled once (``lambdify`` to mpmath
   with common subexpressions, so the cost is linear in the size of the tree, where SymPy's
   ``evalf`` re-evaluates shared subtrees) and evaluated at 50 significant digits at points drawn
   over many scales: magnitudes :math:`10^{-3}` to :math:`10^{3}` of both signs, small integers,
   zero; inside the ``assume`` domain by construction (``x > 5`` gives :math:`5 + 10^{k}`).
   A point where :math:`|T - C| > 10^{-30} \max(1, |T|, |C|)` that is confirmed at 100 digits
   with the same difference makes the claim *wrong*.
3. **Regions of non-smooth functions.** Agreement of analytic functions at many random points
   proves an identity; relu, max, min, :math:`|\cdot|`, sign, Heaviside and Piecewise are analytic
   only between their breakpoints. The breakpoints are the zeros of their arguments (of
   :math:`a - b` for :math:`\max(a, b)`, of :math:`u - v` for a condition :math:`u < v`); each is
   solved for a variable in which it is a polynomial (degree at most 4), and every point is
   placed, variable by variable, in a chosen interval between or beyond the breakpoints of that
   variable (far beyond included). The sign pattern of all breakpoint arguments names the region
   of a point; "correct" needs at least ``_PER_REGION`` agreeing points in every region met, and
   every variable of every breakpoint argument moved across it. When some argument cannot be
   solved for any of its variables, the regions cannot be enumerated: "undetermined".
4. **Indexed sums.** :math:`\sum_{j=1}^{K}` is written out for several sizes :math:`K` (at least
   the largest concrete index used, so :math:`z_1` is the :math:`j = 1` term); every size is a
   region of its own.

For a wrong claim the *hint* names the likely slip, each candidate checked numerically at the
sampled points against the claim, never guessed: a sign error (:math:`C = -T`), a constant factor,
a missing :math:`1/n`, the wrong variable, a dropped inner derivative, a term that is off.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from .functions import log2, log_sigmoid, relu, sigmoid, softplus
from .parse import (
    ParseError,
    parse_condition,
    parse_definition,
    parse_latex,
    parse_symbol,
    plain_name,
)
from .printing.latex import latex

__all__ = ["Verdict", "verify_gradient"]

_PREC = 50  # significant digits of the comparison
_CONFIRM_PREC = 100  # digits used to confirm a counterexample
_RTOL = mpmath.mpf("1e-30")
_HINT_RTOL = mpmath.mpf("1e-20")
_ENOUGH = 24  # agreeing points a "correct" needs in all
_PER_REGION = 5  # agreeing points a "correct" needs in every region met
_MAX_POINTS = 420  # candidate points drawn at most
_HINT_POINTS = 6  # points used to check each hint candidate
_SUM_SIZES = 4  # sizes tried for each symbolic sum bound: m, m + 1, m + 2, m + 4
_MAX_TERMS = 400  # largest estimated expansion for the symbolic check and the hints
_MAX_OPS = 300  # largest expression (count_ops) for the symbolic check
_MAX_DEGREE = 4  # breakpoint arguments solved as polynomials up to this degree


@dataclass(frozen=True)
class Verdict:
    r"""The outcome of :func:`verify_gradient`.

    * ``verdict`` -- ``"correct"``, ``"wrong"`` or ``"undetermined"``;
    * ``counterexample`` -- for ``"wrong"``, the point ``{plain name: value}`` where the claim and
      the true derivative differ (``w_1`` for ``w_{1}``, ``theta`` for ``\theta``, ``z[2]`` for an
      entry of a sum, ``K`` for its size), else ``None``;
    * ``expected`` / ``claimed`` -- the true derivative and the claim at that point (``None`` when
      the value is beyond a double; a warning then says so);
    * ``hint`` -- the likely slip for ``"wrong"`` (checked, or ``None`` when no typical slip
      explains the difference), the reason for ``"undetermined"``, ``None`` for ``"correct"``;
    * ``reason`` -- what the verdict rests on, one sentence;
    * ``derivative`` / ``derivative_latex`` -- the true derivative (SymPy, and LaTeX printed by
      :func:`symlearn.latex`);
    * ``wrt`` -- the plain name of the variable;
    * ``points_checked`` -- how many sampled points entered the numeric comparison;
    * ``warnings`` -- sentences about the input or the output (a symbol only the claim has, a
      variable absent from the loss, a value beyond a double).
    """

    verdict: str
    counterexample: dict | None
    expected: float | None
    claimed: float | None
    hint: str | None
    reason: str = ""
    derivative: sp.Expr | None = field(default=None, compare=False, repr=False)
    derivative_latex: str = ""
    wrt: str = ""
    points_checked: int = 0
    warnings: tuple[str, ...] = ()
    sizes: dict | None = None
    matrix: bool = False

    def to_json(self) -> dict:
        """The JSON contract of ``symlearn verify --json`` (issue 12), exactly these keys:

        ``verdict``, ``counterexample`` (name -> number, ``null`` unless wrong), ``expected`` and
        ``claimed`` (numbers, ``null`` unless wrong), ``hint`` (for "correct": what it rests on),
        ``derivative`` (LaTeX of the true derivative) and ``warnings`` (a list of sentences).
        Every number is finite: a non-finite one is ``null`` and a warning names it.
        """
        warnings = list(self.warnings)

        def finite(name: str, value):
            if value is None or (isinstance(value, float) and math.isfinite(value)):
                return value
            if isinstance(value, int):
                return value
            if isinstance(value, (list, tuple)):  # matrix form: a nested list of numbers
                return [finite(f"{name}[{i}]", v) for i, v in enumerate(value)]
            warnings.append(f"{name} is not a finite double ({value}); it is written as null")
            return None

        point = self.counterexample
        if point is not None:
            point = {k: finite(f"the counterexample's {k}", v) for k, v in point.items()}
        hint = self.hint
        if self.verdict == "correct" and hint is None:
            hint = self.reason or None
        out = {
            "verdict": self.verdict,
            "counterexample": point,
            "expected": finite("the expected value", self.expected),
            "claimed": finite("the claimed value", self.claimed),
            "hint": hint,
            "derivative": self.derivative_latex,
            "warnings": warnings,
        }
        if self.matrix:  # matrix form adds the sizes of the counterexample (issue 13)
            out["derivative"] = self.derivative_latex or None
            out["sizes"] = self.sizes
        return out


# ------------------------------------------------------------------------------------------------
# compiled evaluation with mpmath


_HALF = mpmath.mpf(1) / 2


def _heaviside(x, h0=_HALF):
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else h0


_NAMESPACE = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "softplus": lambda x: mpmath.log1p(mpmath.exp(x)) if x < 0 else x + mpmath.log1p(
        mpmath.exp(-x)),
    "log_sigmoid": lambda x: -mpmath.log1p(mpmath.exp(-x)) if x > 0 else x - mpmath.log1p(
        mpmath.exp(x)),
    "relu": lambda x: x if x > 0 else mpmath.mpf(0),
    "log2": lambda x: mpmath.log(x) / mpmath.log(2),
    "Heaviside": _heaviside,
    "sign": mpmath.sign,
}


_UNARY = {
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.sin: mpmath.sin, sp.cos: mpmath.cos,
    sp.tan: mpmath.tan, sp.tanh: mpmath.tanh, sp.sinh: mpmath.sinh, sp.cosh: mpmath.cosh,
    sp.erf: mpmath.erf, sp.Abs: abs, sp.sign: mpmath.sign, sigmoid: _NAMESPACE["sigmoid"],
    softplus: _NAMESPACE["softplus"], log_sigmoid: _NAMESPACE["log_sigmoid"],
    relu: _NAMESPACE["relu"], log2: _NAMESPACE["log2"],
}
_RELATIONAL = {
    sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
    sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
    sp.Eq: lambda a, b: a == b, sp.Ne: lambda a, b: a != b,
}


class _Unsupported(Exception):
    """A node the evaluator does not know (the caller falls back to lambdify)."""


_MAX_MAGNITUDE = 10**6  # binary exponent beyond which a value counts as not finite


def _bounded(value) -> None:
    """Refuse astronomically large intermediate values (x^{x^{x}} at x = 1000): their digits
    would cost time and memory and no comparison can use them."""
    if value and mpmath.isfinite(value) and mpmath.mag(value) > _MAX_MAGNITUDE:
        raise OverflowError("a value beyond 2^(10^6)")


def _walk(e, env: dict, memo: dict):
    """``e`` at the point ``env`` (symbol -> mpf), every shared subtree evaluated once: the cost
    is linear in the size of the expression DAG (SymPy's ``evalf`` re-evaluates shared subtrees,
    exponential for a sigmoid nested 10 deep)."""
    if e in memo:
        return memo[e]
    if e in env:
        return env[e]
    if e.is_Integer:
        value = mpmath.mpf(int(e))
    elif e.is_Rational:
        value = mpmath.mpf(int(e.p)) / int(e.q)
    elif e.is_Float:
        value = mpmath.mpf(e._mpf_) if hasattr(e, "_mpf_") else mpmath.mpf(str(e))
    elif e is sp.pi:
        value = +mpmath.pi
    elif e is sp.E:
        value = mpmath.e + 0
    elif e is sp.true:
        value = True
    elif e is sp.false:
        value = False
    elif isinstance(e, sp.Add):
        value = mpmath.fsum(_walk(a, env, memo) for a in e.args)
    elif isinstance(e, sp.Mul):
        value = mpmath.mpf(1)
        for a in e.args:
            value = value * _walk(a, env, memo)
    elif isinstance(e, sp.Pow):
        base = _walk(e.base, env, memo)
        if e.exp.is_Integer:
            value = base ** int(e.exp)
        elif e.exp == sp.S.Half:
            value = mpmath.sqrt(base)
        else:
            exponent = _walk(e.exp, env, memo)
            if base != 0 and not isinstance(base, mpmath.mpc) \
                    and not isinstance(exponent, mpmath.mpc) and mpmath.isfinite(exponent) \
                    and abs(exponent) * abs(mpmath.log(abs(base), 2)) > _MAX_MAGNITUDE:
                raise OverflowError("a power beyond 2^(10^6)")  # bounded before computing it
            value = mpmath.power(base, exponent)
        _bounded(value)
    elif e.func in _UNARY and len(e.args) == 1:
        argument = _walk(e.args[0], env, memo)
        if e.func is sp.exp:
            _bounded(argument)  # exp of a number beyond 2^(10^6) has no useful value
        value = _UNARY[e.func](argument)
    elif isinstance(e, sp.log):  # log(x, base)
        args = [_walk(a, env, memo) for a in e.args]
        value = mpmath.log(args[0]) / mpmath.log(args[1])
    elif isinstance(e, sp.DiracDelta):
        # Only at points off every breakpoint (the sampler skips points on them).
        if _walk(e.args[0], env, memo) == 0:
            raise ValueError("DiracDelta at its breakpoint")
        value = mpmath.mpf(0)
    elif isinstance(e, sp.Heaviside):
        args = [_walk(a, env, memo) for a in e.args]
        value = _heaviside(*args)
    elif isinstance(e, (sp.Max, sp.Min)):
        args = [_walk(a, env, memo) for a in e.args]
        if any(isinstance(a, mpmath.mpc) for a in args):
            raise ValueError("complex argument of max/min")
        value = max(args) if isinstance(e, sp.Max) else min(args)
    elif isinstance(e, sp.Piecewise):
        value = None
        for piece, cond in e.args:
            if _walk(cond, env, memo):
                value = _walk(piece, env, memo)
                break
        if value is None:
            raise ValueError("no piece applies")
    elif type(e) in _RELATIONAL:
        a, b = _walk(e.lhs, env, memo), _walk(e.rhs, env, memo)
        if isinstance(a, mpmath.mpc) or isinstance(b, mpmath.mpc):
            raise ValueError("complex comparison")
        value = _RELATIONAL[type(e)](a, b)
    elif isinstance(e, sp.And):
        value = all(_walk(a, env, memo) for a in e.args)
    elif isinstance(e, sp.Or):
        value = any(_walk(a, env, memo) for a in e.args)
    elif isinstance(e, sp.Not):
        value = not _walk(e.args[0], env, memo)
    else:
        raise _Unsupported(type(e).__name__)
    memo[e] = value
    return value


def _compile(exprs: list, args: list):
    """One function of ``args`` (mpf values) returning the value of every expression of
    ``exprs``; the expressions share one memo per call (common subexpressions once). An
    expression with a node the evaluator does not know is compiled by ``lambdify`` to mpmath."""
    args = list(args)
    fallback = []

    def known(e) -> bool:
        try:
            _walk(e, {a: mpmath.mpf(1) / 3 for a in args}, {})
        except _Unsupported:
            return False
        except Exception:  # noqa: BLE001 - any numeric failure at the probe point is fine
            return True
        return True

    def unavailable(*values):
        raise ValueError("an expression the evaluator cannot compute")

    for e in exprs:
        if known(e):
            fallback.append(None)
            continue
        try:
            fallback.append(sp.lambdify(args, e, modules=[_NAMESPACE, "mpmath"], cse=True,
                                        dummify=True))
        except Exception:  # noqa: BLE001 - any printer failure: the value is not available
            fallback.append(unavailable)

    def run(*values):
        env = dict(zip(args, values))
        memo: dict = {}
        return [_walk(e, env, memo) if f is None else f(*values)
                for e, f in zip(exprs, fallback)]

    return run


def _real(value):
    """An mpmath number as a finite real mpf, or ``None``."""
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            return None
        value = value.real
    try:
        value = mpmath.mpf(value)
    except (TypeError, ValueError):
        return None
    if not mpmath.isfinite(value):
        return None
    return value


def _close(a, b, rtol=_RTOL) -> bool:
    return abs(a - b) <= rtol * max(1, abs(a), abs(b))


# ------------------------------------------------------------------------------------------------
# the problem: loss, truth, claim, conditions, breakpoints, for each size of the sums


def _kink_arguments(expr: sp.Expr) -> list:
    """Arguments whose zeros are breakpoints: relu(u), H(u), |u|, sign(u) -> u; max(a, b) -> a - b;
    a Piecewise condition u < v -> u - v."""
    found = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (relu, sp.Heaviside, sp.Abs, sp.sign, sp.DiracDelta)):
            found.append(node.args[0])
        elif isinstance(node, (sp.Max, sp.Min)):
            args = node.args
            found += [args[i] - args[j] for i in range(len(args)) for j in range(i + 1, len(args))]
        elif isinstance(node, sp.Piecewise):
            for _, cond in node.args:
                if not isinstance(cond, sp.logic.boolalg.BooleanAtom):
                    for rel in cond.atoms(sp.core.relational.Relational):
                        if not isinstance(rel, (sp.Eq, sp.Ne)):
                            found.append(rel.lhs - rel.rhs)
    unique = []
    for g in found:
        if g.free_symbols and not g.is_number and g not in unique and -g not in unique:
            unique.append(g)
    return unique


def _branches(g: sp.Expr, limit: int = 16) -> list | None:
    """Smooth versions of ``g``: every |u| replaced by u or -u, max(a, b) by a or b, relu(u) by
    u or 0, sign(u) by 1 or -1. The zeros of ``g`` are among the zeros of its versions (a
    superset of breakpoints only adds regions). None when there would be more than ``limit``."""
    versions = [g]
    while True:
        out, changed = [], False
        for e in versions:
            node = next((n for n in sp.preorder_traversal(e)
                         if isinstance(n, (sp.Abs, relu, sp.Max, sp.Min, sp.sign, sp.Heaviside))),
                        None)
            if node is None:
                out.append(e)
                continue
            changed = True
            if isinstance(node, sp.Abs):
                options = [node.args[0], -node.args[0]]
            elif isinstance(node, relu):
                options = [node.args[0], sp.S.Zero]
            elif isinstance(node, (sp.Max, sp.Min)):
                options = list(node.args)
            else:
                options = [sp.S.One, -sp.S.One, sp.S.Zero]
            out += [e.xreplace({node: o}) for o in options]
            if len(out) > limit:
                return None
        versions = list(dict.fromkeys(out))
        if not changed:
            return versions


def _polynomial_in(g: sp.Expr, v) -> list | None:
    """Coefficients (highest first) of ``g`` as a polynomial in ``v`` of degree 1..4, else None."""
    if isinstance(v, sp.Indexed):
        dummy = sp.Dummy("v", real=True)
        g = g.xreplace({v: dummy})
        v = dummy
    try:
        poly = sp.Poly(g, v)
    except (sp.PolynomialError, sp.GeneratorsNeeded, ValueError, TypeError):
        return None
    if poly.gens != (v,) or not 1 <= poly.degree() <= _MAX_DEGREE:
        return None
    coeffs = poly.all_coeffs()
    if any(c.has(v) for c in coeffs):
        return None
    return coeffs


def _write_out(e: sp.Expr) -> sp.Expr:
    """Every sum and product with integer limits written out term by term (no ``doit``, whose
    closed forms cost time and are not needed)."""
    if not e.has(sp.Sum, sp.Product):
        return e

    def expand(node):
        body = node.function
        for index, lo, hi in reversed(node.limits):
            if not (lo.is_Integer and hi.is_Integer):
                return node
            # A term may hold a sum whose limits named this index (SymPy's product rule).
            terms = [_write_out(body.xreplace({index: sp.Integer(k)}))
                     for k in range(int(lo), int(hi) + 1)]
            body = sp.Add(*terms) if isinstance(node, sp.Sum) else sp.Mul(*terms)
        return body

    return e.replace(lambda n: isinstance(n, (sp.Sum, sp.Product)), expand)


class _Instance:
    """Loss, truth, claim, conditions and breakpoints with every sum written out for one size."""

    def __init__(self, problem: _Problem, sizes: dict):
        self.sizes = sizes

        def inst(e):
            return _write_out(e.xreplace(sizes) if sizes else e)

        self.loss = inst(problem.loss)
        self.truth = (sp.diff(self.loss, problem.wrt) if problem.truth_per_size
                      else inst(problem.truth))
        self.claim = inst(problem.claim)
        self.conditions = [inst(c) for c in problem.conditions]
        self.kinks = _kink_arguments(sp.Add(self.loss, self.truth, self.claim, evaluate=False))
        for c in self.conditions:
            self.kinks += [g for g in _kink_arguments(c) if g not in self.kinks]
        found = set()
        for e in (self.loss, self.truth, self.claim, *self.conditions):
            found |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
            found |= e.atoms(sp.Indexed)
        found -= set(problem.size_symbols)
        found -= {i.base.label for i in found if isinstance(i, sp.Indexed)}
        found -= set(problem.derived)
        self.derived = [(v, inst(e)) for v, e in problem.derived.items()]
        # An equality over a sum (\sum_k y_k = 1) eliminates its last entry, per size.
        for eq in problem.sum_equalities:
            g = inst(eq.lhs - eq.rhs).xreplace(dict(self.derived))
            entries = sorted((i for i in g.atoms(sp.Indexed) if i in found and i != problem.wrt),
                             key=lambda i: [int(k) if k.is_Integer else 0 for k in i.indices],
                             reverse=True)
            for entry in entries:
                coeffs = _polynomial_in(g, entry)
                if coeffs is not None and len(coeffs) == 2 and coeffs[0].is_number \
                        and coeffs[0] != 0:
                    self.derived.append((entry, -coeffs[1] / coeffs[0]))
                    found.discard(entry)
                    break
        self.variables = sorted(found, key=plain_name)
        self.args = self.variables
        relations = [(c.lhs - c.rhs) for c in self.conditions]
        self._exprs = [self.loss, self.truth, self.claim, *relations, *self.kinks]
        self._derived_fn = (_compile([e for _, e in self.derived], self.args)
                            if self.derived else None)
        self._fn = None
        self._extra: dict = {}
        # For each variable, the breakpoint arguments it solves (polynomial coefficients).
        self.solvers: dict = {}
        self.unsolvable = []
        full_args = [*self.args, *[v for v, _ in self.derived]]
        eliminated = dict(self.derived)
        for k, g in enumerate(self.kinks):
            # A breakpoint in an eliminated variable (t_2 = 1 - t_1) is one in the others.
            g = g.xreplace(eliminated) if eliminated else g
            movable = [v for v in self.variables if g.has(v)]
            solved = False
            versions = _branches(g) or []
            for v in movable:
                polys = [_polynomial_in(e, v) if e.has(v) else [] for e in versions]
                if versions and all(c is not None for c in polys):
                    for coeffs in polys:
                        if coeffs:
                            self.solvers.setdefault(v, []).append(
                                (k, _compile(coeffs, full_args)))
                    solved = True
            if not solved and movable:
                self.unsolvable.append(g)

    @property
    def fn(self):
        if self._fn is None:
            self._fn = _compile(self._exprs, [*self.args, *[v for v, _ in self.derived]])
        return self._fn

    def full_point(self, values: dict, prec: int) -> list | None:
        """Argument values (mpf) for the compiled functions, derived variables appended."""
        with mpmath.workdps(prec):
            base = [mpmath.mpf(values[v]) for v in self.args]
            if not self.derived:
                return base
            try:
                extra = [_real(x) for x in self._derived_fn(*base)]
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                return None
            if any(x is None for x in extra):
                return None
            return base + extra

    def evaluate(self, values: dict, prec: int):
        """(loss, truth, claim, relation values, kink values) at ``values``, or None on error."""
        args = self.full_point(values, prec)
        if args is None:
            return None
        with mpmath.workdps(prec):
            try:
                out = self.fn(*args)
            except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError,
                    NameError):
                return None
            return [_real(x) for x in out]

    def value_of(self, expr: sp.Expr, values: dict, prec: int = _PREC):
        """Any expression (a hint candidate) at a sampled point."""
        if expr not in self._extra:
            self._extra[expr] = _compile([expr], [*self.args, *[v for v, _ in self.derived]])
        args = self.full_point(values, prec)
        if args is None:
            return None
        with mpmath.workdps(prec):
            try:
                return _real(self._extra[expr](*args)[0])
            except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError,
                    NameError):
                return None


@dataclass
class _Problem:
    loss: sp.Expr
    truth: sp.Expr | None  # symbolic truth, None when only per size
    claim: sp.Expr
    wrt: sp.Basic
    conditions: list
    derived: dict  # variable -> expression (eliminated by an equality)
    intervals: dict  # variable -> (lo, lo_strict, hi, hi_strict) from one-variable conditions
    size_symbols: list
    min_size: dict
    truth_per_size: bool = False
    sum_equalities: list = field(default_factory=list)


def _sizes_list(problem: _Problem) -> list[dict]:
    if not problem.size_symbols:
        return [{}]
    out = []
    for k in range(_SUM_SIZES):
        step = (0, 1, 2, 4)[k]
        out.append({s: sp.Integer(problem.min_size.get(s, 1) + step)
                    for s in problem.size_symbols})
    return out


# ------------------------------------------------------------------------------------------------
# sampling


def _fmt(x) -> str:
    """A short exact decimal for a coordinate (the counterexample prints it back)."""
    return mpmath.nstr(mpmath.mpf(x), 15, min_fixed=-30, max_fixed=30, strip_zeros=True)


def _scale(rng: random.Random) -> float:
    return 10 ** rng.uniform(-3, 3)


def _draw_free(rng: random.Random) -> float:
    """A coordinate of an unrestricted variable: many scales, both signs, small integers, 0."""
    kind = rng.random()
    if kind < 0.45:
        return rng.choice((-1, 1)) * _scale(rng)
    if kind < 0.62:
        return float(rng.randint(-5, 5))
    if kind < 0.82:
        return rng.uniform(0.02, 0.98)  # probabilities
    return rng.uniform(-4, 4)


def _draw_in(rng: random.Random, lo, hi) -> float | None:
    """A coordinate in the open interval (lo, hi); None stands for an infinite end."""
    if lo is None and hi is None:
        return _draw_free(rng)
    if hi is None:
        return lo + (_scale(rng) if rng.random() < 0.8 else rng.randint(1, 5))
    if lo is None:
        return hi - (_scale(rng) if rng.random() < 0.8 else rng.randint(1, 5))
    width = hi - lo
    if width <= 0:
        return None
    kind = rng.random()
    if kind < 0.5:
        u = rng.uniform(0.001, 0.999)
    elif kind < 0.75:
        u = min(0.5, 10 ** rng.uniform(-3, 0) / 2)
    else:
        u = 1 - min(0.5, 10 ** rng.uniform(-3, 0) / 2)
    return lo + width * u


def _domain_interval(problem: _Problem, v) -> tuple:
    lo, _, hi, _ = problem.intervals.get(v, (None, False, None, False))
    return lo, hi


def _place(rng, problem: _Problem, inst: _Instance, v, values: dict, rooted: set) -> bool:
    """Move ``v`` into a random interval between or beyond its breakpoints (given the others);
    ``rooted`` collects the breakpoint arguments found to vanish inside the domain."""
    lo, hi = _domain_interval(problem, v)
    roots = []
    args = inst.full_point(values, _PREC)
    if args is None:
        return False
    with mpmath.workdps(_PREC):
        for index, solver in inst.solvers.get(v, []):
            try:
                coeffs = [_real(c) for c in solver(*args)]
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                continue
            if any(c is None for c in coeffs):
                continue
            while coeffs and coeffs[0] == 0:
                coeffs = coeffs[1:]
            if len(coeffs) < 2:
                continue
            try:
                found = mpmath.polyroots(coeffs, maxsteps=80, extraprec=60)
            except (mpmath.libmp.NoConvergence, ZeroDivisionError, ValueError):
                return False
            for r in found if isinstance(found, list) else [found]:
                r = mpmath.mpc(r)
                if abs(r.imag) <= mpmath.mpf("1e-30") * max(1, abs(r.real)):
                    x = float(r.real)
                    if math.isfinite(x) and (lo is None or x > lo) and (hi is None or x < hi):
                        roots.append(x)
                        rooted.add((id(inst), index))
    roots = sorted({r for r in roots if math.isfinite(r)
                    and (lo is None or r > lo) and (hi is None or r < hi)})
    edges = [lo, *roots, hi]
    k = rng.randrange(len(edges) - 1)
    a, b = edges[k], edges[k + 1]
    if a is not None and b is not None:
        value = _draw_in(rng, a, b)
    elif a is None and b is None:
        value = _draw_free(rng)
    elif b is None:
        value = a + (_scale(rng) if rng.random() < 0.85 else _scale(rng) * max(1, abs(a)))
    else:
        value = b - (_scale(rng) if rng.random() < 0.85 else _scale(rng) * max(1, abs(b)))
    if value is None:
        return False
    values[v] = _fmt(value)
    return True


@dataclass
class _Sample:
    values: dict  # variable -> decimal string
    inst: _Instance
    truth: mpmath.mpf
    claim: mpmath.mpf

    def exact(self) -> dict:
        """Plain name -> the exact coordinate (mpf at the working precision)."""
        out = {plain_name(v): mpmath.mpf(x) for v, x in self.values.items()}
        out.update({plain_name(s): mpmath.mpf(int(n)) for s, n in self.inst.sizes.items()})
        return out

    def point(self) -> dict:
        out = {plain_name(v): float(x) for v, x in self.values.items()}
        for s, n in self.inst.sizes.items():
            out[plain_name(s)] = int(n)
        args = self.inst.full_point(self.values, _PREC)
        if self.inst.derived and args is not None:
            for (v, _), x in zip(self.inst.derived, args[len(self.inst.args):]):
                out[plain_name(v)] = float(x)
        return dict(sorted(out.items()))


def _clarity(sample: _Sample):
    """How clear a counterexample is: a sum of more than one term first (K = 1 makes softmax a
    constant), then the difference relative to the values."""
    with mpmath.workdps(_PREC):
        t, c = sample.truth, sample.claim
        proper = all(int(n) >= 2 for n in sample.inst.sizes.values())
        return (proper, abs(t - c) / max(1, abs(t), abs(c)))


def _holds(relation, value) -> bool:
    if value is None:
        return False
    op = type(relation)
    zero = mpmath.mpf(0)
    if op in (sp.StrictLessThan,):
        return value < zero
    if op in (sp.LessThan,):
        return value <= zero
    if op in (sp.StrictGreaterThan,):
        return value > zero
    if op in (sp.GreaterThan,):
        return value >= zero
    if op is sp.Ne:
        return value != zero
    if op is sp.Eq:
        return abs(value) <= _RTOL
    return False


class _Sampler:
    def __init__(self, problem: _Problem, seed: int):
        self.problem = problem
        self.rng = random.Random(seed)
        self.instances = [_Instance(problem, sizes) for sizes in _sizes_list(problem)]
        self.valid: list[_Sample] = []
        self.counterexample: _Sample | None = None
        self.regions: dict = {}
        self.stats = {"loss": 0, "truth": 0, "claim": 0, "assume": 0, "kink": 0, "unstable": 0}
        self.crossed: dict = {}  # kink index -> set of signs seen, per instance
        self.tried: dict = {}  # per instance and kink: points met on each side, valid or not
        self.rooted: set = set()  # (instance, kink index) found to vanish inside the domain
        self.drawn = 0

    def draw(self, inst: _Instance) -> dict | None:
        values = {}
        for v in inst.variables:
            lo, hi = _domain_interval(self.problem, v)
            x = _draw_in(self.rng, lo, hi)
            if x is None:
                return None
            values[v] = _fmt(x)
        movable = [v for v in inst.variables if v in inst.solvers]
        if movable and self.rng.random() < 0.85:
            self.rng.shuffle(movable)
            for v in movable:
                if not _place(self.rng, self.problem, inst, v, values, self.rooted):
                    return None
        return values

    def step(self) -> None:
        inst = self.instances[self.drawn % len(self.instances)]
        self.drawn += 1
        values = self.draw(inst)
        if values is None:
            self.stats["assume"] += 1
            return
        out = inst.evaluate(values, _PREC)
        if out is None:
            self.stats["loss"] += 1
            return
        loss, truth, claim = out[:3]
        n_rel = len(inst.conditions)
        rel_values, kink_values = out[3:3 + n_rel], out[3 + n_rel:]
        if not all(_holds(c, r) for c, r in zip(inst.conditions, rel_values)):
            self.stats["assume"] += 1
            return
        tried = self.tried.setdefault(id(inst), [[0, 0] for _ in kink_values])
        for k, val in enumerate(kink_values):
            if val is not None and val != 0:
                tried[k][val > 0] += 1
        if loss is None:
            self.stats["loss"] += 1
            return
        if truth is None:
            self.stats["truth"] += 1
            return
        if claim is None:
            self.stats["claim"] += 1
            return
        if any(k is None or abs(k) <= mpmath.mpf("1e-40") for k in kink_values):
            self.stats["kink"] += 1  # on a breakpoint: conventions of subgradients differ there
            return
        pattern = (id(inst), tuple(k > 0 for k in kink_values))
        sample = _Sample(values, inst, truth, claim)
        if not _close(truth, claim):
            fine = inst.evaluate(values, _CONFIRM_PREC)
            if fine is None or fine[1] is None or fine[2] is None:
                self.stats["unstable"] += 1
                return
            d50, d100 = truth - claim, fine[1] - fine[2]
            with mpmath.workdps(_CONFIRM_PREC):
                stable = abs(d100 - d50) <= mpmath.mpf("1e-6") * abs(d100)
            if _close(fine[1], fine[2], mpmath.mpf("1e-60")) or not stable:
                self.stats["unstable"] += 1  # round-off, not a slip
                return
            # The clearest counterexample is kept: the largest difference relative to the values.
            if self.counterexample is None or _clarity(sample) > _clarity(self.counterexample):
                if self.counterexample is not None:
                    self.valid.append(self.counterexample)
                self.counterexample = sample
            else:
                self.valid.append(sample)
            return
        self.valid.append(sample)
        self.regions[pattern] = self.regions.get(pattern, 0) + 1
        seen = self.crossed.setdefault(id(inst), [set() for _ in kink_values])
        for k, val in enumerate(kink_values):
            seen[k].add(val > 0)

    def done(self) -> bool:
        if self.counterexample is not None:
            return len(self.valid) >= 2 * _HINT_POINTS or self.drawn >= _MAX_POINTS
        if self.drawn >= _MAX_POINTS:
            return True
        if len(self.valid) < _ENOUGH or self.drawn < 2 * len(self.instances):
            return False
        if any(n < _PER_REGION for n in self.regions.values()):
            return False
        covered = {id(i) for i in self.instances}
        if {p[0] for p in self.regions} != covered:
            return False
        # Every breakpoint argument that vanishes inside the domain seen on both sides of 0.
        if self.uncrossed():
            return self.drawn >= _MAX_POINTS // 2
        return True

    def uncrossed(self) -> list:
        out = []
        for inst in self.instances:
            seen = self.crossed.get(id(inst), [set() for _ in inst.kinks])
            for k, g in enumerate(inst.kinks):
                tried = self.tried.get(id(inst), [[0, 0] for _ in inst.kinks])[k]
                # A side met often without one valid point lies outside the domain.
                if (id(inst), k) in self.rooted and len(seen[k]) < 2 and min(tried) < 20:
                    out.append(g)
        return out


# ------------------------------------------------------------------------------------------------
# hints: each candidate is an expression checked against the claim at the sampled points


def _expansion_terms(expr: sp.Basic) -> int:
    """An upper estimate of the number of terms ``expand`` would produce, computed on the tree
    without expanding (multinomial counts for integer powers of sums)."""
    memo: dict = {}

    def terms(e) -> int:
        if e in memo:
            return memo[e]
        if isinstance(e, sp.Add):
            n = sum(terms(a) for a in e.args)
        elif isinstance(e, sp.Mul):
            n = 1
            for a in e.args:
                n = min(n * terms(a), 10**9)
        elif isinstance(e, sp.Pow) and e.exp.is_Integer:
            k, p = terms(e.base), abs(int(e.exp))
            n = math.comb(p + k - 1, k - 1) if k > 1 and p < 10**6 else (10**9 if k > 1 else 1)
        else:
            n = 1
            for a in getattr(e, "args", ()):
                if isinstance(a, sp.Basic):
                    n = max(n, terms(a))
        memo[e] = min(n, 10**9)
        return memo[e]

    return terms(expr)


def _small(expr: sp.Expr) -> bool:
    return _expansion_terms(expr) <= _MAX_TERMS and sp.count_ops(expr) <= _MAX_OPS


def _agrees(inst_of, candidate: sp.Expr, samples: list[_Sample]) -> bool:
    """True when ``candidate`` equals the claim at every sample (and is defined there)."""
    for s in samples:
        value = s.inst.value_of(inst_of(candidate, s.inst), s.values)
        if value is None or not _close(value, s.claim, _HINT_RTOL):
            return False
    return True


def _constant(values: list):
    if not values:
        return None
    first = values[0]
    if all(_close(v, first, _HINT_RTOL) for v in values[1:]):
        return first
    return None


def _name_constant(k) -> str | None:
    """A readable exact form of a constant ratio: an integer, a simple fraction or a log."""
    with mpmath.workdps(_PREC):
        for exact, text in ((mpmath.log(2), r"\ln 2"), (1 / mpmath.log(2), r"1/\ln 2"),
                            (mpmath.log(10), r"\ln 10"), (1 / mpmath.log(10), r"1/\ln 10")):
            if _close(k, exact, _HINT_RTOL):
                return text
        fraction = sp.Rational(mpmath.nstr(k, 30)).limit_denominator(1000)
        if _close(k, mpmath.mpf(fraction.p) / fraction.q, _HINT_RTOL):
            return str(fraction)
    return None


def _composite_nodes(loss: sp.Expr, wrt) -> list:
    """Subexpressions f(g) whose inner g depends on ``wrt`` and is not ``wrt`` itself."""
    nodes = []
    free = loss.free_symbols
    for node in sp.preorder_traversal(loss):
        if not node.free_symbols <= free:
            continue  # inside a sum: the node names the summation index
        if isinstance(node, sp.Pow):
            inner = node.base
            if inner.has(wrt) and inner != wrt and not node.exp.has(wrt):
                nodes.append((node, inner))
        elif isinstance(node, sp.Function) and len(node.args) == 1:
            inner = node.args[0]
            if inner.has(wrt) and inner != wrt:
                nodes.append((node, inner))
        if len(nodes) > 20:
            break
    return list(dict.fromkeys(nodes))


class _HintContext:
    def __init__(self, problem: _Problem, samples: list[_Sample]):
        self.problem = problem
        self.samples = samples

    @staticmethod
    def inst_of(expr, inst: _Instance):
        key = ("inst", expr)
        if key not in inst._extra:
            inst._extra[key] = _write_out(expr.xreplace(inst.sizes) if inst.sizes else expr)
        return inst._extra[key]

    def agrees(self, candidate) -> bool:
        return _agrees(self.inst_of, candidate, self.samples)


def _hint(problem: _Problem, samples: list[_Sample]) -> str | None:
    """The slips that explain the claim, most typical first (at most two, joined by '; or ')."""
    ctx = _HintContext(problem, samples)
    found: list[str] = []
    checks = [_hint_ratio, _hint_size]
    if (problem.truth is not None and not problem.derived and not problem.sum_equalities
            and _small(problem.loss)):
        checks = [_hint_ratio, _hint_inner, _hint_variable, _hint_size, _hint_term, _hint_delta]
    for check in checks:
        if check is _hint_delta and found:
            break  # the generic difference only when no typical slip explains the claim
        for explanation in check(ctx):
            if explanation not in found:
                found.append(explanation)
        if len(found) >= 2:
            break
    if not found:
        return None
    return "; or ".join(found[:2])


def _usable(samples: list[_Sample]) -> list[_Sample]:
    # Points where the derivative is 0 say nothing about a ratio (and would make "factor 1").
    return [s for s in samples if abs(s.truth) > mpmath.mpf("1e-12") * max(1, abs(s.claim))]


def _hint_ratio(ctx):
    """Sign error or a constant factor: claim / truth is the same number everywhere."""
    samples = ctx.samples
    usable = _usable(samples)
    if len(usable) < 2 or len(usable) < len(samples) // 2:
        return
    with mpmath.workdps(_PREC):
        k = _constant([s.claim / s.truth for s in usable])
    if k is None or _close(k, mpmath.mpf(1), _HINT_RTOL):
        return  # a ratio of 1 only says the difference is where the derivative is 0
    if k == 0:
        yield "the claim is 0 where the true derivative is not"
        return
    if _close(k, mpmath.mpf(-1), _HINT_RTOL):
        yield "sign error: the claim is the negative of the true derivative"
        return
    named = _name_constant(k)
    if named is None:
        yield f"constant factor: the claim is {float(k):.12g} times the true derivative"
    elif named.startswith("1/") and "ln" not in named:
        yield (f"missing constant factor {named[2:]}: the claim is {named} times the true "
               "derivative")
    elif "/" not in named and "ln" not in named:
        yield f"extra constant factor {named}: the claim is {named} times the true derivative"
    else:
        yield (f"constant factor: the claim is {named} times the true derivative (a factor "
               f"{named} too many or missing)")


def _hint_inner(ctx):
    """Dropped inner derivative: the chain rule through one node with g' replaced by 1."""
    problem = ctx.problem
    wrt, loss, truth = problem.wrt, problem.loss, problem.truth
    for node, inner in _composite_nodes(loss, wrt):
        dummy = sp.Dummy("u", real=True)
        outer = sp.diff(loss.xreplace({node: node.func(dummy, *node.args[1:])}), dummy)
        outer = outer.xreplace({dummy: inner})
        inner_derivative = sp.diff(inner, wrt)
        # The slip replaces g' by 1, or keeps only its sign (-x_1 becomes -1).
        for kept, note in ((sp.S.One, ""), (sp.S.NegativeOne, " (keeping only its sign)")):
            if inner_derivative == kept:
                continue
            candidate = truth + outer * (kept - inner_derivative)
            if ctx.agrees(candidate):
                yield (f"dropped inner derivative: the claim omits the chain-rule factor "
                       f"{latex(inner_derivative)} = \\partial ({latex(inner)}) / "
                       f"\\partial {latex(wrt)} inside {latex(node)}{note}")
                return


def _hint_variable(ctx):
    """Wrong variable: the claim is the derivative with respect to another symbol."""
    problem = ctx.problem
    labels = {i.base.label for i in problem.loss.atoms(sp.Indexed)}
    others = problem.loss.free_symbols - {problem.wrt} - set(problem.size_symbols) - labels
    for other in sorted(others, key=str):
        if isinstance(other, sp.Symbol) and ctx.agrees(sp.diff(problem.loss, other)):
            yield (f"wrong variable: the claim is the derivative with respect to "
                   f"{latex(other)}, not {latex(problem.wrt)}")


def _hint_size(ctx):
    """A missing 1/n: claim / truth equals the value of a variable (n, or another symbol)."""
    usable = _usable(ctx.samples)
    if len(usable) < 2:
        return
    problem = ctx.problem
    names = [plain_name(s) for s in problem.size_symbols]
    names += sorted({plain_name(s) for s in usable[0].values} - {plain_name(problem.wrt)})
    with mpmath.workdps(_PREC):
        ratios = [x.claim / x.truth for x in usable]
        for name in dict.fromkeys(names):
            values = [x.exact().get(name) for x in usable]
            if any(v is None or v == 0 for v in values):
                continue
            if all(_close(r, v, _HINT_RTOL) for r, v in zip(ratios, values)):
                yield f"missing 1/{name}: the claim is {name} times the true derivative"
            elif all(_close(r, 1 / v, _HINT_RTOL) for r, v in zip(ratios, values)):
                yield f"extra 1/{name}: the claim is the true derivative divided by {name}"


def _hint_term(ctx):
    """A term that is off: one term of the loss or of the expanded derivative."""
    problem = ctx.problem
    loss, truth, wrt = problem.loss, problem.truth, problem.wrt
    terms = []
    if isinstance(loss, sp.Add):
        terms += [(sp.diff(t, wrt), f"the term {latex(t)} of the loss") for t in loss.args]
    if _small(truth):
        expanded = sp.expand(truth)
        if isinstance(expanded, sp.Add) and len(expanded.args) <= 12:
            terms += [(t, f"the term {latex(t)} of the derivative") for t in expanded.args]
    for d_term, label in terms:
        if d_term == 0:
            continue
        for factor, how in ((0, "is missing"), (-1, "has the wrong sign"),
                            (2, "is counted twice"), (sp.S.Half, "is halved")):
            if ctx.agrees(truth + (factor - 1) * d_term):
                yield f"a term is off: the contribution of {label} {how}"
                return


def _hint_delta(ctx):
    """The difference itself, when it is short enough to read."""
    problem = ctx.problem
    difference = problem.claim - problem.truth
    if not _small(difference):
        return
    delta = sp.expand(difference)
    if sp.count_ops(delta) <= 12 and ctx.agrees(problem.truth + delta):
        yield f"a term is off: the claim exceeds the true derivative by {latex(delta)}"


# ------------------------------------------------------------------------------------------------
# the public function


def _as_expr(value, what: str) -> sp.Expr:
    if isinstance(value, str):
        return parse_latex(value, what=what)
    if isinstance(value, sp.Expr):
        return value
    raise ParseError(f"{what}: expected a LaTeX string or a SymPy expression, got "
                     f"{type(value).__name__} at column 1", 0)


def _as_symbol(value) -> sp.Symbol:
    if isinstance(value, (sp.Symbol, sp.Indexed)):
        return value
    if isinstance(value, str):
        return parse_symbol(value, what="wrt")
    raise ParseError(f"wrt: expected a variable name, got {type(value).__name__} at column 1")


def _strings(value, what: str) -> list:
    if isinstance(value, (str, sp.Basic)):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise ParseError(f"{what}: expected a string or a list of strings, got "
                         f"{type(value).__name__} at column 1") from None


def _conditions(assume) -> list:
    relations = []
    for item in _strings(assume, "assume"):
        if isinstance(item, str):
            relations += parse_condition(item)
        elif isinstance(item, sp.Basic) and item.is_Relational:
            relations.append(item)
        else:
            raise ParseError(f"assume: expected conditions such as 'x>0', got {item!r} at column 1")
    return relations


def _definitions(let) -> list:
    defs = []
    for item in _strings(let, "let"):
        if isinstance(item, str):
            defs.append(parse_definition(item))
        elif isinstance(item, tuple) and len(item) == 2:
            defs.append((item[0], item[1]))
        else:
            raise ParseError(f"let: expected a definition such as 'z=w_1x_1+b', got {item!r} "
                             "at column 1")
    names = [plain_name(s) for s, _ in defs]
    for name in names:
        if names.count(name) > 1:
            raise ParseError(f"let: {name} is defined twice at column 1")
    return defs


def _substitute(expr: sp.Expr, defs: list) -> sp.Expr:
    """``expr`` with every defined symbol replaced by its definition (definitions may use one
    another, in any order)."""
    if not defs:
        return expr
    mapping = dict(defs)
    for _ in range(len(defs) + 1):
        new = expr.xreplace(mapping)
        if new == expr:
            return expr
        expr = new
    names = ", ".join(sorted(plain_name(s) for s in mapping if expr.has(s)))
    raise ParseError(f"let: the definitions of {names} refer to each other at column 1")


def _by_name(exprs: list) -> dict:
    out = {}
    for e in exprs:
        for s in e.free_symbols:
            if isinstance(s, sp.Symbol):
                out.setdefault(s.name, s)
    return out


def _index_map(exprs: list) -> dict:
    r"""``z_1`` -> ``z[1]`` for every label ``z`` indexed inside a sum: the concrete term."""
    labels = {}
    for e in exprs:
        for idx in e.atoms(sp.Indexed):
            labels[str(idx.base.label)] = idx.base
    mapping = {}
    for e in exprs:
        for s in e.free_symbols:
            if isinstance(s, sp.Symbol):
                head, sep, sub = s.name.partition("_")
                if sep and sub.isdigit() and head in labels and int(sub) >= 1:
                    mapping[s] = labels[head][int(sub)]
    return mapping


def _size_symbols(exprs: list) -> list:
    bounds = set()
    for e in exprs:
        for s in e.atoms(sp.Sum, sp.Product):
            for limit in s.limits:
                bounds |= {b for b in limit[1:] if isinstance(b, sp.Symbol)}
    return sorted(bounds, key=str)


def _unify_bounds(exprs: list) -> list:
    r"""``\sum_i`` (implicit bound ``n_i``) in one side and ``\sum_{i=1}^{n}`` in the other: one
    bound. The implicit one becomes the explicit one when there is exactly one explicit bound."""
    bounds = _size_symbols(exprs)
    implicit = [b for b in bounds if b.is_positive and b.is_integer and b.name.startswith("n_")]
    explicit = [b for b in bounds if b not in implicit]
    if implicit and len(explicit) == 1:
        mapping = {b: explicit[0] for b in implicit}
        return [e.xreplace(mapping) for e in exprs]
    return exprs


def _classify_conditions(conditions: list, wrt, variables: set):
    """Linear equalities solved for one variable (not ``wrt`` when possible), one-variable bounds
    as intervals; every condition is still checked at each point."""
    derived: dict = {}
    intervals: dict = {}
    remaining = []
    sum_equalities = []
    for c in conditions:
        if isinstance(c, sp.Eq) and c.has(sp.Sum, sp.Product):
            sum_equalities.append(c)  # solved per size, once the sum is written out
            continue
        if isinstance(c, sp.Eq):
            g = c.lhs - c.rhs
            choices = [v for v in sorted(g.free_symbols & variables, key=plain_name, reverse=True)
                       if v != wrt and v not in derived] + ([wrt] if g.has(wrt) else [])
            for v in choices:
                coeffs = _polynomial_in(g, v)
                if coeffs is not None and len(coeffs) == 2 and coeffs[0].is_number \
                        and coeffs[0] != 0:
                    derived[v] = -coeffs[1] / coeffs[0]
                    break
            else:
                raise ParseError(f"assume: the equality {c} is not linear in a variable that "
                                 "could be eliminated at column 1")
            continue
        remaining.append(c)
        g = c.lhs - c.rhs
        free = g.free_symbols
        if len(free) == 1 and not isinstance(c, sp.Ne):
            (v,) = free
            coeffs = _polynomial_in(g, v)
            if coeffs is not None and len(coeffs) == 2 and coeffs[0].is_number:
                a, b0 = coeffs
                bound = float(-b0 / a)
                # g = a v + b0  op 0
                greater = isinstance(c, (sp.StrictGreaterThan, sp.GreaterThan))
                if a < 0:
                    greater = not greater
                lo, ls, hi, hs = intervals.get(v, (None, False, None, False))
                if greater:
                    lo = bound if lo is None else max(lo, bound)
                else:
                    hi = bound if hi is None else min(hi, bound)
                intervals[v] = (lo, ls, hi, hs)
    # Substitute derived variables into one another (a chain of equalities).
    for v in list(derived):
        derived[v] = _substitute(derived[v], [(u, e) for u, e in derived.items() if u != v])
    return derived, intervals, remaining, sum_equalities


def verify_gradient(
    loss: str | sp.Expr,
    wrt: str | sp.Symbol,
    claim: str | sp.Expr,
    assume: Iterable = (),
    *,
    let: Iterable = (),
    seed: int = 0,
    timeout: float | None = 10.0,
    memory: int | str | None = None,
    shapes=None,
) -> Verdict:
    r"""Check a claimed partial derivative :math:`C \overset{?}{=} \partial L / \partial w`.

    ``loss`` and ``claim`` are LaTeX strings (parsed by :func:`symlearn.parse.parse_latex`, with
    its conventions: ``\log`` natural, ``\sigma`` the sigmoid, adjacent letters multiply, all
    variables real) or SymPy expressions; ``wrt`` is a variable name (``w_1``, ``w_{1}``,
    ``\theta``, ``theta``, ``z_1`` for the first term of a sum over ``z_j``); ``assume`` holds
    conditions restricting the domain (``"x>5"``, ``"0<p<1"``, ``"t_1+t_2=1"``: an equality
    eliminates one variable); ``let`` holds definitions (``"z=w_1x_1+w_2x_2+b"``) substituted
    into the loss, the claim and the conditions before judging. ``seed`` fixes the points.

    Returns a :class:`Verdict`. Raises :class:`symlearn.parse.ParseError` (a ``ValueError``)
    naming the bad argument and the column for malformed input.

    ``timeout`` (seconds, default 10) and ``memory`` (bytes, or a size such as ``"2G"``; default
    no ceiling) bound the check: it then runs in a worker process forked after the imports
    (:func:`symlearn._budget.call`), killed when it runs over, and the verdict is
    ``"undetermined"`` with the reason as its hint. ``timeout=None, memory=None`` checks in this
    process, without a bound.

    ``shapes`` (matrix form, issue 13) maps matrix and vector names to their dimensions:
    ``{"X": ("n", "d"), "w": ("d",), "A": ("d", "d", "symmetric"), "S": "d,d,spd"}`` (one
    dimension is a column vector; ``symmetric``/``spd`` declare the domain). The loss is then a
    scalar in matrix notation (``\frac{1}{n}\|Xw-y\|^2``, ``x^TAx``, ``\log\det S``), ``wrt``
    a declared name and the claim a matrix of its shape; the check is
    :func:`symlearn.verify_matrix.verify_matrix_gradient`. The JSON then has nested lists for
    matrices (``counterexample``, ``expected``, ``claimed``) and ``sizes`` (dimension -> integer).

    >>> verify_gradient(r"-y\ln p", "p", r"-\frac{y}{p}").verdict
    'correct'
    """
    if shapes is not None:
        if tuple(assume) or tuple(let):
            raise ParseError("shapes: --assume and --let are not supported in matrix form; "
                             "expected the loss written out at column 1", 0)
        if timeout is None and memory is None:
            return _verify_matrix(loss, wrt, claim, shapes, seed)
        from ._budget import BudgetExceeded, call, parse_size

        if isinstance(memory, str):
            memory = parse_size(memory)
        try:
            return call(_verify_matrix, loss, wrt, claim, shapes, seed, timeout=timeout,
                        memory=memory)
        except BudgetExceeded as error:
            return Verdict("undetermined", None, None, None, error.reason, reason=error.reason,
                           matrix=True)
    if timeout is None and memory is None:
        return _verify_unbounded(loss, wrt, claim, assume, let=let, seed=seed)
    from ._budget import BudgetExceeded, call, parse_size

    if isinstance(memory, str):
        memory = parse_size(memory)
    try:
        return call(_verify_unbounded, loss, wrt, claim, assume, let=let, seed=seed,
                    timeout=timeout, memory=memory)
    except BudgetExceeded as error:
        return Verdict("undetermined", None, None, None, error.reason, reason=error.reason)


def _verify_unbounded(
    loss: str | sp.Expr,
    wrt: str | sp.Symbol,
    claim: str | sp.Expr,
    assume: Iterable = (),
    *,
    let: Iterable = (),
    seed: int = 0,
) -> Verdict:
    """:func:`verify_gradient` in this process, without a deadline or a memory ceiling."""
    warnings: list[str] = []
    defs = _definitions(let)
    raw_loss = _as_expr(loss, "loss")
    raw_claim = _as_expr(claim, "claim")
    raw_conditions = _conditions(assume)
    symbol = _as_symbol(wrt)
    defined = {plain_name(s) for s, _ in defs}
    if plain_name(symbol) in defined:
        raise ParseError(f"wrt: {plain_name(symbol)} is defined by --let; expected a variable "
                         "its definition uses at column 1")

    # One symbol per name everywhere (a claim built elsewhere may carry other assumptions).
    everything = [raw_loss, raw_claim, *raw_conditions, *[e for _, e in defs]]
    names = _by_name(everything)
    align = {s: names[s.name] for e in everything for s in e.free_symbols
             if isinstance(s, sp.Symbol) and names[s.name] != s}
    defs = [(names.get(s.name, s) if isinstance(s, sp.Symbol) else s, e.xreplace(align))
            for s, e in defs]
    loss_expr = _substitute(raw_loss.xreplace(align), defs)
    claim_expr = _substitute(raw_claim.xreplace(align), defs)
    conditions = [_substitute(c.xreplace(align), defs) for c in raw_conditions]
    if isinstance(symbol, sp.Symbol) and symbol.name in names:
        symbol = names[symbol.name]

    # A variable with a concrete index (z_1) is that term of a sum over z_j.
    loss_expr, claim_expr, *conditions = _unify_bounds([loss_expr, claim_expr, *conditions])
    index_map = _index_map([loss_expr, claim_expr, *conditions])
    if index_map:
        loss_expr = loss_expr.xreplace(index_map)
        claim_expr = claim_expr.xreplace(index_map)
        conditions = [c.xreplace(index_map) for c in conditions]
        symbol = index_map.get(symbol, symbol)
    size_symbols = _size_symbols([loss_expr, claim_expr, *conditions])
    if symbol in size_symbols:
        raise ParseError(f"wrt: {plain_name(symbol)} is the upper limit of a sum (a number of "
                         "terms), not a variable to differentiate at column 1")
    min_size = {}
    for idx in {*loss_expr.atoms(sp.Indexed), *claim_expr.atoms(sp.Indexed)}:
        if all(i.is_Integer for i in idx.indices):
            for s in size_symbols:
                min_size[s] = max(min_size.get(s, 1), *[int(i) for i in idx.indices])

    loss_vars = loss_expr.free_symbols | loss_expr.atoms(sp.Indexed)
    indexed_wrt = isinstance(symbol, sp.Indexed)
    if not loss_expr.has(symbol) and not (indexed_wrt and symbol.base.label in loss_vars):
        warnings.append(f"the loss does not contain {plain_name(symbol)}, so its derivative "
                        f"with respect to {plain_name(symbol)} is 0; the claim is judged "
                        "against 0")
    labels = {i.base.label for i in loss_expr.atoms(sp.Indexed)}
    claim_only = sorted(
        {s for s in claim_expr.free_symbols if isinstance(s, sp.Symbol)}
        - loss_expr.free_symbols - set(size_symbols) - labels - {symbol},
        key=plain_name,
    )
    let_hint = None
    # x_i in the claim outside any sum, where the loss sums over i: the claim was written for one
    # term of the sum (the derivative of a sum is the sum of the derivatives).
    indices = {str(i) for idx in loss_expr.atoms(sp.Indexed) for i in idx.indices
               if isinstance(i, sp.Symbol)}
    label_names = {str(label) for label in labels}
    termwise = [s for s in claim_only if s.name.partition("_")[0] in label_names
                and s.name.partition("_")[2] in indices]
    if termwise:
        shown = ", ".join(plain_name(s) for s in termwise)
        index = termwise[0].name.partition("_")[2]
        message = (f"the claim uses {shown} outside a sum, but the loss sums over {index}: "
                   f"the derivative of a sum is the sum of the derivatives of its terms; write "
                   f"the claim with \\sum_{{{index}}} (or \\sum_{{{index}=1}}^{{n}})")
        warnings.append(message)
        let_hint = message
        claim_only = [s for s in claim_only if s not in termwise]
    if claim_only:
        shown = ", ".join(plain_name(s) for s in claim_only)
        first = plain_name(claim_only[0])
        warnings.append(f"the claim uses {shown}, which the loss does not contain; if "
                        f"{first} stands for an expression, define it with --let "
                        f"'{first}=...'")
        suggestion = (f"the claim uses {shown}, which the loss does not contain: define "
                      f"{'it' if len(claim_only) == 1 else 'them'} with --let '{first}=...' "
                      f"if {first} stands for an expression")
        let_hint = suggestion if let_hint is None else f"{let_hint}; {suggestion}"

    truth = sp.diff(loss_expr, symbol)
    # With sums, the derivative is taken after writing them out when SymPy cannot take it on the
    # sum itself (an indexed variable; a product, left as an unevaluated Derivative).
    truth_per_size = bool(size_symbols) and (indexed_wrt or truth.has(sp.Derivative))
    if truth_per_size:
        truth = _positive_sizes(truth.doit(), size_symbols)
    truth_latex = latex(truth)

    variables = set()
    for e in (loss_expr, claim_expr, *conditions):
        variables |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    derived, intervals, conditions, sum_equalities = _classify_conditions(conditions, symbol,
                                                                          variables)
    for v, (lo, _, hi, _) in intervals.items():
        if lo is not None and hi is not None and lo >= hi:
            why = (f"the --assume conditions leave no value for {plain_name(v)} (the domain is "
                   "empty), so there is nothing to check")
            return Verdict("undetermined", None, None, None, why, reason=why,
                           derivative=truth, derivative_latex=truth_latex,
                           wrt=plain_name(symbol), warnings=tuple(warnings))

    problem = _Problem(
        loss=loss_expr, truth=None if truth_per_size else truth, claim=claim_expr, wrt=symbol,
        conditions=conditions, derived=derived, intervals=intervals, size_symbols=size_symbols,
        sum_equalities=sum_equalities,
        min_size=min_size, truth_per_size=truth_per_size,
    )
    if not truth_per_size:
        problem.truth = truth
    common = dict(derivative=truth, derivative_latex=truth_latex, wrt=plain_name(symbol))

    sampler = _Sampler(problem, seed)
    # One random point first: where the sides differ there, no identity can hold, and the
    # symbolic attempt is not worth its time.
    for _ in range(10):
        sampler.step()
        if sampler.valid or sampler.counterexample:
            break
    if sampler.counterexample is None and not truth_per_size and not sum_equalities and \
            _symbolically_zero(
            _eliminate(truth - claim_expr, derived)):
        return Verdict("correct", None, None, None, None,
                       reason="the claim and the true derivative are symbolically identical",
                       warnings=tuple(warnings), **common)

    while not sampler.done():
        sampler.step()

    valid, counterexample = sampler.valid, sampler.counterexample
    if counterexample is not None:
        hint_samples = [counterexample] + [s for s in valid if s is not counterexample]
        hint = _hint(problem, hint_samples[:_HINT_POINTS])
        if let_hint:
            hint = let_hint if hint is None else f"{hint}; {let_hint}"
        with mpmath.workdps(_PREC):
            expected, claimed = float(counterexample.truth), float(counterexample.claim)
        for name, value, exact in (("the true derivative", expected, counterexample.truth),
                                   ("the claim", claimed, counterexample.claim)):
            if not math.isfinite(value):
                warnings.append(f"{name} at the counterexample, {mpmath.nstr(exact, 6)}, is "
                                "beyond the range of a double; it is given as null")
        return Verdict(
            "wrong",
            counterexample.point(),
            expected if math.isfinite(expected) else None,
            claimed if math.isfinite(claimed) else None,
            hint,
            reason=(f"at the counterexample the true derivative is "
                    f"{mpmath.nstr(counterexample.truth, 12)} and the claim is "
                    f"{mpmath.nstr(counterexample.claim, 12)} (confirmed at {_CONFIRM_PREC} "
                    "digits)"),
            points_checked=len(valid),
            warnings=tuple(warnings),
            **common,
        )
    why = _coverage_problem(sampler)
    if why is None:
        regions = len(sampler.regions)
        kinks = sorted({latex(g) for inst in sampler.instances for g in inst.kinks})
        sizes = list(size_symbols)
        parts = [(f"the claim equals the true derivative at {len(valid)} points to "
                  f"{_PREC - 20} significant digits, drawn at magnitudes 1e-3 to 1e3 of both "
                  "signs, small integers and 0")]
        if problem.intervals or problem.derived or conditions or sum_equalities:
            parts.append("inside the --assume domain")
        if kinks:
            parts.append(f"in each of the {regions} regions met between and beyond the "
                         f"breakpoints where {', '.join(kinks[:4])}"
                         f"{' ...' if len(kinks) > 4 else ''} change sign (every variable placed "
                         "between and beyond its breakpoints, far beyond included; at least "
                         f"{_PER_REGION} points each); agreement at random points of a region "
                         "where both sides are analytic proves equality there")
        else:
            parts.append("(two analytic expressions that agree at that many random points are "
                         "identical with overwhelming probability)")
        if sizes:
            parts.append(f"for the sizes {', '.join(plain_name(s) for s in sizes)} = "
                         + ", ".join(str(int(next(iter(i.sizes.values()))))
                                     for i in sampler.instances))
        return Verdict("correct", None, None, None, None, reason=" ".join(parts),
                       points_checked=len(valid), warnings=tuple(warnings), **common)
    hint = why if not let_hint else f"{why}; {let_hint}"
    return Verdict("undetermined", None, None, None, hint, reason=why,
                   points_checked=len(valid), warnings=tuple(warnings), **common)


def _positive_sizes(expr: sp.Expr, sizes: list) -> sp.Expr:
    """Simplify conditions such as K >= 1 that hold for every size of a sum."""
    positive = {s: sp.Symbol(s.name, integer=True, positive=True) for s in sizes}
    back = {v: k for k, v in positive.items()}
    return expr.xreplace(positive).xreplace(back)


def _eliminate(expr: sp.Expr, derived: dict) -> sp.Expr:
    return expr.xreplace(derived) if derived else expr


def _coverage_problem(sampler: _Sampler) -> str | None:
    """Why the points do not justify "correct", or None when they do."""
    unsolvable = [g for inst in sampler.instances for g in inst.unsolvable]
    if unsolvable:
        return (f"the breakpoints where {latex(unsolvable[0])} changes sign cannot be found "
                "(it is not a polynomial in any of its variables), so the regions where the "
                "function is smooth cannot be enumerated and agreement at sample points proves "
                "nothing")
    valid = len(sampler.valid)
    if valid < _ENOUGH:
        stats = sampler.stats
        worst = max(stats, key=stats.get)
        where = {
            "loss": "the loss is not finite and real",
            "truth": "the loss is not differentiable (its derivative is not finite)",
            "claim": "the claim is not finite and real",
            "assume": "the --assume conditions do not hold",
            "kink": "the point lies on a breakpoint",
            "unstable": "the two sides could not be compared reliably at 100 digits",
        }[worst]
        return (f"only {valid} of {sampler.drawn} points could be compared (at most points "
                f"{where}), and the two sides are not symbolically identical")
    thin = [n for n in sampler.regions.values() if n < _PER_REGION]
    if thin:
        return (f"a region between the breakpoints was met at only {min(thin)} points (fewer "
                f"than {_PER_REGION}), so it is not covered")
    undefined = sampler.stats["claim"]
    if undefined > 0.2 * (valid + undefined):
        # Agreement where the claim is defined says nothing where it is not, and there the
        # derivative exists: the claim is not shown to be the derivative on the whole domain.
        return (f"the claim is not finite and real at {undefined} of {valid + undefined} points "
                "where the derivative is, so agreement at the other points does not cover the "
                "domain (add an --assume condition if the claim is meant for part of it)")
    missing = sampler.uncrossed()
    if missing:
        return (f"the points never reached both sides of the breakpoint where "
                f"{latex(missing[0])} = 0, so not every region is covered")
    return None


def _symbolically_zero(difference: sp.Expr) -> bool:
    """Cheap, certain equivalence: the exponential form expands and cancels to 0. Attempted only
    when the expansion is bounded (estimated on the tree before expanding)."""
    if difference == 0:
        return True
    if difference.has(sp.Sum, sp.Product) or not _small(difference):
        return False
    try:
        form = difference.rewrite(sp.exp)
        if not _small(form):
            return False
        form = sp.expand(form)
        if form == 0:
            return True
        if sp.count_ops(form) > _MAX_OPS:
            return False
        return sp.cancel(sp.together(form)) == 0
    except (sp.PolynomialError, ValueError, TypeError, RecursionError):
        return False


# The classes the compiled functions name (kept referenced for linters and readers).
_ = (sigmoid, softplus, log_sigmoid, log2, relu)


def _verify_matrix(loss, wrt, claim, shapes, seed: int = 0) -> Verdict:
    """:func:`verify_gradient` in matrix form, in this process (issue 13)."""
    from .parse import matrix_name, matrix_symbols, parse_matrix_latex
    from .verify_matrix import verify_matrix_gradient

    declared = matrix_symbols(shapes)
    symbols, symmetric, spd = declared
    if isinstance(wrt, sp.MatrixSymbol):
        name = wrt.name
    elif isinstance(wrt, str):
        name = matrix_name(wrt, what="wrt")
    else:
        raise ParseError(f"wrt: expected a declared matrix or vector name, got {wrt!r} at "
                         "column 1", 0)
    if name not in symbols:
        raise ParseError(f"wrt: {name} has no shape; expected a name declared with --shape "
                         f"({', '.join(sorted(symbols)) or 'none declared'}) at column 1", 0)
    variable = symbols[name]

    def read(value, what: str):
        if isinstance(value, str):
            return parse_matrix_latex(value, declared, what=what)
        if isinstance(value, sp.Basic):
            return value
        raise ParseError(f"{what}: expected a LaTeX string, got {type(value).__name__} at "
                         "column 1", 0)

    loss_expr, claim_expr = read(loss, "loss"), read(claim, "claim")
    if getattr(loss_expr, "is_Matrix", False) and tuple(loss_expr.shape) != (1, 1):
        raise ParseError(f"loss: the loss must be a scalar, but it is a {loss_expr.shape[0]} x "
                         f"{loss_expr.shape[1]} matrix at column 1", 0)
    if not getattr(claim_expr, "is_Matrix", False) and claim_expr == 0:
        claim_expr = sp.ZeroMatrix(*variable.shape)  # "0": the zero matrix of the gradient's shape
    warnings = []
    if variable not in loss_expr.free_symbols:
        warnings.append(f"{name} does not appear in the loss: its gradient is 0")
    # A declared name that neither formula uses is most often a name the reader did not match
    # (a misspelled --shape, or a symbol written differently in the formula): say so.
    used = {s.name for e in (loss_expr, claim_expr) for s in e.free_symbols
            if isinstance(s, sp.MatrixSymbol)}
    unused = sorted(n for n in symbols if n not in used and n != name)
    if unused:
        warnings.append(f"declared with --shape but used in neither the loss nor the claim: "
                        f"{', '.join(unused)}")
    result = verify_matrix_gradient(loss_expr, variable, claim_expr, symmetric=symmetric,
                                    spd=spd, seed=seed)
    verdict = result["verdict"]
    hints = list(result.get("hints") or [])
    if verdict == "wrong":
        hint = "; ".join([result["reason"], *hints]) if result["method"] == "shape" else (
            "; ".join(hints) or None)
    elif verdict == "undetermined":
        hint = result["reason"]
    else:
        hint = None
    derivative = None
    if verdict == "correct":
        derivative = claim_expr  # proved equal to the gradient, or equal at every instance
    elif verdict == "wrong" and result.get("sizes"):
        derivative = _confirmed_gradient(loss_expr, variable, result)
    return Verdict(
        verdict, result.get("counterexample"), result.get("expected"), result.get("claimed"),
        hint, reason=result["reason"], derivative=derivative,
        derivative_latex=sp.latex(derivative) if derivative is not None else "",
        wrt=name, warnings=tuple(warnings), sizes=result.get("sizes"), matrix=True)


def _confirmed_gradient(loss, variable, result: dict):
    """The rule table's gradient, shown only when it equals the true gradient (``expected``,
    from ``sympy.diff`` of the loss written out) at the counterexample; else None: a derivative
    printed for a wrong claim must never be a wrong one itself."""
    import numpy as np

    from .calculus.matrix import _explicit, vjp
    from .verify_matrix import _as_sympy, _complex_matrix

    try:
        gradient = vjp(loss, sp.Identity(1), [variable]).get(variable)
        if gradient is None:
            return None
        sizes = {sp.Symbol(d, integer=True, positive=True): v
                 for d, v in result["sizes"].items()}
        point = result["counterexample"]
        expr = gradient.doit()
        matrices = {s for s in (loss.free_symbols | expr.free_symbols)
                    if isinstance(s, sp.MatrixSymbol)}
        scalars = {s: sp.Float(point[s.name], 30) for s in loss.free_symbols | expr.free_symbols
                   if isinstance(s, sp.Symbol) and s.name in point
                   and not isinstance(point[s.name], list)}
        env = {s.xreplace(sizes): _as_sympy(np.array(point[s.name], dtype=float))
               for s in matrices}
        value = _complex_matrix(_explicit(expr.xreplace(scalars).xreplace(sizes), env))
        expected = np.array(result["expected"], dtype=complex)
        if value.shape != expected.shape or not np.allclose(value, expected, rtol=1e-12,
                                                            atol=1e-12):
            return None
        return expr
    except Exception:  # noqa: BLE001 - no derivative shown rather than an unchecked one
        return None
