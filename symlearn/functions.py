r"""Activation functions as SymPy ``Function`` subclasses.

Each class declares its derivative through ``fdiff``, so ``sympy.diff`` applies the chain rule
through it and keeps the result readable: ``diff(sigmoid(z), z)`` is
:math:`\sigma(z)\,(1 - \sigma(z))`, not a heap of exponentials. Each also declares

* ``_eval_rewrite_as_exp`` (or ``_eval_rewrite_as_Max`` / ``Piecewise`` for ``relu``), the form that
  the tests differentiate independently with ``sympy.diff``;
* ``_latex``, the form a textbook prints;
* numeric evaluation: a ``Float`` argument evaluates at once, and ``evalf`` works at any precision
  through the exponential form (mpmath), so ``sigmoid(-1000).evalf()`` is a tiny positive number.

``tanh`` is SymPy's own. Stable numpy code for these functions comes from
:class:`symlearn.codegen.printer.StableNumPyPrinter`, not from their exponential forms.
"""

from __future__ import annotations

import sympy as sp
from sympy import S
from sympy.core.function import ArgumentIndexError

__all__ = ["sigmoid", "softplus", "relu", "log_sigmoid", "log2", "ACTIVATIONS"]


def _wrap(printer, name: str, arg, exp=None) -> str:
    """``name(arg)``, raised to ``exp`` the way SymPy prints ``\\sin^{2}(x)``."""
    inner = printer._print(arg)
    head = name if exp is None else f"{name}^{{{exp}}}"
    return rf"{head}\left({inner}\right)"


class _Activation(sp.Function):
    """Shared behaviour of the scalar activations: one argument, real for real input."""

    nargs = 1

    def _first_derivative(self, x):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return self._first_derivative(self.args[0])

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_evalf(self, prec):
        # Evaluate through the exponential form in mpmath at the requested precision;
        # mpmath has no overflow, so sigmoid(-1000) is a correct tiny number.
        form = self._evalf_form()
        if form is None:
            return None
        return form._eval_evalf(prec)

    def _evalf_form(self):
        return self.rewrite(sp.exp)


class sigmoid(_Activation):
    r"""The logistic sigmoid, $\sigma(x) = \frac{1}{1 + e^{-x}}$, with $\sigma'(x) = \sigma(x)(1 - \sigma(x))$."""

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return S.Half
        if x is S.Infinity:
            return S.One
        if x is S.NegativeInfinity:
            return S.Zero
        if x.is_Float:
            return 1 / (1 + sp.exp(-x))
        return None

    def _first_derivative(self, x):
        return sigmoid(x) * (1 - sigmoid(x))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_rewrite_as_tanh(self, x, **kwargs):
        return (1 + sp.tanh(x / 2)) / 2

    def _eval_is_positive(self):
        if self.args[0].is_extended_real:
            return True
        return None

    def _latex(self, printer, exp=None):
        return _wrap(printer, r"\sigma", self.args[0], exp)


class softplus(_Activation):
    r"""Softplus, $\operatorname{softplus}(x) = \log(1 + e^{x})$, with derivative $\sigma(x)$."""

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return sp.log(2)
        if x is S.Infinity:
            return S.Infinity
        if x is S.NegativeInfinity:
            return S.Zero
        if x.is_Float:
            return sp.log(1 + sp.exp(x))
        return None

    def _first_derivative(self, x):
        return sigmoid(x)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_is_positive(self):
        if self.args[0].is_extended_real:
            return True
        return None

    def _latex(self, printer, exp=None):
        return _wrap(printer, r"\operatorname{softplus}", self.args[0], exp)


class relu(_Activation):
    r"""The rectifier, $\operatorname{relu}(x) = \max(0, x)$.

    Its derivative is the step $H(x)$ with $H(0) = 0$: the subgradient PyTorch's autograd uses at
    the kink (``torch.relu`` backward gives 0 at 0).
    """

    @classmethod
    def eval(cls, x):
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_nonpositive:
            return S.Zero
        return None

    def _first_derivative(self, x):
        return sp.Heaviside(x, 0)

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(0, x)

    def _eval_rewrite_as_Piecewise(self, x, **kwargs):
        return sp.Piecewise((x, x > 0), (0, True))

    def _eval_rewrite_as_Heaviside(self, x, **kwargs):
        return x * sp.Heaviside(x, 0)

    def _eval_is_nonnegative(self):
        if self.args[0].is_extended_real:
            return True
        return None

    def _evalf_form(self):
        return sp.Max(0, self.args[0])

    def _latex(self, printer, exp=None):
        return _wrap(printer, r"\operatorname{relu}", self.args[0], exp)


class log_sigmoid(_Activation):
    r"""$\log \sigma(x) = -\operatorname{softplus}(-x)$, with derivative $1 - \sigma(x)$."""

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return -sp.log(2)
        if x is S.Infinity:
            return S.Zero
        if x is S.NegativeInfinity:
            return S.NegativeInfinity
        if x.is_Float:
            return -sp.log(1 + sp.exp(-x))
        return None

    def _first_derivative(self, x):
        return 1 - sigmoid(x)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return -sp.log(1 + sp.exp(-x))

    def _eval_rewrite_as_sigmoid(self, x, **kwargs):
        return sp.log(sigmoid(x))

    def _eval_rewrite_as_softplus(self, x, **kwargs):
        return -softplus(-x)

    def _eval_is_negative(self):
        if self.args[0].is_extended_real:
            return True
        return None

    def _latex(self, printer, exp=None):
        inner = printer._print(self.args[0])
        head = r"\log \sigma" if exp is None else rf"\left(\log \sigma\right)^{{{exp}}}"
        return rf"{head}\left({inner}\right)"


class log2(sp.Function):
    r"""The base-2 logarithm, kept as written ($\log_2 \tfrac34$, not $\log 3/\log 2 - 2$) so
    that a document shows the bits the way the course writes them. ``doit()`` and ``evalf``
    give SymPy's ``log(x, 2)``."""

    nargs = 1

    def doit(self, **hints):
        arg = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        return sp.log(arg) / sp.log(2)

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return 1 / (self.args[0] * sp.log(2))

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(x) / sp.log(2)

    def _eval_evalf(self, prec):
        return (sp.log(self.args[0]) / sp.log(2))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _wrap(printer, r"\log_2", self.args[0], exp)


#: Every activation by its name, for tables of cases (tests, documents, benchmarks).
ACTIVATIONS: dict[str, type[sp.Function]] = {
    "sigmoid": sigmoid,
    "softplus": softplus,
    "relu": relu,
    "log_sigmoid": log_sigmoid,
    "tanh": sp.tanh,
}
