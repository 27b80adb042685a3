"""``symlearn._budget``: a call under a deadline and a memory ceiling, in a forked worker.

The limits are checked against the clock and the kernel (a process that sleeps, one that
allocates, one that kills itself, a grandchild left running), not against the module's own word.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symlearn import _budget
from symlearn._budget import BudgetExceeded, Pool, call

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the worker is forked")


class Custom(Exception):
    """An exception class of the caller's own: it must come back as itself."""


class Unpicklable(Exception):
    def __init__(self, handle):
        super().__init__("cannot travel")
        self.handle = handle

    def __reduce__(self):
        raise TypeError("no pickling")


def raise_custom(message):
    raise Custom(message)


def hog():
    """Allocate (and touch) 10 MB blocks until stopped."""
    blocks = []
    while True:
        blocks.append(bytearray(10 * 2**20))


def children() -> set[int]:
    found = set()
    for task in Path("/proc/self/task").iterdir():
        text = (task / "children").read_text()
        found |= {int(p) for p in text.split()}
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()[0]
    return state != "Z"


def test_value_args_and_kwargs():
    assert call(divmod, 17, 5) == (3, 2)
    assert call(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
    assert call(lambda: os.getpid()) != os.getpid()  # it ran in another process


def test_exceptions_keep_type_and_message():
    with pytest.raises(ValueError, match="invalid literal for int"):
        call(int, "x")
    with pytest.raises(Custom, match="^mine$"):
        call(raise_custom, "mine")
    def endless(depth=0):
        return endless(depth + 1)

    with pytest.raises(RecursionError):
        call(endless)

    def unpicklable():
        raise Unpicklable(object())

    with pytest.raises(RuntimeError, match="Unpicklable: cannot travel"):
        call(unpicklable)


def test_deadline_kills_the_whole_process_group(tmp_path):
    marker = tmp_path / "grandchild"

    def sleeper():
        # A grandchild in the worker's process group: the kill must reach it too.
        child = subprocess.Popen(["sleep", "60"])
        marker.write_text(str(child.pid))
        time.sleep(60)

    start = time.monotonic()
    with pytest.raises(BudgetExceeded) as info:
        call(sleeper, timeout=1.0)
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 3.0
    assert info.value.kind == "timeout"
    assert info.value.reason == "the check ran over its 1 s deadline"
    assert isinstance(info.value, RuntimeError)
    grandchild = int(marker.read_text())
    for _ in range(50):  # the kernel delivers SIGKILL promptly; init reaps the orphan
        if not alive(grandchild):
            break
        time.sleep(0.05)
    assert not alive(grandchild)
    assert not children()  # the worker was reaped: no zombie


def test_memory_ceiling():
    start = time.monotonic()
    with pytest.raises(BudgetExceeded) as info:
        call(hog, timeout=30, memory=256 * 2**20)
    assert time.monotonic() - start < 10
    assert info.value.kind == "memory"
    assert info.value.reason == "the check needed more than 256 MB of memory"


def test_memory_below_the_ceiling_is_allowed():
    # 200 MB of touched memory under a 512 MB ceiling: no false alarm.
    assert call(lambda: len(bytearray(200 * 2**20)), memory=512 * 2**20) == 200 * 2**20


def test_a_worker_that_dies_is_reported():
    with pytest.raises(BudgetExceeded, match="exit status 3") as info:
        call(os._exit, 3)
    assert info.value.kind == "crash"
    with pytest.raises(BudgetExceeded, match="SIGABRT") as info:
        call(os.abort)
    assert info.value.kind == "memory"  # SIGABRT with a ceiling: what GMP does at the ceiling
    with pytest.raises(BudgetExceeded, match="SIGKILL"):
        call(lambda: os.kill(os.getpid(), signal.SIGKILL), memory=None)


def test_no_limits_runs_in_process():
    seen = []
    call(seen.append, 1, timeout=None, memory=None)
    assert seen == [1]  # the list of this process changed: no fork


def test_fallback_without_fork_uses_an_alarm(monkeypatch):
    monkeypatch.setattr(_budget, "_can_fork", lambda: False)
    seen = []
    assert call(seen.append, 1) is None and seen == [1]
    start = time.monotonic()
    with pytest.raises(BudgetExceeded, match="0.5 s deadline"):
        call(time.sleep, 5, timeout=0.5)
    assert time.monotonic() - start < 2


def _fork_evidence():
    return os.getpid(), getattr(sys, "_symlearn_test_marker", None), "sympy" in sys.modules


def test_worker_is_a_fork_and_pays_no_import():
    """The child is a fork of this process: state made here after the imports (a marker) is
    there, and SymPy is already imported, so a call pays no import (a spawned worker would have
    neither). Checked structurally, not by timing: the machine's speed varies."""
    import sympy  # noqa: F401  (imported before the fork)

    sys._symlearn_test_marker = marker = object().__repr__()
    try:
        pid, seen, has_sympy = call(_fork_evidence)
    finally:
        del sys._symlearn_test_marker
    assert pid != os.getpid()
    assert seen == marker and has_sympy


def test_invalid_limits_are_refused():
    for bad in (0, -1, float("nan"), float("inf"), "10"):
        with pytest.raises(ValueError, match="timeout"):
            call(abs, 1, timeout=bad)
    with pytest.raises(ValueError, match="memory"):
        call(abs, 1, memory=1.5)


@pytest.mark.parametrize(("text", "size"), [
    ("2G", 2 * 2**30), ("512M", 512 * 2**20), ("512MB", 512 * 2**20), ("1.5g", 3 * 2**29),
    ("1048576", 2**20), ("64MiB", 64 * 2**20), ("1T", 2**40),
])
def test_parse_size(text, size):
    assert _budget.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "2X", "-1G", "nanG", "inf", "100", "1e400"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError):
        _budget.parse_size(text)


