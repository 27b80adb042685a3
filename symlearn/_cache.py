"""Where symlearn keeps its disk caches, and checksummed cache files.

Two caches live under one directory: the LaTeX parser's DFA (:mod:`symlearn._parser_cache`) and
the matrix rule table's verdicts (:func:`symlearn.calculus.matrix.ensure_checked`). The directory
is ``$SYMLEARN_CACHE_DIR`` if set (an empty value turns caching off), else
``$XDG_CACHE_HOME/symlearn`` or ``~/.cache/symlearn`` (the XDG base directory convention).

A cache can make symlearn faster, never different: a file is trusted only if it is a regular
file whose body matches the SHA-256 in its header (:func:`read_checked`); anything else (absent,
truncated, a flipped bit, a directory or a FIFO in its place) reads as absent.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

__all__ = ["directory", "framed", "read_checked"]

_DIGEST = 32  # bytes of a SHA-256 digest


def directory() -> Path | None:
    """The cache directory, or None when caching is turned off (``SYMLEARN_CACHE_DIR=""``)."""
    configured = os.environ.get("SYMLEARN_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symlearn"


def framed(magic: bytes, body: bytes) -> bytes:
    """A cache file's bytes: ``magic``, the SHA-256 of ``body``, then ``body``."""
    return magic + hashlib.sha256(body).digest() + body


def read_checked(path: Path, magic: bytes, max_bytes: int = 1 << 20) -> bytes | None:
    """The body of the cache file ``path`` written by :func:`framed` with ``magic``, or None when
    it is absent, not a regular file, larger than ``max_bytes``, or does not match its checksum.
    The file is opened without following a link and without blocking (a FIFO is never read)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        chunks, size = [], 0
        while size <= info.st_size:  # os.read may return less than asked: read to the end
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:  # grew after fstat
        return None
    start = len(magic) + _DIGEST
    if len(data) < start or not data.startswith(magic):
        return None
    body = data[start:]
    if hashlib.sha256(body).digest() != data[len(magic):start]:
        return None
    return body
