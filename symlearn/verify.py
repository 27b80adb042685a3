r"""Verify a hand-derived partial derivative: correct, wrong (with a counterexample), or undetermined.

Given a loss :math:`L`, a variable :math:`w` and a claimed derivative :math:`C`, the truth is
:math:`T = \partial L / \partial w` from ``sympy.diff``. The decision never solves equations:

1. **Symbolic equivalence.** :math:`T - C`, rewritten to exponentials, expanded and cancelled; if
   it is identically 0 the claim is *correct* everywhere. (Skipped when the first random point of
   step 2 already shows a confirmed difference: an identity cannot fail at a point of the domain,
   so the attempt could only cost time.)
2. **Randomized identity testing.** Otherwise both sides are evaluated with mpmath at 50 significant
   digits at random exact rational points of the domain: points where :math:`L`, :math:`T` and
   :math:`C` are finite and real and every ``assume`` condition holds (so ``1/|x|`` is a correct
   claim for ``\ln x``, whose domain is :math:`x > 0`). A point where
   :math:`|T - C| > 10^{-30} \max(1, |T|, |C|)`, confirmed again at 80 digits, makes the claim
   *wrong* and is the counterexample; a slip in the 8th digit is caught, round-off is not mistaken
   for one. If every one of at least ``_ENOUGH`` points agrees, the claim is *correct* (two
   analytic expressions that agree at many random points are identical with overwhelming
   probability).
3. **Undetermined** when too few points qualify (the loss, its derivative or the claim is not finite
   anywhere sampled); the verdict says which.

For a wrong claim the *hint* names the likely slip, each candidate checked numerically at the
sampled points against the claim, never guessed: a sign error (:math:`C = -T`), a constant factor
(:math:`C / T` constant, e.g. 2 or :math:`1/\ln 2`), a missing :math:`1/n` (:math:`C / T` equals a
variable), the wrong variable (:math:`C = \partial L / \partial v`), a dropped inner derivative
(:math:`C` equals the chain rule with one inner derivative replaced by 1), a term that is off (one
term of the loss or of the expanded derivative missing, with the wrong sign or a wrong factor).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterable

import sympy as sp

from .parse import ParseError, parse_condition, parse_latex, parse_symbol, plain_name
from .printing.latex import latex

__all__ = ["Verdict", "verify_gradient"]

_PREC = 50  # significant digits of the comparison
_CONFIRM_PREC = 80  # digits used to confirm a counterexample
_RTOL = sp.Float("1e-30", _PREC)
_TARGET = 24  # valid points sampled for a "correct" verdict
_ENOUGH = 10  # fewest agreeing points that still justify "correct"
_ATTEMPTS = 300  # random candidate points drawn at most
_HINT_POINTS = 6  # points used to check each hint candidate
_SUM_SIZES = (1, 2, 3, 4)  # values tried for the upper limit n of a \sum


@dataclass(frozen=True)
class Verdict:
    r"""The outcome of :func:`verify_gradient`.

    Fields (the first five are the CLI's ``--json`` object):

    * ``verdict`` -- ``"correct"``, ``"wrong"`` or ``"undetermined"``;
    * ``counterexample`` -- for ``"wrong"``, the point ``{plain name: value}`` where the claim and
      the true derivative differ (``w_1`` for ``w_{1}``, ``theta`` for ``\theta``), else ``None``;
    * ``expected`` / ``claimed`` -- the true derivative and the claim at that point;
    * ``hint`` -- the likely slip for ``"wrong"`` (checked, or ``None`` when no typical slip
      explains the difference), the reason for ``"undetermined"``, ``None`` for ``"correct"``;
    * ``reason`` -- how the verdict was reached, one sentence;
    * ``derivative`` / ``derivative_latex`` -- the true derivative (SymPy, and LaTeX printed by
      :func:`symlearn.latex`);
    * ``wrt`` -- the plain name of the variable;
    * ``points_checked`` -- how many sampled points entered the numeric comparison.
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

    def to_json(self) -> dict:
        """The CLI's ``--json`` object: exactly verdict, counterexample, expected, claimed, hint."""
        return {
            "verdict": self.verdict,
            "counterexample": self.counterexample,
            "expected": self.expected,
            "claimed": self.claimed,
            "hint": self.hint,
        }


# ------------------------------------------------------------------------------------------------
# numeric evaluation


class _Model:
    """Loss, truth and claim, instantiated for each size of a ``\\sum`` (``n`` = 1, 2, ...)."""

    def __init__(self, loss, truth, claim, conditions):
        self.loss, self.truth, self.claim = loss, truth, claim
        self.conditions = conditions
        everything = [loss, truth, claim, *conditions]
        sums = [s for e in everything for s in e.atoms(sp.Sum)]
        self.size_symbols = sorted(
            {lim for s in sums for lim in s.limits[0][1:] if isinstance(lim, sp.Symbol)}, key=str
        )
        self._cache: dict = {}

    def instantiate(self, expr: sp.Expr, sizes: dict) -> sp.Expr:
        """``expr`` with every sum of symbolic length written out for the given sizes."""
        key = (expr, tuple(sorted(sizes.items(), key=lambda kv: str(kv[0]))))
        if key not in self._cache:
            if not self.size_symbols:
                self._cache[key] = expr
            else:
                replaced = expr.xreplace(sizes)
                self._cache[key] = replaced.replace(
                    lambda e: isinstance(e, sp.Sum), lambda e: e.doit()
                )
        return self._cache[key]

    def variables(self, sizes: dict) -> list:
        found = set()
        for e in (self.loss, self.truth, self.claim, *self.conditions):
            inst = self.instantiate(e, sizes)
            found |= {s for s in inst.free_symbols if isinstance(s, sp.Symbol)}
            found |= inst.atoms(sp.Indexed)
        found -= set(self.size_symbols)
        # x[1], x[2] are the variables of an indexed x; its label x is not a variable itself.
        found -= {i.base.label for i in found if isinstance(i, sp.Indexed)}
        return sorted(found, key=lambda s: plain_name(s))


def _number(expr: sp.Expr, point: dict, prec: int = _PREC):
    """``expr`` at ``point`` as a finite real mpmath-backed Float, or ``None`` if undefined there."""
    try:
        value = expr.xreplace(point).evalf(prec)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError, ArithmeticError):
        return None
    if not isinstance(value, sp.Number) or not value.is_finite or not value.is_real:
        return None
    return value


