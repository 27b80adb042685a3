r"""The derivation model: an ordered document of checked steps.

A :class:`Derivation` is the one object every renderer reads. It is immutable: each builder method
(:meth:`Derivation.text`, :meth:`Derivation.steps`, :meth:`Derivation.chain`, ...) returns a new
derivation. Every :class:`Step` is checked *when it is added*; a step that fails raises
:class:`StepCheckError` naming the step, so a wrong derivation cannot even be built. A step added
with ``check=None`` is recorded as unchecked, and :func:`require_checked` (called by every
renderer) refuses to render a derivation that holds one.

How a step is checked is stated in the document:

* :class:`Symbolic` -- ``simplify(lhs - rhs) == 0`` after ``doit()`` and a rewrite of symlearn's
  activations to exponentials;
* :class:`Numeric` -- randomized identity testing: both sides evaluated at (by default) 50 random
  points of the declared domain, agreeing to a relative tolerance;
* :class:`Auto` -- symbolic first, numeric when ``simplify`` cannot decide (the default);
* :class:`Rounded` -- a displayed decimal is the exact value rounded to the digits shown;
* :class:`Custom` -- a named function, for claims that are not identities (e.g. an equivalence of
  equations checked by substitution).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Union

import numpy as np
import sympy as sp

from .functions import log_sigmoid, relu, sigmoid, softplus

__all__ = [
    "Auto",
    "Check",
    "CheckResult",
    "Custom",
    "Derivation",
    "DerivationError",
    "Figure",
    "Numeric",
    "Rounded",
    "Section",
    "Step",
    "StepCheckError",
    "Steps",
    "Symbolic",
    "Table",
    "Text",
    "require_checked",
]

#: The relations a step may state, with their LaTeX.
RELATIONS = {
    "=": "=",
    "approx": r"\approx",
    "iff": r"\Longleftrightarrow",
    "implies": r"\Longrightarrow",
    ">=": r"\geq",
    ">": ">",
    "<=": r"\leq",
    "<": "<",
}


class DerivationError(Exception):
    """A derivation cannot be built or rendered."""


class StepCheckError(DerivationError):
    """A step failed its check; the message names the step."""


@dataclass(frozen=True)
class CheckResult:
    """How a step was checked and whether it passed.

    Attributes:
        passed: the verdict.
        method: ``"symbolic"``, ``"numeric"``, ``"rounded"`` or a custom name.
        detail: one sentence for the document, e.g. "identical at 50 random points of ...".
    """

    passed: bool
    method: str
    detail: str


# --------------------------------------------------------------------------------------------------
# Evaluation helpers shared by the checks


def _evaluate(expr):
    """``expr.doit()``, but each derivative's argument is evaluated before it is differentiated
    (SymPy differentiates an unevaluated matrix product such as ``Transpose(r) * r`` wrongly)."""
    if not isinstance(expr, sp.Basic):
        return expr
    expr = expr.replace(
        lambda e: isinstance(e, sp.Derivative),
        lambda e: sp.diff(e.expr.doit(), *[v for v, c in e.variable_count for _ in range(c)]),
    )
    return expr.doit()


def _expand_functions(expr):
    """Rewrite symlearn's activations to elementary functions so ``simplify`` can compare them."""
    if not isinstance(expr, sp.Basic):
        return expr
    expr = _evaluate(expr)
    expr = expr.replace(
        lambda e: isinstance(e, (sigmoid, softplus, log_sigmoid)), lambda e: e.rewrite(sp.exp)
    )
    return expr.replace(lambda e: isinstance(e, relu), lambda e: sp.Max(0, e.args[0]))


def _is_zero(expr) -> bool:
    expr = sp.sympify(expr)
    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    if isinstance(expr, sp.MatrixExpr):
        if isinstance(expr, sp.ZeroMatrix):
            return True
        try:
            explicit = expr.as_explicit()
        except Exception:  # symbolic dimensions: cannot decide symbolically
            return False
        return _is_zero(explicit)
    return sp.simplify(expr) == 0


