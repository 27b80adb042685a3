r"""One table of stable rewrites, and the passes every backend runs before printing.

Numerical stability is data here, not printer special cases (as in PyTensor's rewrite
databases): each entry of :data:`STABLE_REWRITES` is a named rewrite of one node into a form whose
value is the same and whose floating-point evaluation does not overflow or cancel. The printers
(:mod:`symlearn.codegen.printer`, :mod:`symlearn.codegen.matrix`) print the rewritten nodes, and
the backends (:mod:`symlearn.codegen.allocating`, :mod:`symlearn.codegen.inplace`, the exported
modules of :mod:`symlearn.codegen._source`) all apply :func:`stable_forms` before common
subexpression elimination, which would otherwise split a pattern (``x0 = sigmoid(z)``, then
``log(x0)``) where no rewrite can see it whole.

=====================  ==========================  ===========================================
rewrite                before                      after
=====================  ==========================  ===========================================
sigmoid_complement     $1 - \sigma(u)$             $\sigma(-u)$ (``1 - sigmoid(40)`` is 0.0)
expm1                  $e^u - 1$                   $\operatorname{expm1}(u)$ (exact near 0)
log_sigmoid            $\log \sigma(u)$,           $\operatorname{log\_sigmoid}(u)$,
                       $\log(1 - \sigma(u))$       $\operatorname{log\_sigmoid}(-u)$
logaddexp              $\log(e^a + e^b + \dots)$   $\operatorname{logaddexp}(\dots)$, nested
softplus               $\log(1 + e^u)$             $\operatorname{softplus}(u)$
log1p                  $\log(1 + u)$               $\operatorname{log1p}(u)$
=====================  ==========================  ===========================================

The passes:

* :func:`stable_forms`: the table, bottom-up, over a whole expression;
* :func:`share_softplus`: $\sigma(u) \to e^{u - \operatorname{softplus}(u)}$ where the softplus
  also occurs, so CSE computes it once; :func:`protect_log1p` before CSE;
* :func:`factor_scalars_out` and :func:`hoist_scalars`: fewer array operations in an update rule,
  its scalars gathered into per-step constants (the optimizers' compiled steps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.codegen.numpy_nodes import logaddexp

from ..functions import log_sigmoid, sigmoid, softplus

__all__ = [
    "STABLE_REWRITES",
    "Rewrite",
    "cse_sharing_functions",
    "factor_scalars_out",
    "hoist_scalars",
    "protect_log1p",
    "share_softplus",
    "stable_forms",
    "stable_node",
]


@dataclass(frozen=True)
class Rewrite:
    """One stable rewrite: ``apply(node)`` is the stable form of ``node`` (an instance of
    ``node_type``), or None when the node is not the pattern. ``before`` and ``after`` are the
    two forms in LaTeX, for documents and for this module's table."""

    name: str
    node_type: type
    before: str
    after: str
    apply: Callable


def _sigmoid_complement(e):
    """``sigmoid(-u)`` when ``e`` is ``1 - sigmoid(u)``, else None."""
    if isinstance(e, sp.Add) and len(e.args) == 2 and sp.S.One in e.args:
        (other,) = [a for a in e.args if a is not sp.S.One]
        if other.could_extract_minus_sign() and isinstance(-other, sigmoid):
            return sigmoid(-(-other).args[0])
    return None


def _expm1(e):
    # exp(u) - 1 -> expm1(u): exact for small u, where exp(u) - 1 cancels.
    terms = list(e.args)
    exps = [t for t in terms if isinstance(t, sp.exp)]
    if sp.S.NegativeOne in terms and exps:
        rest = [t for t in terms if t is not sp.S.NegativeOne and t is not exps[0]]
        return sp.Add(expm1(exps[0].args[0]), *rest)
    return None


def _log_sigmoid(e):
    arg = _sigmoid_complement(e.args[0]) or e.args[0]  # log(1 - sigmoid(u)) = log sigmoid(-u)
    return log_sigmoid(arg.args[0]) if isinstance(arg, sigmoid) else None


def _logaddexp(e):
    (arg,) = e.args
    if isinstance(arg, sp.Add) and all(isinstance(t, sp.exp) for t in arg.args):
        powers = [t.args[0] for t in arg.args]
        result = logaddexp(powers[0], powers[1])
        for power in powers[2:]:
            result = logaddexp(result, power)
        return result
    return None


def _one_plus(e):
    """``u`` when ``e`` is ``log(1 + u)``, else None."""
    (arg,) = e.args
    if isinstance(arg, sp.Add) and len(arg.args) == 2 and sp.S.One in arg.args:
        (other,) = [t for t in arg.args if t is not sp.S.One]
        return other
    return None


