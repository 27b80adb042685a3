r"""Run a call under a deadline and a memory ceiling, in a worker process forked after the imports.

``symlearn verify`` must answer every input, however hostile, within its budget: a short formula
can make SymPy expand for minutes or allocate gigabytes (issue 11), and neither can be
interrupted from inside Python (a C loop in gmpy2 or a long ``expand`` never returns to the
interpreter to see a signal). So the call runs in a child process:

* the child is made with ``os.fork`` at the moment of the call, after the heavy imports (SymPy,
  the LaTeX parser, the parser's DFA cache) are already in memory, so it pays none of them again
  (a fork of the ~60 MB verify process takes a few milliseconds);
* it becomes the leader of its own process group and caps its address space with
  ``RLIMIT_AS`` at ``memory`` bytes beyond what it shares with the parent that is not resident
  (so its resident size stays below the ceiling, and reserved but untouched address space does
  not count against it; measured: a verify process has 61 MB of address space of which 57 MB
  resident; with NumPy imported and OpenBLAS's threads started it has 183 MB of which 37 MB
  resident, and a 500 x 500 matrix product still runs in the child under a 200 MB ceiling,
  which a plain ``RLIMIT_AS`` of 200 MB would refuse), and caps its CPU time (``RLIMIT_CPU``) a
  little beyond the deadline, so an orphan whose parent was killed still ends;
* the result, or the exception, comes back pickled through a pipe; the parent waits on the pipe
  with ``select`` until the deadline and on overrun kills the child's whole process group.

An allocation refused under ``RLIMIT_AS`` raises :class:`MemoryError` in Python code and aborts
the process in C libraries (GMP prints "Cannot allocate memory" and raises ``SIGABRT``): both are
reported as :class:`BudgetExceeded` naming the memory ceiling.

Where ``os.fork`` does not exist (Windows), :func:`call` runs in-process: the deadline is a
``SIGALRM`` timer when the caller is the main thread of a process that has ``SIGALRM`` (which
interrupts Python code, not a C loop), and the memory ceiling is not enforced.

:class:`Pool` keeps forked workers for many calls (``symlearn verify --batch``): each task has
its own deadline; a worker that runs over, dies or exceeds the memory ceiling is killed and
replaced by a fresh fork of the parent.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import math
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typing.Self is Python 3.11+; annotations are not evaluated at run time
    from typing import Self

__all__ = ["BudgetExceeded", "Outcome", "Pool", "call", "format_size", "parse_size"]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY = 2 * 2**30

#: CPU seconds a child may use beyond its deadline before the kernel ends it (only matters for an
#: orphan: a parent that is alive kills its child at the deadline).
_CPU_GRACE = 5
_HEADER = struct.Struct("!Q")


class BudgetExceeded(RuntimeError):
    """A call ran over its deadline or its memory ceiling. ``reason`` is one sentence;
    ``kind`` is ``"timeout"``, ``"memory"`` or ``"crash"`` (the worker died another way)."""

    def __init__(self, reason: str, kind: str = "timeout"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind

    def __reduce__(self):
        return (type(self), (self.reason, self.kind))


def format_size(size: int) -> str:
    """``2147483648`` -> ``"2 GB"``, ``536870912`` -> ``"512 MB"`` (binary units, as ``--memory``
    reads them), otherwise bytes."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if size >= scale:
            value = size / scale
            return f"{value:.3g} {unit}" if value != int(value) else f"{int(value)} {unit}"
    return f"{size} bytes"


def format_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def parse_size(text: str) -> int:
    """``"2G"``, ``"512M"``, ``"64k"``, ``"1.5G"``, ``"1000000"`` (bytes) -> bytes (binary units).
    Raises ``ValueError`` with one sentence for anything else."""
    units = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "M": 2**20, "MB": 2**20, "G": 2**30,
             "GB": 2**30, "T": 2**40, "TB": 2**40}
    cleaned = text.strip().upper().replace("IB", "B")
    number = cleaned.rstrip("KMGTB")
    unit = cleaned[len(number):]
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if unit not in units or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r} is not a memory size such as 2G, 512M or 1000000 (bytes)")
    size = int(value * units[unit])
    if size < 2**20:
        raise ValueError(f"{text!r} is below the smallest memory ceiling, 1M")
    return size


