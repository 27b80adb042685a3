"""Compile a LaTeX document to PDF with latexmk (or pdflatex run twice) in a scratch directory."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ._io import atomic_produce

__all__ = ["tex_engine", "compile_pdf", "PdfError"]


class PdfError(Exception):
    """The TeX engine is missing or the document did not compile."""


def tex_engine() -> str | None:
    """``"latexmk"`` or ``"pdflatex"`` when installed, else ``None``."""
    for name in ("latexmk", "pdflatex"):
        if shutil.which(name):
            if name == "latexmk" and not shutil.which("pdflatex"):
                continue
            return name
    return None


def compile_pdf(tex_source: str, out_path: Path, assets: dict[str, Path]) -> Path:
    """Compile ``tex_source`` to ``out_path``; ``assets`` maps relative paths used by the source
    (``figures/x.pdf``) to files to copy beside it."""
    engine = tex_engine()
    if engine is None:
        raise PdfError("no TeX engine found (install texlive-latex-base and latexmk)")
    with tempfile.TemporaryDirectory(prefix="symlearn-tex-") as scratch:
        work = Path(scratch)
        (work / "doc.tex").write_text(tex_source, encoding="utf-8")
        for relative, source in assets.items():
            target = work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        if engine == "latexmk":
            commands = [["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]]
        else:
            once = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]
            commands = [once, once]
        for command in commands:
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, errors="replace")
            if done.returncode != 0:
                raise PdfError(f"LaTeX failed: {_first_error(work / 'doc.log', done.stdout)}")
        built = work / "doc.pdf"
        if not built.exists():
            raise PdfError("LaTeX produced no PDF")
        return atomic_produce(out_path, lambda tmp: shutil.copyfile(built, tmp))


def _first_error(log: Path, fallback: str) -> str:
    text = log.read_text(errors="replace") if log.exists() else fallback
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("!"):
            return " ".join(l.strip() for l in lines[i : i + 3])
    return (lines[-1] if lines else "unknown error").strip()
