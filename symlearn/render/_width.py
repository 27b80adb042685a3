r"""How wide a LaTeX formula will be on the page, estimated from its source, and where it can be
broken: so the LaTeX renderer can lay out a long step over several lines before TeX reports it
as an overfull box.

The estimate walks the source as TeX would set it in display style: letters and digits about
half an em, binary operators and relations with their surrounding spaces, a fraction as wide as
its wider part, sub- and superscripts at 70%. Calibrated against pdfTeX's own widths of the
formulas in the bundled documents (Latin Modern, 11 pt): within about 10% for long formulas,
which is why the renderer keeps a margin.
"""

from __future__ import annotations

__all__ = ["estimate_em", "split_top_level"]

_SYMBOL = 0.62  # a Greek letter, \partial, \infty
_BINARY = 1.22  # + - \cdot \times with medium spaces on both sides
_RELATION = 1.34  # = < > \leq with thick spaces

_COMMAND_WIDTHS = {
    "cdot": 0.78, "times": _BINARY, "pm": _BINARY, "mp": _BINARY, "circ": 0.95, "odot": _BINARY,
    "leq": _RELATION, "geq": _RELATION, "le": _RELATION, "ge": _RELATION, "neq": _RELATION,
    "approx": _RELATION, "sim": _RELATION, "equiv": _RELATION, "to": 1.5, "in": 1.2,
    "mapsto": 1.5, "Longleftrightarrow": 2.2, "Longrightarrow": 2.2, "Rightarrow": 1.5,
    "quad": 1.0, "qquad": 2.0, ",": 0.17, ":": 0.22, ";": 0.28, "!": -0.17, " ": 0.33,
    "thinspace": 0.17, "medspace": 0.22, "thickspace": 0.28,
    "sum": 1.45, "prod": 1.45, "int": 0.8, "infty": 1.0, "nabla": 0.85, "partial": 0.56,
    "ldots": 1.2, "dots": 1.2, "cdots": 1.2, "lceil": 0.45, "rceil": 0.45, "lfloor": 0.45,
    "rfloor": 0.45, "langle": 0.39, "rangle": 0.39, "lbrace": 0.5, "rbrace": 0.5, "{": 0.5,
    "}": 0.5, "|": 0.5, "Vert": 0.5, "vert": 0.28, "mid": 0.8, "%": 0.83, "&": 0.78, "#": 0.83,
    "_": 0.5, "max": 1.65, "min": 1.5, "log": 1.4, "ln": 0.95, "exp": 1.5, "sin": 1.25,
    "cos": 1.35, "tanh": 2.0, "sign": 1.95, "argmax": 3.0, "argmin": 2.9, "det": 1.35,
    "lim": 1.3, "sup": 1.35, "inf": 1.05, "top": 0.78, "prime": 0.3, "ell": 0.42,
}
_TRANSPARENT = {  # commands whose argument is set as it is (same width)
    "mathbf", "boldsymbol", "mathrm", "mathit", "mathcal", "mathbb", "mathsf", "mathtt",
    "operatorname", "hat", "bar", "tilde", "vec", "dot", "ddot", "widehat", "overline",
    "underline", "mathring", "textbf", "displaystyle", "bm", "mathop",
}
_TEXT = {"text", "textrm", "textit", "texttt", "mbox"}
_DROP_ARGUMENT = {"label", "tag", "tag*", "color"}
_OPENERS = "([{"
_CLOSERS = ")]}"


class _Reader:
    def __init__(self, tex: str):
        self.tex, self.i = tex, 0

    def peek(self) -> str:
        return self.tex[self.i] if self.i < len(self.tex) else ""

    def command(self) -> str:
        """After a backslash: a control word (letters, with a trailing ``*``) or one symbol."""
        start = self.i
        while self.i < len(self.tex) and self.tex[self.i].isalpha():
            self.i += 1
        if self.i == start:
            self.i += 1
            return self.tex[start : self.i]
        if self.peek() == "*":
            self.i += 1
        return self.tex[start : self.i]

    def skip_spaces(self) -> None:
        while self.peek().isspace():
            self.i += 1

    def group(self) -> str:
        """The next argument: ``{...}`` (without braces) or one token."""
        self.skip_spaces()
        if self.peek() == "{":
            depth, start = 0, self.i
            while self.i < len(self.tex):
                ch = self.tex[self.i]
                if ch == "\\":
                    self.i += 2
                    continue
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        self.i += 1
                        return self.tex[start + 1 : self.i - 1]
                self.i += 1
            return self.tex[start + 1 :]
        if self.peek() == "\\":
            self.i += 1
            return "\\" + self.command()
        ch = self.peek()
        self.i += 1
        return ch