def _close(a, b, rtol=_RTOL) -> bool:
    scale = max(sp.Float(1, _PREC), abs(a), abs(b))
    return abs(a - b) <= rtol * scale


def _draw(rng: random.Random) -> sp.Rational:
    """One coordinate: a mixture covering probabilities (0, 1), positive and signed values."""
    kind = rng.random()
    if kind < 0.34:
        value = rng.uniform(0.02, 0.98)
    elif kind < 0.67:
        value = rng.uniform(0.05, 4.0)
    else:
        value = rng.uniform(-4.0, 4.0)
    numerator = round(value * 1000) or 1  # exact, 3 decimals, never exactly 0 (a kink)
    return sp.Rational(numerator, 1000)


def _holds(condition: sp.Basic, point: dict) -> bool:
    lhs = _number(condition.lhs, point)
    rhs = _number(condition.rhs, point)
    if lhs is None or rhs is None:
        return False
    return bool(condition.func(lhs, rhs))


@dataclass
class _Sample:
    point: dict  # symbol -> exact rational value (including sum sizes)
    sizes: dict
    truth: sp.Float
    claim: sp.Float


def _sample(model: _Model, rng: random.Random, target: int = _TARGET, attempts: int = _ATTEMPTS):
    """Valid points and the first confirmed disagreement; also counts of where things failed.
    Stops at ``target`` valid points (or earlier, once a disagreement has enough company for
    the hints)."""
    valid: list[_Sample] = []
    stats = {"loss": 0, "truth": 0, "claim": 0, "assume": 0}
    counterexample = None
    for attempt in range(attempts):
        sizes = {s: sp.Integer(rng.choice(_SUM_SIZES)) for s in model.size_symbols}
        point = {v: _draw(rng) for v in model.variables(sizes)}
        point.update(sizes)
        if not all(_holds(model.instantiate(c, sizes), point) for c in model.conditions):
            stats["assume"] += 1
            continue
        if _number(model.instantiate(model.loss, sizes), point) is None:
            stats["loss"] += 1
            continue
        truth = _number(model.instantiate(model.truth, sizes), point)
        if truth is None:
            stats["truth"] += 1
            continue
        claim = _number(model.instantiate(model.claim, sizes), point)
        if claim is None:
            stats["claim"] += 1
            continue
        sample = _Sample(point, sizes, truth, claim)
        if not _close(truth, claim):
            t2 = _number(model.instantiate(model.truth, sizes), point, _CONFIRM_PREC)
            c2 = _number(model.instantiate(model.claim, sizes), point, _CONFIRM_PREC)
            tol = sp.Float("1e-40", _CONFIRM_PREC)
            if t2 is not None and c2 is not None and not _close(t2, c2, tol):
                if counterexample is None:
                    counterexample = sample
        valid.append(sample)
        if counterexample is not None and len(valid) >= _HINT_POINTS:
            break
        if len(valid) >= target:
            break
    return valid, counterexample, stats


