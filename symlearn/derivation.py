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
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

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
        except Exception:  # noqa: BLE001 - symbolic dimensions: cannot decide symbolically
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
    from .printing.latex import latex

    parts = []
    for s in sorted(symbols, key=str):
        if isinstance(s, sp.MatrixSymbol):
            shape = tuple(int(sp.sympify(d).xreplace(dict(sizes))) for d in s.shape)
            parts.append(f"${latex(s)} \\in \\mathbb{{R}}^{{{shape[0]}\\times{shape[1]}}}$")
            continue
        lo, hi = _bounds(s, domain)
        lo_tex = r"-\infty" if lo == -math.inf else latex(sp.nsimplify(lo))
        hi_tex = r"\infty" if hi == math.inf else latex(sp.nsimplify(hi))
        parts.append(f"${latex(s)} \\in ({lo_tex}, {hi_tex})$")
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

    def run(self, lhs, rhs, relation: str, context: Derivation, index: int) -> CheckResult:
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

    @staticmethod
    def is_exact(lhs, rhs) -> bool | None:
        """Whether the shown ``rhs`` is exactly the value of ``lhs`` (a displayed Float is read
        as the decimal it prints as); ``None`` when that cannot be decided."""
        shown = sp.sympify(rhs)
        if isinstance(shown, sp.Float):
            shown = sp.Rational(str(shown))
        try:
            difference = _evaluate(sp.sympify(lhs)) - shown
            if difference.is_zero is None:
                difference = sp.simplify(difference)
        except Exception:  # noqa: BLE001 - an undecidable comparison is reported as such
            return None
        return difference.is_zero

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
            f"checked numerically: the exact value {float(exact):.6g}, rounded to "
            f"{self.digits} decimals, is the number shown",
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
        reason: the rule or reason in words ("chain rule", "the lecture slides' value").
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


Block = Section | Text | Steps | Table | Figure


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
    def section(self, title: str) -> Derivation:
        return replace(self, blocks=self.blocks + (Section(title),))

    def text(self, body: str) -> Derivation:
        return replace(self, blocks=self.blocks + (Text(body),))

    def table(self, header, rows, caption: str = "") -> Derivation:
        block = Table(tuple(header), tuple(tuple(r) for r in rows), caption)
        return replace(self, blocks=self.blocks + (block,))

    def notation(self, entries: Mapping, caption: str = "") -> Derivation:
        r"""A notation table, ``symbol | meaning``: each symbol (a SymPy symbol, or LaTeX as a
        ``str``) with what it stands for. Its symbols count as defined for
        :func:`undefined_symbols` from here on."""
        from .printing.latex import latex

        rows = [
            (f"${symbol}$" if isinstance(symbol, str) else f"${latex(symbol)}$", meaning)
            for symbol, meaning in entries.items()
        ]
        return self.table(("symbol", "meaning"), rows, caption)

    def where(self, entries: Mapping) -> Derivation:
        r"""A "where" clause after a formula, one sentence: "where $\eta$ is the learning rate
        and $g_t$ the gradient." (symbols as in :meth:`notation`). A clause right after a block
        of steps defines the symbols those steps use."""
        from .printing.latex import latex

        if not entries:
            raise ValueError("where() needs at least one symbol and its meaning")
        parts = []
        for i, (symbol, meaning) in enumerate(entries.items()):
            tex = symbol if isinstance(symbol, str) else latex(symbol)
            parts.append(f"${tex}$ " + ("is " if i == 0 else "") + meaning)
        sentence = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return self.text(f"where {sentence}.")

    def figure(self, figure: Figure) -> Derivation:
        return replace(self, blocks=self.blocks + (figure,))

    def steps(self, *steps: Step) -> Derivation:
        """Add steps as one aligned block, checking each now."""
        first = len(self.all_steps())
        checked = tuple(self._check(step, first + i + 1) for i, step in enumerate(steps))
        return replace(self, blocks=self.blocks + (Steps(checked),))

    def chain(self, lhs, *lines, check: Check | None = None) -> Derivation:
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
        except Exception as error:  # noqa: BLE001 - a check that cannot run is a failed check
            result = CheckResult(False, "error", f"the check could not run: {error}")
        if result.passed and isinstance(step.check, Rounded) and step.relation in {"=", "approx"}:
            # A displayed number is "=" exactly when it is the exact value, else "approx": a
            # rounded value written with "=" is a false claim, an exact one with "approx" a
            # needless doubt.
            exact = Rounded.is_exact(lhs, rhs)
            if exact:
                result = replace(result, detail="checked exactly: the value is the number shown")
            if exact and step.relation == "approx":
                step = replace(step, relation="=")
            elif exact is False and step.relation == "=":
                raise StepCheckError(
                    f"step {number} of {self.name!r} writes the rounded value "
                    f"{sp.sstr(step.rhs)} with '='; the exact value is {sp.sstr(lhs)}: use "
                    "relation='approx'"
                )
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