def _timeout_reason(timeout: float) -> str:
    return f"the check ran over its {format_seconds(timeout)} deadline"


def _memory_reason(memory: int) -> str:
    return f"the check needed more than {format_size(memory)} of memory"


def _validate(timeout, memory) -> None:
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0
                                    and math.isfinite(timeout)):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    if memory is not None and not (isinstance(memory, int) and memory > 0):
        raise ValueError(f"memory must be a positive number of bytes or None, got {memory!r}")


def _can_fork() -> bool:
    return hasattr(os, "fork")


# -- the child's side ---------------------------------------------------------------------------

def _status_kb(field: str) -> int:
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _limit_self(timeout: float | None, memory: int | None) -> None:
    """In the child: its own process group, an address-space and a CPU-time cap."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    handler = sys.modules.get("faulthandler")
    if handler is not None and handler.is_enabled():
        handler.disable()  # a death at the ceiling is reported by the parent, in one sentence
    try:
        import resource
    except ImportError:  # pragma: no cover - every POSIX system has it
        return
    if memory is not None:
        # The address space the parent had and which is not resident (shared libraries' unused
        # pages, reserved arenas) is allowed on top of the ceiling, so the ceiling bounds what
        # the child makes resident.
        size_kb, rss_kb = _status_kb("VmSize"), _status_kb("VmRSS")
        limit = memory + max(0, size_kb - rss_kb) * 1024
        try:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        except (OSError, ValueError):
            pass
    if timeout is not None:
        try:
            used = resource.getrusage(resource.RUSAGE_SELF)
            cpu = int(used.ru_utime + used.ru_stime + timeout) + _CPU_GRACE
            _, hard = resource.getrlimit(resource.RLIMIT_CPU)
            if hard == resource.RLIM_INFINITY or cpu < hard:
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, hard))
        except (OSError, ValueError):
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _encode(fn: Callable, args: tuple, kwargs: dict, memory: int | None) -> bytes:
    """Run ``fn`` and pickle ("ok", value) or ("error", exception) for the parent."""
    try:
        message: tuple = ("ok", fn(*args, **kwargs))
    except MemoryError:
        message = ("memory",)
    except BaseException as error:  # noqa: BLE001 - every exception goes back to the parent
        message = ("error", error)
    try:
        return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        return pickle.dumps(("memory",))
    except Exception as error:  # noqa: BLE001 - an unpicklable value or exception
        if message[0] == "error":
            failed = message[1]
            return pickle.dumps(("error-text", type(failed).__module__,
                                 type(failed).__qualname__, str(failed)))
        return pickle.dumps(("error-text", "builtins", "TypeError",
                             f"the result of the call cannot be pickled: {error}"))


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed stream
            stream.flush()


def _fork() -> int:
    """``os.fork`` with the standard streams flushed first (or the child would print again what
    the parent had buffered)."""
    _flush_std()
    return os.fork()


# -- the parent's side --------------------------------------------------------------------------

def _decode(data: bytes, memory: int | None):
    """The parent's reading of a child's message: the value, or raise what the child raised."""
    message = pickle.loads(data)
    if message[0] == "ok":
        return message[1]
    if message[0] == "memory":
        if memory is None:
            raise MemoryError("the check ran out of memory")
        raise BudgetExceeded(_memory_reason(memory), "memory")
    if message[0] == "error":
        raise message[1]
    _, module, qualname, text = message
    kind = getattr(builtins, qualname, None) if module == "builtins" else None
    if isinstance(kind, type) and issubclass(kind, BaseException):
        raise kind(text)
    raise RuntimeError(f"{qualname}: {text}")


def _death_reason(status: int, memory: int | None) -> BudgetExceeded:
    """Why a child ended without answering (its wait status)."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == getattr(signal, "SIGXCPU", None):
            return BudgetExceeded("the check used up its CPU time", "timeout")
        if memory is not None and number in (signal.SIGABRT, signal.SIGSEGV,
                                             getattr(signal, "SIGBUS", -1)):
            return BudgetExceeded(
                f"the check stopped abnormally ({name}), most likely at its "
                f"{format_size(memory)} memory ceiling", "memory")
        return BudgetExceeded(f"the check stopped abnormally ({name})", "crash")
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return BudgetExceeded(f"the check ended without an answer (exit status {code})", "crash")


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
            return
        except OSError:
            continue