# ------------------------------------------------------------------------------------------------
# hints: each candidate is an expression checked against the claim at the sampled points


def _agrees(model: _Model, candidate: sp.Expr, samples: list[_Sample]) -> bool:
    """True when ``candidate`` equals the claim at every sample (and is defined there)."""
    for s in samples:
        try:
            value = _number(model.instantiate(candidate, s.sizes), s.point)
        except (ValueError, TypeError, ArithmeticError):
            return False
        if value is None or not _close(value, s.claim, sp.Float("1e-20", _PREC)):
            return False
    return True


def _constant(values: list) -> sp.Float | None:
    if not values:
        return None
    first = values[0]
    if all(_close(v, first, sp.Float("1e-20", _PREC)) for v in values[1:]):
        return first
    return None


def _name_constant(k: sp.Float) -> str | None:
    """A readable exact form of a constant ratio: an integer, a simple fraction or a log."""
    for exact, text in ((sp.log(2), r"\ln 2"), (1 / sp.log(2), r"1/\ln 2"),
                        (sp.log(10), r"\ln 10"), (1 / sp.log(10), r"1/\ln 10")):
        if _close(k, exact.evalf(_PREC), sp.Float("1e-20", _PREC)):
            return text
    fraction = sp.Rational(str(sp.Float(k, 30))).limit_denominator(1000)
    if _close(k, fraction.evalf(_PREC), sp.Float("1e-20", _PREC)):
        return str(fraction)
    return None


def _composite_nodes(loss: sp.Expr, wrt: sp.Symbol) -> list:
    """Subexpressions f(g) whose inner g depends on ``wrt`` and is not ``wrt`` itself."""
    nodes = []
    for node in sp.preorder_traversal(loss):
        if isinstance(node, sp.Pow):
            inner = node.base
            if inner.has(wrt) and inner != wrt and not node.exp.has(wrt):
                nodes.append((node, inner))
        elif isinstance(node, sp.Function) and len(node.args) == 1:
            inner = node.args[0]
            if inner.has(wrt) and inner != wrt:
                nodes.append((node, inner))
    return list(dict.fromkeys(nodes))


def _hint(model: _Model, wrt: sp.Symbol, samples: list[_Sample]) -> str | None:
    """The slips that explain the claim, most typical first (at most two, joined by '; or ')."""
    found: list[str] = []
    for check in (_hint_ratio, _hint_inner, _hint_variable, _hint_size, _hint_term, _hint_delta):
        if check is _hint_delta and found:
            break  # the generic difference only when no typical slip explains the claim
        for explanation in check(model, wrt, samples):
            if explanation not in found:
                found.append(explanation)
        if len(found) >= 2:
            break
    if not found:
        return None
    return "; or ".join(found[:2])


def _usable(samples: list[_Sample]) -> list[_Sample]:
    return [s for s in samples if abs(s.truth) > sp.Float("1e-12")]


def _hint_ratio(model, wrt, samples):
    """Sign error or a constant factor: claim / truth is the same number everywhere."""
    usable = _usable(samples)
    if len(usable) < 2 or len(usable) < len(samples) // 2:
        return
    k = _constant([s.claim / s.truth for s in usable])
    if k is None:
        return
    if _close(k, sp.Float(-1, _PREC)):
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


def _hint_inner(model, wrt, samples):
    """Dropped inner derivative: the chain rule through one node with g' replaced by 1."""
    for node, inner in _composite_nodes(model.loss, wrt):
        dummy = sp.Dummy("u", real=True)
        outer = sp.diff(model.loss.xreplace({node: node.func(dummy, *node.args[1:])}), dummy)
        outer = outer.xreplace({dummy: inner})
        inner_derivative = sp.diff(inner, wrt)
        # The slip replaces g' by 1, or keeps only its sign (-x_1 becomes -1).
        for kept, note in ((sp.S.One, ""), (sp.S.NegativeOne, " (keeping only its sign)")):
            if inner_derivative == kept:
                continue
            candidate = model.truth + outer * (kept - inner_derivative)
            if _agrees(model, candidate, samples):
                yield (f"dropped inner derivative: the claim omits the chain-rule factor "
                       f"{latex(inner_derivative)} = \\partial ({latex(inner)}) / "
                       f"\\partial {latex(wrt)} inside {latex(node)}{note}")
                return


