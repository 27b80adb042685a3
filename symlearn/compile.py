r"""Compile SymPy expressions to numpy functions with explicit, ordered arguments.

``lambdify`` is always given the argument list (it never guesses names from the expression), the
stable printer :class:`~symlearn.printing.numpy.StableNumPyPrinter`, and ``cse=True``; the compiled
function's docstring states its arguments in order and the formula it computes.
:func:`lambdify_inplace` compiles the same computation into code that writes each operation into a
temporary it owns (see :mod:`symlearn.printing.inplace`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from .codegen.allocating import lambdify_stable
from .printing.inplace import lambdify_inplace
from .printing.latex import latex

__all__ = ["compile_function", "lambdify_stable", "lambdify_inplace"]


def compile_function(args: Sequence, expr, *, name: str = "f"):
    r"""Compile ``expr`` to a numpy function of ``args`` (in that order), with a docstring.

    Args:
        args: the symbols, in the order the compiled function takes them.
        expr: a SymPy expression (or a list of them) in those symbols.
        name: the compiled function's ``__name__``.

    Returns:
        A function ``f(*arrays)`` that broadcasts like numpy.
    """
    args = list(args)
    missing = sp.sympify(expr).free_symbols - set(args) if not isinstance(expr, (list, tuple)) else set()
    if missing:
        names = ", ".join(sorted(map(str, missing)))
        raise ValueError(f"the expression uses {names}, which is not among the arguments {args}")
    function = lambdify_stable(args, expr, cse=True)
    function.__name__ = name
    signature = ", ".join(str(a) for a in args)
    function.__doc__ = (
        f"{name}({signature})\n\n"
        f"Arguments, in order: {signature} (numpy arrays, broadcast together).\n\n"
        f"Computes: $${latex(expr)}$$\n"
    )
    return function
