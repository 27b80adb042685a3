r"""Derivatives step by step, each step naming its rule: the generator behind every gradient a
document derives and behind ``symlearn derive --expr``.

Given a scalar expression $\ell$ and a variable $x$, :func:`gradient_steps`

1. names the intermediates, innermost first: every compound argument of a function (the $z$ in
   $\sigma(z)$, the $u$ in $\log u$) and every compound base of a power (the $u$ in $u^2$) that
   depends on $x$ becomes a symbol ($z = w x + b$, $p = \sigma(z)$); a mere multiple of a
   variable ($-x$) is not worth a name;
2. rewrites the unevaluated derivative $\frac{\partial}{\partial x}\{\ell\}$ one level at a time,
   each derivative in the current line by one rule of :data:`RULES` (linearity, product,
   quotient, power, $e^a$, $\log a$, the activation's derivative, a maximum, a branch of a
   piecewise function, a sum term by term, the chain rule through a named intermediate), until no
   derivative is left;
3. substitutes the intermediates back and simplifies to the textbook form.

SymPy's ``diff`` is not asked for the steps: each rule writes its own result, and each step is
then checked against SymPy (the micrograd idea, with SymPy as the reference). A step's check
compares both sides with every intermediate replaced by its definition and every remaining
derivative evaluated by ``sympy.diff`` (:class:`StepCheck`): symbolically (``expand(lhs - rhs)``
or ``simplify(lhs - rhs)`` is 0) or, when SymPy cannot decide, at 50 random points (randomized
identity testing), and the derivation records which. (SymPy's ``diff`` on the evaluated sides is
the independent reference; where a rule only delegates to a function's own ``fdiff`` -- an
activation not in the table -- the check covers the chain-rule bookkeeping, not ``fdiff``.) A failing step raises :class:`~symlearn.derivation.StepCheckError`; a wrong step
is never shown. Kinks (``relu``, ``|u|``, ``max``, the branches of a ``Piecewise``) are measure
zero: a rule there holds away from the kink, the delta functions SymPy writes for the derivative
of a jump are dropped in the check (almost everywhere), and the random points miss the kink.

>>> x, y = sp.symbols("x y", real=True)
>>> [s.rule for s in gradient_steps((x - y) ** 2, x)]  # doctest: +NORMALIZE_WHITESPACE
["power rule $(u^n)' = n u^{n-1} u'$; chain rule", "$u$'s definition; linearity; $c' = 0$",
 'substitute the intermediates', 'factor']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import sympy as sp

from ..derivation import Auto, Check, CheckResult, Derivation, Numeric, Step
from ..functions import log_sigmoid, relu, sigmoid, softplus
from ..printing.latex import latex

__all__ = [
    "RULES",
    "WHY",
    "GradientStep",
    "NotDifferentiableError",
    "StepCheck",
    "add_gradient_steps",
    "gradient_steps",
    "name_intermediates",
]

#: Candidate names for intermediates, in order; one already in the expression is skipped.
DEFAULT_NAMES = ("u", "v", "z", "p", "q", "r", "s", "t", "a", "c", "g", "h", "k")


class NotDifferentiableError(ValueError):
    """The expression has no derivative the steps can write (a sum's bound as the variable, a
    function SymPy leaves unevaluated); the message is one sentence."""


@dataclass(frozen=True)
class GradientStep:
    r"""One step of a derivative: ``lhs = rhs`` by ``rule``.

    Attributes:
        rule: the rule(s) applied, in words with LaTeX (``"power rule: ..."``).
        lhs, rhs: the two sides as displayed (with named intermediates and unevaluated
            derivatives).
        why: a sentence for a student who asks why the rule gives this ("" when obvious).
        claim: what was checked: both sides with the intermediates substituted and the remaining
            derivatives evaluated by ``sympy.diff``.
        check: the check's outcome (method ``"symbolic"`` or ``"numeric"``, and its sentence).
    """

    rule: str
    lhs: object
    rhs: object
    why: str = ""
    claim: tuple = ()
    check: CheckResult | None = None


# --------------------------------------------------------------------------------------------------
# Naming the intermediates


@dataclass
class _Context:
    wrt: sp.Symbol
    definitions: dict = field(default_factory=dict)  # intermediate -> definition (in order)
    rules: list = field(default_factory=list)  # the rules used in the step being built
    whys: list = field(default_factory=list)

    def full(self, expr):
        """``expr`` with every intermediate replaced by its definition, down to the inputs."""
        for _ in range(len(self.definitions) + 1):
            replaced = expr.xreplace(self.definitions)
            if replaced == expr:
                return expr
            expr = replaced
        return expr

    def depends(self, expr) -> bool:
        return self.full(sp.sympify(expr)).has(self.wrt)

    def note(self, rule: str, why: str = "") -> None:
        if rule and rule not in self.rules:
            self.rules.append(rule)
        if why and why not in self.whys:
            self.whys.append(why)


def _is_scaled_atom(expr) -> bool:
    """A symbol, a number, or a number times one symbol (``-x``; ``-x y`` is worth a name)."""
    if expr.is_Atom or isinstance(expr, sp.Indexed):
        return True
    if expr.is_Mul:
        atoms = [f for f in expr.args if not f.is_Number]
        return all(f.is_Atom or isinstance(f, sp.Indexed) for f in atoms) and len(atoms) <= 1
    return False


#: Functions whose argument a course calls the logit $z$.
_TAKES_LOGIT = (sigmoid, softplus, log_sigmoid, relu, sp.tanh)


def _affine_in(expr):
    """The one compound term ``t`` when ``expr`` is ``c + k t`` with ``t`` a function application
    (``1 - sigma(z)``), else ``None``."""
    if not expr.is_Add:
        return None
    compound = [t for t in expr.args if not t.is_number and not _is_scaled_atom(t)]
    if len(compound) != 1:
        return None
    term = compound[0]
    if term.is_Mul:
        rest = [f for f in term.args if not f.is_number]
        if len(rest) != 1:
            return None
        term = rest[0]
    if any(not t.is_number for t in expr.args if t not in compound):
        return None  # x + sigma(x): two terms that vary
    return term if isinstance(term, sp.Function) else None


def _spare_name(pool: Sequence[str], taken: set) -> str:
    """The first name of ``pool`` not taken, then ``u_1, u_2, ...`` (a 30-deep nesting names 30
    intermediates; the pool has 13)."""
    for name in pool:
        if name not in taken:
            return name
    k = 1
    while f"u_{k}" in taken:
        k += 1
    return f"u_{k}"


def name_intermediates(
    expr, wrt, names: Sequence[str] | Mapping | None = None
) -> tuple[sp.Expr, tuple[tuple[sp.Symbol, sp.Expr], ...]]:
    r"""Write ``expr`` through named intermediates, innermost first.

    Returns ``(outer, ((u, definition), ...))``: ``outer`` is ``expr`` with each named
    subexpression replaced by its symbol; each definition uses the inputs and earlier
    intermediates. ``names`` is a sequence of names to use in order, or a mapping from a
    subexpression to the name it should get (``{w*x + b: "z"}``).

    >>> x, y = sp.symbols("x y", real=True)
    >>> name_intermediates(sp.log(1 + (x - y) ** 2), x)
    (log(v), ((u, x - y), (v, u**2 + 1)))
    """
    expr = sp.sympify(expr)
    chosen = dict(names) if isinstance(names, Mapping) else {}
    pool = list(names) if names is not None and not isinstance(names, Mapping) else []
    pool += [n for n in DEFAULT_NAMES if n not in pool]
    taken = {str(s) for s in expr.free_symbols} | {str(wrt)}
    definitions: dict = {}  # definition -> symbol
    order: list = []

    def fresh(definition, original, preferred=None):
        if definition in definitions:
            return definitions[definition]
        wanted = chosen.get(original) or chosen.get(definition)
        if wanted is None and isinstance(definition, sigmoid) and "p" not in taken:
            wanted = "p"  # a probability, as the course writes p = sigma(z)
        if wanted is None and preferred is not None and preferred not in taken:
            wanted = preferred
        if wanted is None:
            wanted = _spare_name(pool, taken)
        taken.add(str(wanted))
        symbol = sp.Symbol(str(wanted), real=True)
        definitions[definition] = symbol
        order.append((symbol, definition))
        return symbol

    def depends(e) -> bool:
        return e.has(wrt)

    def visit(e):
        if e.is_Atom or not depends(e) or isinstance(e, (sp.Sum, sp.Indexed)):
            return e
        if isinstance(e, sp.Piecewise):
            return sp.Piecewise(*[(visit(v), c) for v, c in e.args])
        args = [visit(a) for a in e.args]
        applied = isinstance(e, (sp.Function, sp.Max, sp.Min))
        if applied or (isinstance(e, sp.Pow) and not e.exp.has(wrt)):
            slots = range(len(args)) if applied else (0,)
            preferred = "z" if e.func in _TAKES_LOGIT else None
            for i in slots:
                if not depends(e.args[i]) or _is_scaled_atom(args[i]):
                    continue
                inner = _affine_in(args[i])
                if inner is not None:  # 1 - sigma(z): name sigma(z), keep 1 - p as written
                    if not _is_scaled_atom(inner):
                        args[i] = args[i].xreplace({inner: fresh(inner, inner, None)})
                    continue
                args[i] = fresh(args[i], e.args[i], preferred)
        return e.func(*args)

    outer = visit(expr)
    # The same subexpression inside a Piecewise condition reads with its name too (|u| <= delta).
    if order and isinstance(outer, sp.Piecewise):
        swap = {d: s for s, d in order}
        outer = sp.Piecewise(*[(v, c.xreplace(swap)) for v, c in outer.args])
    return outer, tuple(order)


# --------------------------------------------------------------------------------------------------
# The rules: Derivative(expr, x) -> an expression with derivatives one level further in


def _d(expr, ctx: _Context):
    """``d expr / dx`` unevaluated, or its value when it is immediate (a constant: 0; ``x``: 1;
    ``c x``: c), noting the rule."""
    expr = sp.sympify(expr)
    x = ctx.wrt
    if not ctx.depends(expr):
        ctx.note("$c' = 0$")
        return sp.S.Zero
    if expr == x:
        return sp.S.One
    if expr.is_Mul:
        constant, rest = _split_constant(expr, ctx)
        if rest == x:
            ctx.note("constant factor")
            return constant
    return sp.Derivative(expr, x)


def _split_constant(expr, ctx: _Context):
    constant = [f for f in expr.args if not ctx.depends(f)]
    rest = [f for f in expr.args if ctx.depends(f)]
    return sp.Mul(*constant), sp.Mul(*rest)


def _chain(argument, ctx: _Context, outer: str):
    """``d argument / dx`` for the argument of an outer function, naming the chain rule when the
    argument is itself compound."""
    inner = _d(argument, ctx)
    if argument != ctx.wrt and inner != 0:
        ctx.note("chain rule")
    return inner


def _rule_intermediate(expr, ctx):
    """$\\partial u / \\partial x$ for an intermediate $u$: its definition differentiated by
    the next rule in the same step (one line per level, not one for the substitution)."""
    definition = ctx.definitions[expr]
    ctx.note(f"${latex(expr)}$'s definition")
    inner = _d(definition, ctx)
    return _apply(inner, ctx) if isinstance(inner, sp.Derivative) else inner


def _rule_add(expr, ctx):
    ctx.note("linearity")
    return sp.Add(*[_linear_term(t, ctx) for t in expr.args])


def _linear_term(term, ctx):
    if term.is_Mul:
        constant, rest = _split_constant(term, ctx)
        if constant != 1:
            return constant * _d(rest, ctx)
    return _d(term, ctx)


def _rule_mul(expr, ctx):
    constant, rest = _split_constant(expr, ctx)
    if constant != 1:
        why = ""
        if any(f.is_Pow and f.exp == -1 and f.base.is_Symbol for f in sp.Mul.make_args(constant)):
            why = (f"Why ${latex(constant)}$ stays outside: it does not depend on "
                   f"${latex(ctx.wrt)}$ (a mean's $1/n$ is a count), so it only scales the "
                   "derivative.")
        ctx.note("constant factor", why)
        return constant * _d(rest, ctx)
    factors = list(rest.args)
    reciprocals = [f for f in factors if f.is_Pow and f.exp == -1]
    if len(reciprocals) == 1 and len(factors) >= 2:
        h = reciprocals[0].base
        g = sp.Mul(*[f for f in factors if f is not reciprocals[0]])
        ctx.note(r"quotient rule $(g/h)' = (g' h - g h')/h^2$")
        return (_d(g, ctx) * h - g * _d(h, ctx)) / h**2
    ctx.note("product rule $(f g)' = f' g + f g'$")
    terms = []
    for i, f in enumerate(factors):
        others = sp.Mul(*(factors[:i] + factors[i + 1:]))
        terms.append(others * _d(f, ctx))
    return sp.Add(*terms)


def _rule_pow(expr, ctx):
    base, exponent = expr.base, expr.exp
    if not ctx.depends(exponent):
        if exponent == -1:
            ctx.note(r"$(1/u)' = -u'/u^2$")
        elif exponent == sp.Rational(1, 2):
            ctx.note(r"$(\sqrt{u})' = u'/(2\sqrt{u})$")
        else:
            ctx.note(r"power rule $(u^n)' = n u^{n-1} u'$")
        return exponent * base ** (exponent - 1) * _chain(base, ctx, "power")
    if not ctx.depends(base):
        ctx.note(r"$(b^u)' = b^u \log b\, u'$")
        return expr * sp.log(base) * _chain(exponent, ctx, "exp")
    ctx.note(r"$(f^g)' = f^g (g' \log f + g f'/f)$")
    return expr * (_d(exponent, ctx) * sp.log(base) + exponent * _d(base, ctx) / base)


def _rule_exp(expr, ctx):
    ctx.note(r"$(e^u)' = e^u u'$")
    return expr * _chain(expr.args[0], ctx, "exp")


def _rule_log(expr, ctx):
    if len(expr.args) != 1:
        return None
    ctx.note(r"$(\log u)' = u'/u$")
    (argument,) = expr.args
    return _chain(argument, ctx, "log") / argument


#: The activations' derivatives as a course writes them, with the sentence a student asks for.
_ACTIVATIONS: dict = {
    sigmoid: (
        lambda a: sigmoid(a) * (1 - sigmoid(a)),
        r"$\sigma' = \sigma (1 - \sigma)$",
        (
            r"Why $\sigma' = \sigma(1 - \sigma)$: differentiating $1/(1 + e^{-z})$ gives "
            r"$e^{-z}/(1 + e^{-z})^2$, which is $\sigma(z) \cdot e^{-z}/(1 + e^{-z}) = "
            r"\sigma(z)(1 - \sigma(z))$; the backward pass reuses the forward value and computes no "
            "new exponential."
        ),
    ),
    softplus: (
        sigmoid,
        r"$\operatorname{softplus}' = \sigma$",
        (
            r"Why $\operatorname{softplus}' = \sigma$: $\frac{d}{dz} \log(1 + e^{z}) = "
            r"\frac{e^{z}}{1 + e^{z}} = \frac{1}{1 + e^{-z}} = \sigma(z)$."
        ),
    ),
    log_sigmoid: (
        lambda a: 1 - sigmoid(a),
        r"$(\log \sigma)' = 1 - \sigma$",
        (
            r"Why $(\log \sigma)' = 1 - \sigma$: the log's rule gives $\sigma'/\sigma = "
            r"\sigma(1 - \sigma)/\sigma$; written as $-\operatorname{softplus}(-z)$ it is also "
            r"$\sigma(-z) = 1 - \sigma(z)$."
        ),
    ),
    relu: (
        lambda a: sp.Heaviside(a, 0),
        r"$\operatorname{relu}'(u) = \mathbf{1}[u > 0]$",
        (
            r"Why an indicator: $\operatorname{relu}(u) = \max(0, u)$ has slope 1 where $u > 0$ and "
            r"0 where $u < 0$; at the kink $u = 0$ it has no derivative, and PyTorch (like the "
            r"indicator $\mathbf{1}[u > 0]$) uses 0 there."
        ),
    ),
    sp.Abs: (
        sp.sign,
        r"$|u|' = \operatorname{sign}(u)$",
        (
            r"Why $\operatorname{sign}$: $|u|$ has slope $+1$ for $u > 0$ and $-1$ for $u < 0$; at "
            r"$u = 0$ it has no derivative, and PyTorch uses $\operatorname{sign}(0) = 0$."
        ),
    ),
}

_JUMPS = "a step function has derivative $0$ away from its jump"


def _rule_function(expr, ctx):
    """An activation from :data:`_ACTIVATIONS`, a step function, or any SymPy function with
    ``fdiff``: $f(a_1, \\dots)' = \\sum_i \\partial_i f \\cdot a_i'$."""
    if expr.func in _ACTIVATIONS:
        derivative, rule, why = _ACTIVATIONS[expr.func]
        ctx.note(rule, why)
        return derivative(expr.args[0]) * _chain(expr.args[0], ctx, rule)
    if isinstance(expr, (sp.Heaviside, sp.sign)):
        ctx.note(_JUMPS)
        return sp.S.Zero
    terms = []
    for i, argument in enumerate(expr.args, start=1):
        if not ctx.depends(argument):
            continue
        partial = expr.fdiff(i)
        terms.append(partial * _chain(argument, ctx, "fdiff"))
    if len(expr.args) == 1:
        u = sp.Symbol("u", real=True)
        ctx.note(f"$({latex(expr.func(u))})' = \\left({latex(expr.func(u).diff(u))}\\right) u'$")
    else:
        ctx.note(f"partial derivatives of ${latex(expr.func)}$")
    return sp.Add(*terms)


def _rule_max_min(expr, ctx):
    """$\\max(a, b)' = \\mathbf{1}[a > b]\\, a' + \\mathbf{1}[b > a]\\, b'$ (two arguments)."""
    a, rest = expr.args[0], expr.args[1:]
    b = expr.func(*rest)  # max(a, b, c) = max(a, max(b, c))
    word = "maximum" if isinstance(expr, sp.Max) else "minimum"
    ctx.note(
        f"$\\{'max' if word == 'maximum' else 'min'}$: the "
        f"{'larger' if word == 'maximum' else 'smaller'} argument's slope",
        f"Why the {word}'s derivative is an indicator: ${latex(expr)}$ equals one argument on "
        "each side of the point where the two are equal, so it has that argument's slope there; "
        "at the tie it has no derivative (PyTorch picks a subgradient).",
    )
    sign = 1 if isinstance(expr, sp.Max) else -1
    return (sp.Heaviside(sign * (a - b), 0) * _chain(a, ctx, word)
            + sp.Heaviside(sign * (b - a), 0) * _chain(b, ctx, word))