def _sample(symbol, lo_hi, rng: np.random.Generator) -> float:
    lo, hi = lo_hi
    if math.isfinite(lo) and math.isfinite(hi):
        width = hi - lo
        return float(rng.uniform(lo + 1e-6 * width, hi - 1e-6 * width))
    if math.isfinite(lo):
        return float(lo + np.exp(rng.uniform(-3, 3)))
    if math.isfinite(hi):
        return float(hi - np.exp(rng.uniform(-3, 3)))
    return float(rng.uniform(-3, 3))


def _bounds(symbol, domain: Mapping) -> tuple[float, float]:
    if symbol in domain:
        region = domain[symbol]
        if isinstance(region, sp.Interval):
            return float(region.inf), float(region.sup)
        lo, hi = region
        return float(lo), float(hi)
    if symbol.is_positive:
        return 0.0, math.inf
    if symbol.is_negative:
        return -math.inf, 0.0
    return -3.0, 3.0


def describe_domain(symbols: Iterable, domain: Mapping, sizes: Mapping) -> str:
    """One phrase naming where the random points were drawn, for the document."""
    parts = []
    for s in sorted(symbols, key=str):
        if isinstance(s, sp.MatrixSymbol):
            shape = tuple(int(sp.sympify(d).xreplace(dict(sizes))) for d in s.shape)
            parts.append(f"${sp.latex(s)} \\in \\mathbb{{R}}^{{{shape[0]}\\times{shape[1]}}}$")
            continue
        lo, hi = _bounds(s, domain)
        lo_tex = r"-\infty" if lo == -math.inf else sp.latex(sp.nsimplify(lo))
        hi_tex = r"\infty" if hi == math.inf else sp.latex(sp.nsimplify(hi))
        parts.append(f"${sp.latex(s)} \\in ({lo_tex}, {hi_tex})$")
    return ", ".join(parts) if parts else "no free variables"


def _free(expr) -> set:
    """Free scalar symbols and matrix symbols of ``expr`` (not the matrices' dimension symbols)."""
    matrices = {a for a in sp.preorder_traversal(expr) if isinstance(a, sp.MatrixSymbol)}
    dimensions = {d for m in matrices for d in m.shape if isinstance(d, sp.Symbol)}
    scalars = {s for s in expr.free_symbols if not isinstance(s, sp.MatrixSymbol)}
    return (scalars - dimensions) | matrices


def numeric_difference(
    lhs, rhs, *, domain: Mapping, sizes: Mapping, points: int, seed: int, rtol: float
) -> tuple[int, float]:
    """Evaluate ``lhs`` and ``rhs`` at random points; return (points used, worst relative error).

    Points where either side is not finite (outside the natural domain) are skipped and redrawn,
    up to 20 times as many draws as points asked for.
    """
    from .compile import lambdify_stable

    lhs = _expand_sizes(_evaluate(sp.sympify(lhs)), sizes)
    rhs = _expand_sizes(_evaluate(sp.sympify(rhs)), sizes)
    variables = sorted(_free(lhs) | _free(rhs), key=str)
    f = lambdify_stable(variables, [lhs, rhs])
    rng = np.random.default_rng(seed)
    used, worst, draws = 0, 0.0, 0
    while used < points and draws < 20 * points:
        draws += 1
        args = []
        for v in variables:
            if isinstance(v, sp.MatrixSymbol):
                args.append(rng.standard_normal(tuple(int(d) for d in v.shape)))
            else:
                args.append(_sample(v, _bounds(v, domain), rng))
        with np.errstate(all="ignore"):
            a, b = (np.asarray(x, dtype=float) for x in f(*args))
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            continue
        used += 1
        scale = max(1.0, float(np.max(np.abs(a))), float(np.max(np.abs(b))))
        worst = max(worst, float(np.max(np.abs(a - b))) / scale)
    return used, worst


def _expand_sizes(expr, sizes: Mapping):
    if not sizes:
        return expr
    return expr.xreplace({sp.sympify(k): sp.Integer(v) for k, v in sizes.items()})


# --------------------------------------------------------------------------------------------------
# Checks


