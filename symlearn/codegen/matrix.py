r"""A NumPy printer for matrix expressions with elementwise activations and row reductions.

Extends :class:`~symlearn.codegen.printer.StableNumPyPrinter` through ``_print_<Class>`` hooks:

* ``f(A)`` elementwise prints the scalar printer's stable form of ``f`` applied to the array;
* products with a ones-matrix print as sums and broadcasts (``1^T G`` is ``G.sum(axis=0)``), not
  as multiplications by a matrix of ones;
* row-wise log-sum-exp, softmax and log-softmax call the stable helpers in :data:`HELPERS`,
  which subtract the row maximum first;
* dimension symbols print as the argument shapes they come from (``n`` -> ``X.shape[0]``);
* an inverse inside a product is a linear solve (``A^{-1} B`` -> ``numpy.linalg.solve(A, B)``,
  ``B A^{-1}`` -> ``solve(A.T, B.T).T``), never an explicit inverse; ``log det A`` is ``slogdet``;
  ``tr(P Q)`` is ``(P.T * Q).sum()`` (no product is formed);
* every matrix operation prints as one parenthesized unit, so ``c * M`` inside a product is
  ``A @ (c * M)``, never ``A @ c * M``.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..matrix_functions import LogSoftmax, LogSumExp
from .printer import StableNumPyPrinter

__all__ = ["HELPERS", "MatrixNumPyPrinter", "RawCode"]

#: Stable row-wise reductions used by the printed code (numpy only).
HELPERS = '''
def _logsumexp(a):
    m = a.max(axis=1, keepdims=True)
    return m + numpy.log(numpy.exp(a - m).sum(axis=1, keepdims=True))


def _softmax(a):
    e = numpy.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax(a):
    return a - _logsumexp(a)


def _logdet(a):
    # log det A from the LU factorisation (no overflow of det itself); undefined (nan) where
    # det A <= 0, as numpy.log is for a non-positive number.
    sign, logabs = numpy.linalg.slogdet(a)
    return logabs if sign > 0 else numpy.nan
'''


def _coefficient(expr):
    """The scalar factor of a matrix term (``-2`` in ``-2 A``), else 1."""
    if isinstance(expr, sp.MatMul):
        return sp.Mul(*[a for a in expr.args if not getattr(a, "is_Matrix", False)])
    return sp.Integer(1)


def _is_row_broadcast(expr) -> bool:
    """``1_n b^T``: a ones column times a single row, with nothing else in the product."""
    return (
        isinstance(expr, sp.MatMul)
        and len(expr.args) == 2
        and isinstance(expr.args[0], sp.OneMatrix)
        and expr.args[0].shape[1] == 1
        and expr.args[1].shape[0] == 1
    )


class RawCode(sp.Symbol):
    """A symbol that prints as the code it is named by (an already printed array expression)."""


class _Printed(sp.MatrixSymbol):
    """A matrix leaf that prints as already printed code (a solve), with its shape."""


class MatrixNumPyPrinter(StableNumPyPrinter):
    """Prints matrix expressions as numpy array code; ``dims`` maps dimension symbols to code."""

    def __init__(self, settings=None, dims=None, named=None):
        super().__init__(settings)
        self._dims = dict(dims or {})
        # Definitions already computed under a name (the graph's intermediates): print the name.
        self._named = dict(named or {})

    def _print(self, expr, **kwargs) -> str:
        if expr in self._named:
            return self._named[expr]
        return super()._print(expr, **kwargs)

    def _print_RawCode(self, expr) -> str:
        return expr.name

    def _print_Symbol(self, expr) -> str:
        if expr in self._dims:
            return self._dims[expr]
        return super()._print_Symbol(expr)

    def _print_MatrixSymbol(self, expr) -> str:
        return expr.name

    def _shape(self, expr) -> str:
        rows, cols = expr.shape
        return f"({self._print(rows)}, {self._print(cols)})"

    def _print_OneMatrix(self, expr) -> str:
        return f"{self._np('ones')}({self._shape(expr)})"

    def _print_Identity(self, expr) -> str:
        return f"{self._np('eye')}({self._print(expr.shape[0])})"

    def _print_ZeroMatrix(self, expr) -> str:
        return f"{self._np('zeros')}({self._shape(expr)})"

    def _print_Transpose(self, expr) -> str:
        return f"({self._print(expr.arg)}).T"

    def _print_MatAdd(self, expr) -> str:
        # A broadcast bias 1 b^T added to a full-shape term is numpy broadcasting: print b.
        full = [a for a in expr.args if not _is_row_broadcast(a)]
        # Positive terms first; a negative term prints as a subtraction, not a multiplication by -1.
        ordered = sorted(expr.args, key=lambda a: _coefficient(a).could_extract_minus_sign())
        code = ""
        for a in ordered:
            negative = _coefficient(a).could_extract_minus_sign()
            term = -a if negative else a
            text = self._print(term.args[-1]) if _is_row_broadcast(term) and full else self._print(term)
            code += (" - " if negative else (" + " if code else "")) + text
        return f"({code})"

    def _print_HadamardProduct(self, expr) -> str:
        return "(" + " * ".join(f"({self._print(a)})" for a in expr.args) + ")"

    def _print_Heaviside(self, expr) -> str:
        # H(x) with H(0) = 0 (PyTorch's relu subgradient) is the comparison x > 0.
        if len(expr.args) == 2 and expr.args[1] == 0:
            return f"{self._np('greater')}({self._print(expr.args[0])}, 0)"
        return super()._print_Heaviside(expr)

    def _print_ElementwiseApplyFunction(self, expr: ElementwiseApplyFunction) -> str:
        variable = expr.function.variables[0]
        body = expr.function.expr
        # f'(Z) written with f(Z) inside (sigma' = sigma (1 - sigma)) reuses a named f(Z).
        for definition, name in self._named.items():
            if isinstance(definition, ElementwiseApplyFunction) and definition.expr == expr.expr:
                inner = definition.function.expr.xreplace({definition.function.variables[0]: variable})
                body = body.xreplace({inner: RawCode(name)})
        body = body.xreplace({variable: RawCode(f"({self._print(expr.expr)})")})
        return f"({self._print(body)})"

    # Reductions print as array methods: ``a.sum(...)`` costs a third of ``numpy.sum(a, ...)`` on
    # the small arrays of a mini-batch (no Python-level dispatch).
    def _print_MatSum(self, expr) -> str:
        return f"({self._print(expr.arg)}).sum(keepdims=True)"

    def _print_LogSumExp(self, expr) -> str:
        return f"_logsumexp({self._print(expr.arg)})"

    def _print_Softmax(self, expr) -> str:
        # softmax(A) = exp(A - logsumexp(A)) reuses a log-sum-exp already computed.
        if LogSumExp(expr.arg) in self._named:
            return f"{self._np('exp')}({self._print(expr.arg)} - {self._named[LogSumExp(expr.arg)]})"
        if LogSoftmax(expr.arg) in self._named:
            return f"{self._np('exp')}({self._named[LogSoftmax(expr.arg)]})"
        return f"_softmax({self._print(expr.arg)})"

    def _print_LogSoftmax(self, expr) -> str:
        return f"_log_softmax({self._print(expr.arg)})"

    def _print_MatMul(self, expr) -> str:
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        matrices = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        matrices = self._solve_inverses(matrices)
        code, shape = self._print(matrices[0]), matrices[0].shape
        first_is_ones = isinstance(matrices[0], sp.OneMatrix)
        for factor in matrices[1:]:
            rows, cols = shape[0], factor.shape[1]
            if isinstance(factor, sp.Identity):
                pass
            elif isinstance(factor, sp.OneMatrix):
                # A 1 (k x m): the row sums of A, repeated m times.
                code = f"({code}).sum(axis=1, keepdims=True)"
                if cols != 1:
                    code = f"{self._np('broadcast_to')}({code}, ({self._print(rows)}, {self._print(cols)}))"
            elif first_is_ones:
                # 1 (n x k) B: the column sums of B, repeated n times.
                inner = self._print(factor)
                code = inner if factor.shape[0] == 1 else f"({inner}).sum(axis=0, keepdims=True)"
                if rows != 1:
                    code = f"{self._np('broadcast_to')}({code}, ({self._print(rows)}, {self._print(cols)}))"
            else:
                code = f"({code} @ {self._print(factor)})"
            first_is_ones = False
            shape = (rows, cols)
        if scalars:
            # Parenthesized as a whole: inside another product this is one operand of ``@``.
            code = f"(({self._print(sp.Mul(*scalars))}) * {code})"
        return code

    def _solve_inverses(self, matrices: list) -> list:
        """``[..., A^{-1}, B, C]`` -> ``[..., solve(A, B C)]`` and ``[P, Q, A^{-1}]`` ->
        ``[solve(A^T, (P Q)^T)^T]``, as printed-code leaves with the right shapes."""
        for position, factor in enumerate(matrices):
            if isinstance(factor, sp.Inverse) and position + 1 < len(matrices):
                rest = matrices[position + 1 :]
                right = self._print(sp.MatMul(*rest) if len(rest) > 1 else rest[0])
                code = f"{self._np('linalg.solve')}({self._print(factor.arg)}, {right})"
                solved = _Printed(code, factor.shape[0], rest[-1].shape[1])
                return self._solve_inverses(matrices[:position]) + [solved]
        if len(matrices) > 1 and isinstance(matrices[-1], sp.Inverse):
            rest, factor = matrices[:-1], matrices[-1]
            product = sp.MatMul(*rest) if len(rest) > 1 else rest[0]
            code = (f"{self._np('linalg.solve')}({self._print(factor.arg.T)}, "
                    f"{self._print(product.T)}).T")
            return [_Printed(code, rest[0].shape[0], factor.shape[1])]
        return matrices

    def _print_Inverse(self, expr) -> str:
        return f"{self._np('linalg.inv')}({self._print(expr.arg)})"

    def _print_MatPow(self, expr) -> str:
        base, exponent = expr.args
        return f"{self._np('linalg.matrix_power')}({self._print(base)}, {int(exponent)})"

    def _print_HadamardPower(self, expr) -> str:
        base, exponent = expr.args
        return f"(({self._print(base)}) ** ({self._print(exponent)}))"

    def _print_Trace(self, expr) -> str:
        arg = expr.arg
        matrices = [a for a in arg.args if getattr(a, "is_Matrix", False)] if isinstance(
            arg, sp.MatMul) else []
        if len(matrices) == 2 and len(arg.args) == 2 and not any(
                isinstance(m, (sp.Inverse, sp.OneMatrix)) for m in matrices):
            # tr(P Q) = sum(P^T o Q): no matrix product is formed.
            P, Q = matrices
            return f"(({self._print(P)}).T * ({self._print(Q)})).sum()"
        return f"{self._np('trace')}({self._print(arg)})"

    def _print_Determinant(self, expr) -> str:
        return f"{self._np('linalg.det')}({self._print(expr.arg)})"

    def _print_log(self, expr) -> str:
        if isinstance(expr.args[0], sp.Determinant):
            return f"_logdet({self._print(expr.args[0].arg)})"
        return super()._print_log(expr)

    def _print_FrobeniusNorm(self, expr) -> str:
        return f"{self._np('linalg.norm')}({self._print(expr.arg)})"

    def _print_MatrixElement(self, expr) -> str:
        return f"({self._print(expr.parent)})[{int(expr.i)}, {int(expr.j)}]"