def _rule_piecewise(expr, ctx):
    ctx.note(
        "branch by branch",
        "Why branch by branch: on the open region where a condition holds, the function is that "
        "branch, so its derivative is the branch's; on the boundary between regions (a kink) the "
        "derivative may not exist, and the checks draw random points off the boundary.",
    )
    return sp.Piecewise(*[(_linear_term(value, ctx), condition) for value, condition in expr.args])


def _rule_sum(expr, ctx):
    bounds = [limit[1:] for limit in expr.limits]
    if any(ctx.depends(b) for pair in bounds for b in pair):
        # The number of terms is an integer: d/dn of a sum up to n has no meaning (SymPy leaves
        # it unevaluated, and the steps would repeat it forever).
        raise NotDifferentiableError(
            f"${latex(ctx.wrt)}$ is a bound of the sum ${latex(expr)}$, an integer count of "
            "terms: the sum is not differentiable in it"
        )
    ctx.note(
        "term by term",
        "Why term by term: the derivative of a sum is the sum of the derivatives, and the index "
        "range does not depend on the variable.",
    )
    return sp.Sum(_d(expr.function, ctx), *expr.limits)


#: The rule table: expression class -> ``(expr, context) -> expression`` (``None`` when the rule
#: does not apply). Looked up along the class's MRO, so ``sigmoid`` finds ``Function``.
RULES: dict[type, Callable] = {
    sp.Add: _rule_add,
    sp.Mul: _rule_mul,
    sp.Pow: _rule_pow,
    sp.exp: _rule_exp,
    sp.log: _rule_log,
    sp.Max: _rule_max_min,
    sp.Min: _rule_max_min,
    sp.Piecewise: _rule_piecewise,
    sp.Sum: _rule_sum,
    sp.Function: _rule_function,
}