# --------------------------------------------------------------------------------------------------
# Notation: every symbol a formula displays is defined for the reader
#
# A reader of a handout must be told what each letter in a formula stands for. A symbol counts as
# defined when, before the formula (or in the prose right after it, a "where" clause):
#
# * prose mentions it in inline maths ($w$ in "the weight $w$"): a text, a section title, the
#   title or summary, a step's reason, a table's caption or prose cell, a figure's caption;
# * it is the first cell of a table row (a notation table, see :meth:`Derivation.notation`, or a
#   forward pass "node | definition | value");
# * a step has it alone on its left side ("q = x + y", "L ≈ 0.43"): a given or definition step;
# * it is a standard name: e, pi, and functions SymPy and symlearn name (exp, log, the logistic
#   sigma) are not symbols at all.
#
# Symbols are compared as the reader sees them, by their LaTeX: "w_{1}" and "w_1" are one symbol;
# bold is the same letter (a vector x and its components x_i); a mention of x, or of x_i with a
# letter index, introduces every x_k; an accent makes another symbol (y-hat is not y). The check
# reads mentions, not sentences: prose that names a symbol without saying what it is passes.

#: LaTeX control words that are letters a formula may use as a symbol.
_LETTER_WORDS = frozenset({
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "varpi", "rho", "varrho",
    "sigma", "varsigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma",
    "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "ell",
})
#: Accents: \hat{y} is another symbol than y.
_ACCENT_WORDS = frozenset({
    "hat", "bar", "tilde", "vec", "dot", "ddot", "widehat", "widetilde", "overline", "check",
    "breve",
})
#: Bold and italic faces: the same symbol (a vector and its components).
_FACE_WORDS = frozenset({"mathbf", "boldsymbol", "bm", "mathit", "pmb"})
#: Named alphabets: \mathcal{L} is another symbol than L.
_ALPHABET_WORDS = frozenset({"mathcal", "mathbb", "mathscr", "mathfrak"})
#: Words whose argument is text, not symbols (and environments' names).
_TEXT_WORDS = frozenset({
    "text", "texttt", "textrm", "textbf", "textit", "textsf", "mathrm", "mathsf", "mathtt",
    "operatorname", "mbox", "label", "tag", "emph", "begin", "end",
})
#: Operators whose subscript binds a variable (``\min_t``, ``\sum_{i=1}``): not a use.
_BINDING_WORDS = frozenset({
    "min", "max", "sum", "prod", "lim", "inf", "sup", "argmin", "argmax", "int", "oint",
    "bigcup", "bigcap",
})
#: Always defined: Euler's number, pi, and the number sets.
STANDARD_SYMBOLS = frozenset({"e", r"\pi", r"\mathbb R", r"\mathbb N", r"\mathbb Z", r"\mathbb E"})
#: Superscripts that are operations, not symbols: the transpose.
_OPERATION_SUPERSCRIPTS = frozenset({"T", r"\top", r"\intercal", r"\prime", "'"})


_DIFFERENTIAL = re.compile(r"(?<![A-Za-z\\])d(?=\\(?:" + "|".join(sorted(_LETTER_WORDS)) + r")\b|[A-Za-z])")


def _group(tex: str, i: int) -> tuple[str, int]:
    """The argument at ``tex[i]``: a braced group (without its braces), a control word or one
    character; returns (argument, index after it)."""
    while i < len(tex) and tex[i].isspace():
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] == "{":
        depth, j = 0, i
        while j < len(tex):
            if tex[j] == "\\":
                j += 2
                continue
            if tex[j] == "{":
                depth += 1
            elif tex[j] == "}":
                depth -= 1
                if depth == 0:
                    return tex[i + 1 : j], j + 1
            j += 1
        return tex[i + 1 :], len(tex)
    if tex[i] == "\\":
        j = i + 1
        while j < len(tex) and tex[j].isalpha():
            j += 1
        return tex[i : max(j, i + 2)], max(j, i + 2)
    return tex[i], i + 1


def _squeeze(tex: str) -> str:
    """A subscript as one canonical string: no spaces, no braces, no ``\\mathrm``-like faces."""
    tex = re.sub(r"\\(?:mathrm|text|operatorname|mathbf|boldsymbol|mathit)\b", "", tex)
    return re.sub(r"[\s{}]", "", tex)


