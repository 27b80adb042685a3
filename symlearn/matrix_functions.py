r"""Matrix functions as SymPy nodes: row-wise reductions and norms of matrix expressions.

The nodes the matrix rule table (:mod:`symlearn.calculus.matrix`) differentiates and the matrix
printer (:mod:`symlearn.codegen.matrix`) prints, kept apart from both so that neither imports the
other, as :mod:`symlearn.functions` holds the scalar activations:

=================================  ==================================================  ===========
node                               value                                                shape
=================================  ==================================================  ===========
``MatSum(A)``                      $\sum_{ij} A_{ij}$                                   $1 \times 1$
``LogSumExp(A)``                   $\log \sum_j e^{A_{ij}}$, row by row                  $n \times 1$
``Softmax(A)``                     $e^{A_{ij}} / \sum_k e^{A_{ik}}$                      $A$'s
``LogSoftmax(A)``                  $A_{ij} - \log \sum_k e^{A_{ik}}$                     $A$'s
``FrobeniusNorm(A)`` (``norm``)    $\sqrt{\sum_{ij} A_{ij}^2}$ (a scalar)                --
``elementwise(f, A)``              $f(A_{ij})$                                         $A$'s
=================================  ==================================================  ===========

Each expands entry by entry (``as_explicit``), which is how the rule table's gradients are
checked against ``sympy.diff``.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixExpr

__all__ = [
    "FrobeniusNorm",
    "LogSoftmax",
    "LogSumExp",
    "MatSum",
    "Softmax",
    "elementwise",
    "norm",
]


def _ones(rows, cols):
    return sp.OneMatrix(rows, cols)


# --------------------------------------------------------------------------------------------------
# Reductions along rows, as matrix expressions SymPy can expand entry by entry


class _Reduction(MatrixExpr):
    """A function of one matrix ``arg``; subclasses give ``shape``, ``_entry`` and ``NAME``."""

    NAME = ""

    def __new__(cls, arg):
        return super().__new__(cls, arg)

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return self.arg.shape

    def _row_exps(self, i):
        return [sp.exp(self.arg._entry(i, c)) for c in range(self.arg.shape[1])]

    def _latex(self, printer):
        return rf"\operatorname{{{self.NAME}}}\left({printer._print(self.arg)}\right)"


class MatSum(_Reduction):
    """The sum of all entries of ``A``, as a $1 \\times 1$ matrix."""

    NAME = "sum"

    @property
    def shape(self):
        return (sp.Integer(1), sp.Integer(1))

    def _entry(self, i, j, **kwargs):
        rows, cols = self.arg.shape
        return sp.Add(*[self.arg._entry(r, c) for r in range(rows) for c in range(cols)])


class LogSumExp(_Reduction):
    r"""Row-wise $\log \sum_j e^{A_{ij}}$, shape $(n, 1)$."""

    NAME = "logsumexp"

    @property
    def shape(self):
        return (self.arg.shape[0], sp.Integer(1))

    def _entry(self, i, j, **kwargs):
        return sp.log(sp.Add(*self._row_exps(i)))


class Softmax(_Reduction):
    r"""Row-wise $e^{A_{ij}} / \sum_k e^{A_{ik}}$."""

    NAME = "softmax"

    def _entry(self, i, j, **kwargs):
        return sp.exp(self.arg._entry(i, j)) / sp.Add(*self._row_exps(i))


class LogSoftmax(_Reduction):
    r"""Row-wise $A_{ij} - \log \sum_k e^{A_{ik}}$."""

    NAME = "logsoftmax"

    def _entry(self, i, j, **kwargs):
        return self.arg._entry(i, j) - sp.log(sp.Add(*self._row_exps(i)))


class FrobeniusNorm(sp.Expr):
    r"""$\|A\|_F = \sqrt{\sum_{ij} A_{ij}^2}$, a scalar; for a column vector, its 2-norm
    $\|\mathbf{x}\|_2$. Prints as ``numpy.linalg.norm(A)``."""

    is_commutative = True

    def __new__(cls, arg):
        arg = sp.sympify(arg)
        if not getattr(arg, "is_Matrix", False):
            raise TypeError(f"FrobeniusNorm takes a matrix, not {arg!r}")
        return sp.Expr.__new__(cls, arg)

    @property
    def arg(self):
        return self.args[0]

    def doit(self, **hints):
        r"""An explicit matrix gives $\sqrt{\sum_{ij} A_{ij}^2}$ written out."""
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return sp.sqrt(sp.Add(*[x**2 for x in arg]))
        return FrobeniusNorm(arg)

    def _latex(self, printer, exp=None):
        sub = "2" if self.arg.shape[1] == 1 else "F"
        core = rf"\left\|{printer._print(self.arg)}\right\|_{{{sub}}}"
        return core if exp is None else rf"{core}^{{{exp}}}"


def norm(A, ord: str | None = None) -> FrobeniusNorm:
    r"""$\|A\|_F$ (``ord=None`` or ``"fro"``), which is $\|\mathbf{x}\|_2$ for a column vector.
    The spectral norm of a matrix is not in the rule table: asking for it is an error."""
    if ord not in (None, "fro", 2):
        raise ValueError(f"ord={ord!r} is not supported; use None (Frobenius / vector 2-norm)")
    if ord == 2 and A.shape[1] != 1:
        raise ValueError("ord=2 of a matrix (the spectral norm) is not supported; use ord=None")
    return FrobeniusNorm(A)


def elementwise(function, A) -> ElementwiseApplyFunction:
    """``function`` (a SymPy function class such as ``sigmoid``) applied to every entry of ``A``."""
    return ElementwiseApplyFunction(function, A)