#: Sentences added once per derivation, for the questions a student asks about the method.
#: ``{out}``, ``{x}`` and ``{u}`` are filled with the document's own symbols (the output, the
#: variable and the first intermediate), so the sentence speaks of what the reader sees.
WHY = {
    "intermediates": (
        "Why name intermediates: each local derivative is then a one-line rule, and the chain "
        r"rule $\frac{{\partial {out}}}{{\partial {x}}} = \frac{{\partial {out}}}{{\partial {u}}} "
        r"\frac{{\partial {u}}}{{\partial {x}}}$ multiplies them; substituting the names back at "
        "the end gives the derivative in the inputs."
    ),
}


def _apply(derivative: sp.Derivative, ctx: _Context):
    expr = derivative.expr
    if expr in ctx.definitions:
        return _rule_intermediate(expr, ctx)
    if expr == ctx.wrt:  # a loss that is the variable itself (a branch of hinge-embedding)
        ctx.note(f"${latex(expr)}' = 1$")
        return sp.S.One
    for cls in type(expr).__mro__:
        rule = RULES.get(cls)
        if rule is None:
            continue
        result = rule(expr, ctx)
        if result is not None:
            return result
    # No rule applies: SymPy's diff, said as such (never a silent gap).
    ctx.note("differentiated by SymPy (no named rule applies)")
    result = sp.diff(ctx.full(expr), ctx.wrt)
    if result.has(sp.Derivative):  # SymPy left it unevaluated: no step could ever finish it
        raise NotDifferentiableError(
            f"no rule applies to ${latex(expr)}$ and SymPy cannot differentiate it in "
            f"${latex(ctx.wrt)}$"
        )
    return result


