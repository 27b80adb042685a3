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

The patterns on logs and sums (``log(1 + exp(u))``, ``1 - sigmoid(u)``, ...) are the entries of
the one rewrite table, :data:`symlearn.codegen.rewrite.STABLE_REWRITES`; the printer applies it to
the node it prints, and every backend applies it to the whole expression first
(:func:`~symlearn.codegen.rewrite.stable_forms`), because common-subexpression elimination names
subexpressions (``x0 = sigmoid(z)``, then ``log(x0)``) and would hide ``log(sigmoid(z))``.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from .rewrite import stable_forms, stable_node

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
        stable = stable_node(expr)
        return self._print(stable) if stable is not None else super()._print_log(expr)

    def _print_logaddexp(self, expr) -> str:
        # Nested pairwise logaddexp: each one is stable, and it broadcasts like the arguments.
        return self._fold("logaddexp", expr.args)

    def _print_logsumexp(self, expr) -> str:
        return self._fold("logaddexp", expr.args)

    def _print_Add(self, expr) -> str:
        stable = stable_node(expr)  # 1 - sigmoid(u), exp(u) - 1
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
