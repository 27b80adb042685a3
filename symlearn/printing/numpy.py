r"""A NumPy printer that prints numerically stable forms.

A naive ``lambdify`` of $\sigma(z) = 1/(1 + e^{-z})$ or $\log(1 + e^{z})$ overflows at
$|z| \approx 710$ and returns ``inf`` or ``nan``. This printer prints the stable forms instead,
through SymPy's ``_print_<Class>`` hooks, never by editing printed strings:

==========================  =========================================
SymPy expression            printed as
==========================  =========================================
``sigmoid(x)``              ``exp(-logaddexp(0, -x))``
``softplus(x)``             ``logaddexp(0, x)``
``log_sigmoid(x)``          ``-logaddexp(0, -x)``
``relu(x)``                 ``maximum(x, 0)``
``log(1 + exp(u))``         ``logaddexp(0, u)``
``log(1 + u)``              ``log1p(u)``
``exp(u) - 1``              ``expm1(u)``
``log(sigmoid(u))``         ``-logaddexp(0, -u)``
``1 - sigmoid(u)``          ``sigmoid(-u)`` (no cancellation: ``1 - sigmoid(40)`` is 0.0)
``log(1 - sigmoid(u))``     ``-logaddexp(0, u)``
``log(exp(a) + exp(b))``    ``logaddexp(a, b)``
``logaddexp(a, b)``         ``logaddexp(a, b)``
``logsumexp(a, b, c, ...)`` ``logaddexp(logaddexp(a, b), c)``, ...
``xlogy(x, y)``             ``x*log(y)``, and ``0`` where ``x == 0``
``Heaviside(u, h0)``        ``heaviside(u, h0)``
``Max(a, b)``               ``maximum(a, b)``
``elementsum(u)``           ``(u).sum()``
``inner(u, v)``             ``vdot(u, v)`` (a sum of products as one BLAS call)
==========================  =========================================

``logaddexp`` subtracts the largest argument before exponentiating, so they are
finite at arguments of magnitude 1000, where ``log(exp(a) + exp(b))`` overflows.

The printer recognizes a pattern only when it sees it whole. Common-subexpression elimination
names subexpressions first (``x0 = sigmoid(z)``, then ``log(x0)``), which would hide
``log(sigmoid(z))``; :func:`stable_forms` therefore rewrites the patterns above into explicit
function nodes (``log_sigmoid``, ``softplus``, ``logaddexp``, ``log1p``, ``expm1``) before any
elimination, and :func:`symlearn.compile.lambdify_stable` applies it.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..functions import sigmoid

__all__ = ["StableNumPyPrinter", "stable_forms"]


class StableNumPyPrinter(NumPyPrinter):
    """``NumPyPrinter`` with stable forms for symlearn's activations and for log-of-sums."""

    def _np(self, name: str) -> str:
        return self._module_format(f"{self._module}.{name}")

    def _print_sigmoid(self, expr) -> str:
        return f"{self._np('exp')}(-{self._np('logaddexp')}(0, -({self._print(expr.args[0])})))"

    def _print_softplus(self, expr) -> str:
        return f"{self._np('logaddexp')}(0, {self._print(expr.args[0])})"

    def _print_log_sigmoid(self, expr) -> str:
        return f"(-{self._np('logaddexp')}(0, -({self._print(expr.args[0])})))"

    def _print_relu(self, expr) -> str:
        return f"{self._np('maximum')}({self._print(expr.args[0])}, 0.0)"

    def _print_log(self, expr) -> str:
        stable = _stable_node(expr)
        return self._print(stable) if stable is not None else super()._print_log(expr)

    def _print_logaddexp(self, expr) -> str:
        # Nested pairwise logaddexp: each one is stable, and it broadcasts like the arguments.
        return self._fold("logaddexp", expr.args)

    def _print_logsumexp(self, expr) -> str:
        return self._fold("logaddexp", expr.args)

    def _print_Add(self, expr) -> str:
        stable = _stable_node(expr)  # 1 - sigmoid(u), exp(u) - 1
        if stable is not None:
            return self._print(stable)
        # Positive terms first, then subtractions: ``x - s`` rather than ``-s + x``, which numpy
        # evaluates as two passes (a negation, then an addition).
        ordered = self._as_ordered_terms(expr)
        positive = [t for t in ordered if not t.could_extract_minus_sign()]
        negative = [t for t in ordered if t.could_extract_minus_sign()]
        if not positive or not negative:
            return super()._print_Add(expr)
        from sympy.printing.precedence import PRECEDENCE

        out = " + ".join(self.parenthesize(t, PRECEDENCE["Add"]) for t in positive)
        for term in negative:
            out += " - " + self.parenthesize(-term, PRECEDENCE["Add"], strict=True)
        return out

    def _print_xlogy(self, expr) -> str:
        x, y = (self._print(a) for a in expr.args)
        where = self._np("where")
        # log of 1 where x == 0, so no log(0) is ever evaluated; 0*log(1) is 0 there.
        return f"({x})*{self._np('log')}({where}(({x}) == 0, 1.0, {y}))"

    def _print_Heaviside(self, expr) -> str:
        arg = self._print(expr.args[0])
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return f"{self._np('heaviside')}({arg}, {self._print(sp.Float(h0))})"

    def _print_Max(self, expr) -> str:
        return self._fold("maximum", expr.args)

    def _print_Min(self, expr) -> str:
        return self._fold("minimum", expr.args)

    def _fold(self, ufunc: str, args) -> str:
        """``ufunc(ufunc(a, b), c)``: elementwise over any number of arguments. (SymPy prints
        ``functools.reduce(...)`` for more than two, a name lambdify's numpy namespace lacks.)"""
        printed = [self._print(x) for x in args]
        code = printed[0]
        for other in printed[1:]:
            code = f"{self._np(ufunc)}({code}, {other})"
        return code

    def _print_elementsum(self, expr) -> str:
        return f"({self._print(expr.args[0])}).sum()"

    def _print_inner(self, expr) -> str:
        u, v = (self._print(a) for a in expr.args)
        return f"{self._np('vdot')}({u}, {v})"