# --------------------------------------------------------------------------------------------------
# Checking: what a step claims, with the intermediates substituted


def _almost_everywhere(expr):
    """Drop SymPy's delta functions (the derivative of a jump), which vanish off a null set."""
    if expr.has(sp.DiracDelta):
        expr = expr.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
    return expr


def _evaluated(expr, ctx: _Context):
    expr = ctx.full(sp.sympify(expr))
    expr = expr.replace(
        lambda e: isinstance(e, sp.Derivative),
        lambda e: sp.diff(e.expr.doit(), *[v for v, c in e.variable_count for _ in range(c)]),
    )
    expr = _almost_everywhere(expr.doit())
    return _concrete_sums(expr)


#: The size used to check steps that hold a sum with a symbolic bound (``\sum_{i=1}^{n}``).
SUM_CHECK_SIZE = 3


def _concrete_sums(expr):
    """A sum with a symbolic bound is checked on the instance where the bound is
    :data:`SUM_CHECK_SIZE`, its indexed terms as plain symbols (a test of the identity for all
    ``n``, stated as such in the step's reason)."""
    if not expr.has(sp.Sum):
        return expr
    bounds = {b for s in expr.atoms(sp.Sum) for limit in s.limits for b in limit[1:]
              if not b.is_number}
    expr = expr.xreplace({b: sp.Integer(SUM_CHECK_SIZE) for b in bounds if b.is_Symbol}).doit()
    indexed = {i: sp.Symbol(f"{i.base}_{'_'.join(map(str, i.indices))}", real=True)
               for i in expr.atoms(sp.Indexed)}
    return expr.xreplace(indexed)


