r"""The allocating backend: ``sympy.lambdify`` with the stable printer, after the stable rewrites.

Each common subexpression and each output is one numpy expression, and numpy allocates a new
array for every operation in it; :mod:`symlearn.codegen.inplace` is the backend that does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from .printer import StableNumPyPrinter
from .rewrite import stable_forms

__all__ = ["lambdify_stable"]


def lambdify_stable(args: Sequence, expr, *, cse: bool = False):
    """``sympy.lambdify(args, expr)`` printed by :class:`StableNumPyPrinter` (numpy only), after
    :func:`~symlearn.codegen.rewrite.stable_forms`, so that common-subexpression elimination
    cannot split a pattern the printer prints stably (``log(sigmoid(z))`` into
    ``x0 = sigmoid(z)`` and ``log(x0)``)."""
    if isinstance(expr, (list, tuple)):
        expr = type(expr)(stable_forms(e) if isinstance(e, sp.Expr) else e for e in expr)
    elif isinstance(expr, sp.Expr):
        expr = stable_forms(expr)
    return sp.lambdify(list(args), expr, modules="numpy", printer=StableNumPyPrinter, cse=cse)