def _softplus(e):
    other = _one_plus(e)
    return softplus(other.args[0]) if isinstance(other, sp.exp) else None


def _log1p(e):
    other = _one_plus(e)
    return None if other is None else log1p(other)


#: The stable rewrites, in the order they are tried on a node (the first that applies wins).
STABLE_REWRITES: tuple[Rewrite, ...] = (
    Rewrite("sigmoid_complement", sp.Add, r"1 - \sigma(u)", r"\sigma(-u)", _sigmoid_complement),
    Rewrite("expm1", sp.Add, r"e^{u} - 1", r"\operatorname{expm1}(u)", _expm1),
    Rewrite("log_sigmoid", sp.log, r"\log \sigma(u)", r"\operatorname{log\_sigmoid}(u)",
            _log_sigmoid),
    Rewrite("logaddexp", sp.log, r"\log(e^{a} + e^{b} + \dots)",
            r"\operatorname{logaddexp}(\operatorname{logaddexp}(a, b), \dots)", _logaddexp),
    Rewrite("softplus", sp.log, r"\log(1 + e^{u})", r"\operatorname{softplus}(u)", _softplus),
    Rewrite("log1p", sp.log, r"\log(1 + u)", r"\operatorname{log1p}(u)", _log1p),
)


def stable_node(e):
    """The stable form of the node ``e`` itself by the first rewrite of :data:`STABLE_REWRITES`
    that applies, or None when none does. Its arguments may be rewritten or not: the printers
    call this on the expression as given, :func:`stable_forms` bottom-up."""
    for rewrite in STABLE_REWRITES:
        if isinstance(e, rewrite.node_type):
            stable = rewrite.apply(e)
            if stable is not None:
                return stable
    return None


def stable_forms(expr):
    r"""``expr`` with every pattern of :data:`STABLE_REWRITES` made an explicit node, bottom-up:
    $1 - \sigma(u) \to \sigma(-u)$, $\log \sigma(u) \to \operatorname{log\_sigmoid}(u)$,
    $\log(1 + e^u) \to \operatorname{softplus}(u)$, $\log(e^a + e^b + \dots) \to
    \operatorname{logaddexp}$, $\log(1 + u) \to \operatorname{log1p}(u)$,
    $e^u - 1 \to \operatorname{expm1}(u)$. The value is the same expression; only its form
    changes, so that common-subexpression elimination cannot split a pattern."""

    def rewrite(e):
        if not isinstance(e, sp.Basic) or e.is_Atom:
            return e
        args = [rewrite(a) for a in e.args]
        if args != list(e.args):
            e = e.func(*args)
        stable = stable_node(e)
        return e if stable is None else stable

    return rewrite(sp.sympify(expr))


def share_softplus(exprs):
    r"""Rewrite $\sigma(u)$ as $e^{u - \operatorname{softplus}(u)}$ where $\operatorname{softplus}(u)$
    also occurs, so common-subexpression elimination computes the softplus once (both forms are
    stable: the exponent is $\log\sigma(u) \le 0$)."""
    present = set()
    for e in exprs:
        present |= {s.args[0] for s in e.atoms(softplus)}
    if not present:
        return exprs
    return [
        e.replace(
            lambda a: isinstance(a, sigmoid) and a.args[0] in present,
            lambda a: sp.exp(a.args[0] - softplus(a.args[0])),
        )
        for e in exprs
    ]


def protect_log1p(expr):
    r"""$\log(1 + u) \to \operatorname{log1p}(u)$ before common-subexpression elimination, which
    would otherwise pull $1 + u$ out and hide the pattern from the stable printer."""
    return expr.replace(
        lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.Add)
        and sp.S.One in e.args[0].args and len(e.args[0].args) == 2,
        lambda e: log1p(e.args[0] - 1),
    )


def cse_sharing_functions(exprs):
    """``sympy.cse``, after naming each softplus/log-sigmoid that occurs in several expressions,
    so that it is computed once and used as is (plain ``cse`` would share its negation and
    print extra sign flips)."""
    counts: dict = {}
    for e in exprs:
        for f in e.atoms(softplus, log_sigmoid):
            counts[f] = counts.get(f, 0) + 1
    shared = [f for f, k in sorted(counts.items(), key=lambda item: str(item[0])) if k > 1]
    names = [(sp.Symbol(f"_shared{i}"), f) for i, f in enumerate(shared)]
    exprs = [e.xreplace({f: name for name, f in names}) for e in exprs]
    replacements, reduced = sp.cse(exprs)
    return names + replacements, reduced


