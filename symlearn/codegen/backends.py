r"""The backends: interchangeable ways from SymPy expressions to a numpy function, behind one
interface.

================  ==========================================  ====================================
backend           what it generates                           for
================  ==========================================  ====================================
``allocating``    ``sympy.lambdify`` with the stable printer  any expressions, any argument types
                  (one numpy expression per subexpression)
``inplace``       statements that write into temporaries the  elementwise losses and optimizer
                  function owns (few allocations)             steps on float64 arrays of one shape
``graph``         a model's named matrix intermediates and    matrix-form models (training, export
                  adjoints, one statement each (BLAS calls)   of a trained model)
================  ==========================================  ====================================

Each is a :class:`Backend`: ``source(args, exprs, **options)`` returns the code as text, and
``compile(args, exprs, **options)`` the function that runs exactly that code. Every backend prints
the expressions after the same rewrite passes (:mod:`symlearn.codegen.rewrite`) with the same
printers (:mod:`symlearn.codegen.printer`, :mod:`symlearn.codegen.matrix`), so they agree with each
other (``tests/test_compile.py`` runs them against each other) and with the exported modules.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["BACKENDS", "Backend", "backend"]


@runtime_checkable
class Backend(Protocol):
    """A way from SymPy to a numpy function.

    ``args`` are the symbols in the order the function takes them; ``exprs`` an expression or a
    list (or tuple) of them (for ``graph``: a :class:`~symlearn.calculus.matrix.MatrixGraph`,
    with ``wrt=`` the symbols to differentiate by); ``options`` are the backend's own.
    """

    name: str

    def source(self, args: Sequence, exprs, **options) -> str:
        """The generated code, as text."""
        ...

    def compile(self, args: Sequence, exprs, **options) -> Callable:
        """The function that runs :meth:`source`'s code."""
        ...


class _Allocating:
    """``sympy.lambdify`` with :class:`~symlearn.codegen.printer.StableNumPyPrinter`, after the
    stable rewrites. Options: ``cse`` (``False``, ``True`` or a function, as for lambdify)."""

    name = "allocating"

    def compile(self, args: Sequence, exprs, *, cse=False) -> Callable:
        from .allocating import lambdify_stable

        return lambdify_stable(args, exprs, cse=cse)

    def source(self, args: Sequence, exprs, *, cse=False) -> str:
        # lambdify prints and executes in one call; its text is what it registered in linecache.
        return inspect.getsource(self.compile(args, exprs, cse=cse))


class _Inplace:
    """Temporaries written in place (:mod:`symlearn.codegen.inplace`). Options: ``arrays`` (the
    array arguments, required), ``cse``, ``constants`` (``{symbol: value}``, fixed for the
    function's life)."""

    name = "inplace"

    def compile(self, args: Sequence, exprs, *, arrays, cse=False, constants=None) -> Callable:
        from .inplace import lambdify_inplace

        return lambdify_inplace(args, exprs, arrays=arrays, cse=cse, constants=constants)

    def source(self, args: Sequence, exprs, *, arrays, cse=False, constants=None) -> str:
        """The in-place function's text (without the guard and the allocating fallback that
        :meth:`compile` adds around it): ``def _inplace(...)``."""
        from .inplace import inplace_source

        code = inplace_source(args, exprs, arrays=arrays, cse=cse, constants=constants or {})
        signature = ", ".join(n for n in code.names if n not in code.fixed)
        body = "\n".join(f"    {line}" for line in code.lines)
        return f"def _inplace({signature}):\n{body}\n"


class _Graph:
    """A :class:`~symlearn.calculus.matrix.MatrixGraph`'s forward and backward assignments
    (:mod:`symlearn.codegen.graph`). Options: ``wrt`` (required), ``name``. :meth:`compile` is
    ``graph.compile`` (:func:`symlearn.calculus.matrix.compile_graph`), which checks the rule table's gradients
    before it returns any code; :meth:`source` prints the same code, unchecked and not executed."""

    name = "graph"

    def compile(self, args: Sequence, graph, *, wrt: Sequence, name: str = "loss_and_grad"):
        # The graph's own compile (calculus.matrix.compile_graph): the check lives with the rule
        # table, above this layer, so it is reached through the object, not imported.
        return graph.compile(args, wrt, name=name)

    def source(self, args: Sequence, graph, *, wrt: Sequence, name: str = "loss_and_grad") -> str:
        from .graph import loss_and_grad_source

        return loss_and_grad_source(graph, args, wrt, name=name)


#: The backends by name.
BACKENDS: dict[str, Backend] = {b.name: b for b in (_Allocating(), _Inplace(), _Graph())}


def backend(name: str) -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`)."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"{name=} is not a backend; choose one of {sorted(BACKENDS)}") from None
