"""Atomic file output: write to a temporary file beside the target, then rename it into place,
so a failure never leaves half a file (``os.replace`` is atomic on POSIX and Windows)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_produce"]


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically and return the path."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return atomic_produce(path, lambda tmp: tmp.write_bytes(payload))


def atomic_produce(path: str | os.PathLike, produce: Callable[[Path], object]) -> Path:
    """Call ``produce(tmp)`` to create a temporary file with ``path``'s suffix, then rename it to
    ``path``. If ``produce`` raises, the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        produce(tmp)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OSError(f"nothing was written for {path.name}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
