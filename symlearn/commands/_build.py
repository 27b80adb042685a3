"""Building derivations: one entry (shared by ``derive`` and ``build``), and the whole folder in
worker processes with a content-addressed cache (``build``).

How ``build`` spends its time: SymPy's step checks dominate (one document, mlp-backprop, is
most of a cold build), then matplotlib figures, then importing SymPy/matplotlib. So the parent
imports those once and forks its workers after the imports (each starts warm), the longest
documents start first (durations remembered from earlier builds), a matplotlib figure needed as
PDF and SVG is drawn once, and a build with nothing changed answers from the cache without
importing SymPy at all.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    name: str
    files: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    error: str | None = None
    problems: list = field(default_factory=list)
    cached: bool = False
    seconds: float = 0.0


def build_one(entry, out_dir: Path, formats, *, pdf_required: bool) -> Outcome:
    """Build ``entry``'s derivation (checking every step) and write its documents."""
    from ..derivation import DerivationError
    from ..render import PdfError, write_documents

    outcome = Outcome(entry.name)
    start = time.perf_counter()
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
    outcome.problems = written.problems
    outcome.seconds = time.perf_counter() - start
    return outcome


# --------------------------------------------------------------------------------------------------
# The folder build


@dataclass
class Job:
    """One derivation to build: where its source is, and where its files go."""

    name: str
    source: Path
    key: str  # the source's cache key
    staging: Path | None = None


#: name -> Entry, set in the parent before the workers fork (inherited by them).
_ENTRIES: dict = {}


def _load_for_worker(paths: list[str]) -> None:
    """Worker initializer where processes are spawned, not forked: load the sources again."""
    if _ENTRIES:
        return
    from ..registry import load_source

    for path in paths:
        for entry in load_source(Path(path)):
            _ENTRIES.setdefault(entry.name, entry)


def _run_job(name: str, staging: str, formats: tuple, pdf_required: bool) -> dict:
    """In a worker: build ``name`` into ``staging/files``; a dict the parent can read."""
    entry = _ENTRIES[name]
    outcome = build_one(entry, Path(staging) / "files", formats, pdf_required=pdf_required)
    root = Path(staging) / "files"
    return {
        "name": name,
        "files": sorted(str(Path(p).relative_to(root).as_posix()) for p in outcome.files),
        "skipped": outcome.skipped,
        "problems": outcome.problems,
        "error": outcome.error,
        "seconds": round(outcome.seconds, 3),
    }


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def publish(files_folder: Path, relative: list[str], out_dir: Path) -> list[Path]:
    """Copy a built derivation's files into ``out_dir`` atomically, leaving a file that already
    has the same bytes untouched (its time too: nothing looks changed)."""
    from ..render._io import atomic_produce

    written = []
    for rel in relative:
        source, target = files_folder / rel, out_dir / rel
        if not _same_bytes(source, target):
            atomic_produce(target, lambda tmp, src=source: shutil.copyfile(src, tmp))
        written.append(target)
    return written


class Progress:
    """One line per finished document on stderr; on a terminal the line is rewritten in place."""

    def __init__(self, total: int, stream=None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, text: str) -> None:
        self.done += 1
        line = f"[{self.done}/{self.total}] {text}"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.done:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


def _durations_file(root: Path | None) -> Path | None:
    return root / "durations.json" if root is not None else None


def _read_durations(root: Path | None) -> dict:
    path = _durations_file(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_durations(root: Path | None, durations: dict) -> None:
    path = _durations_file(root)
    if path is None:
        return
    from ..render._io import atomic_write

    try:
        atomic_write(path, json.dumps(durations, sort_keys=True, indent=1))
    except OSError:
        pass  # only a scheduling hint


def _warm_imports(formats: tuple) -> None:
    """Import in the parent what every worker needs, so forked workers start with it loaded."""
    import importlib.util

    from .. import derivation  # noqa: F401  (SymPy and NumPy)
    from ..render import latex, markdown  # noqa: F401

    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot


def run_jobs(jobs: list[Job], formats: tuple, pdf_required: bool, workers: int, on_done) -> None:
    """Build ``jobs`` (``on_done(job, result_dict)`` for each, as it finishes) in ``workers``
    processes, or in this one for a single worker or job."""
    if not jobs:
        return
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        for job in jobs:
            on_done(job, _run_job(job.name, str(job.staging), formats, pdf_required))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    _warm_imports(formats)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    paths = sorted({str(job.source) for job in jobs})
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_load_for_worker, initargs=(paths,)
    )
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns that forking a process with threads (NumPy's BLAS pool) may
            # deadlock; the fork is deliberate (workers start with SymPy loaded) and OpenBLAS
            # re-initialises its pool in the child (pthread_atfork).
            warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks",
                                    category=DeprecationWarning)
            pending = {
                executor.submit(_run_job, job.name, str(job.staging), formats, pdf_required): job
                for job in jobs
            }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    result = future.result()
                except Exception as error:  # a worker that died (killed, out of memory)
                    result = {"name": job.name, "files": [], "skipped": [], "problems": [],
                              "error": f"{job.name}: the worker failed: {error!r}", "seconds": 0}
                on_done(job, result)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


