r"""Render a :class:`~symlearn.derivation.Derivation` as a standalone LaTeX document.

Steps become ``align*`` environments, one line per step, the reason in a ``\tag*`` at the right;
a closing section lists how every step was checked. Reads only the derivation.
"""

from __future__ import annotations

from collections.abc import Mapping


from ..derivation import RELATIONS, Derivation, Figure, Section, Steps, Table, Text, require_checked
from ..printing.latex import latex
from ._text import prose_to_latex, prose_to_math
from ._width import estimate_em, split_top_level

__all__ = ["to_latex"]

# T1 font encoding: under LaTeX's default OT1 the text characters < > | print as other glyphs
# (">" as an inverted question mark, so "->" reads "-¿"). Latin Modern (fonts-lmodern, which
# Debian's texlive-latex-base depends on) provides T1 as scalable Type 1 fonts, not bitmaps.
PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage{booktabs}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
"""


def _math(value) -> str:
    if isinstance(value, str):
        return prose_to_latex(value)
    return f"${latex(value)}$"


#: The text width in em of the document's font: letter paper (614.3 pt) less two 2.2 cm margins
#: (2 x 62.6 pt), at 10.95 pt per em (11pt class).
LINE_EM = (614.3 - 2 * 62.6) / 10.95
#: The estimated width a line of maths may take: the estimate (see ``_width``) is within about
#: 17% of pdfTeX's width for long formulas, so 0.82 of the line keeps a row on the page.
BUDGET_EM = 0.82 * LINE_EM
_INDENT = r"\qquad "  # a continued line of a long step
_INDENT_EM = 2.0


def step_lines(block: Steps, first_number: int, *, tags: bool) -> list[str]:
    """The lines of an aligned block: ``lhs &= rhs`` with the reason as a tag or a column.

    For LaTeX (``tags``), a block whose widest left side plus widest right side would not fit
    the line is set stacked: each left side on a line of its own, the relation and the right side
    on the next, indented, broken before a top-level ``+`` or ``-`` where one line is not
    enough; a single term wider than a line is scaled to fit (the last resort). Markdown keeps
    one row per step (a browser scrolls)."""
    rows = []
    for offset, step in enumerate(block.steps):
        number = first_number + offset
        lhs = "" if step.continued else latex(step.lhs)
        relation = RELATIONS[step.relation]
        reason = f"({number})" + (f" {step.reason}" if step.reason else "")
        rows.append((lhs, relation, latex(step.rhs), reason))
    if not tags:
        return [rf"{lhs} &{relation} {rhs} && {prose_to_math(reason)}"
                for lhs, relation, rhs, reason in rows]
    widest_left = max(estimate_em(lhs) for lhs, _, _, _ in rows)
    widest_right = max(estimate_em(f"{relation} {rhs}") for _, relation, rhs, _ in rows)
    if widest_left + widest_right <= BUDGET_EM:
        return [rf"{lhs} &{relation} {rhs} \tag*{{\small {prose_to_latex(reason)}}}"
                for lhs, relation, rhs, reason in rows]
    lines = []
    for lhs, relation, rhs, reason in rows:
        row_lines = []
        if lhs:
            row_lines += _wrapped(lhs, first_prefix="& ", prefix="& " + _INDENT, first_em=0.0)
        row_lines += _wrapped(rhs, first_prefix=f"& {_INDENT}{relation} ",
                              prefix=f"& {_INDENT}\\quad ", first_em=_INDENT_EM + 1.4)
        row_lines[-1] += rf" \tag*{{\small {prose_to_latex(reason)}}}"
        lines += row_lines
    return lines


def _wrapped(tex: str, *, first_prefix: str, prefix: str, first_em: float) -> list[str]:
    """``tex`` as lines of at most :data:`BUDGET_EM`, broken before top-level ``+``/``-``."""
    lines: list[str] = []
    current, current_em = "", first_em
    for piece in split_top_level(tex):
        piece_em = estimate_em(piece)
        if current and current_em + piece_em > BUDGET_EM:
            lines.append(current)
            current, current_em = "", _INDENT_EM + 1.0
        if not current and current_em + piece_em > BUDGET_EM:
            piece = _fitted(piece, current_em)
        current = f"{current} {piece}".strip()
        current_em += piece_em
    lines.append(current)
    return [(first_prefix if i == 0 else prefix) + line for i, line in enumerate(lines)]


def _fitted(piece: str, indent_em: float) -> str:
    r"""A term too wide for any line, scaled down to the room left after ``indent_em``: TeX
    measures it and scales only if it really is too wide (``\resizebox`` with ``\width``)."""
    room = max(0.3, 1 - indent_em / LINE_EM)
    sign = ""
    if piece[:2] in {"+ ", "- "}:
        sign, piece = piece[:2], piece[2:]
    box = (rf"\resizebox{{\ifdim\width>{room:.2f}\linewidth {room:.2f}\linewidth"
           rf"\else\width\fi}}{{!}}{{$\displaystyle {piece}$}}")
    return sign + box


def to_latex(derivation: Derivation, figures: Mapping[str, str | None] | None = None) -> str:
    r"""The document's LaTeX source.

    Args:
        derivation: a fully checked derivation (else :class:`DerivationError`).
        figures: figure name -> path to include (relative to the ``.tex``), or ``None`` with a
            reason not drawn (``figures[name + ":why"]``).
    """
    require_checked(derivation)
    figures = figures or {}
    out = [PREAMBLE, rf"\title{{{prose_to_latex(derivation.title)}}}", r"\date{}", r"\begin{document}"]
    out.append(r"\maketitle")
    if derivation.summary:
        out.append(prose_to_latex(derivation.summary) + "\n")
    out.append(
        r"\emph{Every numbered step below was checked by machine when this document was built; "
        r"the last section says how.}" + "\n"
    )
    number = 1
    for block in derivation.blocks:
        if isinstance(block, Section):
            out.append(rf"\section*{{{prose_to_latex(block.title)}}}")
        elif isinstance(block, Text):
            out.append(prose_to_latex(block.body) + "\n")
        elif isinstance(block, Steps):
            lines = step_lines(block, number, tags=True)
            number += len(block.steps)
            out.append("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}")
        elif isinstance(block, Table):
            out.append(_table(block))
        elif isinstance(block, Figure):
            out.append(_figure(block, figures))
    if derivation.all_steps():
        out.append(r"\section*{How each step was checked}")
        out.append(r"\begin{enumerate}\setlength{\itemsep}{0pt}\small")
        for i, step in enumerate(derivation.all_steps(), start=1):
            out.append(rf"\item[({i})] {prose_to_latex(step.result.detail)}.")
        out.append(r"\end{enumerate}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def _table(table: Table) -> str:
    columns = "l" * len(table.header)
    rows = [" & ".join(prose_to_latex(h) for h in table.header) + r" \\ \midrule"]
    for row in table.rows:
        rows.append(" & ".join(_math(cell) for cell in row) + r" \\")
    body = "\n".join(rows)
    caption = f"\n\\\\[2pt]{{\\small {prose_to_latex(table.caption)}}}" if table.caption else ""
    # A table wider than the text is scaled down to the text width, never cut off.
    return (
        "\\begin{center}\n\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n"
        f"\\begin{{tabular}}{{{columns}}}\n\\toprule\n{body}\n\\bottomrule\n"
        f"\\end{{tabular}}}}{caption}\n\\end{{center}}"
    )


def _figure(figure: Figure, figures: Mapping) -> str:
    path = figures.get(figure.name)
    if path is None:
        why = figures.get(figure.name + ":why", "it was not drawn")
        return rf"\emph{{(Figure ``{prose_to_latex(figure.name)}'' omitted: {prose_to_latex(why)}.)}}"
    return (
        "\\begin{figure}[h!]\n\\centering\n"
        f"\\includegraphics[width=0.85\\linewidth,height=0.45\\textheight,keepaspectratio]{{{path}}}\n"
        f"\\caption{{{prose_to_latex(figure.caption)}}}\n\\end{{figure}}"
    )