class Check:
    """A way of checking a step. Subclasses implement :meth:`run`."""

    def run(self, lhs, rhs, relation: str, context: "Derivation", index: int) -> CheckResult:
        raise NotImplementedError


@dataclass(frozen=True)
class Symbolic(Check):
    """``simplify(lhs - rhs) == 0`` (after ``doit`` and rewriting activations to exponentials)."""

    def run(self, lhs, rhs, relation, context, index):
        if relation != "=":
            return CheckResult(False, "symbolic", f"a symbolic check needs '=', not {relation!r}")
        difference = _expand_functions(sp.sympify(lhs)) - _expand_functions(sp.sympify(rhs))
        sized = _expand_sizes(difference, context.sizes)
        ok = _is_zero(sized)
        detail = "checked symbolically: simplify(lhs - rhs) = 0"
        if sized != difference:
            shape = " \\times ".join(str(v) for v in context.sizes.values())
            detail += f", entry by entry on the ${shape}$ instance"
        return CheckResult(ok, "symbolic", detail)


@dataclass(frozen=True)
class Numeric(Check):
    """Randomized identity testing at ``points`` random points of the domain.

    ``domain`` maps a symbol to an ``Interval`` or ``(lo, hi)``; it extends the derivation's own.
    For an inequality relation the check asserts the inequality at every point.
    """

    points: int = 50
    domain: Mapping = field(default_factory=dict)
    rtol: float = 1e-9

    def run(self, lhs, rhs, relation, context, index):
        domain = {**context.domain, **self.domain}
        seed = 1000 + index
        if relation in {">=", ">", "<=", "<"}:
            return self._inequality(lhs, rhs, relation, domain, context, seed)
        if relation not in {"=", "approx"}:
            return CheckResult(False, "numeric", f"cannot check the relation {relation!r} numerically")
        used, worst = numeric_difference(
            lhs, rhs, domain=domain, sizes=context.sizes, points=self.points, seed=seed, rtol=self.rtol
        )
        variables = _free(_evaluate(sp.sympify(lhs))) | _free(_evaluate(sp.sympify(rhs)))
        where = describe_domain(variables, domain, context.sizes)
        ok = used >= self.points and worst <= self.rtol
        detail = (
            f"checked numerically (randomized identity testing): both sides agree at {used} random "
            f"points with {where}; largest relative difference {worst:.1e}"
        )
        if worst > self.rtol:
            detail = (
                f"the two sides differ at random points with {where}: largest relative "
                f"difference {worst:.1e}"
            )
        if used < self.points:
            detail = f"only {used} of {self.points} random points gave finite values ({where})"
        return CheckResult(ok, "numeric", detail)

    def _inequality(self, lhs, rhs, relation, domain, context, seed):
        from .compile import lambdify_stable

        lhs, rhs = _evaluate(sp.sympify(lhs)), _evaluate(sp.sympify(rhs))
        variables = sorted(_free(lhs) | _free(rhs), key=str)
        f = lambdify_stable(variables, [lhs, rhs])
        rng = np.random.default_rng(seed)
        compare = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}[relation]
        used = 0
        for _ in range(20 * self.points):
            if used >= self.points:
                break
            args = [_sample(v, _bounds(v, domain), rng) for v in variables]
            with np.errstate(all="ignore"):
                a, b = (float(x) for x in f(*args))
            if not (math.isfinite(a) and math.isfinite(b)):
                continue
            used += 1
            if not compare(a, b - 1e-12 * max(1.0, abs(b)) if "=" in relation else b):
                return CheckResult(False, "numeric", f"fails at {dict(zip(map(str, variables), args))}")
        where = describe_domain(set(variables), domain, context.sizes)
        return CheckResult(
            used >= self.points,
            "numeric",
            f"checked numerically: holds at {used} random points with {where} (a test, not a proof)",
        )


@dataclass(frozen=True)
class Auto(Check):
    """Symbolic when ``simplify`` decides; otherwise :class:`Numeric` with ``points`` points."""

    points: int = 50

    def run(self, lhs, rhs, relation, context, index):
        if relation == "=":
            symbolic = Symbolic().run(lhs, rhs, relation, context, index)
            if symbolic.passed:
                return symbolic
        return Numeric(points=self.points).run(lhs, rhs, relation, context, index)


