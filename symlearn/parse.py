r"""Guarded LaTeX parsing: a student's formula in, a SymPy expression with symlearn's meaning out.

The LaTeX grammar itself is latex2sympy2_extended's (ANTLR). This module owns the *conventions*,
so that the parser's defaults never decide what a formula means:

* ``\log`` and ``\ln`` are the natural log (latex2sympy2_extended reads ``\log`` as base 10);
  ``\log_2`` / ``\log_{10}`` take the numeric base written.
* ``e^{x}`` and ``\exp`` are the exponential; a bare ``e`` is Euler's number.
* ``\sigma(...)`` is symlearn's logistic :class:`~symlearn.functions.sigmoid` (the parser makes
  ``\sigma(z)`` an undefined function and ``\sigma(w x + b)`` a product); ``\sigma`` not followed
  by a parenthesis is the variable ``sigma``. ``\operatorname{softplus}(...)``,
  ``\operatorname{relu}(...)`` and ``\operatorname{sigmoid}(...)`` are the activations.
* ``\gamma`` is the variable ``gamma`` (the parser makes it Euler's constant), ``I`` and ``E`` are
  variables (not the imaginary unit or Euler's number); case is kept (``W`` is not ``w``).
* ``\hat{y}``, ``\bar{x}``, ``\tilde{x}`` are the variables ``yhat``, ``xbar``, ``xtilde``
  (SymPy prints these names back as ``\hat{y}`` ...).
* Adjacent single letters multiply: ``w_1x_1`` is :math:`w_1 x_1`; ``f(x)`` is :math:`f \cdot x`.
  Only the functions listed above (and ``\tanh``, ``\sinh``, ``\cosh``, ``\sin``, ``\cos``,
  ``\tan``, ``\sqrt``, ``|x|``, ``\max``, ``\min``) exist: a user cannot invent a function by name.
* ``\frac{\partial}{\partial w_1}\left( ... \right)`` (or ``\frac{d}{dx}( ... )``) is the
  derivative of the parenthesized expression, evaluated.
* ``\sum_{i=1}^{n} ...`` and ``\prod_{i=1}^{n} ...``; ``\sum_i`` runs from 1 to an implicit bound
  ``n_i`` (:func:`implicit_bound`). Inside, ``x_i`` is the indexed ``x[i]`` (also inside a function
  argument such as ``\sigma(w x_i)``). An index that reads as a constant (``e``, ``\pi``) is
  refused.
* ``\max`` and ``\min`` take any number of arguments and nest; ``\operatorname{sign}``,
  ``\operatorname{sgn}``, ``\mathrm{sgn}`` are the sign; ``\operatorname{erf}`` the error function.
* ``\begin{cases} v_1 & c_1 \\ v_2 & \text{otherwise} \end{cases}`` is a Piecewise (conditions are
  comparisons, chained or not, with optional words ``if``/``for``).
* Refused rather than misread: ``1e-8`` (Euler's number minus 8 to the parser; write
  ``10^{-8}``), ``0^{-1}`` and ``\log 0`` (like ``\frac{1}{0}``), more than 4 derivative operators.
* All variables are real.

Security: no user string reaches ``eval``, ``sympify``, ``parse_expr`` or SymPy's ``parse_latex``.
Before parsing, a scanner walks the string character by character and accepts only an allow-list
of characters and commands (``\input``, ``\include``, ``\def``, ``\catcode`` ... and anything
unknown are refused), limits its length, nesting and number sizes, and re-emits a canonical LaTeX
in which every variable is spelt ``\variable{name}``. After parsing, the tree is rebuilt node by
node from an allow-list of SymPy classes; anything else is refused.

Matrix form (:func:`parse_matrix_latex`, issue 13): names declared with a shape are SymPy
``MatrixSymbol`` s and products keep the order written (``^T``, ``^{-1}``, ``^{-T}``, ``\|v\|``,
``\operatorname{tr}``, ``\det``, ``\log\det``, ``\odot``, ``\mathbf{1}``, elementwise
activations, row softmax). The scalar grammar's parser cannot keep that order, so this form has
its own recursive-descent reader under the same guards (length, character allow-list, refused
commands, depth, number sizes), building SymPy objects only through constructors.

Every error is a :class:`ParseError`: one sentence naming the column and what was expected.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sympy as sp

from .functions import relu, sigmoid, softplus

__all__ = [
    "ParseError",
    "parse_latex",
    "parse_symbol",
    "parse_condition",
    "parse_definition",
    "plain_name",
    "implicit_bound",
    "MAX_LENGTH",
    "parse_matrix_latex",
    "parse_shape",
    "matrix_symbols",
    "matrix_name",
]

#: Longest accepted input, in characters: a gradient fits in far less; longer input is refused
#: before any parsing so that a hostile string cannot make the parser work for long.
MAX_LENGTH = 2000
_MAX_DEPTH = 40
_MAX_NUMBER_DIGITS = 20
_MAX_EXPONENT = 1000
_MAX_DERIVATIVES = 4  # \frac{d}{dx}( ... ) operators in one formula
_MAX_DERIVATIVE_OPS = 400  # size of the expression one of them may differentiate

GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "rho varrho sigma tau upsilon phi varphi chi psi omega "
    "Gamma Delta Theta Lambda Xi Sigma Upsilon Phi Psi Omega"
).split()
_GREEK = frozenset(GREEK)
_ACCENTS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar", "tilde": "tilde",
            "widetilde": "tilde"}
_SPACING = frozenset({"quad", "qquad", ",", ";", ":", "!", " ", "displaystyle"})
_PLAIN_FUNCTIONS = frozenset({"exp", "tanh", "sinh", "cosh", "sin", "cos", "tan", "sqrt"})
_NAMED_ACTIVATIONS = {"softplus": softplus, "sigmoid": sigmoid, "relu": relu, "ReLU": relu,
                      "sigma": sigmoid, "sign": sp.sign, "sgn": sp.sign, "erf": sp.erf}
# Summation indices that would read as a constant inside the sum (e is Euler's number).
_CONSTANT_NAMES = frozenset({"e", "pi"})
# Commands that read files, define macros or change the lexer: refused with their own message.
_DANGEROUS = frozenset({
    "input", "include", "includeonly", "def", "edef", "gdef", "xdef", "let", "catcode",
    "newcommand", "renewcommand", "providecommand", "DeclareMathOperator", "csname", "endcsname",
    "write", "immediate", "openin", "openout", "read", "usepackage", "documentclass", "special",
    "expandafter", "begin", "end", "makeatletter", "verbatim", "lstinputlisting", "loop",
})
_KNOWN_COMMANDS = sorted(
    {"frac", "dfrac", "tfrac", "cdot", "times", "left", "right", "log", "ln", "sum", "partial",
     "operatorname", "mathrm", "pi", "lvert", "rvert", "quad", "qquad", "prod", "max", "min",
     *_PLAIN_FUNCTIONS,
     *_GREEK, *_ACCENTS}
)
_ALLOWED_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t\n\r+-*/^_{}()[]|.,\\"
)
_OPEN = "([{"
_CLOSE = ")]}"
_PLACEHOLDER = "zzph"
_VARIABLE = "zzvar"


class ParseError(ValueError):
    """Malformed or refused LaTeX: one sentence naming the column (1-based) and what was expected.

    ``position`` is the 0-based character index in the string that was given.
    """

    def __init__(self, message: str, position: int = 0):
        super().__init__(message)
        self.position = position


def _col(index: int) -> str:
    return f"column {index + 1}"


def plain_name(symbol: sp.Basic) -> str:
    r"""The plain name of a variable, as used for JSON keys: ``w_1``, ``theta``, ``yhat``, ``x[2]``."""
    if isinstance(symbol, sp.Indexed):
        return f"{symbol.base}[{', '.join(str(i) for i in symbol.indices)}]"
    return str(symbol)


@dataclass
class _Emitter:
    """The canonical LaTeX being built, with the original index of every emitted character."""

    text: list
    origin: list

    def emit(self, piece: str, at: int) -> None:
        self.text.append(piece)
        self.origin.extend([at] * len(piece))

    def last_char(self) -> str:
        for piece in reversed(self.text):
            stripped = piece.rstrip()
            if stripped:
                return stripped[-1]
        return ""

    def value(self) -> str:
        return "".join(self.text)


class _Scanner:
    """Scans one user string; holds the placeholders shared by its nested groups."""

    def __init__(self, source: str, what: str):
        self.s = source
        self.what = what
        self.placeholders: dict[str, sp.Expr] = {}
        self.variables: dict[str, str] = {}  # placeholder token -> the variable's plain name
        self.bounds: set[str] = set()  # tokens of the implicit upper limits of \sum_i
        self.derivatives = 0  # derivative operators met so far

    # ---- small helpers -------------------------------------------------------------------
    def error(self, message: str, at: int) -> ParseError:
        return ParseError(f"{self.what}: {message} at {_col(at)}", at)

    def skip_space(self, i: int, hi: int) -> int:
        while i < hi and self.s[i] in " \t\n\r":
            i += 1
        return i

    def read_command(self, i: int) -> tuple[str, int]:
        """The command starting at the backslash ``i``: (name, index after it)."""
        j = i + 1
        if j >= len(self.s):
            raise self.error("expected a command name after '\\'", i)
        if self.s[j].isalpha():
            while j < len(self.s) and self.s[j].isalpha():
                j += 1
            if j < len(self.s) and self.s[j] == "*":  # \operatorname*
                j += 1
            return self.s[i + 1 : j].rstrip("*"), j
        return self.s[j], j + 1

    def matching(self, i: int, hi: int) -> int:
        """Index of the delimiter closing the one at ``i`` (same kind), within ``[i, hi)``."""
        opener = self.s[i]
        closer = _CLOSE[_OPEN.index(opener)]
        depth = 0
        j = i
        while j < hi:
            c = self.s[j]
            if c == "\\":
                j += 2 if j + 1 < hi and not self.s[j + 1].isalpha() else 1
                continue
            if c == opener:
                depth += 1
            elif c == closer:
                depth -= 1
                if depth == 0:
                    return j
            j += 1
        raise self.error(f"'{opener}' is never closed: expected '{closer}'", i)

    def read_group(self, i: int, hi: int) -> tuple[int, int, int]:
        r"""A parenthesized argument at ``i``: ``( .. )``, ``\left( .. \right)``, ``[ .. ]`` or
        ``{ .. }``. Returns (inner start, inner end, index after it)."""
        i = self.skip_space(i, hi)
        if self.s.startswith("\\left", i):
            j = self.skip_space(i + 5, hi)
            if j < hi and self.s[j] in _OPEN:
                close = self.matching(j, hi)
                inner_end = close
                if self.s[:close].rstrip().endswith("\\right"):
                    inner_end = self.s[:close].rstrip().rfind("\\right")
                return j + 1, inner_end, close + 1
        if i < hi and self.s[i] in _OPEN:
            close = self.matching(i, hi)
            return i + 1, close, close + 1
        raise self.error("expected a parenthesized argument '(...)'", i)

    def read_braced_word(self, i: int) -> tuple[str, int]:
        """``{word}`` at ``i`` (letters only): (word, index after it)."""
        m = re.compile(r"\{\s*([A-Za-z]+)\s*\}").match(self.s, i)
        if not m:
            raise self.error("expected a name in braces such as '{softplus}'", i)
        return m.group(1), m.end()

    def read_subscript(self, i: int) -> tuple[str, int]:
        """An optional subscript of a variable at ``i``: ('' or the plain subscript, next index)."""
        if i >= len(self.s) or self.s[i] != "_":
            return "", i
        j = i + 1
        if j < len(self.s) and self.s[j].isalnum():
            return self.s[j], j + 1
        m = re.compile(r"\{\s*([A-Za-z0-9]+)\s*\}").match(self.s, j)
        if m:
            return m.group(1), m.end()
        m = re.compile(r"\{\s*\\(?:text|mathrm)\s*\{\s*([A-Za-z0-9]+)\s*\}\s*\}").match(self.s, j)
        if m:
            return m.group(1), m.end()
        raise self.error("expected a subscript of letters or digits such as '_1' or '_{12}'", j)

    def placeholder(self, value: sp.Expr) -> str:
        name = f"{_PLACEHOLDER}{len(self.placeholders)}"
        self.placeholders[name] = value
        return rf"\variable{{{name}}}"

    # ---- the scanner -----------------------------------------------------------------------
    def convert(self, lo: int, hi: int) -> sp.Expr:
        """Parse ``s[lo:hi]`` into a validated SymPy expression."""
        out = _Emitter([], [])
        self.scan(lo, hi, out)
        canonical = out.value()
        if not canonical.strip():
            raise self.error("expected an expression, found nothing", lo)
        raw = _run_parser(canonical, out.origin, self, lo)
        return _rebuild(raw, self, lo)

    def scan(self, lo: int, hi: int, out: _Emitter) -> None:
        s = self.s
        i = lo
        depth = 0
        while i < hi:
            c = s[i]
            if c not in _ALLOWED_CHARS:
                shown = repr(c)
                raise self.error(
                    f"unexpected character {shown}; expected letters, digits, + - * / ^ _ ( ) "
                    "[ ] { } | or a LaTeX command",
                    i,
                )
            if c in " \t\n\r":
                out.emit(" ", i)
                i += 1
            elif c == "\\":
                i = self.scan_command(i, hi, out)
            elif c.isalpha():
                i = self.scan_letter(i, hi, out)
            elif c.isdigit() or c == ".":
                m = re.compile(r"[0-9]*\.?[0-9]+|[0-9]+\.?").match(s, i)
                if m is None or not any(ch.isdigit() for ch in m.group()):
                    raise self.error("expected a digit after '.'", i)
                digits = m.group().rstrip(".")
                if len(digits) > _MAX_NUMBER_DIGITS:
                    raise self.error(f"number longer than {_MAX_NUMBER_DIGITS} digits", i)
                sci = re.compile(r"[eE]([+-]?)([0-9]+)").match(s, m.end())
                if sci:
                    # 1e-8 would read as Euler's number minus 8: refuse the programmer's notation.
                    sign = "-" if sci.group(1) == "-" else ""
                    raise self.error(
                        f"scientific notation {s[i:sci.end()]!r} is not LaTeX; write "
                        f"{digits} \\cdot 10^{{{sign}{sci.group(2)}}} (or 10^{{{sign}"
                        f"{sci.group(2)}}})", i)
                if out.last_char().isdigit():
                    out.emit(r" \cdot ", i)
                out.emit(digits, i)
                i = m.end()
                # latex2sympy reads "2 3", "2(3)" and "2\frac{1}{2}" as mixed numbers (2 + ...):
                # an explicit product keeps the meaning of adjacent factors.
                j = self.skip_space(i, hi)
                if j < hi and (s[j] in "([{" or s.startswith("\\frac", j)
                               or s.startswith("\\dfrac", j) or s.startswith("\\tfrac", j)
                               or s.startswith("\\left", j)):
                    out.emit(r" \cdot ", i)
            elif c in _OPEN:
                depth += 1
                if depth > _MAX_DEPTH:
                    raise self.error(f"more than {_MAX_DEPTH} nested brackets", i)
                out.emit(c, i)
                i += 1
            elif c in _CLOSE:
                depth -= 1
                out.emit(c, i)
                i += 1
            elif c == "^":
                out.emit("^", i)
                i = self.skip_space(i + 1, hi)
                if i >= hi:
                    raise self.error("expected an exponent after '^'", i)
                if s[i] != "{":
                    # LaTeX takes one token as the exponent (x^23 is x^2 3): brace it explicitly.
                    out.emit("{", i)
                    if s[i] == "\\":
                        name, _ = self.read_command(i)
                        if name not in _GREEK and name != "pi":
                            raise self.error("expected '{' after '^'", i)
                        i = self.scan_command(i, hi, out)
                    elif s[i].isalnum():
                        if s[i].isalpha():
                            out.emit(self.variable_token(s[i]), i)
                        else:
                            out.emit(s[i], i)
                        i += 1
                    elif s[i] == "-" and i + 1 < hi and s[i + 1].isdigit():
                        out.emit(s[i : i + 2], i)
                        i += 2
                    else:
                        raise self.error("expected an exponent such as '^2' or '^{...}'", i)
                    out.emit("}", i)
            elif c == "_":
                raise self.error("unexpected '_': a subscript must follow a variable", i)
            elif c == ",":
                out.emit(",", i)
                i += 1
            else:  # + - * / |
                out.emit(c, i)
                i += 1
        if depth > 0:
            raise self.error("a bracket is never closed: expected ')', ']' or '}'", hi)

    def variable_token(self, name: str, *, implicit: bool = False) -> str:
        # Every variable reaches the parser as an opaque placeholder, so the parser's own ideas
        # about names (I is the imaginary unit, E is e, x_{10} does not lex) never apply.
        token = f"{_VARIABLE}{len(self.variables)}"
        self.variables[token] = name
        if implicit:
            self.bounds.add(token)
        return rf"\variable{{{token}}}"

    def scan_letter(self, i: int, hi: int, out: _Emitter) -> int:
        s = self.s
        c = s[i]
        if c == "e" and not (i + 1 < hi and s[i + 1] == "_"):
            # e^{x} is the exponential, a bare e is Euler's number (the course's convention).
            if s[self.skip_space(i + 1, hi) : self.skip_space(i + 1, hi) + 1] == "^":
                out.emit("e", i)
            else:
                out.emit(r"\exp(1)", i)
            return i + 1
        sub, j = self.read_subscript(i + 1)
        name = c if not sub else f"{c}_{sub}"
        out.emit(self.variable_token(name), i)
        return j

    def scan_command(self, i: int, hi: int, out: _Emitter) -> int:
        s = self.s
        name, j = self.read_command(i)
        if name in _DANGEROUS and name != "begin":
            raise self.error(f"the command \\{name} is not allowed in a formula", i)
        if name in _SPACING:
            out.emit(" ", i)
            return j
        if name in ("{", "}"):
            out.emit("(" if name == "{" else ")", i)
            return j
        if name in ("left", "right"):
            k = self.skip_space(j, hi)
            if k < hi and s[k] in "()[]|":
                return k
            if s.startswith("\\{", k) or s.startswith("\\}", k):
                return k
            if s.startswith("\\lvert", k) or s.startswith("\\rvert", k):
                return k
            raise self.error(f"expected a delimiter such as '(' or '|' after \\{name}", k)
        if name in ("lvert", "rvert"):
            out.emit("|", i)
            return j
        if name in ("cdot", "times"):
            out.emit(r"\cdot ", i)
            return j
        if name in ("frac", "dfrac", "tfrac"):
            return self.scan_frac(i, j, hi, out)
        if name in ("log", "ln"):
            k = self.skip_space(j, hi)
            if name == "log" and k < hi and s[k] == "_":
                m = re.compile(r"_\s*(?:\{\s*([0-9]+|e)\s*\}|([0-9]|e))").match(s, k)
                if not m:
                    raise self.error(r"expected a numeric base such as \log_2 or \log_{10}", k)
                base = m.group(1) or m.group(2)
                if base == "e":
                    out.emit(r"\ln ", i)
                else:
                    if int(base) < 2 or len(base) > 6:
                        raise self.error("expected a log base of at least 2", k)
                    out.emit(rf"\log_{{{int(base)}}} ", i)
                return m.end()
            # \log is the natural log in this course (latex2sympy would read base 10).
            out.emit(r"\ln ", i)
            return j
        if name in _PLAIN_FUNCTIONS:
            out.emit(f"\\{name}", i)
            return j
        if name in ("max", "min"):
            return self.scan_maxmin(sp.Max if name == "max" else sp.Min, i, j, hi, out)
        if name == "begin":
            return self.scan_cases(i, j, hi, out)
        if name == "pi":
            out.emit(r"\pi ", i)
            return j
        if name == "sigma":
            k = self.skip_space(j, hi)
            if k < hi and (s[k] == "(" or s.startswith("\\left(", k) or s.startswith("\\left (", k)):
                return self.scan_call(sigmoid, k, hi, out, i)
            return self.scan_greek(name, i, j, out)
        if name in _GREEK:
            return self.scan_greek(name, i, j, out)
        if name in _ACCENTS:
            k = self.skip_space(j, hi)
            if k < hi and s[k] == "{":
                m = re.compile(r"\{\s*(\\?[A-Za-z]+)\s*\}").match(s, k)
                end = m.end() if m else k
                letter = m.group(1) if m else ""
            else:
                m = re.compile(r"\\?[A-Za-z]").match(s, k)
                letter = m.group() if m else ""
                if letter.startswith("\\"):
                    m2 = re.compile(r"\\[A-Za-z]+").match(s, k)
                    letter = m2.group()
                end = k + len(letter)
            base = letter.lstrip("\\")
            if not (len(letter) == 1 and letter.isalpha()) and base not in _GREEK:
                raise self.error(f"expected one letter in braces after \\{name}, as in \\{name}{{y}}", k)
            sub, end = self.read_subscript(end)
            symbol = base + _ACCENTS[name]
            out.emit(self.variable_token(symbol if not sub else f"{symbol}_{sub}"), i)
            return end
        if name in ("operatorname", "mathrm", "text", "mathit"):
            k = self.skip_space(j, hi)
            word, end = self.read_braced_word(k)
            if name == "mathrm" and word == "e":
                return self.scan_letter_e_constant(i, end, hi, out)
            if word in _NAMED_ACTIVATIONS:
                after = self.skip_space(end, hi)
                return self.scan_call(_NAMED_ACTIVATIONS[word], after, hi, out, i)
            raise self.error(
                f"unknown function \\{name}{{{word}}}; expected softplus, sigmoid, relu, "
                "sign, sgn or erf", k
            )
        if name in ("sum", "prod"):
            return self.scan_sum(i, j, hi, out, name)
        if name == "partial":
            raise self.error(
                r"expected \partial only in a derivative operator \frac{\partial}{\partial w}", i
            )
        shown = name if name.isalpha() else repr(name)
        raise self.error(
            f"unknown command \\{shown}; expected a known command such as \\frac, \\log, "
            "\\exp, \\sigma, \\sum, \\cdot or a Greek letter",
            i,
        )

    def scan_letter_e_constant(self, i: int, end: int, hi: int, out: _Emitter) -> int:
        k = self.skip_space(end, hi)
        out.emit("e" if k < hi and self.s[k] == "^" else r"\exp(1)", i)
        return end

    def scan_greek(self, name: str, i: int, j: int, out: _Emitter) -> int:
        # Every Greek letter is a plain real variable (latex2sympy turns \gamma into EulerGamma).
        sub, end = self.read_subscript(j)
        out.emit(self.variable_token(name if not sub else f"{name}_{sub}"), i)
        return end

    def scan_call(self, function, k: int, hi: int, out: _Emitter, at: int) -> int:
        inner_lo, inner_hi, end = self.read_group(k, hi)
        argument = self.convert(inner_lo, inner_hi)
        out.emit(self.placeholder(function(argument)), at)
        return end

    def scan_frac(self, i: int, j: int, hi: int, out: _Emitter) -> int:
        s = self.s
        k = self.skip_space(j, hi)
        if k >= hi or s[k] != "{":
            raise self.error(r"expected '{' after \frac, as in \frac{1}{2}", k)
        op = re.compile(
            r"\{\s*(\\partial|d)\s*\}\s*\{\s*(?:\\partial\s*|d)\s*([^{}]*|[^{}]*\{[^{}]*\})\s*\}"
        ).match(s, k)
        if op:
            # A derivative operator applied to the parenthesized expression that follows it.
            variable = parse_symbol(op.group(2), what=self.what, offset=op.start(2))
            self.derivatives += 1
            if self.derivatives > _MAX_DERIVATIVES:
                # Each derivative can multiply the size of the expression: bounded before work.
                raise self.error(f"more than {_MAX_DERIVATIVES} derivative operators in one "
                                 "formula", i)
            inner_lo, inner_hi, end = self.read_group(op.end(), hi)
            inner = self.convert(inner_lo, inner_hi)
            if sp.count_ops(inner) > _MAX_DERIVATIVE_OPS:
                raise self.error("the expression under a derivative operator is too large "
                                 f"(more than {_MAX_DERIVATIVE_OPS} operations)", i)
            out.emit(self.placeholder(sp.diff(inner, variable)), i)
            return end
        if re.compile(r"\{\s*(\\partial|d)\b").match(s, k) and "\\partial" in s[k : k + 12]:
            raise self.error(
                r"a derivative such as \frac{\partial L}{\partial w} is not a formula here; "
                r"expected the formula itself (or \frac{\partial}{\partial w}(...))",
                i,
            )
        if out.last_char().isdigit():
            out.emit(r" \cdot ", i)
        out.emit(r"\frac", i)
        return j

    def scan_sum(self, i: int, j: int, hi: int, out: _Emitter, name: str = "sum") -> int:
        r"""``\sum_{i=1}^{n}`` (or ``\prod``); ``\sum_i`` / ``\sum_{i}`` runs from 1 to an implicit
        bound (:func:`implicit_bound`)."""
        s = self.s
        m = re.compile(
            r"\s*_\s*\{\s*(\\?[A-Za-z]+)\s*=\s*([0-9]{1,2}|[A-Za-z])\s*\}\s*\^\s*"
            r"(?:\{\s*([0-9]{1,2}|[A-Za-z])\s*\}|([0-9]|[A-Za-z]))"
        ).match(s, j)
        short = re.compile(r"\s*_\s*(?:\{\s*(\\?[A-Za-z]+)\s*\}|([A-Za-z]))(?!\s*\^)").match(s, j)
        if m:
            index, lower, upper = m.group(1), m.group(2), m.group(3) or m.group(4)
            at, end = m.start(1), m.end()
        elif short:
            index = short.group(1) or short.group(2)
            lower, upper = "1", None
            at, end = short.start(), short.end()
        else:
            raise self.error(
                rf"\{name} needs its index, as in \{name}_{{i=1}}^{{n}} or \{name}_i, with a "
                "number or one letter as each limit",
                i,
            )
        if index.lstrip("\\") in _CONSTANT_NAMES or index.startswith("\\"):
            raise self.error(
                f"the summation index {index!r} reads as a constant or a Greek variable; "
                "expected one Latin letter such as i, j or k", at)
        if len(index) != 1:
            raise self.error("expected a one-letter summation index such as i", at)

        def bound(text: str) -> str:
            if text in _CONSTANT_NAMES:
                raise self.error(f"the limit {text!r} of a sum reads as a constant; expected a "
                                 "number or a variable such as n", at)
            return text if text.isdigit() else self.variable_token(text)

        upper_text = bound(upper) if upper is not None else self.variable_token(
            implicit_bound(index).name, implicit=True)
        command = "sum" if name == "sum" else "prod"
        out.emit(rf"\{command}_{{{self.variable_token(index)}={bound(lower)}}}^{{{upper_text}}} ",
                 i)
        return end

    def split_top(self, lo: int, hi: int, separator: str) -> list[tuple[int, int]]:
        """Ranges of ``s[lo:hi]`` between top-level occurrences of ``separator``."""
        s = self.s
        parts, depth, start, k = [], 0, lo, lo
        while k < hi:
            if s.startswith("\\left", k) or s.startswith("\\right", k):
                k += 5 if s.startswith("\\left", k) else 6
                continue
            c = s[k]
            if c == "\\" and not s.startswith(separator, k):
                k += 2
                continue
            if c in _OPEN:
                depth += 1
            elif c in _CLOSE:
                depth -= 1
            elif depth == 0 and s.startswith(separator, k):
                parts.append((start, k))
                start = k + len(separator)
                k = start
                continue
            k += 1
        parts.append((start, hi))
        return parts

    def scan_maxmin(self, func, i: int, j: int, hi: int, out: _Emitter) -> int:
        r"""``\max(a, b, ...)`` / ``\min``: each argument parsed on its own, so they nest."""
        inner_lo, inner_hi, end = self.read_group(j, hi)
        arguments = [self.convert(a, b) for a, b in self.split_top(inner_lo, inner_hi, ",")]
        out.emit(self.placeholder(func(*arguments)), i)
        return end

    def scan_cases(self, i: int, j: int, hi: int, out: _Emitter) -> int:
        r"""``\begin{cases} v_1 & c_1 \\ v_2 & \text{otherwise} \end{cases}``: a Piecewise."""
        s = self.s
        m = re.compile(r"\s*\{\s*cases\s*\}").match(s, j)
        if not m:
            raise self.error(r"the command \begin is allowed only as \begin{cases}", i)
        close = re.compile(r"\\end\s*\{\s*cases\s*\}").search(s, m.end(), hi)
        if not close:
            raise self.error(r"\begin{cases} is never closed: expected \end{cases}", i)
        rows = []
        for lo, row_hi in self.split_top(m.end(), close.start(), "\\\\"):
            if not s[lo:row_hi].strip():
                continue
            cells = self.split_top(lo, row_hi, "&")
            if len(cells) != 2:
                raise self.error("expected 'value & condition' in each row of cases", lo)
            (v_lo, v_hi), (c_lo, c_hi) = cells
            rows.append((self.convert(v_lo, v_hi), self.condition(c_lo, c_hi)))
        if not rows:
            raise self.error("expected at least one row in cases", i)
        out.emit(self.placeholder(sp.Piecewise(*rows)), i)
        return close.end()

    def condition(self, lo: int, hi: int):
        """A condition of a cases row: relations (chained), or 'otherwise' / 'else'."""
        s = self.s
        text = s[lo:hi]
        words = re.compile(r"\\(?:text|mathrm|textrm)\s*\{\s*([A-Za-z ]*)\s*\}|\b(if|for)\b|,")
        if re.fullmatch(r"\s*(?:\\(?:text|mathrm|textrm)\s*\{\s*(?:otherwise|else|"
                        r"sonst)\s*\}|otherwise|else)\s*[.,]?\s*", text):
            return sp.true
        # Blank out the words 'if', 'for', \text{if} so that only the relation is parsed.
        chars = list(s)
        for w in words.finditer(s, lo, hi):
            inside = (w.group(1) or "").strip()
            if inside and inside not in ("if", "for", "when"):
                raise self.error(f"unexpected text {inside!r} in a condition of cases", w.start())
            for k in range(w.start(), w.end()):
                chars[k] = " "
        sub = _Scanner("".join(chars), self.what)
        sub.placeholders, sub.variables = self.placeholders, self.variables
        sub.bounds = self.bounds
        relations = sub.relations(lo, hi)
        return relations[0] if len(relations) == 1 else sp.And(*relations)

    def relations(self, lo: int, hi: int) -> list:
        """``a < b <= c`` in ``s[lo:hi]`` as a list of SymPy relations."""
        s = self.s
        parts, operators, start = [], [], lo
        for m in _RELATION.finditer(s, lo, hi):
            opened = s.count("{", lo, m.start()) - s.count("}", lo, m.start())
            if opened > 0:
                continue  # inside braces: the '=' of \sum_{k=1}
            parts.append((start, m.start()))
            operators.append(m.group())
            start = m.end()
        parts.append((start, hi))
        if not operators:
            raise self.error("expected a comparison such as 'x>0'", hi)
        sides = []
        for a, b in parts:
            if not s[a:b].strip():
                raise self.error("expected an expression", a)
            sides.append(self.convert(a, b))
        return [_RELATIONS[op](sides[k], sides[k + 1], evaluate=False)
                for k, op in enumerate(operators)]


def implicit_bound(index: str) -> sp.Symbol:
    r"""The upper limit of ``\sum_i`` written without limits: a positive integer symbol ``n_i``."""
    return sp.Symbol(f"n_{index}", integer=True, positive=True)


def _run_parser(canonical: str, origin: list, scanner: _Scanner, lo: int) -> sp.Basic:
    """Run latex2sympy2_extended on the canonical string; map its errors back to the input.

    Two-stage prediction, as ANTLR recommends for speed: first SLL, which ignores the parser's
    call stack when predicting and so needs no full-context lookahead (about half of a first
    parse's time is that lookahead); ANTLR guarantees that an SLL parse either returns the very
    tree the default (LL) mode returns or reports a syntax error (see the runtime's
    ``PredictionMode.SLL``). On any error the formula is parsed again in LL mode, whose result
    or error message is the one that counts, so errors and their columns are LL's.
    """
    try:
        return _convert(canonical, sll=True)
    except RecursionError:
        raise scanner.error("expression nested too deeply", lo) from None
    except Exception:  # noqa: BLE001 - LL decides below, with its own error
        pass
    try:
        return _convert(canonical, sll=False)
    except RecursionError:
        raise scanner.error("expression nested too deeply", lo) from None
    except Exception as error:  # the parser raises bare Exception with a caret diagram
        lines = str(error).split("\n")
        column = None
        if lines and lines[-1].endswith("^") and set(lines[-1][:-1]) <= {"~"}:
            column = len(lines[-1]) - 1
        at = origin[min(column, len(origin) - 1)] if column is not None and origin else lo
        what = lines[0].strip() if lines and lines[0].strip() else "malformed expression"
        if what.startswith("I expected something else") or what.startswith("I don't understand"):
            what = "the formula cannot be read here"
        return _raise(scanner.error(f"{what.rstrip('.')}; expected a well-formed expression", at))


def _convert(canonical: str, *, sll: bool) -> sp.Basic:
    """latex2sympy2_extended's conversion of ``canonical``, predicting in SLL or LL mode."""
    converter, config = _converter()
    # No normalization: the scanner above already normalized, and the parser's own normalization
    # rewrites text (units, \left...) in ways that would move error columns.
    return converter(config=config, sll=sll).parse(canonical)


@functools.cache
def _converter():
    """latex2sympy2_extended's converter, with the prediction mode as an argument (made once)."""
    from antlr4.atn.PredictionMode import PredictionMode
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig, _Latex2Sympy

    class Converter(_Latex2Sympy):
        def __init__(self, *, config, sll: bool):
            super().__init__(config=config)
            self.sll = sll

        def create_parser(self, latex_str):
            parser = super().create_parser(latex_str)
            if self.sll:
                parser._interp.predictionMode = PredictionMode.SLL
            return parser

    return Converter, ConversionConfig(lowercase_symbols=False, interpret_as_mixed_fractions=False)


def _raise(error: Exception):
    raise error


_ALLOWED_FUNCS = {
    sp.exp: sp.exp, sp.tanh: sp.tanh, sp.sinh: sp.sinh, sp.cosh: sp.cosh, sp.sin: sp.sin,
    sp.cos: sp.cos, sp.tan: sp.tan, sp.Abs: sp.Abs, sigmoid: sigmoid, softplus: softplus,
    relu: relu,
}


def _real_symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _rebuild(node: sp.Basic, scanner: _Scanner, lo: int, bound: dict | None = None) -> sp.Expr:
    """Rebuild the parser's unevaluated tree from allowed classes only (the post-parse guard)."""
    bound = bound or {}

    def refuse(what: str) -> ParseError:
        return scanner.error(f"{what} is not supported; expected a real scalar formula", lo)

    def walk(e):
        if isinstance(e, sp.Symbol):
            name = e.name
            if name in scanner.placeholders:
                return scanner.placeholders[name]
            if name in bound:
                return bound[name]
            if name in scanner.variables:
                plain = scanner.variables[name]
                if re.fullmatch(r"n_[A-Za-z]", plain) and name in scanner.bounds:
                    return implicit_bound(plain[2:])
                return _real_symbol(plain)
            raise refuse(f"the symbol {name!r}")
        if isinstance(e, sp.Integer):
            return sp.Integer(int(e))
        if isinstance(e, sp.Rational):
            return sp.Rational(int(e.p), int(e.q))
        if isinstance(e, sp.Float):
            return sp.Rational(str(e))  # exact: 0.1 means 1/10, not the binary double
        if e is sp.pi or e is sp.E:
            return e
        if isinstance(e, sp.Add):
            return sp.Add(*[walk(a) for a in e.args])
        if isinstance(e, sp.Mul):
            return sp.Mul(*[walk(a) for a in e.args])
        if isinstance(e, sp.Pow):
            base, exponent = walk(e.args[0]), walk(e.args[1])
            _check_power(base, exponent, refuse)
            return sp.Pow(base, exponent)
        if isinstance(e, sp.log):
            args = [walk(a) for a in e.args]
            if len(args) == 2 and args[1] is not sp.E:
                return sp.log(args[0]) / sp.log(args[1])
            return sp.log(args[0])
        if isinstance(e, (sp.Max, sp.Min)):
            return e.func(*[walk(a) for a in e.args])
        if isinstance(e, (sp.Sum, sp.Product)) and len(e.limits) == 1:
            index, lower, upper = e.limits[0]
            index_name = scanner.variables.get(str(index), "")
            if not index_name:
                raise refuse("a sum without a one-letter index")
            index_symbol = sp.Symbol(index_name, integer=True)
            inner = dict(bound)
            inner[str(index)] = index_symbol
            # The scanner names each occurrence of a letter apart: the i of \sum_{i=1}^{3} i x
            # in the terms is the index too (3 i x summed is 6 x, not 3 i x).
            for symbol in e.function.free_symbols:
                if scanner.variables.get(symbol.name) == index_name and symbol.name not in inner:
                    inner[symbol.name] = index_symbol
            # Inside the sum, x_i is the i-th entry of x (an IndexedBase), not a separate symbol.
            for symbol in e.function.free_symbols:
                head, _, sub = scanner.variables.get(symbol.name, "").partition("_")
                if sub == index_name and head and symbol.name not in inner:
                    inner[symbol.name] = sp.IndexedBase(head, real=True)[index_symbol]
            body = _rebuild(e.function, scanner, lo, inner)
            # x_i inside a function argument (\sigma(w x_i)) was parsed on its own, before the
            # sum was known: it is the i-th entry of x as well.
            suffix = f"_{index_name}"
            entries = {s: sp.IndexedBase(s.name[: -len(suffix)], real=True)[index_symbol]
                       for s in body.free_symbols if isinstance(s, sp.Symbol)
                       and s.name.endswith(suffix) and len(s.name) > len(suffix)}
            if entries:
                body = body.xreplace(entries)
            low, up = walk(lower), walk(upper)
            for limit in (low, up):
                if limit.is_Integer and abs(int(limit)) > 100:
                    raise refuse("a sum with more than 100 terms")
            return e.func(body, (index_symbol, low, up))
        func = getattr(e, "func", None)
        if func in _ALLOWED_FUNCS and isinstance(e, sp.Function):
            return _ALLOWED_FUNCS[func](*[walk(a) for a in e.args])
        if isinstance(e, (sp.Tuple, sp.FiniteSet, tuple, list)):
            raise refuse("a list or set of values (a comma outside \\max)")
        if isinstance(e, sp.Function):
            raise refuse(f"the function {type(e).__name__}")
        if isinstance(e, sp.Basic) and e.is_Relational:
            raise refuse("an equation or inequality")
        if e is sp.I or e in (sp.oo, -sp.oo, sp.zoo, sp.nan):
            raise refuse(f"the constant {e}")
        raise refuse(f"the construct {type(e).__name__}")

    result = walk(node)
    if not isinstance(result, sp.Expr):
        raise refuse("a non-scalar result")
    if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise refuse("a division by zero or an infinite value")
    return result


def _check_power(base: sp.Expr, exponent: sp.Expr, refuse) -> None:
    """Refuse powers whose exact value would be astronomically large (a denial of service)."""
    if exponent.free_symbols:
        return
    value = exponent.evalf(15)
    if base == 0 and value.is_real and value < 0:
        raise refuse("a division by zero (0 to a negative power)")
    if not value.is_real or not value.is_finite or abs(value) > _MAX_EXPONENT:
        raise refuse(f"an exponent beyond ±{_MAX_EXPONENT}")
    if not base.free_symbols:
        magnitude = abs(base.evalf(15))
        if magnitude.is_finite and magnitude > 1:
            digits = float(value) * float(sp.log(magnitude, 10).evalf(15))
            if abs(digits) > 10_000:
                raise refuse("a number with more than 10000 digits")


def _precheck(text, what: str) -> str:
    if not isinstance(text, str):
        raise ParseError(f"{what}: expected a LaTeX string, got {type(text).__name__} at column 1", 0)
    if len(text) > MAX_LENGTH:
        raise ParseError(
            f"{what}: input longer than {MAX_LENGTH} characters at {_col(MAX_LENGTH)}", MAX_LENGTH
        )
    if not text.strip():
        raise ParseError(f"{what}: empty input at column 1; expected a LaTeX formula", 0)
    return text


def _strip_dollars(text: str) -> tuple[int, int]:
    """The range inside optional surrounding ``$...$`` or ``$$...$$``."""
    lo, hi = 0, len(text)
    stripped = text.strip()
    for fence in ("$$", "$"):
        if stripped.startswith(fence) and stripped.endswith(fence) and len(stripped) > 2 * len(fence):
            lo = text.index(fence) + len(fence)
            hi = text.rindex(fence)
            break
    return lo, hi


def parse_latex(text: str, *, what: str = "formula") -> sp.Expr:
    r"""Parse a LaTeX formula into a SymPy expression with symlearn's conventions (module docs).

    ``what`` names the argument in error messages (``"loss"``, ``"claim"``).
    Raises :class:`ParseError` (a ``ValueError``) naming the column and what was expected.

    >>> parse_latex(r"\frac{1}{1+e^{-(w_1x_1+b)}}")
    1/(exp(-b - w_1*x_1) + 1)
    """
    text = _precheck(text, what)
    lo, hi = _strip_dollars(text)
    return _Scanner(text, what).convert(lo, hi)


def parse_symbol(text: str, *, what: str = "variable", offset: int = 0) -> sp.Symbol:
    r"""Parse a variable name: ``w_1``, ``w_{1}``, ``\theta``, ``theta``, ``\hat{y}``, ``yhat``.

    Returns the real :class:`sympy.Symbol` that :func:`parse_latex` makes for the same variable.
    Anything that is not one variable (``1x``, ``xy``, Python code) raises :class:`ParseError`.
    """
    text = _precheck(text, what)
    stripped = text.strip()
    # Plain spellings of Greek letters and accents, as typed on a command line without '\'.
    m = re.fullmatch(r"([A-Za-z]+?)(hat|bar|tilde)?(_\{?[A-Za-z0-9]+\}?)?", stripped)
    if m and len(m.group(1)) > 1 and m.group(1) in _GREEK:
        stripped = "\\" + stripped
        if m.group(2):
            stripped = f"\\{m.group(2)}{{\\{m.group(1)}}}{m.group(3) or ''}"
    elif m and len(m.group(1)) == 1 and m.group(2):
        stripped = f"\\{m.group(2)}{{{m.group(1)}}}{m.group(3) or ''}"
    scanner = _Scanner(stripped, what)
    out = _Emitter([], [])
    try:
        scanner.scan(0, len(stripped), out)
    except ParseError as error:
        raise ParseError(
            f"{what}: {text!r} is not a variable name such as w_1, b or \\theta at "
            f"{_col(offset)}",
            offset,
        ) from error
    tokens = re.findall(r"\\variable\{(%s[0-9]+)\}" % _VARIABLE, out.value())
    if len(tokens) != 1 or out.value().strip() != f"\\variable{{{tokens[0]}}}":
        raise ParseError(
            f"{what}: {text!r} is not a variable name such as w_1, b or \\theta at "
            f"{_col(offset)}",
            offset,
        )
    return _real_symbol(scanner.variables[tokens[0]])


_RELATION = re.compile(r"(?:\\leq?|\\geq?|\\lt|\\gt|\\neq)(?![A-Za-z])|<=|>=|!=|<|>|=")
_RELATIONS = {"<": sp.Lt, "\\lt": sp.Lt, ">": sp.Gt, "\\gt": sp.Gt, "<=": sp.Le, "\\le": sp.Le,
              "\\leq": sp.Le, ">=": sp.Ge, "\\ge": sp.Ge, "\\geq": sp.Ge, "!=": sp.Ne,
              "\\neq": sp.Ne, "=": sp.Eq}


def parse_condition(text: str, *, what: str = "assumption") -> list[sp.Basic]:
    r"""Parse an assumption such as ``x>0``, ``0 < p < 1``, ``p \in (0, 1]``, ``\lambda \ge 0`` or
    the linear equality ``t_1+t_2=1`` into relations (chained comparisons and intervals give one
    relation per bound)."""
    text = _precheck(text, what)
    interval = re.fullmatch(r"\s*(.+?)\s*\\in\s*(\\left)?\s*([(\[])(.+),(.+?)(\\right)?\s*([)\]])\s*",
                            text)
    if interval:
        # x \in (a, b], the interval notation: a < x <= b.
        scanner = _Scanner(text, what)
        variable = scanner.convert(interval.start(1), interval.end(1))
        lower = scanner.convert(interval.start(4), interval.end(4))
        upper = scanner.convert(interval.start(5), interval.end(5))
        left = sp.Lt if interval.group(3) == "(" else sp.Le
        right = sp.Lt if interval.group(7) == ")" else sp.Le
        return [left(lower, variable, evaluate=False), right(variable, upper, evaluate=False)]
    if not _RELATION.search(text):
        raise ParseError(f"{what}: expected a comparison such as 'x>0' at {_col(len(text))}",
                         len(text))
    return _Scanner(text, what).relations(0, len(text))


def parse_definition(text: str, *, what: str = "let") -> tuple[sp.Symbol, sp.Expr]:
    r"""Parse a definition ``name=expression`` (``z=w_1x_1+w_2x_2+b``, ``\hat{y}=\sigma(z)``).

    Returns the real symbol and its expression; the name must be one variable.
    """
    text = _precheck(text, what)
    head, sep, body = text.partition("=")
    if not sep or not head.strip():
        raise ParseError(f"{what}: expected a definition such as 'z=w_1x_1+b' at column 1", 0)
    if _RELATION.search(re.sub(r"\{[^{}]*\}", "", body)):
        raise ParseError(f"{what}: expected one '=' in a definition at {_col(len(head) + 1)}",
                         len(head) + 1)
    symbol = parse_symbol(head, what=what)
    if not body.strip():
        raise ParseError(f"{what}: expected an expression after '=' at {_col(len(head) + 1)}",
                         len(head) + 1)
    scanner = _Scanner(text, what)
    return symbol, scanner.convert(len(head) + 1, len(text))


# ------------------------------------------------------------------------------------------------
# Matrix form: LaTeX over declared matrices and vectors (issue 13)
#
# latex2sympy2_extended reads every letter as a commutative scalar, so the order of a product (the
# whole of matrix algebra) is gone once it has parsed: X w and w X are the same tree. Matrix form
# therefore has its own reader, guarded like the scalar one: the same length check and character
# allow-list, an allow-list of commands (anything else is one sentence with its column), nesting
# limited, and SymPy objects built only by constructors (MatrixSymbol for the names declared with
# a shape, Symbol for the others); no user text reaches eval, sympify or parse_expr.

_DIM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_SHAPE_KINDS = ("symmetric", "spd")
_STEP_ARG = sp.Dummy("u")
#: relu's derivative, elementwise: the unit step with H(0) = 0 (as symlearn's relu uses).
_STEP = sp.Lambda(_STEP_ARG, sp.Heaviside(_STEP_ARG, 0))
_MATRIX_FUNCTIONS = {"sigma": sigmoid, "sigmoid": sigmoid, "relu": relu, "ReLU": relu,
                     "softplus": softplus, "exp": sp.exp, "log": sp.log, "ln": sp.log,
                     "tanh": sp.tanh, "sin": sp.sin, "cos": sp.cos, "step": _STEP}
_TRACE_NAMES = frozenset({"tr", "Tr", "trace"})
_BOLD = frozenset({"mathbf", "boldsymbol", "bm", "vec", "mathbold"})
_NAMED = frozenset({"operatorname", "mathrm", "text", "textrm", "mathit"})
_NORM_BARS = ("\\|", "\\Vert", "\\lVert", "\\rVert")


def _dimension(text: str, what: str):
    text = text.strip()
    if re.fullmatch(r"[0-9]+", text):
        value = int(text)
        if not 1 <= value <= 10_000:
            raise ParseError(f"{what}: the size {text} is not an integer from 1 to 10000 at "
                             "column 1", 0)
        return sp.Integer(value)
    if _DIM_NAME.fullmatch(text):
        return sp.Symbol(text, integer=True, positive=True)
    raise ParseError(f"{what}: {text!r} is not a dimension (a name such as n or d, or a positive "
                     "integer) at column 1", 0)


def matrix_name(text: str, *, what: str = "--shape") -> str:
    r"""The canonical name of a matrix or vector: ``X``, ``W_1`` (for ``W_1``, ``W_{1}``, ``W1``),
    ``\Sigma`` -> ``Sigma``, ``\mathbf{x}`` -> ``x``."""
    stripped = text.strip()
    # \mathbf{x}, \mathbf{W}_1, \mathbf{W_1}: the bold letter is the plain one.
    bold = re.match(r"\\(?:{})\s*\{{".format("|".join(_BOLD)), stripped)
    if bold:
        depth, end = 0, None
        for k in range(bold.end() - 1, len(stripped)):
            depth += {"{": 1, "}": -1}.get(stripped[k], 0)
            if depth == 0:
                end = k
                break
        if end is not None:
            stripped = stripped[bold.end():end].strip() + stripped[end + 1:].strip()
    # A Greek letter is read whole (\mu or mu is mu, never m_u), a letter alone; the subscript is one
    # letter or digit after '_' or a braced group (W_{12}; W_12 is W_1 then 2 in LaTeX, refused
    # here), or digits right after the letter (W1, W12: the names W_1, W_12).
    m = re.fullmatch(r"(?:\\?([A-Za-z]{2,})|([A-Za-z]))\s*(?:_\s*(?:\{\s*([A-Za-z0-9]+)\s*\}|"
                     r"([A-Za-z0-9]))|([0-9]+))?", stripped)
    if m and (m.group(2) or m.group(1) in _GREEK):
        base = m.group(1) or m.group(2)
        sub = m.group(3) or m.group(4) or m.group(5)
        return base if not sub else f"{base}_{sub}"
    raise ParseError(f"{what}: {text!r} is not a matrix name such as X, w, W_1 or \\Sigma at "
                     "column 1", 0)


def parse_shape(text: str, *, what: str = "--shape") -> tuple[str, tuple, str | None]:
    r"""``NAME=DIMS`` (``X=n,d``, ``w=d``, ``A=d,d,symmetric``, ``S=d,d,spd``) -> (name, (rows,
    cols), kind): one dimension is a column vector ``d x 1``; a dimension is a name (a SymPy
    positive integer symbol) or an integer; ``kind`` is ``"symmetric"``, ``"spd"`` or None."""
    if not isinstance(text, str):
        raise ParseError(f"{what}: expected a string such as 'X=n,d', got {type(text).__name__} "
                         "at column 1", 0)
    name, sep, dims = text.partition("=")
    if not sep or not name.strip() or not dims.strip():
        raise ParseError(f"{what}: {text!r} is not NAME=DIMS such as 'X=n,d' or 'w=d' at "
                         "column 1", 0)
    return (matrix_name(name, what=what), *_shape_of(dims, f"{what} {name.strip()}"))


def _shape_of(dims, what: str) -> tuple[tuple, str | None]:
    """(rows, cols), kind from ``"n,d"``, ``"d,d,spd"`` or a tuple ``("n", "d")``."""
    parts = [p.strip() for p in dims.split(",")] if isinstance(dims, str) else [
        str(p).strip() for p in dims]
    kind = None
    if parts and parts[-1] in _SHAPE_KINDS:
        kind = parts.pop()
    if not 1 <= len(parts) <= 2:
        raise ParseError(f"{what}: expected one or two dimensions (such as n,d or d), got "
                         f"{len(parts)} at column 1", 0)
    shape = tuple(_dimension(p, what) for p in parts)
    if len(shape) == 1:
        shape = (shape[0], sp.Integer(1))
    if kind and shape[0] != shape[1]:
        raise ParseError(f"{what}: a {kind} matrix is square, but its shape is "
                         f"{shape[0]} x {shape[1]} at column 1", 0)
    return shape, kind


def matrix_symbols(shapes) -> tuple[dict, set, set]:
    """``{name: dims}`` (dims a tuple or a string, as in :func:`parse_shape`) -> the matrix
    symbols by canonical name, and the names declared symmetric and spd."""
    if isinstance(shapes, dict):
        items = list(shapes.items())
    else:
        items = [parse_shape(s)[0:1] + (s.partition("=")[2],) for s in shapes]
    symbols, symmetric, spd = {}, set(), set()
    for raw, dims in items:
        name = matrix_name(str(raw), what="shapes")
        if name in symbols:
            raise ParseError(f"shapes: {name} is declared twice at column 1", 0)
        shape, kind = _shape_of(dims, f"shape of {name}")
        symbols[name] = sp.MatrixSymbol(name, *shape)
        if kind == "symmetric":
            symmetric.add(name)
        elif kind == "spd":
            spd.add(name)
    return symbols, symmetric, spd


class _Ones:
    r"""``\mathbf{1}`` before its length is known (from the product it stands in)."""

    def __init__(self, transposed: bool = False):
        self.transposed = transposed


class _Eye:
    r"""The identity ``I`` (not declared with a shape) before its size is known, times ``coeff``:
    its size comes from the square matrix it is added to (``X^TX + \lambda I``) or the matrix it
    multiplies; anywhere else it is refused (``I_d`` names the size)."""

    def __init__(self, coeff=None):
        self.coeff = sp.Integer(1) if coeff is None else coeff


class _MatrixReader:
    """Recursive descent over the LaTeX of a matrix-form formula (see the section comment)."""

    def __init__(self, text: str, what: str, symbols: dict, dims: dict):
        self.text, self.what, self.symbols, self.dims = text, what, symbols, dims
        self.depth = 0

    # -- errors and characters ------------------------------------------------------------------
    def error(self, message: str, at: int) -> ParseError:
        return ParseError(f"{self.what}: {message} at {_col(at)}", at)

    def skip(self, i: int) -> int:
        t = self.text
        while i < len(t):
            if t[i] in " \t\r\n":
                i += 1
                continue
            cmd, j = self.command(i)
            if cmd in _SPACING:  # \, \; \quad \displaystyle: spacing only
                i = j
                continue
            if cmd in ("left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr"):
                i = j  # sizing: the delimiter that follows is read on its own
                continue
            break
        return i

    def command(self, i: int) -> tuple[str | None, int]:
        t = self.text
        if i < len(t) and t[i] == "\\":
            j = i + 1
            while j < len(t) and t[j].isalpha():
                j += 1
            if j == i + 1 and j < len(t):
                return t[j], j + 1  # \| \, \; \!
            return t[i + 1:j], j
        return None, i

    def peek(self, i: int) -> str:
        i = self.skip(i)
        return self.text[i] if i < len(self.text) else ""

    def expect(self, i: int, char: str, what: str) -> int:
        i = self.skip(i)
        if i >= len(self.text) or self.text[i] != char:
            found = repr(self.text[i]) if i < len(self.text) else "the end"
            raise self.error(f"expected {what}, found {found}", i)
        return i + 1

    # -- values ---------------------------------------------------------------------------------
    @staticmethod
    def is_matrix(v) -> bool:
        return isinstance(v, _Ones) or bool(getattr(v, "is_Matrix", False))

    def scalar(self, v, at: int, context: str):
        v = self.resolve(v, at) if isinstance(v, _Eye) else v
        if isinstance(v, _Ones):
            raise self.error(f"\\mathbf{{1}} cannot stand alone in {context}; expected it in a "
                             "product such as \\mathbf{1}^T v", at)
        if getattr(v, "is_Matrix", False):
            if v.shape == (1, 1):
                return v[0, 0] if isinstance(v, sp.MatrixBase) else sp.Trace(v)
            raise self.error(f"{context} needs a scalar, but this is a {v.shape[0]} x "
                             f"{v.shape[1]} matrix", at)
        return v

    def resolve(self, v, at: int):
        if isinstance(v, _Ones):
            raise self.error("the length of \\mathbf{1} cannot be told here; expected it in a "
                             "product such as \\mathbf{1}^T v", at)
        if isinstance(v, _Eye):
            raise self.error("the size of the identity I cannot be told here; expected I_d (d a "
                             "dimension), or I added to a square matrix or multiplying a matrix",
                             at)
        return v

    def negate(self, v, at: int):
        return _Eye(-v.coeff) if isinstance(v, _Eye) else -self.resolve(v, at)

    def eye_product(self, left, right, at: int):
        """``I`` times a scalar stays ``I`` (scaled); ``I`` times a matrix is the matrix."""
        if isinstance(left, _Eye) and isinstance(right, _Eye):
            return _Eye(left.coeff * right.coeff)
        eye, other = (left, right) if isinstance(left, _Eye) else (right, left)
        if isinstance(other, _Ones):
            raise self.resolve(eye, at)
        if getattr(other, "is_Matrix", False):
            return eye.coeff * other
        return _Eye(eye.coeff * other)

    def eye_sum(self, left, right, sign: int, at: int):
        """``M + c I`` with ``M`` square: ``I`` has the size of ``M``."""
        if isinstance(left, _Eye) and isinstance(right, _Eye):
            return _Eye(left.coeff + sign * right.coeff)
        other = right if isinstance(left, _Eye) else left
        if not getattr(other, "is_Matrix", False):
            raise self.resolve(left if isinstance(left, _Eye) else right, at)
        if other.shape[0] != other.shape[1]:
            raise self.error(f"the identity I cannot be added to a {other.shape[0]} x "
                             f"{other.shape[1]} matrix; expected a square one", at)
        eye = sp.Identity(other.shape[0])
        left = left.coeff * eye if isinstance(left, _Eye) else left
        right = right.coeff * eye if isinstance(right, _Eye) else right
        return left + right if sign > 0 else left - right

    def product(self, left, right, at: int):
        if isinstance(left, _Eye) or isinstance(right, _Eye):
            return self.eye_product(left, right, at)
        if isinstance(left, _Ones) and isinstance(right, _Ones):
            raise self.error("a product of two \\mathbf{1} has no length to read", at)
        if isinstance(left, _Ones):
            if not getattr(right, "is_Matrix", False):
                raise self.resolve(left, at)
            if not left.transposed:  # a column of ones times a row: its length is unknown
                raise self.error("the length of \\mathbf{1} (a column) on the left of a product "
                                 "cannot be told; expected \\mathbf{1}^T v", at)
            left = sp.OneMatrix(1, right.shape[0])
        if isinstance(right, _Ones):
            if not getattr(left, "is_Matrix", False):
                raise self.resolve(right, at)
            if right.transposed:  # a column times a row of ones: its length is unknown
                raise self.error("the length of \\mathbf{1}^T (a row) on the right of a product "
                                 "cannot be told; expected M \\mathbf{1}", at)
            right = sp.OneMatrix(left.shape[1], 1)
        lm, rm = self.is_matrix(left), self.is_matrix(right)
        if lm and rm:
            if left.shape[1] != right.shape[0]:
                raise self.error(
                    f"the product of a {left.shape[0]} x {left.shape[1]} and a "
                    f"{right.shape[0]} x {right.shape[1]} matrix is not defined; expected "
                    "the inner sizes to agree", at)
            if left.shape == (1, 1) and right.shape[0] != 1:
                return sp.Trace(left) * right
            return left * right
        return left * right

    def add(self, left, right, sign: int, at: int):
        if isinstance(left, _Eye) or isinstance(right, _Eye):
            return self.eye_sum(left, right, sign, at)
        # \mathbf{1} added to a column vector is the ones vector of its length (1 - y).
        if isinstance(left, _Ones) and getattr(right, "is_Matrix", False) and not left.transposed:
            left = sp.OneMatrix(right.shape[0], 1) if right.shape[1] == 1 else left
        if isinstance(right, _Ones) and getattr(left, "is_Matrix", False) and not right.transposed:
            right = sp.OneMatrix(left.shape[0], 1) if left.shape[1] == 1 else right
        left, right = self.resolve(left, at), self.resolve(right, at)
        lm, rm = self.is_matrix(left), self.is_matrix(right)
        if lm != rm:
            m = left if lm else right
            if m.shape == (1, 1):  # a 1 x 1 product such as x^T a, added to a scalar
                left = self.scalar(left, at, "a sum") if lm else left
                right = self.scalar(right, at, "a sum") if rm else right
            elif 1 in (m.shape[0], m.shape[1]):
                # A scalar added to a vector is added to every entry (1 + e^{Xw}, as written
                # inside elementwise functions); for a matrix it could mean c I: refused.
                ones = sp.OneMatrix(*m.shape)
                left = left if lm else left * ones
                right = right if rm else right * ones
            else:
                raise self.error(f"a {m.shape[0]} x {m.shape[1]} matrix cannot be added to a "
                                 "scalar; expected terms of one shape", at)
        elif lm and left.shape != right.shape:
            raise self.error(f"a {left.shape[0]} x {left.shape[1]} and a {right.shape[0]} x "
                             f"{right.shape[1]} matrix cannot be added; expected one shape", at)
        return left + right if sign > 0 else left - right

    # -- grammar --------------------------------------------------------------------------------
    def parse(self, lo: int, hi: int):
        self.hi = hi
        value, i = self.expr(lo)
        i = self.skip(i)
        if i < hi:
            raise self.error(f"unexpected {self.text[i]!r}; expected an operator or the end", i)
        return self.resolve(value, lo)

    def expr(self, i: int):
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply", i)
        i = self.skip(i)
        sign = 1
        if i < self.hi and self.text[i] in "+-":
            sign = -1 if self.text[i] == "-" else 1
            i += 1
        at = i
        value, i = self.term(i)
        if sign < 0:
            value = self.negate(value, at)
        while True:
            j = self.skip(i)
            if j < self.hi and self.text[j] in "+-":
                op = self.text[j]
                right, i = self.term(j + 1)
                value = self.add(value, right, 1 if op == "+" else -1, j)
                continue
            self.depth -= 1
            return value, j

    def term(self, i: int):
        value, i = self.unary(i)
        odot = None  # where a \odot stands in this chain of factors
        while True:
            j = self.skip(i)
            if j >= self.hi:
                return value, j
            cmd, k = self.command(j)
            ch = self.text[j]
            if cmd in ("cdot", "times") or ch == "*" or (
                    not (cmd in ("odot", "circ") or ch == "/") and self.starts_atom(j)):
                right, i = self.unary(k if cmd in ("cdot", "times") else (
                    j + 1 if ch == "*" else j))
                if odot is not None and self.is_matrix(value) and self.is_matrix(right):
                    # A \odot B C: (A \odot B) C read left to right, A \odot (B C) as products
                    # are often meant to bind tighter; the two differ, so neither is guessed.
                    raise self.error("a matrix product after \\odot is ambiguous; expected "
                                     "parentheses, (A \\odot B) C or A \\odot (B C)", j)
                value = self.product(value, right, j)
            elif cmd == "odot" or cmd == "circ":
                right, i = self.unary(k)
                value = self.hadamard(value, right, j)
                odot = j
            elif ch == "/":
                right, i = self.unary(j + 1)
                value = self.divide(value, right, j)
            else:
                return value, j

    def starts_atom(self, j: int) -> bool:
        ch = self.text[j]
        if ch.isalnum() or ch in "([{":
            return True
        cmd, _ = self.command(j)
        return cmd is not None and (cmd in ("|", "Vert", "lVert") or (
            cmd not in ("cdot", "times", "odot", "circ", "right", "rVert") and cmd.isalpha()))

    def hadamard(self, left, right, at: int):
        left, right = self.resolve(left, at), self.resolve(right, at)
        if not (self.is_matrix(left) and self.is_matrix(right)):
            return left * right
        if left.shape != right.shape:
            raise self.error(f"\\odot needs two matrices of one shape, got {left.shape[0]} x "
                             f"{left.shape[1]} and {right.shape[0]} x {right.shape[1]}", at)
        return sp.HadamardProduct(left, right)

    def divide(self, left, right, at: int):
        right = self.scalar(self.resolve(right, at), at, "a denominator")
        if right == 0:
            raise self.error("division by zero", at)
        if isinstance(left, _Eye):
            return _Eye(left.coeff / right)
        left = self.resolve(left, at)
        return left / right if not self.is_matrix(left) else left * (sp.Integer(1) / right)

    def unary(self, i: int):
        i = self.skip(i)
        if i < self.hi and self.text[i] == "-":
            at = i
            value, i = self.unary(i + 1)
            return self.negate(value, at), i
        return self.postfix(i)

    def postfix(self, i: int):
        at = self.skip(i)
        value, i = self.atom(i)
        while True:
            j = self.skip(i)
            if j < self.hi and self.text[j] == "^":
                value, i = self.power(value, j + 1, at)
                continue
            return value, j

    def exponent_text(self, i: int) -> tuple[str, int, int]:
        """The exponent after '^': its text (a group's inside, or one token) and the range."""
        i = self.skip(i)
        if i >= self.hi:
            raise self.error("expected an exponent after '^'", i)
        if self.text[i] == "{":
            end = self.matching(i)
            return self.text[i + 1:end].strip(), i + 1, end + 1
        cmd, k = self.command(i)
        if cmd:
            return "\\" + cmd, i, k
        return self.text[i], i, i + 1

    def matching(self, i: int) -> int:
        depth = 0
        for j in range(i, self.hi):
            if self.text[j] == "{" and (j == 0 or self.text[j - 1] != "\\"):
                depth += 1
            elif self.text[j] == "}" and (j == 0 or self.text[j - 1] != "\\"):
                depth -= 1
                if depth == 0:
                    return j
        raise self.error("unbalanced '{'; expected a matching '}'", i)

    def power(self, value, i: int, at: int):
        text, lo, end = self.exponent_text(i)
        compact = text.replace(" ", "")
        transpose = compact in ("T", "\\top", "\\intercal", "\\mathsf{T}", "\\mathrm{T}", "\\T")
        inverse_t = compact in ("-T", "-\\top", "-\\intercal")
        if isinstance(value, _Eye):  # I^T = I, (cI)^{-1} = I / c, (cI)^k = c^k I
            if transpose:
                return value, end
            if (inverse_t or compact == "-1") and value.coeff != 0:
                return _Eye(1 / value.coeff), end
            if compact.isdigit() and len(compact) <= 3:
                return _Eye(value.coeff ** int(compact)), end
            raise self.error(f"the identity I to the power {text} is not read; expected ^T, "
                             "^{-1} or a positive integer", i - 1)
        if transpose or inverse_t or compact == "-1":
            if isinstance(value, _Ones):
                if transpose:
                    return _Ones(not value.transposed), end
                raise self.error(f"\\mathbf{{1}} is a vector of ones, so ^{{{text}}} is not "
                                 "defined on it; expected ^T", i - 1)
            if not self.is_matrix(value) and (transpose or inverse_t) and isinstance(
                    value, sp.Basic) and value.atoms(sp.MatrixSymbol):
                # A trace, determinant or norm is a scalar made of matrices: its transpose is
                # itself (the reader's property test found \|y\|^T refused as "no --shape").
                return (value if transpose else 1 / value), end
            if not self.is_matrix(value) and (transpose or inverse_t):
                name = self.text[at:i - 1].strip()
                raise self.error(
                    f"{name} is a scalar (it has no --shape), so ^{text} is not defined on it; "
                    f"expected --shape {name}=... for a matrix or vector", i - 1)
            if self.is_matrix(value):
                if transpose:
                    return value.T, end
                if value.shape[0] != value.shape[1]:
                    raise self.error(f"^{{{text}}} needs a square matrix, but this one is "
                                     f"{value.shape[0]} x {value.shape[1]}", i - 1)
                return (value.I.T if inverse_t else value.I), end
            return 1 / value, end  # a scalar to the power -1
        reader = _MatrixReader(self.text, self.what, self.symbols, self.dims)
        reader.depth = self.depth + 1
        reader.hi = end - 1 if self.text[lo - 1:lo] == "{" else end
        exponent, k = reader.expr(lo)
        if self.skip(k) < reader.hi:
            raise self.error("expected an exponent such as 2, T or -1", k)
        exponent = reader.resolve(exponent, lo)
        if value is sp.E and self.is_matrix(exponent) and exponent.shape != (1, 1):
            from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

            return ElementwiseApplyFunction(sp.exp, exponent), end  # e^{Xw}, elementwise
        exponent = self.scalar(exponent, lo, "an exponent")
        if self.is_matrix(value):
            value = self.resolve(value, at)
            if value.shape == (1, 1):
                return sp.Trace(value) ** exponent, end
            if exponent.is_Integer and value.shape[0] == value.shape[1] and exponent > 0:
                return sp.MatPow(value, exponent), end
            raise self.error(f"a {value.shape[0]} x {value.shape[1]} matrix to the power "
                             f"{text} is not defined; expected T, -1, -T or a positive integer "
                             "on a square matrix", i - 1)
        if isinstance(exponent, sp.Number) and abs(exponent) > _MAX_EXPONENT:
            raise self.error(f"the exponent {text} is beyond {_MAX_EXPONENT}", i - 1)
        return value ** exponent, end

    def group(self, i: int, what: str):
        """``{ ... }`` read as a whole expression."""
        i = self.skip(i)
        if i >= self.hi or self.text[i] != "{":
            raise self.error(f"expected '{{' to open {what}", i)
        end = self.matching(i)
        reader = _MatrixReader(self.text, self.what, self.symbols, self.dims)
        reader.depth = self.depth + 1
        reader.hi = end
        value, k = reader.expr(i + 1)
        if reader.skip(k) < end:
            raise self.error(f"unexpected {self.text[reader.skip(k)]!r} in {what}", reader.skip(k))
        return value, end + 1

    def name_token(self, i: int) -> tuple[str, int]:
        """A letter (or Greek command) with an optional subscript: its canonical name.

        ``W_1``, ``W_{1}`` and, where ``W_1`` is declared, ``W1`` are one name (as
        :func:`matrix_name` reads ``--shape W1=...``); ``X2`` with ``X`` declared and no ``X_2``
        is refused (a name or a product?), as is ``W_12`` where ``W_{12}`` is declared (LaTeX
        reads ``W_12`` as ``W_1`` times 2)."""
        t = self.text
        cmd, k = self.command(i)
        base = cmd if cmd else t[i]
        j = k if cmd else i + 1
        if j < self.hi and t[j] == "_":
            sub, j = self.subscript(j)
            name = f"{base}_{sub}"
            more = j
            while more < self.hi and t[more].isalnum():
                more += 1
            longer = f"{name}{t[j:more]}"
            if more > j and longer in self.symbols:
                raise self.error(f"{t[i:more]} reads as {name} times {t[j:more]} in LaTeX; "
                                 f"expected {base}_{{{sub}{t[j:more]}}} for the matrix {longer}",
                                 i)
            return name, j
        if j < self.hi and t[j].isdigit():
            end = j
            while end < self.hi and t[end].isdigit():
                end += 1
            name = f"{base}_{t[j:end]}"
            if name in self.symbols:  # W1 for W_1, as --shape W1=... declares it
                return name, end
            if base in self.symbols:
                raise self.error(f"{t[i:end]} is ambiguous: expected {base}_{{{t[j:end]}}} for "
                                 f"a matrix of that name or {t[j:end]}{base} for a product", i)
        return base, j

    def subscript(self, j: int) -> tuple[str, int]:
        """The subscript after the '_' at ``j``: one letter or digit, or a braced group."""
        t = self.text
        j += 1
        if j < self.hi and t[j] == "{":
            end = self.matching(j)
            sub = t[j + 1:end].strip()
            j = end + 1
        elif j < self.hi and t[j].isalnum():
            sub = t[j]
            j += 1
        else:
            raise self.error("expected a subscript after '_'", j)
        if not re.fullmatch(r"[A-Za-z0-9]+", sub):
            raise self.error(f"the subscript {sub!r} is not letters or digits", j)
        return sub, j

    def variable(self, name: str, at: int):
        if name in self.symbols:
            return self.symbols[name]
        if name == "I":  # the identity, its size from the sum or product it stands in
            return _Eye()
        if name.startswith("I_") and name[2:] in self.dims:
            return sp.Identity(self.dims[name[2:]])
        if name.startswith("I_") and name[2:].isdigit():
            if not 1 <= int(name[2:]) <= 10_000:
                raise self.error(f"the size of {name} is not an integer from 1 to 10000", at)
            return sp.Identity(int(name[2:]))
        if name in self.dims:
            return self.dims[name]
        if name == "e":  # Euler's number, as in scalar form (e^{x}: the exponential)
            return sp.E
        return sp.Symbol(name, real=True)

    def argument(self, i: int, what: str):
        """A function's argument: ( ... ), { ... } or a single factor (\\log\\det X, \\det X)."""
        j = self.skip(i)
        if j < self.hi and self.text[j] in "({[":
            return self.atom(j)
        if j >= self.hi:
            raise self.error(f"expected the argument of {what}", j)
        value, k = self.postfix(j)
        nxt = self.skip(k)
        if nxt < self.hi and (self.text[nxt] == "*" or self.command(nxt)[0] in ("cdot", "times")
                              or self.starts_atom(nxt)):
            # \tanh Xw: tanh(X w) or tanh(X) w? \log\det X and \det X^{-1} stay as written.
            raise self.error(f"the argument of {what} without parentheses is followed by a "
                             f"product, which is ambiguous; expected {what}(...) around the "
                             "whole argument, or parentheses around the function", j)
        return value, k

    def atom(self, i: int):
        i = self.skip(i)
        t = self.text
        if i >= self.hi:
            raise self.error("expected a term", i)
        ch = t[i]
        if ch in "([":
            close = ")" if ch == "(" else "]"
            value, k = self.expr(i + 1)
            k = self.skip(k)
            if k >= self.hi or t[k] != close:
                raise self.error(f"expected '{close}' to close the '{ch}' at {_col(i)}", k)
            return value, k + 1
        if ch == "{":
            return self.group(i, "the group")
        if ch.isdigit() or ch == ".":
            j = i
            while j < self.hi and (t[j].isdigit() or t[j] == "."):
                j += 1
            digits = t[i:j]
            whole, _, frac = digits.partition(".")
            if digits.count(".") > 1 or len(digits) > _MAX_NUMBER_DIGITS or digits == ".":
                raise self.error(f"{digits!r} is not a number", i)
            return sp.Integer(int(whole or "0") * 10 ** len(frac) + int(frac or "0")) / (
                sp.Integer(10) ** len(frac)), j
        if ch == "|":
            raise self.error("'|' (an absolute value or a determinant) is not read in matrix "
                             "form; expected \\|v\\| for a norm or \\det(M)", i)
        cmd, k = self.command(i)
        if cmd is None:
            if ch.isalpha():
                name, j = self.name_token(i)
                return self.variable(name, i), j
            raise self.error(f"unexpected {ch!r}; expected a term", i)
        if cmd in _DANGEROUS:
            raise self.error(f"the command \\{cmd} is not allowed", i)
        if cmd in ("|", "Vert", "lVert"):
            return self.norm(i, k)
        if cmd in ("frac", "dfrac", "tfrac"):
            top, k = self.group(k, "the numerator")
            bottom, k = self.group(k, "the denominator")
            return self.divide(top, bottom, i), k
        if cmd in _BOLD:
            inner_lo = self.skip(k)
            if inner_lo < self.hi and t[inner_lo].isalnum():  # \mathbf 1, \mathbf x
                end, inner = inner_lo, t[inner_lo]
            elif inner_lo >= self.hi or t[inner_lo] != "{":
                raise self.error(f"expected '{{' after \\{cmd}", inner_lo)
            else:
                end = self.matching(inner_lo)
                inner = t[inner_lo + 1:end].strip()
            if inner == "1":
                return _Ones(), end + 1
            if end + 1 < self.hi and t[end + 1] == "_":  # \mathbf{W}_1: the name W_1
                sub, after = self.subscript(end + 1)
                inner, end = f"{inner}_{{{sub}}}", after - 1
            try:
                name = matrix_name(inner, what=self.what)
            except ParseError:
                raise self.error(f"\\{cmd}{{{inner}}} is not a matrix or vector name such as "
                                 "\\mathbf{x}", i) from None
            if name not in self.symbols and (name == "I" or name.startswith("I_")):
                value = self.variable(name, i)  # \mathbf{I}, \mathbf{I}_d: the identity
                if isinstance(value, (_Eye, sp.Identity)):
                    return value, end + 1
            if name not in self.symbols:
                raise self.error(f"\\{cmd}{{{inner}}} is not declared; expected --shape "
                                 f"{name}=... for a matrix or vector", i)
            return self.symbols[name], end + 1
        if cmd in _NAMED:
            lo = self.skip(k)
            if lo >= self.hi or t[lo] != "{":
                raise self.error(f"expected '{{' after \\{cmd}", lo)
            end = self.matching(lo)
            word = t[lo + 1:end].strip()
            return self.function(word, end + 1, i)
        if cmd in ("det", "log", "ln", "exp", "tanh", "sin", "cos", "sigma", "sqrt"):
            if cmd == "sigma" and self.peek(k) != "(":
                return self.variable("sigma", i), k
            return self.function(cmd, k, i)
        if cmd in _GREEK:
            name, j = self.name_token(i)
            return self.variable(name, i), j
        if cmd in ("right", "rVert"):
            raise self.error(f"unexpected \\{cmd}; expected a term", i)
        raise self.error(f"\\{cmd} is not read in matrix form; expected ^T, ^{{-1}}, \\|v\\|, "
                         "\\operatorname{tr}, \\det, \\log\\det, \\odot, \\mathbf{1}, \\sigma(...) "
                         "or an arithmetic operator", i)

    def function(self, word: str, k: int, at: int):
        if word in _TRACE_NAMES:
            arg, k = self.argument(k, f"\\operatorname{{{word}}}")
            arg = self.resolve(arg, at)
            if not self.is_matrix(arg) or arg.shape[0] != arg.shape[1]:
                raise self.error("the trace needs a square matrix", at)
            return sp.Trace(arg), k
        if word == "det":
            arg, k = self.argument(k, "\\det")
            arg = self.resolve(arg, at)
            if not self.is_matrix(arg) or arg.shape[0] != arg.shape[1]:
                raise self.error("\\det needs a square matrix", at)
            return sp.Determinant(arg), k
        if word == "sqrt":
            arg, k = self.group(k, "the square root")
            return sp.sqrt(self.scalar(arg, at, "\\sqrt")), k
        if word in ("softmax", "logsumexp", "sum"):
            from .matrix_functions import LogSumExp, MatSum, Softmax

            arg, k = self.argument(k, word)
            arg = self.resolve(arg, at)
            if not self.is_matrix(arg):
                raise self.error(f"{word} needs a matrix or a vector", at)
            return {"softmax": Softmax, "logsumexp": LogSumExp, "sum": MatSum}[word](arg), k
        function = _MATRIX_FUNCTIONS.get(word)
        if function is None:
            raise self.error(f"the function {word!r} is not known in matrix form; expected "
                             "tr, det, log, exp, \\sigma, relu, step, softplus, tanh, softmax, "
                             "logsumexp or sum", at)
        arg, k = self.argument(k, word)
        arg = self.resolve(arg, at)
        if self.is_matrix(arg):
            from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

            return ElementwiseApplyFunction(function, arg), k
        return function(arg), k

    def norm(self, i: int, k: int):
        """``\\| v \\|`` with an optional ``_F`` or ``_2``: the Frobenius (vector 2-) norm."""
        from .matrix_functions import FrobeniusNorm

        t = self.text
        end = None
        depth = 0
        j = k
        while j < self.hi:
            cmd, nxt = self.command(j)
            if t[j] in "({[":
                depth += 1
            elif t[j] in ")}]":
                depth -= 1
            if depth == 0 and cmd in ("|", "Vert", "rVert"):
                end = j
                break
            j = nxt if cmd else j + 1
        if end is None:
            raise self.error("expected a closing \\| for this norm", i)
        reader = _MatrixReader(self.text, self.what, self.symbols, self.dims)
        reader.depth = self.depth + 1
        reader.hi = end
        value, m = reader.expr(k)
        if reader.skip(m) < end:
            raise self.error(f"unexpected {t[reader.skip(m)]!r} inside the norm", reader.skip(m))
        value = reader.resolve(value, k)
        _, after = self.command(end)
        if not self.is_matrix(value):
            raise self.error("\\|...\\| needs a matrix or a vector; expected --shape for its "
                             "names", i)
        if after < self.hi and t[after] == "_":
            sub_text, _, after = self.exponent_text(after + 1)
            if sub_text not in ("F", "2", "\\mathrm{F}", "\\mathrm{fro}"):
                raise self.error(f"the norm \\|.\\|_{sub_text} is not supported; expected _F or "
                                 "_2", end)
            if sub_text == "2" and value.shape[1] != 1:
                raise self.error("the spectral norm \\|M\\|_2 of a matrix is not supported; "
                                 "expected \\|M\\|_F", end)
        return FrobeniusNorm(value), after


def parse_matrix_latex(text: str, shapes, *, what: str = "formula"):
    r"""Parse a matrix-form formula: ``\frac{1}{n}\|Xw - y\|^2``, ``x^TAx``, ``2X^T(Xw-y)/n``,
    ``\operatorname{tr}(AX)``, ``\log\det X``, ``X^{-T}``, ``\sigma(Xw)``, ``\mathbf{1}^T v``.

    ``shapes`` maps names to dimensions (``{"X": ("n", "d"), "w": ("d",)}``, or a
    :func:`matrix_symbols` triple). Declared names are ``MatrixSymbol``; a dimension name (``n``)
    used as a number is that dimension; every other letter is a real scalar. Adjacent factors
    multiply in the order written. Returns a SymPy matrix expression or a scalar expression.
    Raises :class:`ParseError` with the column.
    """
    text = _precheck(text, what)
    symbols = shapes[0] if isinstance(shapes, tuple) else matrix_symbols(shapes)[0]
    for index, ch in enumerate(text):
        if ch not in _ALLOWED_CHARS:
            raise ParseError(f"{what}: the character {ch!r} is not allowed at {_col(index)}", index)
    dims = {}
    for s in symbols.values():
        for d in s.shape:
            if isinstance(d, sp.Symbol):
                dims[d.name] = d
    lo, hi = _strip_dollars(text)
    reader = _MatrixReader(text, what, symbols, dims)
    return reader.parse(lo, hi)
