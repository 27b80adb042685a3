"""Find and load the derivation sources in ``derivations/``.

A source is a Python file. It defines either

* ``build() -> Derivation`` (its name is the file's stem with ``_`` as ``-``, or ``NAME``; its
  summary is the first line of the module docstring), or
* ``CATALOG: dict[name, (summary, builder)]`` for a family generated from one table (losses,
  optimizers).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Entry",
    "UnknownDerivation",
    "default_source",
    "discover",
    "find",
    "find_helper",
    "load_helper",
    "load_source",
    "source_files",
]


class UnknownDerivation(LookupError):
    """No derivation has the given name."""


@dataclass(frozen=True)
class Entry:
    name: str
    summary: str
    source: Path
    builder: Callable


def default_source() -> Path:
    """``$SYMLEARN_DERIVATIONS``, else ``./derivations``, else the checkout's ``derivations/``
    (an editable install), else the copy a wheel installs as data in
    ``<prefix>/share/symlearn/derivations`` (see pyproject.toml)."""
    env = os.environ.get("SYMLEARN_DERIVATIONS")
    if env:
        return Path(env)
    here = Path.cwd() / "derivations"
    if here.is_dir():
        return here
    checkout = Path(__file__).resolve().parent.parent / "derivations"
    if checkout.is_dir():
        return checkout
    installed = _installed_sources()
    return installed if installed is not None else checkout


def _installed_sources() -> Path | None:
    import site
    import sysconfig

    prefixes = [sysconfig.get_path("data"), sys.prefix, sys.exec_prefix]
    try:
        prefixes.append(site.getuserbase())
    except Exception:  # site without a user base (embedded interpreters)
        pass
    for prefix in prefixes:
        if prefix:
            candidate = Path(prefix) / "share" / "symlearn" / "derivations"
            if candidate.is_dir():
                return candidate
    return None


def source_files(source: Path) -> list[Path]:
    """The derivation sources in ``source``: its ``*.py`` files, in name order, except those
    starting with ``_`` (shared helpers)."""
    return [p for p in sorted(Path(source).glob("*.py")) if not p.name.startswith("_")]


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
    for path in source_files(source):
        for entry in load_source(path):
            if entry.name in entries:
                if entry.summary.startswith("(cannot be loaded"):
                    continue
                first = entries[entry.name].source
                raise ValueError(f"derivation {entry.name!r} is defined twice ({first}, {path})")
            entries[entry.name] = entry
    return entries


def load_source(path: Path) -> list[Entry]:
    """Run one source file and return its entries (none if it defines neither ``build`` nor
    ``CATALOG``). A source that fails to load gives one entry whose builder raises."""
    path = Path(path)
    try:
        module = _load(path)
    except Exception as error:  # a broken source is reported when it is built, not here
        name = path.stem.replace("_", "-")
        return [Entry(name, f"(cannot be loaded: {error})", path, _raiser(path, error))]
    if hasattr(module, "CATALOG"):
        items = [(n, s, b) for n, (s, b) in module.CATALOG.items()]
    elif hasattr(module, "build"):
        name = getattr(module, "NAME", path.stem.replace("_", "-"))
        summary = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        items = [(name, summary, module.build)]
    else:
        items = []
    return [Entry(n, s, path, b) for n, s, b in items]


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


def load_helper(source_file: str | os.PathLike, name: str):
    """The helper module ``name`` (``_course``) that lies beside the derivation source
    ``source_file``, loaded once per folder. Derivation sources are loaded by path, not as a
    package, so a shared helper is loaded the same way."""
    path = Path(source_file).resolve().with_name(f"{name}.py")
    key = f"symlearn_derivations_{name}_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
    return sys.modules[key]


def find_helper(name: str):
    """The bundled course module ``name`` (such as the optimizer documents), loaded from the first folder
    that holds ``name.py``: the one ``symlearn build`` reads (``$SYMLEARN_DERIVATIONS``, else
    ``./derivations``), the checkout's ``derivations/``, the copy a wheel installs. The library
    reaches its documents this way (``Loss.derivation()``, ``Optimizer.derivation()``), so that a
    project with a ``derivations/`` folder of its own still gets the bundled documents."""
    checkout = Path(__file__).resolve().parent.parent / "derivations"
    folders = [default_source(), checkout, _installed_sources()]
    for folder in folders:
        if folder is not None and (Path(folder) / f"{name}.py").is_file():
            return load_helper(Path(folder) / f"{name}.py", name)
    raise FileNotFoundError(
        f"the course module {name}.py is in none of "
        f"{', '.join(str(f) for f in folders if f is not None)}; set SYMLEARN_DERIVATIONS to "
        "the folder of symlearn's derivation sources"
    )