@dataclass(frozen=True)
class Rounded(Check):
    """The right side is the exact left side rounded to ``digits`` decimals."""

    digits: int

    def run(self, lhs, rhs, relation, context, index):
        exact = sp.N(_evaluate(sp.sympify(lhs)), 30)
        shown = sp.sympify(rhs)
        if isinstance(shown, sp.Float):
            # A displayed Float has few digits and so a coarse binary value; compare with the
            # decimal it prints as.
            shown = sp.Rational(str(shown))
        shown = sp.N(shown, 30)
        if not (exact.is_number and shown.is_number):
            return CheckResult(False, "rounded", "both sides must be numbers")
        error = abs(float(exact - shown))
        ok = error <= 0.5 * 10.0 ** (-self.digits) * (1 + 1e-9)
        return CheckResult(
            ok,
            "rounded",
            f"checked numerically: the exact value {float(exact):.6g} rounds to the "
            f"{self.digits} decimals shown",
        )


@dataclass(frozen=True)
class Custom(Check):
    """A named check: ``function(lhs, rhs, context) -> bool``, described in ``description``."""

    function: Callable
    description: str
    method: str = "custom"

    def run(self, lhs, rhs, relation, context, index):
        return CheckResult(bool(self.function(lhs, rhs, context)), self.method, self.description)


# --------------------------------------------------------------------------------------------------
# The document's building blocks


@dataclass(frozen=True)
class Step:
    r"""One line of a derivation: ``lhs relation rhs``, the reason in words, and its check.

    Attributes:
        lhs, rhs: SymPy expressions as displayed.
        reason: the rule or reason in words ("chain rule", "seed 003's value").
        relation: a key of :data:`RELATIONS` ("=", "approx", "iff", ...).
        check: how the step is checked; ``None`` records an unchecked step (not renderable).
        claim: what is checked, when the display is a notation for it (e.g. the display
            $\partial f / \partial u$ stands for the derivative of the graph's output); defaults to
            ``(lhs, rhs)``.
        continued: ``True`` when the line continues the previous one (``&= rhs``).
        result: the outcome of ``check``, filled in when the step joins a derivation.
    """

    lhs: object
    rhs: object
    reason: str = ""
    relation: str = "="
    check: Check | None = field(default_factory=Auto)
    claim: tuple | None = None
    continued: bool = False
    result: CheckResult | None = None

    def __post_init__(self):
        if self.relation not in RELATIONS:
            raise ValueError(f"relation={self.relation!r} must be one of {sorted(RELATIONS)}")


@dataclass(frozen=True)
class Section:
    """A heading."""

    title: str


@dataclass(frozen=True)
class Text:
    """A paragraph. Inline math is written ``$...$``; it must be valid LaTeX and Markdown."""

    body: str


@dataclass(frozen=True)
class Steps:
    """Consecutive steps, printed as one ``align*`` block."""

    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Table:
    """A table. Each cell is prose (``str``) or a SymPy expression (printed as math)."""

    header: tuple[str, ...]
    rows: tuple[tuple, ...]
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """A figure drawn on demand by ``draw(path)``, where ``path``'s suffix names the format
    (``.pdf`` for LaTeX, ``.svg`` for Markdown).

    ``requires`` names what drawing needs (``"dot"``, ``"matplotlib"``) so a renderer can say
    plainly what is missing instead of failing.
    """

    name: str
    caption: str
    draw: Callable
    requires: str = ""


Block = Union[Section, Text, Steps, Table, Figure]


