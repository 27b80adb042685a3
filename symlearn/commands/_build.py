"""Building one entry, shared by ``derive`` and ``build``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    name: str
    files: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    error: str | None = None


def build_one(entry, out_dir: Path, formats, *, pdf_required: bool) -> Outcome:
    """Build ``entry``'s derivation (checking every step) and write its documents."""
    from ..derivation import DerivationError
    from ..render import PdfError, write_documents

    outcome = Outcome(entry.name)
    try:
        derivation = entry.builder()
        written = write_documents(derivation, out_dir, formats, pdf_required=pdf_required)
    except (DerivationError, PdfError) as error:
        outcome.error = f"{entry.name}: {error}"
        return outcome
    except Exception as error:  # a bug in one source must not stop the others
        outcome.error = f"{entry.name}: {type(error).__name__}: {error}"
        return outcome
    outcome.files, outcome.skipped = written.files, written.skipped
    return outcome
