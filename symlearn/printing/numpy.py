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
==========================  =========================================
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

__all__ = ["StableNumPyPrinter"]


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
        (arg,) = expr.args
        if isinstance(arg, sp.Add) and len(arg.args) == 2 and sp.S.One in arg.args:
            (other,) = [a for a in arg.args if a is not sp.S.One]
            if isinstance(other, sp.exp):
                return f"{self._np('logaddexp')}(0, {self._print(other.args[0])})"
            return f"{self._np('log1p')}({self._print(other)})"
        return super()._print_log(expr)
