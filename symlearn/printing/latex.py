r"""A LaTeX printer for derivations.

It extends SymPy's ``LatexPrinter`` through its ``_print_<Class>`` hooks only:

* every derivative is a partial, ``\frac{\partial L}{\partial w_{1}}`` (SymPy prints ``d`` when the
  expression has one free symbol, and a course on gradients means the partial);
* the derivative of a compound expression is written as the course writes it,
  ``\frac{\partial}{\partial w_1}\left\{ \dots \right\}``;
* a matrix sum prints its positive terms first (``y - X theta``);
* matrix symbols are bold (``\mathbf{X}``, ``\boldsymbol{\theta}``, ``\mathbf{W}^{(2)}``), except a
  $1 \times 1$ one, which is a scalar (a matrix graph's loss);
* a Float made with few significant digits (a rounded value on display) keeps its trailing
  zeros, ``3.00``;
* in a product, plain factors come before sums, so
  ``diff(sigmoid(z), z)`` prints as ``\sigma(z) (1 - \sigma(z))``;
* a function applied entrywise to a matrix is written as applied to it, ``\sigma(\mathbf{X}
  \mathbf{w})``;
* a step function says what it is: ``Heaviside(u, 0)`` is the indicator
  ``\mathbf{1}[u > 0]``, ``Heaviside(u, 1)`` is ``\mathbf{1}[u \geq 0]`` (SymPy prints
  ``\theta(u, 0)``, which a reader takes for a function called theta).
"""

from __future__ import annotations

import re

import sympy as sp
from mpmath import libmp as mlib
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

__all__ = ["SymlearnLatexPrinter", "latex", "rounded_number"]

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
        if expr.shape == (1, 1):  # a scalar (the loss of a matrix graph): not bold
            return self._print(sp.Symbol(name))
        # A superscript is a label, not part of the letter: "W^{(2)}" is \mathbf{W}^{(2)} and
        # "\delta^{(2)}" is \boldsymbol{\delta}^{(2)} (\mathbf of a Greek letter prints it upright,
        # not bold).
        letters = re.match(r"\\?([A-Za-z]+)(\^.*)$", name, re.DOTALL)
        if letters is not None:
            head, rest = letters.groups()
            return self._bold(head) + rest
        head, _, rest = name.partition("_")
        body = self._bold(head)
        return body if not rest else rf"{body}_{{{rest}}}"

    @staticmethod
    def _bold(head: str) -> str:
        if head in _GREEK:
            return rf"\boldsymbol{{\{head}}}"
        return rf"\mathbf{{{head}}}"

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
        return _float_tex(expr)

    def _print_Rational(self, expr: sp.Rational) -> str:
        decimal = _short_decimal(expr)
        return decimal if decimal is not None else super()._print_Rational(expr)

    def _print_Pow(self, expr: sp.Pow) -> str:
        # A base printed as a decimal or a power of ten needs no parentheses: 0.96^{t},
        # not (24/25)^{t}; (10^{-8})^{t} keeps them.
        base = expr.base
        if isinstance(base, sp.Rational) and base > 0 and not base.is_Integer:
            decimal = _short_decimal(base)
            if decimal is not None and "^" not in decimal:
                return f"{decimal}^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)

    def _print_ElementwiseApplyFunction(self, expr) -> str:
        # A function of one variable applied to every entry is written as applied to the
        # matrix, sigma(X w), as texts and PyTorch write it (SymPy prints a lambda with a
        # composition sign); any other body keeps SymPy's explicit form.
        function = expr.function
        if isinstance(function, sp.Lambda) and len(function.variables) == 1:
            (variable,) = function.variables
            body = function.expr
            if isinstance(body, sp.Function) and body.args == (variable,):
                placeholder = sp.Symbol(self._print(expr.expr))
                return self._print(body.func(placeholder))
        return super()._print_ElementwiseApplyFunction(expr)

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


def _scientific(mantissa: str, exponent: int) -> str:
    r"""``1.5``, -5 -> ``1.5 \cdot 10^{-5}``; a mantissa of 1 is left out: ``10^{-8}``."""
    if mantissa in {"1", "-1"}:
        return ("-" if mantissa == "-1" else "") + f"10^{{{exponent}}}"
    return rf"{mantissa} \cdot 10^{{{exponent}}}"


def _decimal_tex(text: str) -> str:
    """A decimal string (``"-0.0"``, ``"4.00"``, ``"1.5e-05"``) as LaTeX: no trailing dot, an
    exponent as a power of ten, a negative zero as 0."""
    mantissa, _, exponent = text.lower().partition("e")
    mantissa = mantissa.removesuffix(".")
    if mantissa.lstrip("-").strip("0.") == "":
        return "0"
    if exponent:
        return _scientific(mantissa, int(exponent))
    return mantissa


