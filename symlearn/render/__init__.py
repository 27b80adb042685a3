"""Write a derivation's documents: ``.tex``, ``.md`` and ``.pdf``, with their figures.

Every file is written atomically (temporary file, then rename). Figures are drawn into
``<out>/figures/`` as PDF (for LaTeX) and SVG (for Markdown); a matplotlib figure needed in both
formats is drawn once and saved twice. Figures are reproducible: a fixed date
(``SOURCE_DATE_EPOCH``) and a fixed SVG id salt, so two builds give identical bytes.

The package imports only light modules; SymPy loads with the first renderer used, so that
``symlearn build`` answers from its cache without loading it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ._io import atomic_produce, atomic_write
from .pdf import PdfError, compile_pdf, tex_engine

__all__ = [
    "FORMATS",
    "PdfError",
    "Written",
    "reproducible_figures",
    "tex_engine",
    "to_latex",
    "to_markdown",
    "write_documents",
]

FORMATS = ("tex", "md", "pdf")

#: The date written into figures (and by pdfTeX into PDFs): 1970-01-01, so builds are identical.
SOURCE_DATE_EPOCH = "0"


def __getattr__(name: str):
    # to_latex and to_markdown import SymPy: loaded when first asked for (PEP 562).
    if name == "to_latex":
        from .latex import to_latex

        return to_latex
    if name == "to_markdown":
        from .markdown import to_markdown

        return to_markdown
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


@contextmanager
def reproducible_figures():
    """Within the block, matplotlib writes no build date into SVG and PDF files (it reads
    ``SOURCE_DATE_EPOCH``) and salts SVG element ids with a constant instead of a random one
    (``svg.hashsalt``), so a figure drawn twice is byte-identical. Restores both after."""
    saved_env = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    rc = None
    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

        rc = matplotlib.rcParams
        saved_salt = rc["svg.hashsalt"]
        rc["svg.hashsalt"] = "symlearn"
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved_env
        if rc is not None:
            rc["svg.hashsalt"] = saved_salt


@contextmanager
def _also_saved_as(primary: Path, extras: list[Path]):
    """While drawing to ``primary``, a matplotlib figure saved to ``primary`` is also saved to
    each path of ``extras`` (its format from the suffix): the data is computed and the figure
    laid out once for both the PDF and the SVG."""
    if importlib.util.find_spec("matplotlib") is None or not extras:
        yield
        return
    from matplotlib.figure import Figure as MplFigure

    original = MplFigure.savefig

    def savefig(self, fname, *args, **kwargs):
        original(self, fname, *args, **kwargs)
        ours = isinstance(fname, (str, os.PathLike)) and Path(fname) == primary
        if ours and "format" not in kwargs:
            for extra in extras:
                original(self, extra, *args, **kwargs)

    MplFigure.savefig = savefig
    try:
        yield
    finally:
        MplFigure.savefig = original


def _draw_figures(derivation, out_dir: Path, suffixes: tuple[str, ...], written: Written) -> dict:
    """Draw every figure in each of ``suffixes``; returns ``{suffix: {name: relative path,
    name + ':why': reason not drawn}}``."""
    paths: dict = {suffix: {} for suffix in suffixes}
    if not suffixes:
        return paths
    with reproducible_figures():
        for figure in derivation.figures():
            why = _missing_requirement(figure.requires)
            if why is None:
                try:
                    _draw_one(figure, out_dir, suffixes, written)
                except Exception as error:  # a figure that fails to draw is reported, not fatal
                    why = f"drawing failed: {error}"
                else:
                    for suffix in suffixes:
                        paths[suffix][figure.name] = f"figures/{figure.name}.{suffix}"
            if why is not None:
                for suffix in suffixes:
                    paths[suffix][figure.name + ":why"] = why
                written.skipped.append(f"{derivation.name}: figure {figure.name} skipped ({why})")
    return paths


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:(\d{14})([^)]*)\)")


def _fix_pdf_dates(path: Path) -> None:
    """Overwrite the dates in a PDF's info dictionary with 1970-01-01, keeping every byte offset
    (same length): Graphviz's cairo (before 1.17) ignores ``SOURCE_DATE_EPOCH``."""
    data = path.read_bytes()
    fixed = _PDF_DATE.sub(
        lambda m: b"/" + m.group(1) + b" (D:19700101000000" + m.group(3) + b")", data
    )
    if fixed != data and len(fixed) == len(data):
        path.write_bytes(fixed)


