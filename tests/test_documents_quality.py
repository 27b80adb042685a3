"""The bundled documents as a reader sees them: every defect class of issue 15 that can be
found mechanically, on the real outputs of ``symlearn build``.

* text off the page: pdfTeX's overfull boxes wider than 1 pt, and missing glyphs, on the
  documents that had them and on those with wide tables;
* ASCII maths in prose: ``x^2``, ``w_1``, ``sigma``, ``lambda``, ``||w||`` outside ``$...$`` and
  code in a title, a summary, a section title or a step's reason;
* steps that show nothing: the two sides of a step print the same;
* Markdown maths GitHub would garble: ``\\{``, ``\\}``, ``\\|``, ``\\:`` or ``\\,`` inside inline
  ``$...$``, or a space just inside the dollars;
* undefined symbols: a symbol a formula shows before the document defines it (in prose, a
  "where" clause, a notation table, a given step; see ``symlearn.derivation.undefined_symbols``),
  listed as (document, step, symbol).

Documents that fail because of their content (owned by the sources, not the renderer) are
marked ``xfail`` with the reason (not strict: another change may fix the source first), so the
test fails as soon as a new one appears; remove a name from its list once its source is fixed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from symlearn.render._text import split_math
from symlearn.render._width import _cells
from symlearn.render.pdf import compile_pdf, tex_engine

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

#: Words and signs that are maths written as ASCII when they stand in prose.
ASCII_MATH = re.compile(
    r"\^|(?<![\\\w])\w+_\w|\|\||\*\*|\bsqrt\(|"
    # "the Dirac delta" is the distribution's English name, not an ASCII delta.
    r"(?<!Dirac )\b(sigma|lambda|theta|alpha|beta|gamma|delta|epsilon|kappa|nabla|rho|tau)\d*\b"
)

#: Documents whose source states maths in ASCII (reason) -- sources owned elsewhere.
ASCII_XFAIL: dict[str, str] = {}
#: Documents with a step whose sides print the same (reason).
SAME_SIDES_XFAIL: dict[str, str] = {}
#: Documents with undefined symbols whose sources (derivations/losses.py, derivations/optim.py and
#: the modules they build from) another branch is rewriting: strict, so each one fixed there
#: shows up as an XPASS to remove from this list, and a new failure anywhere else fails.
_REWRITTEN = "being rewritten by another branch"
UNDEFINED_XFAIL: dict[str, str] = {}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every bundled document as tex and md, built once by the command line -- once per run,
    not once per xdist worker: the workers share one folder and the first builds it under a lock
    while the others wait (two concurrent builds of everything doubled this test's time)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # this run's folder, common to its workers
    out, finished = shared / "documents", shared / "documents.built"
    with _exclusive(shared / "documents.lock"):
        if not finished.exists():
            done = subprocess.run(
                [sys.executable, "-m", "symlearn", "build", "-o", str(out), "--format", "tex",
                 "--format", "md", "-j", "2"],
                cwd=ROOT, capture_output=True, text=True, timeout=1800, env=dict(os.environ),
                check=False,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            finished.write_text("")
    return out


@contextmanager
def _exclusive(path: Path):
    """An exclusive lock on ``path`` for the block (POSIX ``flock``; elsewhere no lock: workers
    may then build at the same time, into the same folder, each file written atomically)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _entries() -> dict:
    from symlearn.registry import discover

    return discover(ROOT / "derivations")


ENTRIES = _entries()
NAMES = list(ENTRIES)


def _param(name: str, xfails: dict[str, str], *, strict: bool = False):
    if name in xfails:
        return pytest.param(name, marks=pytest.mark.xfail(reason=xfails[name], strict=strict))
    return name


def _plain(text: str) -> str:
    """Prose without its inline maths and code spans."""
    try:
        pieces = split_math(text)
    except ValueError:
        return text
    plain = "".join(piece for is_math, piece in pieces if not is_math)
    return re.sub(r"`[^`]*`", "", plain)


def _display_rows(md: str) -> list[list[str]]:
    """The cells of every row of every aligned block: [lhs, relation rhs, '', reason]."""
    rows = []
    for block in re.findall(r"\$\$\n\\begin\{aligned\}\n(.*?)\n\\end\{aligned\}\n\$\$", md, re.DOTALL):
        for row in _cells(block, "\\\\"):
            rows.append([cell.strip() for cell in _cells(row, "&")])
    return rows


def _prose(md: str) -> list[tuple[str, str]]:
    """(where, text) of the title, the summary, the section titles and the steps' reasons."""
    lines = md.splitlines()
    found = [("title", lines[0].removeprefix("# "))]
    if len(lines) > 2 and lines[2] and not lines[2].startswith(("*", "#", "$")):
        found.append(("summary", lines[2]))
    found += [("section", line[3:]) for line in lines if line.startswith("## ")]
    for row in _display_rows(md):
        if len(row) >= 4:
            reason = " ".join(re.findall(r"\\text\{([^{}]*)\}", row[3]))
            found.append(("reason", reason))
    return found