def estimate_em(tex: str, scale: float = 1.0, _depth: int = 0) -> float:
    """The estimated width of math-mode ``tex`` in em of the surrounding font (display style)."""
    r = _Reader(tex)
    width = 0.0
    previous_is_atom = False  # is a following + or - binary (an operator between two atoms)?
    while r.i < len(tex):
        ch = r.peek()
        if ch.isspace():
            r.i += 1
            continue
        if ch == "\\":
            r.i += 1
            name = r.command()
            if name == "frac" or name in {"dfrac", "tfrac"}:
                top, bottom = r.group(), r.group()
                inner = scale if _depth == 0 and name != "tfrac" else scale * 0.75
                width += max(estimate_em(top, inner, _depth + 1),
                             estimate_em(bottom, inner, _depth + 1)) + 0.25 * scale
                previous_is_atom = True
            elif name == "sqrt":
                width += 0.85 * scale + estimate_em(r.group(), scale, _depth)
                previous_is_atom = True
            elif name in {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big"}:
                r.skip_spaces()
                if r.peek() == "\\":
                    r.i += 1
                    delimiter = r.command()
                else:
                    delimiter = r.peek()
                    r.i += 1
                width += 0.0 if delimiter == "." else 0.45 * scale
                previous_is_atom = name in {"right", "bigr", "Bigr"}
            elif name in _TRANSPARENT:
                width += estimate_em(r.group(), scale, _depth)
                previous_is_atom = True
            elif name in _TEXT:
                width += 0.5 * len(r.group()) * scale
                previous_is_atom = True
            elif name in _DROP_ARGUMENT:
                r.group()
            elif name == "begin":
                environment = r.group()
                body = _environment_body(r, environment)
                rows = [[estimate_em(cell, scale, _depth + 1) for cell in _cells(row, "&")]
                        for row in _cells(body, "\\\\")]
                widest = max((sum(row) + 1.0 * (len(row) - 1) for row in rows), default=0.0)
                width += widest + (0.9 * scale if environment == "cases" else 0.3 * scale)
                previous_is_atom = True
            elif name == "end":
                r.group()
            elif name == "\\":
                pass  # a line break: not part of a single line's width
            elif name in _COMMAND_WIDTHS:
                width += _COMMAND_WIDTHS[name] * scale
                is_space = name in {"quad", "qquad", ",", ":", ";", "!", " ", "thinspace",
                                    "medspace", "thickspace"}
                is_operator = _COMMAND_WIDTHS[name] >= _BINARY and name not in {
                    "sum", "prod", "max", "min", "log", "exp", "tanh", "sign", "argmax", "argmin"}
                if not is_space:
                    previous_is_atom = not is_operator
            else:  # a Greek letter or another symbol
                width += _SYMBOL * scale
                previous_is_atom = True
            continue
        r.i += 1
        if ch in "^_":
            width += estimate_em(r.group(), scale * 0.7, _depth + 1)
        elif ch == "{":
            r.i -= 1
            width += estimate_em(r.group(), scale, _depth)
            previous_is_atom = True
        elif ch in "+-":
            width += (_BINARY if previous_is_atom else 0.78) * scale
            previous_is_atom = False
        elif ch in "=<>":
            width += _RELATION * scale
            previous_is_atom = False
        elif ch == ",":
            width += 0.45 * scale
            previous_is_atom = False
        elif ch in _OPENERS:
            width += 0.39 * scale
            previous_is_atom = False
        elif ch in _CLOSERS:
            width += 0.39 * scale
            previous_is_atom = True
        elif ch in "&":
            continue
        elif ch in ".;:!'|/*":
            width += 0.3 * scale if ch in ".;:!'|" else 0.5 * scale
            previous_is_atom = ch in "|'"
        elif ch.isdigit():
            width += 0.5 * scale
            previous_is_atom = True
        else:
            width += 0.55 * scale
            previous_is_atom = True
    return width


def _environment_body(r: _Reader, environment: str) -> str:
    """Consume up to the matching ``\\end{environment}``; return what is between."""
    start, depth = r.i, 1
    opening, closing = f"\\begin{{{environment}}}", f"\\end{{{environment}}}"
    while r.i < len(r.tex):
        if r.tex.startswith(opening, r.i):
            depth += 1
            r.i += len(opening)
        elif r.tex.startswith(closing, r.i):
            depth -= 1
            if depth == 0:
                body = r.tex[start : r.i]
                r.i += len(closing)
                return body
            r.i += len(closing)
        else:
            r.i += 1
    return r.tex[start:]


def _cells(body: str, separator: str) -> list[str]:
    """``body`` cut at each ``separator`` outside brace groups and nested environments."""
    cells, depth, start, i = [], 0, 0, 0
    while i < len(body):
        if body.startswith("\\begin{", i):
            depth += 1
        elif body.startswith("\\end{", i):
            depth -= 1
        if depth == 0 and body.startswith(separator, i):
            cells.append(body[start:i])
            i += len(separator)
            start = i
            continue
        ch = body[i]
        if ch == "\\":
            i += 2  # an escaped character or the start of a command
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        i += 1
    cells.append(body[start:])
    return cells


#: A ``+`` or ``-`` right after these is a sign, not a place to break.
_NOT_BEFORE_BINARY = (
    "=", "(", "[", "{", ",", "<", ">", "+", "-", "&", "\\leq", "\\geq", "\\le", "\\ge",
    "\\neq", "\\approx", "\\to", "\\in", "\\cdot", "\\times", "\\sim", "\\equiv",
    "\\Longleftrightarrow", "\\Longrightarrow", "\\Rightarrow",
)


def split_top_level(tex: str) -> list[str]:
    """``tex`` cut before each top-level binary ``+`` or ``-`` (outside every brace group and
    every ``\\left ... \\right`` pair): ``["a", "+ b", "- c"]``. A leading minus stays with the
    first term."""
    pieces, start, depth, i = [], 0, 0, 0
    n = len(tex)
    while i < n:
        ch = tex[i]
        if ch == "\\":
            j = i + 1
            while j < n and tex[j].isalpha():
                j += 1
            word = tex[i + 1 : j]
            if word == "left":
                depth += 1
            elif word == "right":
                depth -= 1
            i = max(j, i + 2)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch in "+-" and depth == 0 and tex[i - 1 : i] == " " and tex[i + 1 : i + 2] == " ":
            before = tex[start:i].strip()
            if before and not before.endswith(_NOT_BEFORE_BINARY):
                pieces.append(before)
                start = i
        i += 1
    pieces.append(tex[start:].strip())
    return [p for p in pieces if p]
