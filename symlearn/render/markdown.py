r"""Render a :class:`~symlearn.derivation.Derivation` as Markdown whose math renders on GitHub:
inline ``$...$`` and display ``$$\begin{aligned} ... \end{aligned}$$``. Reads only the derivation.

GitHub applies Markdown's backslash escapes to the maths first, so every formula goes through
:func:`~symlearn.render._text.github_math` (``\{`` -> ``\lbrace``, ...), and an inline formula
has no space just inside its dollars.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..derivation import Derivation, Figure, Section, Steps, Table, Text, require_checked
from ..printing.latex import latex
from ._text import github_math, inline_markdown_math, prose_to_markdown, split_math
from .latex import step_lines

__all__ = ["to_markdown"]


def _cell_math(tex: str) -> str:
    # A bar would end the table cell: inside maths it is \vert (an empty group, not a space,
    # follows, so no space lands just inside the closing dollar).
    return inline_markdown_math(github_math(tex).replace("|", r"\vert{}"))


def _cell(value) -> str:
    """A table cell: prose (its bars escaped) or an expression."""
    if not isinstance(value, str):
        return _cell_math(latex(value))
    return "".join(
        _cell_math(piece) if is_math else piece.replace("$", "\\$").replace("|", "\\|")
        for is_math, piece in split_math(value)
    )


def to_markdown(derivation: Derivation, figures: Mapping[str, str | None] | None = None) -> str:
    """The document as GitHub Markdown; ``figures`` maps a figure name to an image path."""
    require_checked(derivation)
    figures = figures or {}
    out = [f"# {prose_to_markdown(derivation.title)}", ""]
    if derivation.summary:
        out += [prose_to_markdown(derivation.summary), ""]
    out += [
        "*Every numbered step below was checked by machine when this document was built; "
        "the last section says how.*",
        "",
    ]
    number = 1
    for block in derivation.blocks:
        if isinstance(block, Section):
            out += [f"## {prose_to_markdown(block.title)}", ""]
        elif isinstance(block, Text):
            out += [prose_to_markdown(block.body), ""]
        elif isinstance(block, Steps):
            lines = step_lines(block, number, tags=False)
            number += len(block.steps)
            body = github_math(" \\\\\n".join(lines))
            out += ["$$", "\\begin{aligned}", body, "\\end{aligned}", "$$", ""]
        elif isinstance(block, Table):
            out.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
            out.append("|" + "---|" * len(block.header))
            for row in block.rows:
                out.append("| " + " | ".join(_cell(c) for c in row) + " |")
            out.append("")
            if block.caption:
                out += [f"*{prose_to_markdown(block.caption)}*", ""]
        elif isinstance(block, Figure):
            path = figures.get(block.name)
            if path is None:
                why = figures.get(block.name + ":why", "it was not drawn")
                out += [f"*(Figure `{block.name}` omitted: {why}.)*", ""]
            else:
                out += [f"![{block.name}]({path})", "", f"*{prose_to_markdown(block.caption)}*", ""]
    if derivation.all_steps():
        out += ["## How each step was checked", ""]
        for i, step in enumerate(derivation.all_steps(), start=1):
            out.append(f"{i}. {prose_to_markdown(step.result.detail)}.")
    return "\n".join(out) + "\n"