# --------------------------------------------------------------------------------------------------
# Scalar hoisting: the optimizers' update rules


def factor_scalars_out(expr, array_symbols: frozenset, positive: tuple = ()):
    r"""Rewrite ``expr`` so that fewer elementwise operations touch arrays; the value is unchanged.

    Three identities, applied bottom-up:

    * $\sqrt{c\,x} = \sqrt{c}\,\sqrt{x}$ (any power $(c\,x)^p = c^p x^p$) for a scalar
      factor $c$ proved positive (``positive`` lists the facts SymPy cannot prove itself);
    * $\dfrac{1}{a + s\,x} = \dfrac{1}{s} \cdot \dfrac{1}{a/s + x}$ for a scalar coefficient
      $s \ne 0$ of an array term $x$ in a denominator (likewise for any negative power);
    * $a/d + b/d = (a + b)/d$ for a denominator $d$ shared by terms of a sum (NAdam's two
      terms over $\sqrt{\hat v} + \epsilon$: one division instead of two products and a
      reciprocal).

    The scalars that come out join the product's other scalars in one per-step constant
    (:func:`hoist_scalars`). Adam's update $k\,m / (\epsilon + \sqrt{c\,v})$ becomes
    $(k/\sqrt{c})\,m / (\epsilon/\sqrt{c} + \sqrt{v})$: four array passes instead of five.
    """

    def has_arrays(e) -> bool:
        return bool(e.free_symbols & array_symbols)

    def denominators(term) -> set:
        factors = term.args if term.is_Mul else (term,)
        return {f for f in factors if f.is_Pow and f.exp.is_negative and has_arrays(f.base)}

    def common_denominator(e):
        found = [denominators(term) for term in e.args]
        for factor in dict.fromkeys(f for d in found for f in d):  # first-seen order
            over = [term for term, d in zip(e.args, found) if factor in d]
            if len(over) > 1:
                rest = [term for term, d in zip(e.args, found) if factor not in d]
                return sp.Add(factor * sp.Add(*[term / factor for term in over]), *rest)
        return e

    def visit(e):
        if e.is_Atom or not has_arrays(e):
            return e
        e = e.func(*[visit(a) for a in e.args])
        if e.is_Add:
            e = common_denominator(e)
        if e.is_Pow and e.base.is_Mul and not e.exp.is_Integer:
            scalar, array = e.base.as_independent(*array_symbols, as_Add=False)
            if scalar != 1 and scalar.is_positive:
                e = scalar**e.exp * array**e.exp
        if e.is_Pow and e.base.is_Add and e.exp.is_Number and e.exp.is_negative:
            for term in e.base.args:
                if not has_arrays(term):
                    continue
                coefficient, _ = term.as_independent(*array_symbols, as_Add=False)
                if coefficient not in (1, -1) and coefficient.is_zero is False:
                    base = sp.Add(*[t / coefficient for t in e.base.args])
                    e = coefficient**e.exp * base**e.exp
                    break
        return e

    # Each declared fact becomes a positive symbol while rewriting, so that SymPy both proves the
    # conditions and simplifies the scalars (sqrt(1/d) = 1/sqrt(d) for d > 0).
    declared = {p: sp.Dummy(positive=True) for p in positive}
    rewritten = visit(expr.xreplace(declared))
    return rewritten.xreplace({d: p for p, d in declared.items()})


def hoist_scalars(expr, array_symbols: frozenset, constants: dict):
    """Replace every maximal scalar-only subexpression with free symbols by a constant symbol.

    ``constants`` maps scalar expression -> constant symbol and is extended in place (it is local
    to one compilation). In a product, the scalar factors are gathered into one constant so that
    an array is multiplied by one number, not by each factor in turn.
    """

    def constant(e):
        if e not in constants:
            constants[e] = sp.Symbol(f"c{len(constants)}", real=True)
        return constants[e]

    def visit(e):
        if not (e.free_symbols & array_symbols):
            return constant(e) if e.free_symbols else e
        if e.is_Mul:
            scalars = [a for a in e.args if not (a.free_symbols & array_symbols)]
            arrays = [visit(a) for a in e.args if a.free_symbols & array_symbols]
            if scalars:
                scalar = sp.Mul(*scalars)
                arrays.insert(0, constant(scalar) if scalar.free_symbols else scalar)
            return sp.Mul(*arrays)
        if e.is_Atom:
            return e
        return e.func(*[visit(a) for a in e.args])

    return visit(expr)
