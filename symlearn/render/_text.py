"""Prose with inline math (``$...$``), ``**bold**`` and ```code```, for LaTeX and Markdown."""

from __future__ import annotations

import re

__all__ = ["split_math", "prose_to_latex", "prose_to_markdown", "prose_to_math"]

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "{": r"\{",
    "}": r"\}",
}


def split_math(text: str) -> list[tuple[bool, str]]:
    """Split ``text`` into (is_math, piece) at unescaped ``$`` signs."""
    pieces, math, current, i = [], False, [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] == "$":
            current.append("\\$" if math else "$")
            i += 2
            continue
        if ch == "$":
            pieces.append((math, "".join(current)))
            current, math = [], not math
        else:
            current.append(ch)
        i += 1
    if math:
        raise ValueError(f"unbalanced '$' in text: {text!r}")
    pieces.append((False, "".join(current)))
    return [(m, p) for m, p in pieces if p]


def _escape_latex(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def prose_to_latex(text: str) -> str:
    out = []
    for is_math, piece in split_math(text):
        if is_math:
            out.append(f"${piece}$")
            continue
        parts = re.split(r"(\*\*[^*]+\*\*|`[^`]+`)", piece)
        for part in parts:
            if part.startswith("**") and part.endswith("**") and len(part) > 4:
                out.append(r"\textbf{" + _escape_latex(part[2:-2]) + "}")
            elif part.startswith("`") and part.endswith("`") and len(part) > 2:
                out.append(r"\texttt{" + _escape_latex(part[1:-1]) + "}")
            else:
                out.append(_escape_latex(part))
    return "".join(out)


def prose_to_markdown(text: str) -> str:
    split_math(text)  # validates the dollars
    return text


def prose_to_math(text: str) -> str:
    """Prose as math-mode LaTeX: words in ``\\text{...}``, inline math as is (for a column of
    an ``aligned`` block, where MathJax does not read ``$`` inside ``\\text``)."""
    out = []
    for is_math, piece in split_math(text):
        if is_math:
            out.append(piece)
        else:
            out.append(r"\text{" + piece.replace("{", r"\{").replace("}", r"\}") + "}")
    return " ".join(out)
