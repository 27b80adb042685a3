"""Prose with inline math (``$...$``), ``**bold**`` and ```code```, for LaTeX and Markdown."""

from __future__ import annotations

import re

__all__ = ["github_math", "prose_to_latex", "prose_to_markdown", "prose_to_math", "split_math"]

# GitHub runs Markdown's backslash escapes over the maths before MathJax sees it
# (github/markup#1577): "\{" reaches MathJax as "{" (an invisible group), "\|" as "|", "\:" as
# ":". Each control symbol made of a backslash and a punctuation mark is therefore written as the
# control word that means the same.
_GITHUB_CONTROL_SYMBOLS = {
    "{": r"\lbrace",
    "}": r"\rbrace",
    "|": r"\Vert",
    ",": r"\thinspace",
    ":": r"\medspace",
    ">": r"\medspace",
    ";": r"\thickspace",
    "!": r"\negthinspace",
    " ": r"\space",
    "&": r"\And",
    "#": r"\unicode{35}",
    "%": r"\unicode{37}",
    "_": r"\unicode{95}",
    "$": r"\unicode{36}",
}
_CONTROL = re.compile(r"\\(\\|[A-Za-z]+|.)", re.DOTALL)

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


#: After these characters a line may break inside code (TeX never hyphenates typewriter text,
#: so a long name or a list of numbers would run off the page).
_CODE_BREAKS = set(".,_/([=:")


def _breakable_code(text: str) -> str:
    return "".join(
        _LATEX_SPECIALS.get(ch, ch) + (r"\allowbreak{}" if ch in _CODE_BREAKS else "")
        for ch in text
    )


#: An ASCII quote that opens a quotation: at the start or after a space or an opening bracket,
#: and before a character that is not a space.
_OPENING_QUOTE = re.compile(r"""(?:(?<=^)|(?<=[\s(\[{]))(['"])(?=\S)""")


def _typeset_quotes(text: str, before: str = "", after: str = "") -> str:
    """ASCII quotes as TeX's: an opening ' or " becomes ` or ``, a closing " becomes ''
    (a closing ' and an apostrophe, "seeds'", are TeX's right quote already). ``before`` and
    ``after`` are the characters around ``text`` in the sentence (a quotation may enclose maths or
    code). TeX would otherwise print 'Hinge Loss' with two closing quotes, and " straight."""
    if "'" not in text and '"' not in text:
        return text
    padded = (before[-1:] or " ") + text + (after[:1] or " ")
    padded = _OPENING_QUOTE.sub(lambda m: "``" if m.group(1) == '"' else "`", padded)
    return padded.replace('"', "''")[1:-1]


def prose_to_latex(text: str) -> str:
    out = []
    pieces = split_math(text)
    for k, (is_math, piece) in enumerate(pieces):
        if is_math:
            out.append(f"${piece}$")
            continue
        before = pieces[k - 1][1] if k else ""
        after = pieces[k + 1][1] if k + 1 < len(pieces) else ""
        parts = re.split(r"(\*\*[^*]+\*\*|`[^`]+`)", piece)
        for j, part in enumerate(parts):
            if part.startswith("**") and part.endswith("**") and len(part) > 4:
                out.append(r"\textbf{" + _escape_latex(_typeset_quotes(part[2:-2])) + "}")
            elif part.startswith("`") and part.endswith("`") and len(part) > 2:
                out.append(r"\texttt{" + _breakable_code(part[1:-1]) + "}")
            else:
                left = parts[j - 1] if j else before
                right = parts[j + 1] if j + 1 < len(parts) else after
                out.append(_escape_latex(_typeset_quotes(part, left, right)))
    return "".join(out)


def github_math(tex: str) -> str:
    r"""``tex`` with every control symbol that GitHub's Markdown would unescape written as an
    equivalent control word: ``\{`` -> ``\lbrace``, ``\|`` -> ``\Vert``, ``\,`` ->
    ``\thinspace``, ... (``\\``, the line break of an aligned block, is left alone)."""

    def replace(match: re.Match) -> str:
        token = match.group(1)
        word = _GITHUB_CONTROL_SYMBOLS.get(token) if len(token) == 1 else None
        if word is None:
            return match.group(0)
        # A control word swallows the letters after it: keep them apart.
        end = match.end()
        follows = tex[end : end + 1]
        apart = follows.isalpha() or (follows == "{" and word.endswith("space"))
        return word + (" " if apart else "")

    return _CONTROL.sub(replace, tex)


def inline_markdown_math(tex: str) -> str:
    """One inline formula for GitHub: :func:`github_math`, with no space just inside the
    dollars (GitHub does not read ``$x = $`` as maths). Empty when nothing is left."""
    body = github_math(tex).strip()
    return f"${body}$" if body else ""


def prose_to_markdown(text: str) -> str:
    """Prose for GitHub Markdown: inline maths through :func:`inline_markdown_math`; a literal
    dollar stays escaped."""
    out = []
    for is_math, piece in split_math(text):
        out.append(inline_markdown_math(piece) if is_math else piece.replace("$", "\\$"))
    return "".join(out)


#: Characters that cannot stay inside ``\text{...}`` in an aligned block: braces group, ``&``
#: aligns, ``%`` comments, ``#`` is a parameter. They are written as maths between texts.
_TEXT_BREAKERS = {"{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "#": r"\#", "\\": r"\backslash"}


def prose_to_math(text: str) -> str:
    """Prose as math-mode LaTeX: words in ``\\text{...}``, inline math as is (for a column of
    an ``aligned`` block, where MathJax does not read ``$`` inside ``\\text``)."""
    out = []
    for is_math, piece in split_math(text):
        if is_math:
            out.append(piece)
            continue
        run: list[str] = []
        for ch in piece:
            if ch in _TEXT_BREAKERS:
                if run:
                    out.append(r"\text{" + "".join(run) + "}")
                    run = []
                out.append(_TEXT_BREAKERS[ch])
            else:
                run.append(ch)
        if run:
            out.append(r"\text{" + "".join(run) + "}")
    return " ".join(out)
