"""Atomic file output: write to a temporary file beside the target, then rename it into place,
so a failure never leaves half a file (``os.replace`` is atomic on POSIX and Windows).

A temporary file is named ``.<stem>.tmp<pid>.<random><suffix>``: a build that is killed leaves
it behind, and :func:`remove_stale_temporaries` (run by the next build) removes those whose
writer process is gone or that are older than an hour.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_produce", "atomic_write", "remove_stale_temporaries"]

#: A temporary file older than this is stale even if a process with its pid exists (pids are
#: reused).
STALE_AFTER_S = 3600.0

_OURS = re.compile(r"^\.(?P<stem>.+)\.tmp(?P<pid>\d+)\.[a-z0-9_]+(?P<suffix>\.[A-Za-z0-9]+)?$")
# Temporary files of earlier versions, without a pid: ".<stem>.<8 random chars><suffix>".
_LEGACY = re.compile(r"^\..+\.[a-z0-9_]{8}\.(tex|md|pdf|svg|png|json)$")


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask can only be read by setting it


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically and return the path."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return atomic_produce(path, lambda tmp: tmp.write_bytes(payload))


def atomic_produce(path: str | os.PathLike, produce: Callable[[Path], object]) -> Path:
    """Call ``produce(tmp)`` to create a temporary file with ``path``'s suffix, then rename it to
    ``path``. If ``produce`` raises, the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{path.stem}.tmp{os.getpid()}.", suffix=path.suffix, dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private (0600); a document is not
    try:
        produce(tmp)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OSError(f"nothing was written for {path.name}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return True  # cannot tell: keep the file
    return True


def remove_stale_temporaries(
    directory: str | os.PathLike, *, now: float | None = None
) -> list[Path]:
    """Remove the temporary files that killed writers left in ``directory`` (not recursive):
    those whose writer process no longer exists, and any older than an hour. Returns them."""
    directory = Path(directory)
    now = time.time() if now is None else now
    removed = []
    try:
        candidates = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in candidates:
        ours, legacy = _OURS.match(entry.name), _LEGACY.match(entry.name)
        if not (ours or legacy):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
            orphan = ours is not None and not _process_exists(int(ours.group("pid")))
            if old or orphan:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # another build removed it first, or it is not ours to remove
            continue
    return removed