#: Expressions with these make ``simplify`` slow and usually undecided: their steps are checked
#: by ``expand`` (a proof when it gives 0) and otherwise numerically, at random points.
_KINKS = (sp.Heaviside, sp.Max, sp.Min, sp.Piecewise, sp.sign, sp.Abs)


@dataclass(frozen=True)
class StepCheck(Check):
    """How a generated step is checked: ``expand(lhs - rhs) == 0`` (symbolic, and cheap: most
    steps rewrite one derivative, so the two evaluated sides agree term by term); else, for an
    expression with kinks, randomized identity testing at 50 points (``simplify`` rarely decides
    those and takes seconds); else :class:`~symlearn.derivation.Auto` (``simplify``, then the
    points)."""

    def run(self, lhs, rhs, relation, context, index):
        if relation == "=" and not context.sizes:
            difference = sp.sympify(lhs) - sp.sympify(rhs)
            if difference == 0 or sp.expand(difference) == 0:
                return CheckResult(True, "symbolic", "checked symbolically: expand(lhs - rhs) = 0")
            if difference.has(*_KINKS):
                return Numeric().run(lhs, rhs, relation, context, index)
        return Auto().run(lhs, rhs, relation, context, index)


# --------------------------------------------------------------------------------------------------
# The generator


def _same(lhs, rhs) -> bool:
    return latex(lhs) == latex(rhs)