def test_format_size():
    assert _budget.format_size(2 * 2**30) == "2 GB"
    assert _budget.format_size(512 * 2**20) == "512 MB"
    assert _budget.format_size(3 * 2**29) == "1.5 GB"


def task(x):
    if x == "sleep":
        time.sleep(30)
    if x == "raise":
        raise Custom("raised")
    if x == "exit":
        os._exit(4)
    if x == "hog":
        hog()
    return x, os.getpid()


def test_pool_order_errors_and_replacement(tmp_path):
    exits = tmp_path / "exits"
    exits.mkdir()
    items = [1, 2, "sleep", 3, "raise", 4, "exit", 5, "hog", 6, 7, 8]
    start = time.monotonic()
    with Pool(task, 2, timeout=1.0, memory=256 * 2**20,
              on_exit=lambda: (exits / str(os.getpid())).touch()) as pool:
        outcomes = list(pool.imap((item,) for item in items))
    assert time.monotonic() - start < 8
    assert len(outcomes) == len(items)
    for item, outcome in zip(items, outcomes):
        if item == "sleep":
            assert isinstance(outcome.error, BudgetExceeded)
            assert outcome.error.reason == "the check ran over its 1 s deadline"
        elif item == "raise":
            assert isinstance(outcome.error, Custom) and str(outcome.error) == "raised"
        elif item == "exit":
            assert isinstance(outcome.error, BudgetExceeded) and "exit status 4" in outcome.error.reason
        elif item == "hog":
            assert isinstance(outcome.error, BudgetExceeded) and outcome.error.kind == "memory"
        else:
            assert outcome.error is None and outcome.value[0] == item
            assert outcome.value[1] != os.getpid()
    pids = {o.value[1] for o in outcomes if o.error is None}
    assert len(pids) >= 3  # workers were replaced after the overrun, the exit and the hog
    assert pool.replaced >= 3
    # The workers alive at the end exited normally and ran on_exit; no process is left.
    assert {int(p.name) for p in exits.iterdir()} <= pids and len(list(exits.iterdir())) >= 1
    assert not children()


def test_pool_reuses_workers():
    with Pool(task, 2, timeout=5) as pool:
        outcomes = list(pool.imap((i,) for i in range(200)))
    assert [o.value[0] for o in outcomes] == list(range(200))
    assert len({o.value[1] for o in outcomes}) <= 2


def test_pool_submit_and_wait_stream():
    with Pool(task, 2, timeout=5) as pool:
        for key in "abc":
            pool.submit(key, key)
        got = {}
        while pool.pending:
            done, _ = pool.wait()
            got.update(done)
    assert {k: o.value[0] for k, o in got.items()} == {"a": "a", "b": "b", "c": "c"}


def test_pool_wait_watches_a_descriptor():
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"x")
        with Pool(task, 1, timeout=5) as pool:
            done, ready = pool.wait(timeout=2, watch=[read_end])
        assert done == [] and ready == [read_end]
    finally:
        os.close(read_end)
        os.close(write_end)


def test_orphaned_worker_ends_by_its_cpu_cap(tmp_path):
    """If the parent is killed, the worker's RLIMIT_CPU (deadline + a few seconds) ends it."""
    script = tmp_path / "orphan.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
        "from symlearn import _budget\n"
        "_budget._CPU_GRACE = 1  # (5 s by default: shortened to keep the test short)\n"
        "def spin():\n"
        "    print(os.getpid(), flush=True)\n"
        "    while True: pass\n"
        "_budget.call(spin, timeout=1.0)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 20
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(worker)