def latex_symbols(tex: str) -> set[str]:
    r"""The symbols a LaTeX formula shows, each as a canonical string: ``w_1`` for ``w_{1}``,
    ``\theta`` for ``\boldsymbol{\theta}``, ``\hat y`` for ``\hat{y}``.

    Words in ``\text{}``, ``\mathrm{}``, ``\operatorname{}`` are not symbols, nor are digits,
    operators (``\frac``, ``\partial``, ``\log``) or a transpose's ``T``; a subscript is part of
    its symbol's name (``x_{t-1}`` is one symbol).
    """
    # The differential d is an operator, not a symbol: d/d\theta, dx.
    tex = _DIFFERENTIAL.sub("", tex.replace(r"\frac{d}", r"\frac{}"))
    found: set[str] = set()
    bound: set[str] = set()  # \min_t E(t): t is the operator's, not the reader's to look up
    i = 0
    while i < len(tex):
        ch = tex[i]
        atom = None
        if ch == "\\":
            word, i = _group(tex, i)
            name = word[1:]
            if name in _TEXT_WORDS:
                _, i = _group(tex, i)
                continue
            if name in _LETTER_WORDS:
                atom = word
            elif name in _ACCENT_WORDS | _FACE_WORDS | _ALPHABET_WORDS:
                argument, i = _group(tex, i)
                inner = latex_symbols(argument)
                if len(inner) != 1:  # \mathbf{1}, \hat{} of a compound: its symbols, if any
                    found |= inner
                    continue
                (inner,) = inner
                if name in _FACE_WORDS:
                    atom = inner
                elif name in _ACCENT_WORDS:
                    atom = rf"\{name} {inner}"
                else:
                    atom = rf"\{name} {inner}"
            else:
                if name in _BINDING_WORDS:
                    j = i
                    while j < len(tex) and tex[j] == " ":
                        j += 1
                    if j < len(tex) and tex[j] == "_":
                        argument, i = _group(tex, j + 1)
                        bound |= latex_symbols(argument)
                continue  # an operator or a spacing command; its arguments are scanned on
        elif ch.isalpha():
            atom, i = ch, i + 1
        else:
            i += 1
            continue
        subscript = ""
        while True:
            j = i
            while j < len(tex) and tex[j] == " ":
                j += 1
            if j < len(tex) and tex[j] == "_" and not subscript:
                argument, i = _group(tex, j + 1)
                subscript = _squeeze(argument)
            elif j < len(tex) and tex[j] == "^":
                argument, i = _group(tex, j + 1)
                if _squeeze(argument) not in _OPERATION_SUPERSCRIPTS:
                    found |= latex_symbols(argument)
            elif j < len(tex) and tex[j] == "'":
                i = j + 1
            else:
                break
        found.add(atom + ("_" + subscript if subscript else ""))
    return found - bound


def prose_symbols(text: str) -> set[str]:
    """The symbols the inline maths (``$...$``) of ``text`` mentions."""
    from .render._text import split_math

    try:
        pieces = split_math(text)
    except ValueError:
        return set()
    return set().union(*(latex_symbols(piece) for is_math, piece in pieces if is_math))


def _shown_atoms(expr) -> set:
    """The symbols, matrix symbols and undefined functions' names ``expr`` displays; bound
    variables (of a sum, an integral, a lambda) and matrices' dimensions are not shown."""
    from sympy.core.function import AppliedUndef

    if not isinstance(expr, sp.Basic):
        return set()
    if isinstance(expr, (sp.MatrixSymbol, sp.Symbol)):
        return {expr}
    if isinstance(expr, (sp.Identity, sp.ZeroMatrix, sp.OneMatrix)):
        return set()
    if isinstance(expr, sp.Indexed):
        return {expr.base.label}
    if isinstance(expr, sp.IndexedBase):
        return {expr.label}
    if isinstance(expr, AppliedUndef):
        head = sp.Symbol(expr.func.__name__)
        return {head}.union(*(_shown_atoms(a) for a in expr.args))
    if isinstance(expr, (sp.Sum, sp.Product, sp.Integral)):
        bound = {limit[0] for limit in expr.limits}
        inner = _shown_atoms(expr.function) - bound
        return inner.union(*(_shown_atoms(b) for limit in expr.limits for b in limit[1:]))
    if isinstance(expr, sp.Lambda):
        return _shown_atoms(expr.expr) - set(expr.variables)
    return set().union(*(_shown_atoms(a) for a in expr.args))


