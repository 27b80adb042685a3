"""Compile a LaTeX document to PDF with latexmk (or pdflatex run twice) in a scratch directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ._io import atomic_produce

__all__ = ["tex_engine", "compile_pdf", "PdfError", "log_problems", "OVERFULL_TOLERANCE_PT"]

#: Overfull boxes up to this width are invisible on paper and not reported.
OVERFULL_TOLERANCE_PT = 1.0

_OVERFULL = re.compile(r"^Overfull \\[hv]box \(([0-9.]+)pt too (?:wide|high)\)(.*)$", re.MULTILINE)
_MISSING = re.compile(r"^Missing character: There is no (.*)$", re.MULTILINE)


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


def log_problems(log_text: str) -> list[str]:
    """The layout and glyph problems a LaTeX log reports, one phrase each: overfull boxes wider
    than :data:`OVERFULL_TOLERANCE_PT` (text off the page) and missing characters (a glyph the
    font does not have, printed as nothing or as another glyph)."""
    problems = []
    for match in _OVERFULL.finditer(log_text):
        if float(match.group(1)) > OVERFULL_TOLERANCE_PT:
            problems.append(f"overfull box by {float(match.group(1)):.1f} pt{match.group(2)}")
    for match in _MISSING.finditer(log_text):
        problems.append(f"missing glyph: no {match.group(1).strip()}")
    return problems


def compile_pdf(
    tex_source: str, out_path: Path, assets: dict[str, Path], problems: list | None = None
) -> Path:
    """Compile ``tex_source`` to ``out_path``; ``assets`` maps relative paths used by the source
    (``figures/x.pdf``) to files to copy beside it. ``problems``, when given, receives what
    :func:`log_problems` finds in the final run's log."""
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
        # A fixed date makes pdfTeX's CreationDate, ModDate and trailer ID the same on every build.
        env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
        for command in commands:
            done = subprocess.run(
                command, cwd=work, capture_output=True, text=True, errors="replace", env=env,
                check=False,
            )
            if done.returncode != 0:
                raise PdfError(f"LaTeX failed: {_first_error(work / 'doc.log', done.stdout)}")
        built = work / "doc.pdf"
        if not built.exists():
            raise PdfError("LaTeX produced no PDF")
        if problems is not None:
            log = work / "doc.log"
            problems.extend(log_problems(log.read_text(errors="replace") if log.exists() else ""))
        return atomic_produce(out_path, lambda tmp: shutil.copyfile(built, tmp))


def _first_error(log: Path, fallback: str) -> str:
    text = log.read_text(errors="replace") if log.exists() else fallback
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("!"):
            return " ".join(l.strip() for l in lines[i : i + 3])
    return (lines[-1] if lines else "unknown error").strip()