def _derive(expr, wrt, names, textbook, max_steps: int):
    """The displayed steps (unchecked): a list of ``(rule, lhs, rhs, why, claim)``."""
    expr = sp.sympify(expr)
    outer, order = name_intermediates(expr, wrt, names)
    ctx = _Context(wrt, dict(order))
    steps: list = []
    current = sp.Derivative(outer, wrt)
    # One step per level: a nesting deeper than max_steps (sigma applied 50 times) gets as
    # many steps as it has intermediates.
    limit = max_steps + len(order)
    for _ in range(limit):
        derivatives = [d for d in sp.preorder_traversal(current) if isinstance(d, sp.Derivative)]
        if not derivatives:
            break
        ctx.rules, ctx.whys = [], []
        mapping = {}
        for derivative in derivatives:
            if derivative not in mapping:
                mapping[derivative] = _apply(derivative, ctx)
        following = current.xreplace(mapping)
        if not _same(current, following):
            steps.append(["; ".join(ctx.rules), current, following, " ".join(ctx.whys)])
        current = following
    else:
        raise RecursionError(f"the derivative needs more than {limit} steps")
    if order:
        substituted = ctx.full(current)
        if not _same(current, substituted):
            steps.append(["substitute the intermediates", current, substituted, ""])
        current = substituted
    final, how = _textbook(current, textbook)
    if final is not None and not _same(current, final):
        steps.append([how, current, final, ""])
    claims = [(_evaluated(lhs, ctx), _evaluated(rhs, ctx)) for _, lhs, rhs, _ in steps]
    for step in steps:  # say where a step with a symbolic sum was checked on an instance
        if _has_symbolic_sum(step[1]) or _has_symbolic_sum(step[2]):
            step[0] += f" (checked with {SUM_CHECK_SIZE} terms)"
    return order, [(*s, c) for s, c in zip(steps, claims)]