@pytest.mark.parametrize("name", [_param(n, ASCII_XFAIL) for n in NAMES])
def test_no_ascii_maths_in_titles_summaries_and_reasons(built, name):
    md = (built / f"{name}.md").read_text()
    bad = [(where, text) for where, text in _prose(md) if ASCII_MATH.search(_plain(text))]
    assert not bad, bad


@pytest.mark.parametrize("name", [_param(n, SAME_SIDES_XFAIL) for n in NAMES])
def test_no_step_whose_two_sides_print_the_same(built, name):
    md = (built / f"{name}.md").read_text()
    bad, previous = [], None
    for row in _display_rows(md):
        if len(row) < 2:
            continue
        lhs = row[0] or previous
        rhs = re.sub(r"^(=|\\approx|\\geq|\\leq|>|<|\\Longleftrightarrow|\\Longrightarrow)\s*",
                     "", row[1])
        if lhs is not None and lhs.replace(" ", "") == rhs.replace(" ", ""):
            bad.append(f"{lhs} = {rhs}  ({row[3] if len(row) > 3 else ''})")
        previous = rhs
    assert not bad, bad


@pytest.mark.parametrize("name", NAMES)
def test_inline_markdown_maths_survives_github(built, name):
    md = (built / f"{name}.md").read_text()
    bad = []
    for line in md.splitlines():
        if line.startswith(("$$", "\\")):
            continue
        for formula in re.findall(r"(?<![\\$])\$([^$]+)\$(?!\$)", line):
            if formula != formula.strip():
                bad.append(f"space inside the dollars: ${formula}$")
            for symbol in ("\\{", "\\}", "\\|", "\\:", "\\,"):
                if symbol in formula:
                    bad.append(f"{symbol} in ${formula}$")
    assert not bad, bad


#: A course seed's file name ("seed 003"), which no reader of a document knows.
SEED_FILE_NAME = re.compile(r"seed 0\d\d", re.IGNORECASE)


@pytest.mark.parametrize("name", NAMES)
def test_documents_cite_the_course_material_by_name_not_by_seed_file(built, name):
    bad = [
        f"{name}.{suffix}: ...{text[max(0, m.start() - 40):m.end() + 20]}..."
        for suffix in ("md", "tex")
        for text in [(built / f"{name}.{suffix}").read_text()]
        for m in SEED_FILE_NAME.finditer(text)
    ]
    assert not bad, bad


#: The documents that had overfull boxes (issue 15) and those with the widest tables.
ON_THE_PAGE = [
    "information-theory", "cross-entropy", "ctc-loss", "linf-distance", "soft-margin-loss",
    "binary-cross-entropy-with-logits", "triplet-margin-loss", "hinge-embedding-loss",
    "optimizer-comparison", "sgd", "adam", "huber-loss",
]


@pytest.mark.skipif(tex_engine() is None, reason="no TeX engine installed")
def test_representative_documents_stay_on_the_page(built):
    def problems(name: str) -> list[str]:
        source = (built / f"{name}.tex").read_text()
        assets = {rel: built / rel for rel in re.findall(r"\{(figures/[^}]+\.pdf)\}", source)}
        found: list[str] = []
        compile_pdf(source, built / "pdf" / f"{name}.pdf", assets, found)
        return [f"{name}: {p}" for p in found]

    with ThreadPoolExecutor(max_workers=2) as pool:
        found = [p for ps in pool.map(problems, ON_THE_PAGE) for p in ps]
    assert found == []


@pytest.mark.parametrize("name", [_param(n, UNDEFINED_XFAIL, strict=True) for n in NAMES])
def test_every_symbol_in_a_formula_is_defined(name):
    from symlearn.derivation import undefined_symbols

    document = ENTRIES[name].builder()
    bad = [(name, u.where, u.symbol) for u in undefined_symbols(document)]
    assert not bad, bad


def test_the_check_finds_a_symbol_left_undefined_in_a_bundled_document():
    """The check is not vacuous: a real document with one more step that uses a symbol nobody
    defined fails, naming the step and the symbol; defining it in prose clears it."""
    import sympy as sp

    from symlearn import Step, Symbolic
    from symlearn.derivation import undefined_symbols

    document = ENTRIES["chain-rule-basics"].builder()
    assert undefined_symbols(document) == []
    kappa = sp.Symbol("kappa_9")
    number = len(document.all_steps()) + 1
    broken = document.steps(Step(2 * kappa, kappa + kappa, "doubling", check=Symbolic()))
    assert [(u.where, u.symbol) for u in undefined_symbols(broken)] == [
        (f"step {number}", r"\kappa_9")]
    fixed = document.text("Let $\\kappa_9$ be any number.").steps(
        Step(2 * kappa, kappa + kappa, "doubling", check=Symbolic()))
    assert undefined_symbols(fixed) == []
