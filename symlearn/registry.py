"""Find and load the derivation sources in ``derivations/``.

A source is a Python file. It defines either

* ``build() -> Derivation`` (its name is the file's stem with ``_`` as ``-``, or ``NAME``; its
  summary is the first line of the module docstring), or
* ``CATALOG: dict[name, (summary, builder)]`` for a family generated from one table (losses,
  optimizers).
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Entry", "default_source", "discover", "find", "UnknownDerivation"]


class UnknownDerivation(LookupError):
    """No derivation has the given name."""


@dataclass(frozen=True)
class Entry:
    name: str
    summary: str
    source: Path
    builder: Callable


def default_source() -> Path:
    """``$SYMLEARN_DERIVATIONS``, else ``./derivations``, else the checkout's ``derivations/``."""
    env = os.environ.get("SYMLEARN_DERIVATIONS")
    if env:
        return Path(env)
    here = Path.cwd() / "derivations"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "derivations"


def _load(path: Path):
    name = f"symlearn_derivations_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def discover(source: Path | None = None) -> dict[str, Entry]:
    """Every derivation in ``source`` by name, in file order."""
    source = Path(source) if source is not None else default_source()
    if not source.is_dir():
        raise FileNotFoundError(f"no derivations folder at {source}")
    entries: dict[str, Entry] = {}
    for path in sorted(source.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            module = _load(path)
        except Exception as error:  # a broken source is reported when it is built, not here
            items = [(path.stem.replace("_", "-"), f"(cannot be loaded: {error})", _raiser(path, error))]
            entries.update({n: Entry(n, s, path, b) for n, s, b in items if n not in entries})
            continue
        if hasattr(module, "CATALOG"):
            items = [(n, s, b) for n, (s, b) in module.CATALOG.items()]
        elif hasattr(module, "build"):
            name = getattr(module, "NAME", path.stem.replace("_", "-"))
            summary = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
            items = [(name, summary, module.build)]
        else:
            continue
        for name, summary, builder in items:
            if name in entries:
                raise ValueError(f"derivation {name!r} is defined twice ({entries[name].source}, {path})")
            entries[name] = Entry(name, summary, path, builder)
    return entries


def _raiser(path: Path, error: Exception) -> Callable:
    def builder():
        raise RuntimeError(f"{path.name} cannot be loaded: {type(error).__name__}: {error}")

    return builder


def find(name: str, entries: dict[str, Entry]) -> Entry:
    """The entry called ``name``, or :class:`UnknownDerivation` naming the close matches."""
    if name in entries:
        return entries[name]
    close = difflib.get_close_matches(name, list(entries), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; run 'symlearn list' to see them"
    raise UnknownDerivation(f"there is no derivation called {name!r}{hint}")