@dataclass(frozen=True)
class Derivation:
    r"""An ordered, immutable document of checked steps.

    Attributes:
        name: the derivation's command-line name (``sigmoid-neuron``).
        title: the document's title.
        summary: one line for ``symlearn list``.
        blocks: the document, in order.
        domain: where numeric checks draw their random points (symbol -> Interval or (lo, hi)).
        sizes: numbers substituted for symbolic matrix dimensions in checks (``{n: 4, d: 3}``).
        definitions: symbols the document defines (``{f: 1/(1 + exp(-z))}``); checks substitute
            them, so a line such as $\partial f/\partial w_1 = \dots$ is checked for the $f$
            the document means, not for an unrelated symbol.
    """

    name: str
    title: str
    summary: str = ""
    blocks: tuple = ()
    domain: Mapping = field(default_factory=dict)
    sizes: Mapping = field(default_factory=dict)
    definitions: Mapping = field(default_factory=dict)

    # -- builders: each returns a new Derivation ---------------------------------------------------
    def section(self, title: str) -> "Derivation":
        return replace(self, blocks=self.blocks + (Section(title),))

    def text(self, body: str) -> "Derivation":
        return replace(self, blocks=self.blocks + (Text(body),))

    def table(self, header, rows, caption: str = "") -> "Derivation":
        block = Table(tuple(header), tuple(tuple(r) for r in rows), caption)
        return replace(self, blocks=self.blocks + (block,))

    def figure(self, figure: Figure) -> "Derivation":
        return replace(self, blocks=self.blocks + (figure,))

    def steps(self, *steps: Step) -> "Derivation":
        """Add steps as one aligned block, checking each now."""
        first = len(self.all_steps())
        checked = tuple(self._check(step, first + i + 1) for i, step in enumerate(steps))
        return replace(self, blocks=self.blocks + (Steps(checked),))

    def chain(self, lhs, *lines, check: Check | None = None) -> "Derivation":
        """Add ``lhs = rhs_1 = rhs_2 = ...`` as one block; each line is checked against the one
        before it.

        Each line is ``(rhs, reason)`` or ``(rhs, reason, check)`` or a :class:`Step` whose
        ``lhs`` is ignored.
        """
        steps, previous = [], lhs
        for i, line in enumerate(lines):
            if isinstance(line, Step):
                step = replace(line, lhs=previous, continued=i > 0)
            else:
                rhs, reason, *rest = line
                line_check = rest[0] if rest else (check if check is not None else Auto())
                step = Step(previous, rhs, reason, check=line_check, continued=i > 0)
            steps.append(step)
            previous = step.rhs
        return self.steps(*steps)

    # -- queries -----------------------------------------------------------------------------------
    def all_steps(self) -> tuple[Step, ...]:
        return tuple(s for block in self.blocks if isinstance(block, Steps) for s in block.steps)

    def figures(self) -> tuple[Figure, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Figure))

    def _substitute(self, expr):
        if not self.definitions or not isinstance(expr, sp.Basic):
            return expr
        for _ in range(len(self.definitions) + 1):
            replaced = expr.xreplace(dict(self.definitions))
            if replaced == expr:
                break
            expr = replaced
        return expr

    def _check(self, step: Step, number: int) -> Step:
        if step.check is None:
            return step
        lhs, rhs = step.claim if step.claim is not None else (step.lhs, step.rhs)
        lhs, rhs = self._substitute(lhs), self._substitute(rhs)
        try:
            result = step.check.run(lhs, rhs, step.relation, self, number)
        except Exception as error:  # a check that cannot run is a failed check
            result = CheckResult(False, "error", f"the check could not run: {error}")
        if not result.passed:
            raise StepCheckError(
                f"step {number} of {self.name!r} failed its {result.method} check: "
                f"{sp.sstr(step.lhs)} {step.relation} {sp.sstr(step.rhs)}"
                + (f" ({step.reason})" if step.reason else "")
                + f"; {result.detail}"
            )
        return replace(step, result=result)


def require_checked(derivation: Derivation) -> None:
    """Raise :class:`DerivationError` unless every step has passed its check."""
    for number, step in enumerate(derivation.all_steps(), start=1):
        if step.result is None:
            raise DerivationError(
                f"step {number} of {derivation.name!r} is unchecked "
                f"({sp.sstr(step.lhs)} {step.relation} {sp.sstr(step.rhs)}); it cannot be rendered"
            )
        if not step.result.passed:
            raise DerivationError(f"step {number} of {derivation.name!r} failed its check")
