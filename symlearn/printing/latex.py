r"""A LaTeX printer for derivations.

It extends SymPy's ``LatexPrinter`` through its ``_print_<Class>`` hooks only:

* every derivative is a partial, ``\frac{\partial L}{\partial w_{1}}`` (SymPy prints ``d`` when the
  expression has one free symbol, and a course on gradients means the partial);
* the derivative of a compound expression is written as the course writes it,
  ``\frac{\partial}{\partial w_1}\left\{ \dots \right\}``;
* a matrix sum prints its positive terms first (``y - X theta``);
* matrix symbols are bold (``\mathbf{X}``, ``\boldsymbol{\theta}``);
* a Float made with few significant digits (a rounded value on display) keeps its trailing
  zeros, ``3.00``;
* in a product, plain factors come before sums, so
  ``diff(sigmoid(z), z)`` prints as ``\sigma(z) (1 - \sigma(z))``;
* a step function says what it is: ``Heaviside(u, 0)`` is the indicator
  ``\mathbf{1}[u > 0]``, ``Heaviside(u, 1)`` is ``\mathbf{1}[u \geq 0]`` (SymPy prints
  ``\theta(u, 0)``, which a reader takes for a function called theta).
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

__all__ = ["SymlearnLatexPrinter", "latex"]

_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega",
}


def _is_sum_like(factor: sp.Expr) -> bool:
    base = factor.base if factor.is_Pow else factor
    return isinstance(base, sp.Add)


class SymlearnLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the conventions of a derivation document."""

    printmethod = "_latex"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        denominator = []
        order = 0
        for variable, count in expr.variable_count:
            order += count
            var = self._print(variable)
            denominator.append(rf"\partial {var}" if count == 1 else rf"\partial {var}^{{{count}}}")
        numerator = r"\partial" if order == 1 else rf"\partial^{{{order}}}"
        target = expr.expr
        if isinstance(target, (sp.Symbol, sp.MatrixSymbol, sp.Indexed)):
            return rf"\frac{{{numerator} {self._print(target)}}}{{{' '.join(denominator)}}}"
        operator = rf"\frac{{{numerator}}}{{{' '.join(denominator)}}}"
        return rf"{operator} \left\{{ {self._print(target)} \right\}}"

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        name = str(expr.name)
        head, _, rest = name.partition("_")
        if head in _GREEK:
            body = rf"\boldsymbol{{\{head}}}"
        else:
            body = rf"\mathbf{{{head}}}"
        return body if not rest else rf"{body}_{{{rest}}}"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        # Positive terms first, in their order, then the negative ones: y - X theta, not
        # -X theta + y.
        terms = sorted(expr.args, key=lambda t: t.could_extract_minus_sign())
        tex = self._print(terms[0])
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                tex += " - " + self.parenthesize(-term, PRECEDENCE["Add"], strict=False)
            else:
                tex += " + " + self.parenthesize(term, PRECEDENCE["Add"], strict=False)
        return tex

    def _print_Float(self, expr: sp.Float) -> str:
        # A Float made with few significant digits is a displayed, rounded number ("3.00",
        # "-0.1966"): print every digit it was given, trailing zeros included.
        if expr._prec < 50:  # fewer than ~15 significant digits: deliberately rounded
            saved, self._settings["full_prec"] = self._settings["full_prec"], True
            try:
                return super()._print_Float(expr)
            finally:
                self._settings["full_prec"] = saved
        return super()._print_Float(expr)

    def _print_Heaviside(self, expr, exp=None) -> str:
        argument = self._print(expr.args[0])
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if at_zero == 0:
            tex = rf"\mathbf{{1}}\left[{argument} > 0\right]"
        elif at_zero == 1:
            tex = rf"\mathbf{{1}}\left[{argument} \geq 0\right]"
        else:  # the half-maximum convention: the Heaviside function, by its usual name
            tex = rf"H\left({argument}\right)"
        return rf"\left({tex}\right)^{{{exp}}}" if exp is not None else tex

    def _print_Mul(self, expr: sp.Mul) -> str:
        factors = list(expr.as_ordered_factors())
        reordered = sorted(factors, key=_is_sum_like)  # stable: keeps SymPy's order otherwise
        if reordered == factors or factors[0].is_Number:
            return super()._print_Mul(expr)
        # Print the reordered product as written, without letting SymPy re-sort it.
        saved, self._settings["order"] = self._settings["order"], "none"
        try:
            return super()._print_Mul(sp.Mul(*reordered, evaluate=False))
        finally:
            self._settings["order"] = saved


def latex(expr, **settings) -> str:
    """Print ``expr`` as LaTeX with symlearn's conventions (see :class:`SymlearnLatexPrinter`)."""
    return SymlearnLatexPrinter(settings).doprint(expr)
