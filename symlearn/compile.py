r"""Compile SymPy expressions to numpy functions with explicit, ordered arguments.

The compilation itself is a backend of :mod:`symlearn.codegen` (:mod:`symlearn.codegen.backends`):
``allocating`` (``lambdify`` given the argument list, so it never guesses names from the
expression, the stable printer :class:`~symlearn.codegen.printer.StableNumPyPrinter`, and
``cse=True``), or ``inplace`` (code that writes each operation into a temporary it owns, see
:mod:`symlearn.codegen.inplace`). The compiled function's docstring states its arguments in order
and the formula it computes. :func:`lambdify_stable` and :func:`lambdify_inplace` are the two
backends' compilers, importable from here as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from .codegen.allocating import lambdify_stable
from .codegen.backends import backend as _backend
from .codegen.inplace import lambdify_inplace
from .printing.latex import latex

__all__ = ["compile_function", "lambdify_inplace", "lambdify_stable"]


def compile_function(args: Sequence, expr, *, name: str = "f", backend: str = "allocating",
                     **options):
    r"""Compile ``expr`` to a numpy function of ``args`` (in that order), with a docstring.

    Args:
        args: the symbols, in the order the compiled function takes them.
        expr: a SymPy expression (or a list of them) in those symbols.
        name: the compiled function's ``__name__``.
        backend: ``"allocating"`` (any arguments) or ``"inplace"`` (then ``arrays=`` names the
            array arguments; on float64 arrays of one shape it evaluates into temporaries it
            owns, otherwise it calls the allocating code).
        options: the backend's options (``arrays`` for ``inplace``); common subexpressions are
            always eliminated.

    Returns:
        A function ``f(*arrays)`` that broadcasts like numpy.
    """
    args = list(args)
    missing = sp.sympify(expr).free_symbols - set(args) if not isinstance(expr, (list, tuple)) else set()
    if missing:
        names = ", ".join(sorted(map(str, missing)))
        raise ValueError(f"the expression uses {names}, which is not among the arguments {args}")
    if backend not in ("allocating", "inplace"):
        raise ValueError(f"{backend=} does not compile expressions; use 'allocating' or 'inplace'")
    function = _backend(backend).compile(args, expr, cse=True, **options)
    function.__name__ = name
    signature = ", ".join(str(a) for a in args)
    function.__doc__ = (
        f"{name}({signature})\n\n"
        f"Arguments, in order: {signature} (numpy arrays, broadcast together).\n\n"
        f"Computes: $${latex(expr)}$$\n"
    )
    return function
