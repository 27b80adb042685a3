"""Write a derivation's documents: ``.tex``, ``.md`` and ``.pdf``, with their figures.

Every file is written atomically (temporary file, then rename). Figures are drawn into
``<out>/figures/`` as PDF (for LaTeX) and SVG (for Markdown).
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..derivation import Derivation, DerivationError, require_checked
from ._io import atomic_produce, atomic_write
from .latex import to_latex
from .markdown import to_markdown
from .pdf import PdfError, compile_pdf, tex_engine

__all__ = ["FORMATS", "Written", "write_documents", "to_latex", "to_markdown", "tex_engine", "PdfError"]

FORMATS = ("tex", "md", "pdf")


@dataclass
class Written:
    """What :func:`write_documents` wrote and what it skipped (with the reason)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: what the LaTeX log reports: overfull boxes wider than 1 pt and missing glyphs
    problems: list[str] = field(default_factory=list)


def _missing_requirement(requires: str) -> str | None:
    if requires == "dot" and shutil.which("dot") is None:
        return "Graphviz 'dot' is not installed"
    if requires == "matplotlib" and importlib.util.find_spec("matplotlib") is None:
        return "matplotlib is not installed (pip install 'symlearn[plot]')"
    return None


def _draw_figures(derivation: Derivation, out_dir: Path, suffix: str, written: Written) -> dict:
    paths: dict = {}
    for figure in derivation.figures():
        why = _missing_requirement(figure.requires)
        if why is None:
            target = out_dir / "figures" / f"{figure.name}.{suffix}"
            try:
                atomic_produce(target, figure.draw)
            except Exception as error:  # a figure that fails to draw is reported, not fatal
                why = f"drawing failed: {error}"
            else:
                paths[figure.name] = f"figures/{figure.name}.{suffix}"
                if target not in written.files:
                    written.files.append(target)
        if why is not None:
            paths[figure.name + ":why"] = why
            message = f"{derivation.name}: figure {figure.name} skipped ({why})"
            if message not in written.skipped:
                written.skipped.append(message)
    return paths


def write_documents(
    derivation: Derivation, out_dir: str | Path, formats=FORMATS, *, pdf_required: bool = False
) -> Written:
    """Write ``derivation`` to ``out_dir/<name>.<format>`` for each format.

    A missing TeX engine skips the PDF with a message, unless ``pdf_required`` (then
    :class:`PdfError`). A derivation with an unchecked step raises :class:`DerivationError`.
    """
    require_checked(derivation)
    out_dir = Path(out_dir)
    written = Written()
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise DerivationError(f"unknown format {sorted(unknown)[0]!r}; expected tex, md or pdf")
    if "tex" in formats or "pdf" in formats:
        pdf_figures = _draw_figures(derivation, out_dir, "pdf", written)
        source = to_latex(derivation, pdf_figures)
        if "tex" in formats:
            written.files.append(atomic_write(out_dir / f"{derivation.name}.tex", source))
        if "pdf" in formats:
            if tex_engine() is None and not pdf_required:
                written.skipped.append(
                    f"{derivation.name}.pdf skipped: no TeX engine (install texlive-latex-base latexmk)"
                )
            else:
                assets = {rel: out_dir / rel for key, rel in pdf_figures.items() if not key.endswith(":why")}
                pdf = compile_pdf(source, out_dir / f"{derivation.name}.pdf", assets, written.problems)
                written.files.append(pdf)
    if "md" in formats:
        md_figures = _draw_figures(derivation, out_dir, "svg", written)
        written.files.append(atomic_write(out_dir / f"{derivation.name}.md", to_markdown(derivation, md_figures)))
    return written
