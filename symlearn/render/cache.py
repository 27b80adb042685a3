"""The build cache: a derivation's documents stored under a key that covers everything that can
change them, so ``symlearn build`` rebuilds only what changed.

The key of a source file (``derivations/x.py``) is a SHA-256 over

* the bytes of the source, of every sibling source it imports (followed transitively) and of the
  shared helpers beside it (``derivations/_*.py``);
* the bytes of every file of symlearn's own package (not its version string: an edit to the
  renderer or a check changes the documents without a new version);
* the versions of Python, SymPy, NumPy, mpmath, matplotlib, scikit-learn, PyTorch, SciPy and
  latex2sympy2_extended, of Graphviz (``dot -V``) and, when PDFs are built, of the TeX engine
  (``pdflatex --version``, ``latexmk -v``);
* the build options (formats, whether a PDF is required) and :data:`CACHE_FORMAT`.

A wrong hit is worse than a miss, so anything not known for sure (a tool that does not answer)
enters the key as text that does not match a real version.

Layout: ``<root>/<key[:2]>/<key>/names.json`` lists the source's derivations; each derivation's
files are in ``<key>/<name>/`` with ``entry.json`` (files, notes, LaTeX problems, seconds).
The root is ``$SYMLEARN_CACHE_DIR/build`` (the parser cache's folder; an empty value turns both
off), else ``$XDG_CACHE_HOME/symlearn/build`` or ``~/.cache/symlearn/build``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

__all__ = ["CACHE_FORMAT", "Store", "cache_root", "environment_digest", "source_inputs"]

#: Bumped when the layout or the meaning of a cached entry changes.
CACHE_FORMAT = "symlearn-build-1"

_PACKAGES = (
    "sympy", "numpy", "mpmath", "matplotlib", "scikit-learn", "torch", "scipy",
    "latex2sympy2_extended",
)

#: Cached sources not used for this long are removed by the next build.
PRUNE_AFTER_S = 30 * 86400.0


def cache_root() -> Path | None:
    """Where build results are kept, or ``None`` when caching is off (``SYMLEARN_CACHE_DIR=``)."""
    configured = os.environ.get("SYMLEARN_CACHE_DIR")
    if configured is not None:
        return Path(configured) / "build" if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symlearn" / "build"


def _tool_version(command: list[str]) -> str:
    exe = shutil.which(command[0])
    if exe is None:
        return "absent"
    try:
        done = subprocess.run(
            [exe, *command[1:]], capture_output=True, text=True, errors="replace", timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"unknown ({type(error).__name__}) {time.time()}"  # never matches: a miss
    text = (done.stdout + done.stderr).strip().splitlines()
    return f"{exe}: {text[0] if text else ''}"


def _package_tree_digest(package: Path) -> str:
    """SHA-256 over every file of symlearn's package (path and bytes), compiled files excepted."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file() or path.suffix in {".pyc", ".pyo"}:
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def environment_digest(formats, *, pdf_required: bool) -> str:
    """The part of every key that does not depend on the source: symlearn's files, the tools'
    versions and the options."""
    parts = {
        "format": CACHE_FORMAT,
        "python": sys.version,
        "symlearn": _package_tree_digest(Path(__file__).resolve().parent.parent),
        "formats": sorted(formats),
        "pdf_required": pdf_required,
        "dot": _tool_version(["dot", "-V"]),
    }
    for name in _PACKAGES:
        try:
            parts[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            parts[name] = "absent"
    if "pdf" in formats:
        parts["pdflatex"] = _tool_version(["pdflatex", "--version"])
        parts["latexmk"] = _tool_version(["latexmk", "-v"])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.MULTILINE)
_FROM = re.compile(
    r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.MULTILINE
)


