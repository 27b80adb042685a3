r"""SymPy functions the loss catalog needs beyond :mod:`symlearn.functions`.

* :class:`xlogy` -- $x \log y$ with the convention $0 \log 0 = 0$ (``torch.xlogy``), the entropy
  term of the KL divergence;
* :class:`logsumexp` -- $\log \sum_i e^{a_i}$, the normalizer of softmax cross-entropy;
* :class:`elementsum` and :class:`inner` -- $\sum_i u_i$ and $\sum_i u_i v_i$ over every element
  of an array: the reduction of a compiled loss, written into the compiled expression so that a
  sum of products is one BLAS dot product and no elementwise product is formed.

Each declares ``fdiff`` (so ``sympy.diff`` applies the chain rule through it), a rewrite to
elementary functions (so the derivation checks can compare forms), and ``_latex``. Stable numpy
code for them comes from :class:`symlearn.codegen.printer.StableNumPyPrinter`.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import ArgumentIndexError

__all__ = ["elementsum", "inner", "logsumexp", "softmax", "xlogy"]


class xlogy(sp.Function):
    r"""$x \log y$, defined as $0$ when $x = 0$ (as ``torch.xlogy`` and ``scipy.special.xlogy``)."""

    nargs = 2
    elementwise = True  # printed as numpy calls that return a new array (codegen.inplace)

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        x, y = self.args
        if argindex == 1:
            return sp.log(y)
        if argindex == 2:
            return x / y
        raise ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(y)

    def _eval_evalf(self, prec):
        return (self.args[0] * sp.log(self.args[1]))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        x, y = (printer._print(a) for a in self.args)
        body = rf"{x} \log\left({y}\right)"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


class logsumexp(sp.Function):
    r"""$\operatorname{logsumexp}(a_1, \dots, a_n) = \log \sum_i e^{a_i}$.

    Its partial derivative in $a_k$ is $\operatorname{softmax}_k(a) = e^{a_k - \operatorname{logsumexp}(a)}$.
    """

    elementwise = True

    @classmethod
    def eval(cls, *args):
        if len(args) == 1:
            return args[0]
        return None

    def fdiff(self, argindex=1):
        if not 1 <= argindex <= len(self.args):
            raise ArgumentIndexError(self, argindex)
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return sp.log(sp.Add(*[sp.exp(a) for a in args]))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_exp(*self.args)._eval_evalf(prec)

    def _eval_is_extended_real(self):
        return all(a.is_extended_real for a in self.args) or None

    def _latex(self, printer, exp=None):
        inner = ", ".join(printer._print(a) for a in self.args)
        head = r"\operatorname{logsumexp}" if exp is None else rf"\operatorname{{logsumexp}}^{{{exp}}}"
        return rf"{head}\left({inner}\right)"


def softmax(k: int, *args):
    r"""$\operatorname{softmax}_k(a) = e^{a_k - \operatorname{logsumexp}(a)}$ (``k`` counts from 0)."""
    return sp.exp(args[k] - logsumexp(*args))


class elementsum(sp.Function):
    r"""$\sum_i u_i$ over every element of the array $u$ (printed ``(u).sum()``)."""

    nargs = 1
    reduces = True  # a scalar of array operands (symlearn.codegen.inplace)

    def _latex(self, printer, exp=None):
        body = rf"\sum_i {printer.parenthesize(self.args[0], 1000)}_i"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


class inner(sp.Function):
    r"""$\langle u, v\rangle = \sum_i u_i v_i$ over every element of two arrays of one shape
    (printed ``numpy.vdot(u, v)``, one BLAS call that forms no product array)."""

    nargs = 2
    reduces = True

    def _latex(self, printer, exp=None):
        u, v = (printer._print(a) for a in self.args)
        body = rf"\left\langle {u}, {v}\right\rangle"
        return body if exp is None else rf"{body}^{{{exp}}}"