def _hint_variable(model, wrt, samples):
    """Wrong variable: the claim is the derivative with respect to another symbol."""
    labels = {i.base.label for i in model.loss.atoms(sp.Indexed)}
    others = model.loss.free_symbols - {wrt} - set(model.size_symbols) - labels
    for other in sorted(others, key=str):
        if isinstance(other, sp.Symbol) and _agrees(model, sp.diff(model.loss, other), samples):
            yield (f"wrong variable: the claim is the derivative with respect to "
                   f"{latex(other)}, not {latex(wrt)}")


def _hint_size(model, wrt, samples):
    """A missing 1/n: claim / truth equals the value of a variable (n, or another symbol)."""
    usable = _usable(samples)
    if len(usable) < 2:
        return
    labels = {i.base.label for i in model.loss.atoms(sp.Indexed)}
    candidates = [*model.size_symbols]
    candidates += sorted((model.claim.free_symbols | model.loss.free_symbols) - labels, key=str)
    for s in dict.fromkeys(candidates):
        if s == wrt or not isinstance(s, sp.Symbol):
            continue
        values = [x.point.get(s) for x in usable]
        if any(v is None or v == 0 for v in values):
            continue
        ratios = [x.claim / x.truth for x in usable]
        tol = sp.Float("1e-20", _PREC)
        if all(_close(r, sp.Float(v, _PREC), tol) for r, v in zip(ratios, values)):
            yield f"missing 1/{s}: the claim is {s} times the true derivative"
        elif all(_close(r, 1 / sp.Float(v, _PREC), tol) for r, v in zip(ratios, values)):
            yield f"extra 1/{s}: the claim is the true derivative divided by {s}"


def _hint_term(model, wrt, samples):
    """A term that is off: one term of the loss or of the expanded derivative."""
    loss, truth = model.loss, model.truth
    terms = []
    if isinstance(loss, sp.Add):
        terms += [(sp.diff(t, wrt), f"the term {latex(t)} of the loss") for t in loss.args]
    expanded = sp.expand(truth)
    if isinstance(expanded, sp.Add) and len(expanded.args) <= 12:
        terms += [(t, f"the term {latex(t)} of the derivative") for t in expanded.args]
    for d_term, label in terms:
        if d_term == 0:
            continue
        for factor, how in ((0, "is missing"), (-1, "has the wrong sign"),
                            (2, "is counted twice"), (sp.S.Half, "is halved")):
            if _agrees(model, truth + (factor - 1) * d_term, samples):
                yield f"a term is off: the contribution of {label} {how}"
                return


def _hint_delta(model, wrt, samples):
    """The difference itself, when it is short enough to read."""
    truth = model.truth
    delta = sp.expand(model.claim - truth)
    if sp.count_ops(delta) <= 12 and _agrees(model, truth + delta, samples):
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


def _as_symbol(value, loss: sp.Expr) -> sp.Symbol:
    if isinstance(value, sp.Symbol):
        symbol = value
    elif isinstance(value, str):
        symbol = parse_symbol(value, what="wrt")
    else:
        raise ParseError(f"wrt: expected a variable name, got {type(value).__name__} at column 1")
    # The loss's own symbol of that name (its assumptions may differ from a user's Symbol).
    by_name = {s.name: s for s in loss.free_symbols if isinstance(s, sp.Symbol)}
    if symbol.name not in by_name:
        known = ", ".join(sorted(by_name)) or "none"
        raise ParseError(f"wrt: the variable {symbol.name!r} does not occur in the loss at "
                         f"column 1; expected one of: {known}")
    return by_name[symbol.name]


def _conditions(assume: Iterable) -> list:
    if isinstance(assume, str):
        assume = (assume,)
    relations = []
    for item in assume:
        if isinstance(item, str):
            relations += parse_condition(item)
        elif isinstance(item, sp.Basic) and item.is_Relational:
            relations.append(item)
        else:
            raise ParseError(f"assume: expected conditions such as 'x>0', got {item!r} at column 1")
    return relations


def _align_symbols(expr: sp.Expr, reference: set) -> sp.Expr:
    """Use the loss's symbols for same-named symbols of a claim built elsewhere."""
    by_name = {s.name: s for s in reference if isinstance(s, sp.Symbol)}
    mapping = {s: by_name[s.name] for s in expr.free_symbols
               if isinstance(s, sp.Symbol) and s.name in by_name and by_name[s.name] != s}
    return expr.xreplace(mapping) if mapping else expr