def _sigmoid_complement(expr):
    """``sigmoid(-u)`` when ``expr`` is ``1 - sigmoid(u)``, else None."""
    if isinstance(expr, sp.Add) and len(expr.args) == 2 and sp.S.One in expr.args:
        (other,) = [a for a in expr.args if a is not sp.S.One]
        if other.could_extract_minus_sign() and isinstance(-other, sigmoid):
            return sigmoid(-(-other).args[0])
    return None


def _stable_node(e):
    """The stable form of the node ``e`` itself (see :func:`stable_forms`), or None when ``e`` is
    none of the patterns. Its arguments may be rewritten or not: the printer calls this on the
    expression as given, :func:`stable_forms` bottom-up."""
    from sympy.codegen.cfunctions import expm1, log1p
    from sympy.codegen.numpy_nodes import logaddexp

    from ..functions import log_sigmoid, softplus

    if isinstance(e, sp.Add):
        complement = _sigmoid_complement(e)
        if complement is not None:
            return complement
        # exp(u) - 1 -> expm1(u): exact for small u, where exp(u) - 1 cancels.
        terms = list(e.args)
        exps = [t for t in terms if isinstance(t, sp.exp)]
        if sp.S.NegativeOne in terms and exps:
            rest = [t for t in terms if t is not sp.S.NegativeOne and t is not exps[0]]
            return sp.Add(expm1(exps[0].args[0]), *rest)
    elif isinstance(e, sp.log):
        (arg,) = e.args
        arg = _sigmoid_complement(arg) or arg
        if isinstance(arg, sigmoid):
            return log_sigmoid(arg.args[0])
        if isinstance(arg, sp.Add) and all(isinstance(t, sp.exp) for t in arg.args):
            powers = [t.args[0] for t in arg.args]
            result = logaddexp(powers[0], powers[1])
            for power in powers[2:]:
                result = logaddexp(result, power)
            return result
        if isinstance(arg, sp.Add) and len(arg.args) == 2 and sp.S.One in arg.args:
            (other,) = [t for t in arg.args if t is not sp.S.One]
            return softplus(other.args[0]) if isinstance(other, sp.exp) else log1p(other)
    return None


def stable_forms(expr):
    r"""``expr`` with each pattern the printer prints stably made an explicit node, bottom-up:
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
        stable = _stable_node(e)
        return e if stable is None else stable

    return rewrite(sp.sympify(expr))