def _imported_names(path: Path) -> set[str]:
    """The top-level module names ``path`` imports (a line scan: parsing every source with
    ``ast`` on every build costs more than the rest of a warm build). Over-reports rather than
    misses: a name that is not a sibling source is ignored by the caller."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    names = set()
    for match in _IMPORT.finditer(text):
        parts = [part.split()[0] for part in match.group(1).split(",") if part.strip()]
        names.update(part.split(".")[0] for part in parts)
    for match in _FROM.finditer(text):
        dots, module, imported = match.groups()
        if module:
            names.add(module.split(".")[0])
        if dots or not module:  # from . import a, b: the siblings a and b
            names.update(re.findall(r"\w+", imported))
    return names


def source_inputs(path: Path) -> list[Path]:
    """The files a source's documents depend on besides symlearn: the source itself, every
    sibling module it imports (transitively, also written ``symlearn_derivations_<stem>``) and
    the folder's shared helpers (``_*.py``), in a fixed order."""
    path = Path(path)
    folder = path.parent
    found = {path}
    found.update(p for p in folder.glob("_*.py"))
    todo = list(found)
    while todo:
        current = todo.pop()
        for name in _imported_names(current):
            stem = name.removeprefix("symlearn_derivations_")
            sibling = folder / f"{stem}.py"
            if sibling.is_file() and sibling not in found:
                found.add(sibling)
                todo.append(sibling)
    return sorted(found)


def source_key(path: Path, environment: str) -> str:
    """The cache key of one source file under ``environment`` (:func:`environment_digest`)."""
    digest = hashlib.sha256(environment.encode() + b"\0")
    for dependency in source_inputs(path):
        digest.update(dependency.name.encode() + b"\0")
        digest.update(dependency.read_bytes() + b"\0")
    return digest.hexdigest()


class Store:
    """The cached documents under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def names(self, key: str) -> dict[str, str] | None:
        """The derivations (name -> summary) the source with ``key`` defines, if a build has
        listed them; else ``None``. (Whether each one's files are stored is :meth:`entry`.)"""
        folder = self.folder(key)
        try:
            names = json.loads((folder / "names.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(names, dict):
            return None
        try:
            os.utime(folder)  # used now: kept by the pruning
        except OSError:
            pass
        return names

    def entry(self, key: str, name: str) -> dict | None:
        """A stored derivation: ``{"files": [...], "skipped": [...], "problems": [...],
        "seconds": s}`` with its files present, else ``None``."""
        folder = self.folder(key) / name
        try:
            record = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("files"), list):
            return None
        if not all((folder / "files" / rel).is_file() for rel in record["files"]):
            return None
        return record

    def files_folder(self, key: str, name: str) -> Path:
        return self.folder(key) / name / "files"

    def put_names(self, key: str, names: dict[str, str]) -> None:
        from ._io import atomic_write

        atomic_write(self.folder(key) / "names.json", json.dumps(names, sort_keys=True, indent=1))

    def staging(self, key: str, name: str) -> Path:
        """A new private folder to build ``name`` into before :meth:`commit`."""
        folder = self.folder(key)
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".{name}.tmp{os.getpid()}.{time.monotonic_ns()}"
        (staging / "files").mkdir(parents=True)
        return staging

    def commit(self, key: str, name: str, staging: Path, record: dict) -> None:
        """Publish a staged build: its ``entry.json``, then one rename. Another process that
        published the same key first wins (the contents are the same by construction)."""
        from ._io import atomic_write

        atomic_write(staging / "entry.json", json.dumps(record, sort_keys=True, indent=1))
        target = self.folder(key) / name
        try:
            os.rename(staging, target)
        except OSError:  # already there
            shutil.rmtree(staging, ignore_errors=True)
            if self.entry(key, name) is None:  # a broken leftover: replace it
                shutil.rmtree(target, ignore_errors=True)

    def prune(self, *, now: float | None = None) -> None:
        """Remove sources not used for :data:`PRUNE_AFTER_S` and staging folders of builds
        that were killed (older than an hour)."""
        now = time.time() if now is None else now
        try:
            shards = list(self.root.iterdir())
        except OSError:
            return
        for shard in shards:
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for folder in shard.iterdir():
                try:
                    age = now - folder.stat().st_mtime
                    if age > PRUNE_AFTER_S:
                        shutil.rmtree(folder, ignore_errors=True)
                        continue
                    for child in folder.iterdir():
                        if child.name.startswith(".") and ".tmp" in child.name and child.is_dir():
                            if now - child.stat().st_mtime > 3600:
                                shutil.rmtree(child, ignore_errors=True)
                except OSError:
                    continue