def _draw_fixed(figure, path: Path) -> None:
    figure.draw(path)
    if path.suffix == ".pdf":
        _fix_pdf_dates(path)


def _draw_one(figure, out_dir: Path, suffixes: tuple[str, ...], written: Written) -> None:
    targets = [out_dir / "figures" / f"{figure.name}.{suffix}" for suffix in suffixes]
    first, rest = targets[0], targets[1:]
    extras: dict[Path, Path] = {}  # final target -> the temporary file the first drawing saved

    def produce(tmp: Path) -> None:
        wanted = [tmp.with_name(tmp.name[: -len(first.suffix)] + t.suffix) for t in rest]
        with _also_saved_as(tmp, wanted):
            figure.draw(tmp)
        for path in (tmp, *wanted):
            if path.suffix == ".pdf" and path.exists():
                _fix_pdf_dates(path)
        for target, extra in zip(rest, wanted):
            if extra.exists() and extra.stat().st_size > 0:
                extras[target] = extra

    try:
        atomic_produce(first, produce)
        for target in rest:
            if target in extras:
                atomic_produce(target, lambda tmp, src=extras[target]: os.replace(src, tmp))
            else:  # not a matplotlib figure (Graphviz), or saved another way: draw it again
                atomic_produce(target, lambda tmp: _draw_fixed(figure, tmp))
    finally:
        for leftover in extras.values():
            if leftover.exists():
                leftover.unlink()
    for target in targets:
        if target not in written.files:
            written.files.append(target)


def write_documents(
    derivation, out_dir: str | Path, formats=FORMATS, *, pdf_required: bool = False
) -> Written:
    """Write ``derivation`` to ``out_dir/<name>.<format>`` for each format.

    A missing TeX engine skips the PDF with a message, unless ``pdf_required`` (then
    :class:`PdfError`). A derivation with an unchecked step raises :class:`DerivationError`.
    """
    from ..derivation import DerivationError, require_checked
    from .latex import to_latex
    from .markdown import to_markdown

    require_checked(derivation)
    out_dir = Path(out_dir)
    written = Written()
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise DerivationError(f"unknown format {sorted(unknown)[0]!r}; expected tex, md or pdf")
    want_latex = "tex" in formats or "pdf" in formats
    suffixes = (("pdf",) if want_latex else ()) + (("svg",) if "md" in formats else ())
    figures = _draw_figures(derivation, out_dir, suffixes, written)
    if want_latex:
        pdf_figures = figures["pdf"]
        source = to_latex(derivation, pdf_figures)
        if "tex" in formats:
            written.files.append(atomic_write(out_dir / f"{derivation.name}.tex", source))
        if "pdf" in formats:
            if tex_engine() is None and not pdf_required:
                written.skipped.append(
                    f"{derivation.name}.pdf skipped: no TeX engine "
                    "(install texlive-latex-base latexmk)"
                )
            else:
                assets = {
                    rel: out_dir / rel
                    for key, rel in pdf_figures.items()
                    if not key.endswith(":why")
                }
                target = out_dir / f"{derivation.name}.pdf"
                pdf = compile_pdf(source, target, assets, written.problems)
                written.files.append(pdf)
    if "md" in formats:
        markdown = to_markdown(derivation, figures["svg"])
        written.files.append(atomic_write(out_dir / f"{derivation.name}.md", markdown))
    return written