def _has_symbolic_sum(expr) -> bool:
    return any(not b.is_number for s in sp.sympify(expr).atoms(sp.Sum)
               for limit in s.limits for b in limit[1:])


#: Limits of the final tidy-up (expand, factor, simplify): beyond them the derivative is left
#: as the steps wrote it. ``factor`` of a degree-199 polynomial, ``simplify`` of sigma nested 10
#: deep, ``expand`` of (a + b + c + d)^999 each take minutes (measured; issue 15's hostile
#: inputs), and a document's form must not depend on how fast the machine is, so these are
#: sizes, not a timer.
_TIDY_OPS = 40
_TIDY_DEGREE = 12
_TIDY_EXPAND_OPS = 400
_TIDY_EXPAND_TERMS = 500


def _expanded_terms(expr) -> int:
    """An upper bound on the number of terms ``expand(expr)`` writes (capped, so it stays
    cheap)."""
    cap = 10**6
    if expr.is_Add:
        return min(cap, sum(_expanded_terms(a) for a in expr.args))
    if expr.is_Mul:
        total = 1
        for a in expr.args:
            total = min(cap, total * _expanded_terms(a))
        return total
    if expr.is_Pow and expr.exp.is_Integer and expr.base.is_Add:
        n, k = abs(int(min(expr.exp, 10**6))), _expanded_terms(expr.base)
        if n > 10**3 or k > 10**3:
            return cap
        from math import comb

        return min(cap, comb(n + k - 1, k - 1))
    return 1


def _degree_at_most(expr, degree: int) -> bool:
    """No integer power above ``degree`` and no product of more than ``degree`` sums (the
    inputs of a slow ``factor``)."""
    for e in sp.preorder_traversal(expr):
        if e.is_Pow and e.exp.is_Integer and abs(e.exp) > degree:
            return False
        if e.is_Mul and sum(1 for a in e.args if a.is_Add) > degree:
            return False
    return True


def _textbook(expr, textbook):
    if textbook is not None:
        textbook = sp.sympify(textbook)
        if textbook.has(*_KINKS) or expr.has(*_KINKS):  # a kink's convention may differ
            return textbook, "the textbook form (equal away from the kinks)"
        return textbook, "simplify to the textbook form"
    if expr.has(sp.Piecewise, sp.Heaviside, sp.Sum):
        return None, ""
    ops = sp.count_ops(expr)
    forms = []
    if ops <= _TIDY_EXPAND_OPS and _expanded_terms(expr) <= _TIDY_EXPAND_TERMS:
        forms.append(("expand", sp.expand))
    if ops <= _TIDY_OPS and _degree_at_most(expr, _TIDY_DEGREE) and not expr.has(*_KINKS):
        forms += [("factor", sp.factor), ("simplify", sp.simplify)]
    candidates = []
    for how, form in forms:
        shaped = form(expr)
        candidates.append((sp.count_ops(shaped), how, shaped))
    if not candidates:
        return None, ""
    ops, how, form = min(candidates, key=lambda c: c[0])
    return (form, how) if ops < sp.count_ops(expr) else (None, "")


