r"""Render a :class:`~symlearn.derivation.Derivation` as a standalone LaTeX document.

Steps become ``align*`` environments, one line per step, the reason in a ``\tag*`` at the right;
a closing section lists how every step was checked. Reads only the derivation.
"""

from __future__ import annotations

from collections.abc import Mapping


from ..derivation import RELATIONS, Derivation, Figure, Section, Steps, Table, Text, require_checked
from ..printing.latex import latex
from ._text import prose_to_latex, prose_to_math

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
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
"""


def _math(value) -> str:
    if isinstance(value, str):
        return prose_to_latex(value)
    return f"${latex(value)}$"


def step_lines(block: Steps, first_number: int, *, tags: bool) -> list[str]:
    """The lines of an aligned block: ``lhs &= rhs`` with the reason as a tag or a column."""
    lines = []
    for offset, step in enumerate(block.steps):
        number = first_number + offset
        lhs = "" if step.continued else latex(step.lhs)
        relation = RELATIONS[step.relation]
        reason = f"({number})" + (f" {step.reason}" if step.reason else "")
        body = f"{lhs} &{relation} {latex(step.rhs)}"
        if tags:
            lines.append(rf"{body} \tag*{{\small {prose_to_latex(reason)}}}")
        else:
            lines.append(rf"{body} && {prose_to_math(reason)}")
    return lines


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