def _float_tex(value: sp.Float) -> str:
    r"""A Float as a reader should see it.

    * A Float made with fewer significant digits than a double (``Float("0.20", 2)``) states its
      digits: it is a rounded value on display and prints every digit it was given, trailing zeros
      included ("-0.20", as the course writes a rounded number) -- unless every decimal is zero:
      ``Float("-4.00", 3)`` is the whole number -4 and prints as ``-4``, never "-4.00".
    * A double (53 bits, a Python float) prints in its shortest round-trip form (``repr``):
      0.9 is "0.9"; 3.9999999999999996 stays that, it is not 4; 4.0 is the whole number "4".
    * More precise Floats print their own digits, trailing zeros dropped.
    """
    precision = value._prec
    if not sp.Float(value).is_finite:
        return sp.latex(value)
    if precision < 53:
        digits = mlib.libmpf.prec_to_dps(precision)
        text = mlib.to_str(value._mpf_, digits, strip_zeros=False)
        mantissa, _, exponent = text.partition("e")
        if "." in mantissa and mantissa.split(".")[1].strip("0") == "":
            mantissa = mantissa.split(".")[0]  # a whole number: no decimals to state
        return _decimal_tex(mantissa + (f"e{exponent}" if exponent else ""))
    if precision == 53:
        number = float(value)
        if number.is_integer() and abs(number) < 1e16:
            return str(int(number))
        text = repr(number)
        mantissa, _, exponent = text.partition("e")
        if not exponent and abs(number) < 1e-4:
            text = f"{number:e}"  # 1e-05, not 0.00001
            mantissa, _, exponent = text.partition("e")
            mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
            text = repr(float(f"{mantissa}e{exponent}"))  # shortest form of the same double
            if float(text) != number:  # the mantissa lost digits: keep Python's own form
                text = repr(number)
        return _decimal_tex(text)
    digits = mlib.libmpf.prec_to_dps(precision)
    return _decimal_tex(mlib.to_str(value._mpf_, digits, strip_zeros=True))


def _short_decimal(value: sp.Rational) -> str | None:
    r"""An exact rational as a decimal when that is the shorter exact form: a denominator of
    at least 10 that divides a power of ten and at most 4 significant digits (24/25 -> "0.96",
    1/10 -> "0.1"); a power of ten as ``10^{-8}``. ``None`` keeps the fraction (1/2, 3/4, 1/3)."""
    p, q = int(value.p), int(value.q)
    if q < 10:
        return None
    twos = fives = 0
    rest = q
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        return None
    places = max(twos, fives)
    scaled = p * 10**places // q  # exact: q divides 10**places
    if abs(p) == 1 and q == 10**places and places > 3:
        return ("-" if p < 0 else "") + f"10^{{{-places}}}"
    significant = str(abs(scaled)).strip("0")
    if len(significant) > 4:
        return None
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def rounded_number(value, decimals: int) -> sp.Number:
    """``value`` for display, to at most ``decimals`` decimals.

    A whole number is an Integer (-4 prints "-4", never "-4.00"). A value with at most
    ``decimals`` decimals is shown with its own digits (the float 0.9, the double nearest the
    decimal 0.9, prints "0.9"; 24/25 prints "0.96"); any other is rounded, and the Float returned
    states the digits of the rounding (2/3 to 2 decimals prints "0.67", 0.196 "0.20"). A relation
    beside it is "=" when the value is exact and "approx" when rounded
    (:class:`~symlearn.derivation.Rounded` enforces it).
    """
    exact = value if isinstance(value, sp.Basic) else sp.sympify(value)
    if exact.is_Integer:
        return sp.Integer(exact)
    number = float(exact) if isinstance(exact, sp.Float) else float(sp.N(exact, 30))
    text = f"{number:.{decimals}f}"
    if isinstance(exact, sp.Float):
        short = float(text) == number
    else:
        short = bool(exact.is_Rational) and sp.Rational(text) == exact
    if short:
        text = text.rstrip("0").rstrip(".") if "." in text else text
        if text.lstrip("-").isdigit():
            return sp.Integer(int(text))
    significant = len(text.lstrip("-").replace(".", "").lstrip("0"))
    return sp.Float(text, max(significant, 1))  # a non-zero value rounding to 0 prints "0"


def latex(expr, **settings) -> str:
    """Print ``expr`` as LaTeX with symlearn's conventions (see :class:`SymlearnLatexPrinter`)."""
    return SymlearnLatexPrinter(settings).doprint(expr)