def add_gradient_steps(
    doc: Derivation,
    expr,
    wrt,
    *,
    names: Sequence[str] | Mapping | None = None,
    textbook=None,
    output=None,
    why: bool = True,
    max_steps: int = 40,
) -> Derivation:
    r"""Append the derivative of ``expr`` in ``wrt``, step by step, to ``doc``.

    Adds a paragraph naming the intermediates (when there are any), one aligned block of steps
    (the first line's left side is $\partial \ell / \partial x$ when ``output`` is given, else
    the derivative of the expression), each reason naming its rule, and a paragraph with the
    sentences a student would ask for (``why``). Every step is checked by ``doc`` as it joins
    (:class:`~symlearn.derivation.Auto`: symbolic, else numeric); a failure raises
    :class:`~symlearn.derivation.StepCheckError`.

    Args:
        doc: the derivation to extend (its ``domain`` is where numeric checks draw points).
        expr: the scalar expression $\ell$.
        wrt: the variable $x$.
        names: names for the intermediates (a sequence, or subexpression -> name).
        textbook: the form to end at (checked equal), else the shortest of expand/factor/simplify.
        output: a symbol naming ``expr`` ($\ell$) for the first line's left side.
    """
    order, steps = _derive(expr, wrt, names, textbook, max_steps)
    if order:
        listed = ", ".join(f"${latex(s)} = {latex(d)}$" for s, d in order)
        doc = doc.text(f"Named intermediates, innermost first: {listed}.")
    first = len(doc.all_steps()) + 1
    rows = []
    for i, (rule, lhs, rhs, _, claim) in enumerate(steps):
        shown = lhs
        if i == 0 and output is not None:
            shown = sp.Derivative(output, wrt)
        rows.append(Step(shown, rhs, rule, claim=claim, continued=i > 0, check=StepCheck()))
    if rows:
        doc = doc.steps(*rows)
    if why:
        sentences = []
        if order:
            sentences.append(WHY["intermediates"].format(
                out=latex(output) if output is not None else r"\ell", x=latex(wrt),
                u=latex(order[-1][0])))
        for offset, (_, _, _, reason, _) in enumerate(steps):
            if reason and reason not in " ".join(sentences):
                sentences.append(f"In step ({first + offset}): {reason}")
        if sentences:
            doc = doc.text(" ".join(sentences))
    return doc


def gradient_steps(
    expr,
    wrt,
    *,
    names: Sequence[str] | Mapping | None = None,
    textbook=None,
    domain: Mapping | None = None,
    max_steps: int = 40,
    timeout: float | None = None,
    memory: int | None = None,
) -> list[GradientStep]:
    r"""The derivative of ``expr`` in ``wrt``, step by step, each step checked.

    Args:
        expr: a scalar SymPy expression $\ell$ (symlearn's activations, ``exp``, ``log``,
            powers, ``Abs``, ``Max``/``Min``, ``Piecewise``, ``Sum`` with bounds free of ``wrt``).
        wrt: the variable $x$ (a ``Symbol``).
        names: names for the intermediates (a sequence, or subexpression -> name).
        textbook: the final form (checked equal to the derivative), else the shortest of
            ``expand``/``factor``/``simplify`` when it is shorter.
        domain: symbol -> ``(lo, hi)`` where numeric checks draw points (default $(-3, 3)$, or
            $(0, \infty)$ for positive symbols).
        timeout, memory: a deadline (seconds) and a memory ceiling (bytes) for the whole
            derivation, enforced in a forked worker (:func:`symlearn._budget.call`, the
            machinery of ``symlearn verify``); ``None`` (the default) runs in this process
            without limits. A hostile expression (a tower, a 40-factor product) can make SymPy
            work for minutes inside C code that no signal interrupts.

    Returns:
        The steps in order; the first step's left side is $\frac{\partial}{\partial x}\{\ell\}$
        (written in the intermediates) and the last step's right side is the derivative, equal to
        ``sympy.diff(expr, wrt)`` (almost everywhere, for functions with kinks).

    Raises:
        StepCheckError: a step failed its check (a rule is wrong); nothing wrong is returned.
        NotDifferentiableError: no rule and not SymPy can write the derivative (``wrt`` is a
            sum's bound).
        symlearn._budget.BudgetExceeded: the derivation ran over ``timeout`` or ``memory``.
    """
    if timeout is not None or memory is not None:
        from .._budget import call

        return call(gradient_steps, expr, wrt, names=names, textbook=textbook, domain=domain,
                    max_steps=max_steps, timeout=timeout, memory=memory)
    doc = Derivation(name="gradient-steps", title="", domain=dict(domain or {}))
    _, steps = _derive(expr, wrt, names, textbook, max_steps)
    if not steps:
        return []
    doc = doc.steps(*[Step(lhs, rhs, rule, claim=claim, continued=i > 0, check=StepCheck())
                      for i, (rule, lhs, rhs, _, claim) in enumerate(steps)])
    return [
        GradientStep(rule, lhs, rhs, why, claim, checked.result)
        for (rule, lhs, rhs, why, claim), checked in zip(steps, doc.all_steps())
    ]