def _reap(pid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return status
        except InterruptedError:
            continue
        except ChildProcessError:
            return 0


def call(fn: Callable, /, *args: Any, timeout: float | None = DEFAULT_TIMEOUT,
         memory: int | None = DEFAULT_MEMORY, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with at most ``timeout`` seconds of wall time and ``memory`` bytes.

    Runs in a forked child (see the module's docs). Returns ``fn``'s value (it must pickle); an
    exception ``fn`` raises is raised here with its type and message (an exception that does not
    pickle becomes a ``RuntimeError`` naming its type). On overrun, raises
    :class:`BudgetExceeded` with one sentence as its ``reason`` ("the check ran over its 10 s
    deadline", "the check needed more than 2 GB of memory"), after killing the child's process
    group. ``None`` turns a limit off; with both off, ``fn`` runs in this process. Without
    ``os.fork``, ``fn`` runs in this process under a ``SIGALRM`` deadline (main thread only) and
    no memory ceiling.
    """
    _validate(timeout, memory)
    if timeout is None and memory is None:
        return fn(*args, **kwargs)
    if not _can_fork():
        return _call_in_process(fn, args, kwargs, timeout)
    read_end, write_end = os.pipe()
    pid = _fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_end)
            _limit_self(timeout, memory)
            _write_all(write_end, _encode(fn, args, kwargs, memory))
        except BaseException:  # noqa: BLE001 - the parent reports the missing answer
            code = 70
        finally:
            _flush_std()
            os._exit(code)
    os.close(write_end)
    try:
        os.setpgid(pid, pid)  # also here, so a kill right after the fork finds the group
    except OSError:
        pass
    deadline = None if timeout is None else time.monotonic() + timeout
    chunks: list[bytes] = []
    finished = False
    try:
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                break
            try:
                ready, _, _ = select.select([read_end], [], [], wait)
            except InterruptedError:
                continue
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if not finished:
            _kill_group(pid)
        status = _reap(pid)
    if not finished:
        raise BudgetExceeded(_timeout_reason(timeout), "timeout")
    data = b"".join(chunks)
    if not data:
        raise _death_reason(status, memory)
    return _decode(data, memory)


def _call_in_process(fn, args, kwargs, timeout):
    """The fallback without fork: a SIGALRM deadline where possible, no memory ceiling."""
    usable = (timeout is not None and hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        return fn(*args, **kwargs)

    def expire(signum, frame):
        raise BudgetExceeded(_timeout_reason(timeout), "timeout")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- the pool -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    """One task's end: ``value`` when it returned, else ``error`` (the exception it raised, or a
    :class:`BudgetExceeded`)."""

    value: Any = None
    error: BaseException | None = None


class _Worker:
    __slots__ = ("buffer", "deadline", "key", "pid", "results", "tasks")

    def __init__(self, pid: int, tasks: int, results: int):
        self.pid, self.tasks, self.results = pid, tasks, results
        self.key: Any = None
        self.deadline: float | None = None
        self.buffer = bytearray()


def _read_message(fd: int) -> bytes | None:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    return _read_exact(fd, _HEADER.unpack(header)[0])


def _read_exact(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _send(fd: int, data: bytes) -> None:
    _write_all(fd, _HEADER.pack(len(data)) + data)


class Pool:
    """Forked workers that run ``fn`` on many tasks, each under the deadline and the ceiling.

    ``submit(key, *args, **kwargs)`` queues a task; ``wait()`` returns the ``(key, Outcome)``
    pairs that finished (a task over its deadline is an ``Outcome`` whose error is a
    :class:`BudgetExceeded`; its worker is killed and a new one forked when needed).
    :meth:`imap` runs an iterable of argument tuples and yields the outcomes in order.
    ``on_exit`` runs in each worker when the pool closes it normally (e.g. to save a cache).
    Workers are forked from this process when first needed, so import before creating tasks.
    Without ``os.fork``, tasks run in this process (see :func:`call`).
    """

    def __init__(self, fn: Callable, processes: int | None = None, *,
                 timeout: float | None = DEFAULT_TIMEOUT, memory: int | None = DEFAULT_MEMORY,
                 on_exit: Callable[[], Any] | None = None):
        _validate(timeout, memory)
        self.fn, self.timeout, self.memory, self.on_exit = fn, timeout, memory, on_exit
        self.processes = max(1, int(processes or os.cpu_count() or 1))
        self._queue: deque = deque()
        self._idle: list[_Worker] = []
        self._busy: list[_Worker] = []
        self._done: list[tuple[Any, Outcome]] = []
        self.replaced = 0  # workers killed (overrun) or dead, for the report

    # context manager
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close(graceful=exc[0] is None)

    @property
    def pending(self) -> int:
        """Tasks queued or running."""
        return len(self._queue) + len(self._busy)

    def submit(self, key: Any, *args: Any, **kwargs: Any) -> None:
        self._queue.append((key, args, kwargs))

    def _spawn(self) -> _Worker:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        pid = _fork()
        if pid == 0:
            code = 0
            try:
                os.close(task_write)
                os.close(result_read)
                for worker in (*self._idle, *self._busy):  # the siblings' pipes are not ours
                    for fd in (worker.tasks, worker.results):
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                _limit_self(None, self.memory)
                self._serve(task_read, result_write)
            except BaseException:  # noqa: BLE001
                code = 70
            finally:
                _flush_std()
                os._exit(code)
        os.close(task_read)
        os.close(result_write)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        return _Worker(pid, task_write, result_read)

    def _serve(self, tasks: int, results: int) -> None:
        """The worker's loop: a task in, its pickled outcome out, until the pipe closes."""
        import resource

        while True:
            data = _read_message(tasks)
            if data is None or data == b"stop":
                if data == b"stop" and self.on_exit is not None:
                    with contextlib.suppress(Exception):  # e.g. a cache that cannot be saved
                        self.on_exit()
                return
            args, kwargs = pickle.loads(data)
            if self.timeout is not None:
                # A CPU cap for this task, from the CPU used so far (see _limit_self).
                used = resource.getrusage(resource.RUSAGE_SELF)
                cpu = int(used.ru_utime + used.ru_stime + self.timeout) + _CPU_GRACE
                try:
                    resource.setrlimit(resource.RLIMIT_CPU,
                                       (cpu, resource.getrlimit(resource.RLIMIT_CPU)[1]))
                except (OSError, ValueError):
                    pass
            _send(results, _encode(self.fn, args, kwargs, self.memory))

    def _start_tasks(self) -> None:
        while self._queue and (self._idle or len(self._busy) < self.processes):
            worker = self._idle.pop() if self._idle else self._spawn()
            key, args, kwargs = self._queue.popleft()
            try:
                payload = pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as error:  # noqa: BLE001 - an unpicklable argument
                self._idle.append(worker)
                self._done.append((key, Outcome(error=TypeError(
                    f"the task's arguments cannot be pickled: {error}"))))
                continue
            try:
                _send(worker.tasks, payload)
            except OSError:
                self._discard(worker)
                self._queue.appendleft((key, args, kwargs))
                continue
            worker.key = key
            worker.deadline = None if self.timeout is None else time.monotonic() + self.timeout
            self._busy.append(worker)

    def _discard(self, worker: _Worker, kill: bool = True) -> int:
        for fd in (worker.tasks, worker.results):
            try:
                os.close(fd)
            except OSError:
                pass
        if kill:
            _kill_group(worker.pid)
        self.replaced += 1
        return _reap(worker.pid)

    def wait(self, timeout: float | None = None, watch: Iterable[int] = ()) -> tuple[list, list]:
        """Start queued tasks, then wait until at least one finishes, a watched file descriptor
        is readable, or ``timeout`` seconds pass. Returns (finished ``(key, Outcome)`` pairs,
        readable watched descriptors)."""
        if not _can_fork():
            return self._run_in_process(), list(watch)
        self._start_tasks()
        watch = list(watch)
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._done:
                done, self._done = self._done, []
                return done, []
            now = time.monotonic()
            wakes = [w.deadline for w in self._busy if w.deadline is not None]
            if end is not None:
                wakes.append(end)
            if not self._busy and not watch:
                return [], []
            wait = max(0.0, min(wakes) - now) if wakes else None
            try:
                readable, _, _ = select.select([w.results for w in self._busy] + watch, [], [],
                                               wait)
            except InterruptedError:
                continue
            ready_watch = [fd for fd in watch if fd in readable]
            for worker in list(self._busy):
                if worker.results in readable:
                    self._collect(worker)
            now = time.monotonic()
            for worker in list(self._busy):
                if worker.deadline is not None and now >= worker.deadline:
                    self._busy.remove(worker)
                    self._discard(worker)
                    self._done.append((worker.key, Outcome(error=BudgetExceeded(
                        _timeout_reason(self.timeout), "timeout"))))
            self._start_tasks()
            if self._done or ready_watch or (end is not None and now >= end):
                done, self._done = self._done, []
                return done, ready_watch

    def _collect(self, worker: _Worker) -> None:
        """Read a finished task's outcome (or the worker's death)."""
        try:
            data = _read_message(worker.results)
        except OSError:
            data = None
        self._busy.remove(worker)
        if data is None:
            status = self._discard(worker, kill=True)
            self._done.append((worker.key, Outcome(error=_death_reason(status, self.memory))))
            return
        try:
            outcome = Outcome(value=_decode(data, self.memory))
        except BaseException as error:  # noqa: BLE001 - the task's own exception
            outcome = Outcome(error=error)
        self._done.append((worker.key, outcome))
        if isinstance(outcome.error, (BudgetExceeded, MemoryError)):
            self._discard(worker)  # a worker that ran out of memory is not trusted again
        else:
            self._idle.append(worker)

    def _run_in_process(self) -> list:
        done = []
        while self._queue:
            key, args, kwargs = self._queue.popleft()
            try:
                done.append((key, Outcome(value=_call_in_process(self.fn, args, kwargs,
                                                                 self.timeout))))
            except Exception as error:  # noqa: BLE001
                done.append((key, Outcome(error=error)))
        return done

    def imap(self, tasks: Iterable[tuple]) -> Iterator[Outcome]:
        """Run ``fn(*args)`` for each tuple of ``tasks``, at most ``processes`` at once (plus as
        many queued), and yield the outcomes in the tasks' order as soon as each is known."""
        source = iter(tasks)
        results: dict[int, Outcome] = {}
        submitted = following = 0
        exhausted = False
        while True:
            while not exhausted and self.pending < 2 * self.processes:
                try:
                    args = next(source)
                except StopIteration:
                    exhausted = True
                    break
                self.submit(submitted, *args)
                submitted += 1
            while following in results:
                yield results.pop(following)
                following += 1
            if exhausted and following == submitted:
                return
            done, _ = self.wait()
            for key, outcome in done:
                results[key] = outcome

    def close(self, graceful: bool = True) -> None:
        """Stop the workers: idle ones are asked to exit (running ``on_exit``), busy ones killed."""
        for worker in self._busy:
            self._discard(worker)
        self._busy.clear()
        for worker in self._idle:
            try:
                if graceful:
                    _send(worker.tasks, b"stop")
                os.close(worker.tasks)
            except OSError:
                pass
        deadline = time.monotonic() + 5.0
        for worker in self._idle:
            self._finish_idle(worker, deadline if graceful else time.monotonic())
        self._idle.clear()
        self._queue.clear()

    @staticmethod
    def _finish_idle(worker: _Worker, deadline: float) -> None:
        """Reap an idle worker told to stop; kill it if it takes longer than the deadline."""
        try:
            while time.monotonic() < deadline:
                pid, _ = os.waitpid(worker.pid, os.WNOHANG)
                if pid:
                    return
                time.sleep(0.01)
            _kill_group(worker.pid)
            _reap(worker.pid)
        except ChildProcessError:
            pass
        except OSError as error:  # pragma: no cover
            if error.errno != errno.ECHILD:
                raise
        finally:
            try:
                os.close(worker.results)
            except OSError:
                pass