def _symbolically_zero(difference: sp.Expr) -> bool:
    """Cheap, certain equivalence: the exponential form expands and cancels to 0."""
    if difference == 0:
        return True
    if difference.has(sp.Sum) or sp.count_ops(difference) > 400:
        return False
    try:
        form = sp.expand(difference.rewrite(sp.exp))
        if form == 0:
            return True
        return sp.cancel(sp.together(form)) == 0
    except (sp.PolynomialError, ValueError, TypeError, RecursionError):
        return False


def verify_gradient(
    loss: str | sp.Expr,
    wrt: str | sp.Symbol,
    claim: str | sp.Expr,
    assume: Iterable = (),
    *,
    seed: int = 0,
) -> Verdict:
    r"""Check a claimed partial derivative :math:`C \overset{?}{=} \partial L / \partial w`.

    ``loss`` and ``claim`` are LaTeX strings (parsed by :func:`symlearn.parse.parse_latex`, with
    its conventions: ``\log`` natural, ``\sigma`` the sigmoid, adjacent letters multiply, all
    variables real) or SymPy expressions; ``wrt`` is a variable name (``w_1``, ``w_{1}``,
    ``\theta``, ``theta``) or Symbol occurring in the loss; ``assume`` holds conditions such as
    ``"x>0"`` or ``"0<p<1"`` restricting the domain. ``seed`` fixes the random points.

    Returns a :class:`Verdict`. Raises :class:`symlearn.parse.ParseError` (a ``ValueError``)
    naming the bad argument and the column for malformed input.

    >>> verify_gradient(r"-y\ln p", "p", r"-\frac{y}{p}").verdict
    'correct'
    """
    loss_expr = _as_expr(loss, "loss")
    symbol = _as_symbol(wrt, loss_expr)
    claim_expr = _align_symbols(_as_expr(claim, "claim"), loss_expr.free_symbols)
    conditions = [_align_symbols(c, loss_expr.free_symbols) for c in _conditions(assume)]

    truth = sp.diff(loss_expr, symbol)
    truth_latex = latex(truth)
    common = dict(derivative=truth, derivative_latex=truth_latex, wrt=plain_name(symbol))

    model = _Model(loss_expr, truth, claim_expr, conditions)
    # One random point first (the same point the full sampling below starts with): where the
    # sides differ there, no identity can hold, and the symbolic attempt is not worth its time.
    _, differs, _ = _sample(model, random.Random(seed), target=1, attempts=10)
    if differs is None and _symbolically_zero(truth - claim_expr):
        return Verdict("correct", None, None, None, None,
                       reason="the claim and the true derivative are symbolically identical",
                       **common)

    rng = random.Random(seed)
    valid, counterexample, stats = _sample(model, rng)

    if counterexample is not None:
        hint_samples = [counterexample] + [s for s in valid if s is not counterexample]
        hint = _hint(model, symbol, hint_samples[:_HINT_POINTS])
        point = {plain_name(k): _json_number(v) for k, v in counterexample.point.items()}
        return Verdict(
            "wrong",
            dict(sorted(point.items())),
            float(counterexample.truth),
            float(counterexample.claim),
            hint,
            reason=(f"at the counterexample the true derivative is {float(counterexample.truth):.12g}"
                    f" and the claim is {float(counterexample.claim):.12g} (checked at "
                    f"{_CONFIRM_PREC} digits)"),
            points_checked=len(valid),
            **common,
        )
    if len(valid) >= _ENOUGH:
        return Verdict("correct", None, None, None, None,
                       reason=(f"the claim equals the true derivative at {len(valid)} random points "
                               f"of the domain to {_PREC - 20} significant digits"),
                       points_checked=len(valid), **common)
    why = _undetermined_reason(stats, len(valid))
    return Verdict("undetermined", None, None, None, why, reason=why,
                   points_checked=len(valid), **common)


def _json_number(value: sp.Number):
    return int(value) if value.is_Integer else float(value)


def _undetermined_reason(stats: dict, found: int) -> str:
    worst = max(stats, key=stats.get)
    where = {
        "loss": "the loss is not finite and real",
        "truth": "the loss is not differentiable (its derivative is not finite)",
        "claim": "the claim is not finite and real",
        "assume": "the --assume conditions do not hold",
    }[worst]
    return (f"only {found} of {_ATTEMPTS} random points could be compared (at most points "
            f"{where}), and the two sides are not symbolically identical")