def expression_symbols(expr) -> set[str]:
    """The symbols ``expr`` shows, as :func:`latex_symbols` names them."""
    from .printing.latex import latex

    return set().union(*(latex_symbols(latex(atom)) for atom in _shown_atoms(expr)))


def is_defined(symbol: str, defined: set[str]) -> bool:
    """Whether ``symbol`` (canonical, see :func:`latex_symbols`) is among ``defined``, or is a
    component of one: ``x_3`` is defined by ``x`` and by ``x_i`` (a letter index)."""
    if symbol in defined or symbol in STANDARD_SYMBOLS:
        return True
    base, underscore, _ = symbol.partition("_")
    if not underscore:
        return False
    if base in defined:
        return True
    # A subscript that is a letter index names a family: x_i, s_{t+1}, W_{jk}, w_{1,j}.
    return any(
        d.startswith(base + "_")
        and _INDEX.fullmatch(d[len(base) + 1 :])
        and re.search("[a-z]", d[len(base) + 1 :])
        for d in defined
    )


_ONE_INDEX = r"(?:[a-z]|\d+)(?:[+-]\d+)?"
_INDEX = re.compile(rf"{_ONE_INDEX}(?:,{_ONE_INDEX})*|[a-z][a-z]")


@dataclass(frozen=True)
class Undefined:
    """A symbol a formula shows that the document has not defined.

    Attributes:
        where: ``"step 3"`` or ``"table 2, row 4"``.
        symbol: the symbol as LaTeX (canonical, see :func:`latex_symbols`).
    """

    where: str
    symbol: str


def _names_a_symbol(expr) -> bool:
    """A symbol, a matrix symbol or an undefined function applied to symbols: ``L(w)``."""
    from sympy.core.function import AppliedUndef

    if isinstance(expr, (sp.Symbol, sp.MatrixSymbol)):
        return True
    return isinstance(expr, AppliedUndef) and all(isinstance(a, sp.Symbol) for a in expr.args)


def _table_symbols(table: Table) -> tuple[set[str], list[tuple[int, set[str]]]]:
    """(the symbols the table defines, [(row number, symbols a row's formulas use)])."""
    defines = prose_symbols(table.caption).union(*(prose_symbols(h) for h in table.header))
    uses = []
    for number, row in enumerate(table.rows, start=1):
        used: set[str] = set()
        for column, cell in enumerate(row):
            if isinstance(cell, str):
                symbols = prose_symbols(cell)
                # "$x$" alone in the first column names the row's symbol, like an expression.
                defines |= symbols
            elif column == 0 and _names_a_symbol(cell):
                defines |= expression_symbols(cell)
            else:
                used |= expression_symbols(cell)
        uses.append((number, used))
    return defines, uses


def undefined_symbols(derivation: Derivation) -> list[Undefined]:
    """Every symbol a displayed formula (a step, a table's formula) shows before the document
    defines it (see the rules above), in document order, each once per place."""
    blocks = derivation.blocks
    defined = prose_symbols(derivation.title) | prose_symbols(derivation.summary)
    # What each block defines, and what its formulas use (where, symbols).
    defines: list[set[str]] = []
    uses: list[list[tuple[str, set[str]]]] = []
    step_number, table_number = 0, 0
    for block in blocks:
        block_defines: set[str] = set()
        block_uses: list[tuple[str, set[str]]] = []
        if isinstance(block, Section):
            block_defines = prose_symbols(block.title)
        elif isinstance(block, Text):
            block_defines = prose_symbols(block.body)
        elif isinstance(block, Figure):
            block_defines = prose_symbols(block.caption)
        elif isinstance(block, Table):
            table_number += 1
            block_defines, rows = _table_symbols(block)
            block_uses = [(f"table {table_number}, row {n}", s) for n, s in rows]
        elif isinstance(block, Steps):
            for step in block.steps:
                step_number += 1
                block_defines |= prose_symbols(step.reason)
                lhs = expression_symbols(step.lhs)
                if step.relation in {"=", "approx"} and _names_a_symbol(step.lhs):
                    block_defines |= lhs
                block_uses.append((f"step {step_number}", lhs | expression_symbols(step.rhs)))
        defines.append(block_defines)
        uses.append(block_uses)
    found: list[Undefined] = []
    for index, block_uses in enumerate(uses):
        defined |= defines[index]
        known = set(defined)
        if index + 1 < len(blocks) and isinstance(blocks[index + 1], Text):
            known |= defines[index + 1]  # the "where" clause after a formula
        for where, symbols in block_uses:
            for symbol in sorted(symbols):
                if not is_defined(symbol, known):
                    found.append(Undefined(where, symbol))
    return found