@dataclass
class FolderBuild:
    """The result of :func:`build_folder`."""

    outcomes: list[Outcome]
    from_cache: int
    rebuilt: int


def build_folder(
    source: Path,
    out_dir: Path,
    formats: tuple,
    *,
    pdf_required: bool,
    workers: int,
    only: list[str] | None,
    use_cache: bool = True,
    progress_stream=None,
) -> FolderBuild:
    """Build every derivation in ``source`` (or only the names in ``only``) into ``out_dir``.

    Raises ``LookupError`` (an :class:`~symlearn.registry.UnknownDerivation`) for an unknown
    name in ``only`` and ``ValueError`` for a name defined twice, before building anything.
    """
    from ..registry import find, load_source, source_files
    from ..render._io import remove_stale_temporaries
    from ..render.cache import Store, cache_root, environment_digest, source_key

    for folder in (out_dir, out_dir / "figures"):
        remove_stale_temporaries(folder)
    root = cache_root() if use_cache else None
    if root is not None:
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=root, prefix=".probe.", delete=True)
            probe.close()
        except OSError:
            print(f"note: the build cache {root} cannot be written; building without it",
                  file=sys.stderr)
            root = None
    scratch = None
    if root is None:
        scratch = tempfile.TemporaryDirectory(prefix="symlearn-build-")
        store = Store(Path(scratch.name))
    else:
        store = Store(root)
        store.prune()
    try:
        environment = environment_digest(formats, pdf_required=pdf_required)
        # Per source: its key, and its derivations from the cache or by running it.
        order: list[tuple[str, str, Path]] = []  # (name, key, source) in file order
        names_seen: dict[str, Path] = {}
        to_run: dict[str, object] = {}  # name -> Entry, for sources that must be loaded
        names_to_store: list[tuple[str, dict]] = []
        for path in source_files(source):
            key = source_key(path, environment)
            names = store.names(key) if root is not None else None
            if names is None:
                entries = load_source(path)
                names = {e.name: e.summary for e in entries}
                for entry in entries:
                    to_run[entry.name] = entry
                loaded = True
            else:
                loaded = False
            for name in names:
                if name in names_seen:
                    if loaded and names[name].startswith("(cannot be loaded"):
                        continue
                    raise ValueError(
                        f"derivation {name!r} is defined twice ({names_seen[name]}, {path})"
                    )
                names_seen[name] = path
                order.append((name, key, path))
            if loaded:
                names_to_store.append((key, names))
        if only:
            known = {name: name for name, _, _ in order}
            wanted = {find(n, known) for n in only}  # UnknownDerivation for a wrong name
            order = [item for item in order if item[0] in wanted]
        outcomes: dict[str, Outcome] = {}
        jobs: list[Job] = []
        for name, key, path in order:
            record = store.entry(key, name) if root is not None else None
            if record is not None:
                outcomes[name] = _from_record(name, record, store.files_folder(key, name), out_dir)
                continue
            if name not in to_run:  # names were cached but this entry is not: load the source
                for entry in load_source(path):
                    to_run.setdefault(entry.name, entry)
            jobs.append(Job(name, path, key, store.staging(key, name)))
        for key, names in names_to_store:
            store.put_names(key, names)

        from_cache = len(outcomes)
        progress = Progress(len(order), progress_stream)
        if from_cache:
            progress.done = from_cache
            progress.stream.write(f"{from_cache} of {len(order)} documents unchanged (cache)\n")
        durations = _read_durations(root)
        jobs.sort(key=lambda job: -float(durations.get(job.name, 1.0)))
        _ENTRIES.clear()
        _ENTRIES.update(to_run)

        def on_done(job: Job, result: dict) -> None:
            outcome = Outcome(job.name, skipped=result["skipped"], problems=result["problems"],
                              error=result["error"], seconds=result["seconds"])
            if result["error"] is None:
                files_folder = job.staging / "files"
                outcome.files = publish(files_folder, result["files"], out_dir)
                if root is not None:
                    store.commit(job.key, job.name, job.staging, result)
                durations[job.name] = result["seconds"]
            else:
                shutil.rmtree(job.staging, ignore_errors=True)
            outcomes[job.name] = outcome
            status = "failed" if outcome.error else f"{outcome.seconds:.1f} s"
            progress.advance(f"{job.name} ({status})")

        try:
            run_jobs(jobs, formats, pdf_required, workers, on_done)
        finally:
            progress.close()
            for job in jobs:
                if job.staging is not None and job.staging.exists():
                    shutil.rmtree(job.staging, ignore_errors=True)
            _ENTRIES.clear()
        _write_durations(root, durations)
        ordered = [outcomes[name] for name, _, _ in order if name in outcomes]
        return FolderBuild(ordered, from_cache, len(jobs))
    finally:
        if scratch is not None:
            scratch.cleanup()


def _from_record(name: str, record: dict, files_folder: Path, out_dir: Path) -> Outcome:
    files = publish(files_folder, record["files"], out_dir)
    return Outcome(
        name,
        files=files,
        skipped=list(record.get("skipped", [])),
        problems=list(record.get("problems", [])),
        cached=True,
        seconds=float(record.get("seconds", 0.0)),
    )


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
