"""The exported module (``symlearn.export``) against hand-written numpy, PyTorch CPU, a naive
``sympy.lambdify`` and the copy-bandwidth bound, measured in one process.

Rows: value+grad of ``mse_loss``, ``binary_cross_entropy_with_logits`` and softmax
``cross_entropy`` (n logits: n/10 samples of 10 classes), and one Adam step (torch's defaults,
from a state at t = 1), for n = 1e3, 1e4, 1e5, 1e6 float64 and 1e6 float32. Contenders:

* ``exported``: the module written by ``symlearn.export`` (all the losses above and adam),
  imported from a file, called as a user calls it (argument checks included);
* ``package``: ``symlearn.losses.catalog[name].value_and_grad`` / ``symlearn.optim.adam().update``;
* ``idiomatic``: numpy as usually written (a new array per operation);
* ``tuned``: numpy with ``out=`` buffers allocated once, outside the timed call;
* ``torch``: ``torch.nn.functional`` forward + ``backward()`` / ``torch.optim.Adam.step()``
  (CPU, ``from_numpy``);
* ``lambdify``: ``sympy.lambdify`` of the same expressions (elementary functions, no CSE, no
  stable forms), value and gradient as two functions;
* ``copy``: ``numpy.copyto`` of the inputs' bytes into buffers (losses: the two inputs; Adam:
  grads and both moments), the memory-bandwidth bound of one pass;
* floors, where a target meets one: ``kernel``, the exported module's compiled kernel of the
  common call (losses: the plain in-place kernel or cross_entropy's fast path; Adam: the
  in-place step) called directly, without argument checks or state; ``tuned+alloc``, the tuned
  numpy returning a new gradient (Adam: new moments and update, 3 arrays per step), as a
  function that returns its result must, where ``tuned`` overwrites one buffer every call;
  ``convert`` (float32 rows), the float64 copies of the inputs a float64 function needs.

Every round times one sample of each contender in a rotated order (a drift of the shared
machine's speed falls on all alike); times are medians per call of this process's CPU time
(``--clock wall`` for elapsed time), ratios are medians of the per-round ratios exported / other
(below 1.0: exported is faster). Thread counts are set to 1
(``OMP_NUM_THREADS`` etc., unless already set) before numpy and torch load, and printed with the
load average. Then the import time of a generated module holding every exportable loss and
optimizer, beyond ``import numpy``, in fresh subprocesses (median of 9; cold: compiled from
source, no ``__pycache__``; warm: from its ``.pyc``).

Run from a checkout: ``python benchmarks/bench_export.py [--quick] [--budget SECONDS]
[--only losses|adam|import]``; ``--quick`` (about a minute on an idle machine) uses a small budget
per cell. The Markdown table at the end is the one in README.md's Performance section.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy and torch load their thread pools

import numpy as np

HERE = Path(__file__).resolve().parent
# The checkout's symlearn, not whichever one is installed: a benchmark measures this tree.
sys.path.insert(0, str(HERE.parent))

LOSSES = ("mse_loss", "binary_cross_entropy_with_logits", "cross_entropy")
CLASSES = 10
SIZES = ((10**3, np.float64), (10**4, np.float64), (10**5, np.float64), (10**6, np.float64),
         (10**6, np.float32))
B1, B2, LR, EPS = 0.9, 0.999, 1e-3, 1e-8


# --- timing -------------------------------------------------------------------------------------
CLOCK = time.process_time


def interleaved(contenders: dict, budget: float, min_rounds: int, sample_seconds=0.003):
    """``(medians, ratios, rounds)``: median seconds per call of each contender, and the median
    over rounds of (first contender's time / this one's time) within the round. Times are read
    from :data:`CLOCK` (``--clock``)."""
    clock = CLOCK
    names = list(contenders)
    numbers, round_seconds = {}, 0.0
    for name in names:
        function = contenders[name]
        function()  # warm up
        start = clock()
        function()
        once = max(clock() - start, 1e-7)
        numbers[name] = max(1, int(sample_seconds / once))
        round_seconds += once * numbers[name]
    rounds = max(min_rounds, min(201, int(budget / round_seconds)))
    samples: dict = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            function, number = contenders[name], numbers[name]
            start = clock()
            for _ in range(number):
                function()
            samples[name].append((clock() - start) / number)
    medians = {name: statistics.median(samples[name]) for name in names}
    first = samples[names[0]]
    ratios = {name: statistics.median(a / b for a, b in zip(first, samples[name]))
              for name in names[1:]}
    return medians, ratios, rounds


# --- the losses' contenders ---------------------------------------------------------------------
def inputs(name, n, dtype, rng):
    if name == "cross_entropy":
        return ((3 * rng.normal(size=(n // CLASSES, CLASSES))).astype(dtype),
                rng.integers(0, CLASSES, n // CLASSES))
    if name == "binary_cross_entropy_with_logits":
        return (3 * rng.normal(size=n)).astype(dtype), rng.uniform(0, 1, n).astype(dtype)
    return rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)


def idiomatic_mse(x, y):
    d = x - y
    return np.mean(d**2), 2 * d / d.size


def idiomatic_bce(x, y):
    softplus = np.logaddexp(0, x)  # the stable form, as a careful engineer writes it
    return np.mean(softplus - y * x), (np.exp(x - softplus) - y) / x.size


def idiomatic_cross_entropy(z, labels):
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    value = np.mean(np.log(total[:, 0]) - shifted[rows, labels])
    grad = exp / total
    grad[rows, labels] -= 1
    return value, grad / n


IDIOMATIC = {"mse_loss": idiomatic_mse, "binary_cross_entropy_with_logits": idiomatic_bce,
             "cross_entropy": idiomatic_cross_entropy}


def tuned(name, x, y, allocate: bool = False):
    """The loss in numpy with every array written into buffers allocated here, once (the
    returned gradient is that buffer, overwritten by the next call: a training loop's use); with
    ``allocate``, the returned gradient is a new array each call (what a function that returns
    its result must do) and only the other temporaries are reused."""
    def out(buffer):
        return np.empty_like(buffer) if allocate else buffer

    if name == "mse_loss":
        d = np.empty_like(x)
        scale = 2.0 / x.size

        def mse(x, y):
            g = np.subtract(x, y, out=out(d))
            value = np.dot(g, g) / g.size
            np.multiply(g, scale, out=g)
            return value, g

        return mse
    if name == "binary_cross_entropy_with_logits":
        softplus, grad = np.empty_like(x), np.empty_like(x)
        scale = 1.0 / x.size

        def bce(x, y):
            np.logaddexp(0, x, out=softplus)
            value = (softplus.sum() - np.dot(x, y)) * scale
            g = np.subtract(x, softplus, out=out(grad))
            np.exp(g, out=g)
            np.subtract(g, y, out=g)
            np.multiply(g, scale, out=g)
            return value, g

        return bce
    n = x.shape[0]
    shifted, top, total = np.empty_like(x), np.empty(n, x.dtype), np.empty(n, x.dtype)
    rows, scale = np.arange(n), 1.0 / n

    def cross_entropy(z, labels):
        np.max(z, axis=1, out=top)
        g = np.subtract(z, top[:, None], out=out(shifted))
        picked = g[rows, labels].sum()
        np.exp(g, out=g)
        np.sum(g, axis=1, out=total)
        np.divide(scale, total, out=top)
        np.multiply(g, top[:, None], out=g)
        g[rows, labels] -= scale
        value = (np.log(total, out=total).sum() - picked) * scale
        return value, g

    return cross_entropy


def kernel(module, name, x, y):
    """The exported module's compiled kernel of the common call, called directly (no argument
    checks): the floor of its per-call work. ``None`` for float32 (the module computes in
    float64; see the ``convert`` floor)."""
    if x.dtype != np.float64:
        return None
    if name == "cross_entropy":
        return lambda z, labels: module._cross_entropy_plain(z, labels, "mean", True, True)
    both = getattr(module, f"_{name}_plain_both")
    scale = 1.0 / x.size
    return lambda x, y: both(x, y, 1.0, scale)


def convert(x, y):
    """The float64 copies of float32 inputs that a float64 function needs (its floor)."""
    return x.astype(np.float64), (y.astype(np.float64) if y.dtype.kind == "f" else y)


def torch_loss(name, torch):
    function = getattr(torch.nn.functional, name)

    def run(x, y):
        xt = torch.from_numpy(x).requires_grad_()
        value = function(xt, torch.from_numpy(y))
        value.backward()
        return value.item(), xt.grad.numpy()

    return run


def lambdified(name, x, y):
    """``sympy.lambdify`` of the loss's expression and its derivative (sympy.diff), without CSE
    or stable forms: what one gets from the formula alone."""
    import sympy as sp

    from symlearn import losses

    if name == "cross_entropy":
        z = sp.symbols(f"z0:{CLASSES}", real=True)
        t = sp.symbols(f"t0:{CLASSES}", real=True)  # one-hot target
        expr = sp.log(sum(sp.exp(zi) for zi in z)) - sum(ti * zi for ti, zi in zip(t, z))
        value = sp.lambdify([*z, *t], expr, modules="numpy")
        grads = [sp.lambdify([*z, *t], sp.diff(expr, zi), modules="numpy") for zi in z]
        columns = np.eye(CLASSES, dtype=x.dtype)[y].T.copy()  # outside the timed call

        def ce(z_, labels):
            cols = [*z_.T, *columns]
            n = z_.shape[0]
            return np.mean(value(*cols)), np.stack([g(*cols) for g in grads], axis=1) / n

        return ce
    spec = losses.catalog[name].spec
    expr = spec.expr
    for symbol in getattr(spec, "optional_arrays", {}).values():
        expr = expr.subs(symbol, 1)  # pos_weight absent
    # symlearn's own functions (softplus, log_sigmoid, ...) in elementary ones: log(1 + exp(-x))
    expr = expr.replace(lambda e: isinstance(e, sp.Function)
                        and type(e).__module__.startswith("symlearn"),
                        lambda e: e.rewrite(sp.exp))
    a, b = spec.symbols
    value = sp.lambdify([a, b], expr, modules="numpy")
    grad = sp.lambdify([a, b], sp.diff(expr, a), modules="numpy")
    return lambda x, y: (np.mean(value(x, y)), grad(x, y) / x.size)


def copy_bound(*arrays):
    buffers = [np.empty_like(a) for a in arrays]

    def copy(*_):
        for buffer, a in zip(buffers, arrays):
            np.copyto(buffer, a)

    return copy


# --- Adam ---------------------------------------------------------------------------------------
def idiomatic_adam(g, m, v, t):
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g * g
    m_hat = m / (1 - B1 ** (t + 1))
    v_hat = v / (1 - B2 ** (t + 1))
    return -LR * m_hat / (np.sqrt(v_hat) + EPS), m, v


def tuned_adam(n, dtype, allocate: bool):
    """Adam with ``out=`` buffers: updated in place (``allocate`` False), or writing the new
    moments and the update into three arrays allocated in the call (a pure update's floor)."""
    tmp, out = np.empty(n, dtype), np.empty(n, dtype)

    def step(g, m, v, t):
        c1, c2 = 1 - B1 ** (t + 1), 1 - B2 ** (t + 1)
        if allocate:
            m_new, v_new, update = np.empty_like(m), np.empty_like(v), np.empty_like(g)
        else:
            m_new, v_new, update = m, v, out
        np.multiply(m, B1, out=m_new)
        np.multiply(g, 1 - B1, out=tmp)
        np.add(m_new, tmp, out=m_new)
        np.multiply(v, B2, out=v_new)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1 - B2, out=tmp)
        np.add(v_new, tmp, out=v_new)
        np.sqrt(v_new, out=update)
        np.multiply(update, 1 / c2**0.5, out=update)
        np.add(update, EPS, out=update)
        np.divide(m_new, update, out=update)
        np.multiply(update, -LR / c1, out=update)
        return update, m_new, v_new

    return step


def lambdified_adam():
    import sympy as sp

    g, m, v, t, lr, b1, b2, eps = sp.symbols("g m v t lr beta1 beta2 eps", real=True)
    m1 = b1 * m + (1 - b1) * g
    v1 = b2 * v + (1 - b2) * g**2
    delta = -lr * (m1 / (1 - b1 ** (t + 1))) / (sp.sqrt(v1 / (1 - b2 ** (t + 1))) + eps)
    step = sp.lambdify([g, m, v, t, lr, b1, b2, eps], [delta, m1, v1], modules="numpy")
    return lambda g_, m_, v_, t_: step(g_, m_, v_, t_, LR, B1, B2, EPS)


# --- the run ------------------------------------------------------------------------------------
def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def environment(torch) -> str:
    threads = ", ".join(f"{v}={os.environ.get(v)}" for v in
                        ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    try:
        from threadpoolctl import threadpool_info

        blas = "; ".join(f"{i['internal_api']} {i['num_threads']} thread(s)"
                         for i in threadpool_info())
    except ImportError:
        blas = "threadpoolctl not installed"
    load_avg = ", ".join(f"{a:.2f}" for a in os.getloadavg())
    return (f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__} "
            f"({torch.get_num_threads()} thread); {threads}; BLAS: {blas}; {os.cpu_count()} CPUs, "
            f"load average {load_avg}")


def loss_rows(module, torch, budget, min_rounds, rng):
    from symlearn import losses

    rows = []
    for name in LOSSES:
        exported = getattr(module, f"{name}_value_and_grad")
        for n, dtype in SIZES:
            x, y = inputs(name, n, dtype, rng)
            reference = exported(x.astype(np.float64), y)
            contenders = {
                "exported": exported,
                "package": losses.catalog[name].value_and_grad,
                "idiomatic": IDIOMATIC[name],
                "tuned": tuned(name, x, y),
                "torch": torch_loss(name, torch),
                "lambdify": lambdified(name, x, y),
                "copy": copy_bound(x, y),
                "kernel": kernel(module, name, x, y),
                "tuned+alloc": tuned(name, x, y, allocate=True),
                "convert": convert if dtype != np.float64 else None,
            }
            contenders = {k: f for k, f in contenders.items() if f is not None}
            tolerance = 1e-9 if dtype == np.float64 else 1e-4
            for label, function in contenders.items():
                if label in ("copy", "convert"):
                    continue
                value, grad = function(x, y)
                assert np.isclose(value, reference[0], rtol=tolerance), (name, label)
                assert np.allclose(grad, reference[1], rtol=tolerance, atol=tolerance / n), (
                    name, label)
            calls = {label: _bind(f, x, y) for label, f in contenders.items()}
            medians, ratios, rounds = interleaved(calls, budget, min_rounds)
            rows.append((name, n, np.dtype(dtype).name, medians, ratios, rounds))
            print_row(rows[-1], flush=True)
    return rows


def _bind(function, *args):
    return lambda: function(*args)


def adam_contenders(module, package, torch, n, dtype, rng) -> tuple[dict, np.ndarray]:
    """The Adam contenders at one size, each a function of no arguments, and the exported
    update (the reference of the others)."""
    p, g = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    state = module.adam_update(g, module.adam_init(p), p)[1]  # t = 1: both moments non-zero
    m, v = state.exp_avg.astype(dtype), state.exp_avg_sq.astype(dtype)
    package_state = package.update(g, package.init(p), p)[1]
    tensor = torch.tensor(p, requires_grad=True)
    tensor.grad = torch.from_numpy(g.copy())
    adam = torch.optim.Adam([tensor], lr=LR, betas=(B1, B2), eps=EPS)
    adam.step()
    variant = module._ADAM_VARIANTS[module._ADAM_TABLE[(False, False)]]
    scalars, fixed, arrays, n_per_step = variant[:4]
    constants = [*scalars(1, LR, B1, B2, EPS, 0.0)[:n_per_step],
                 *[np.array(float(c)) for c in fixed(B1, B2, EPS, 0.0)]]
    contenders = {
        "exported": _bind(module.adam_update, g, state, p),
        "package": _bind(package.update, g, package_state, p),
        "idiomatic": _bind(idiomatic_adam, g, m, v, 1),
        "tuned": _bind(tuned_adam(n, dtype, False), g, m.copy(), v.copy(), 1),
        "torch": adam.step,
        "lambdify": _bind(lambdified_adam(), g, m, v, 1),
        "copy": copy_bound(g, m, v),
        "kernel": _bind(arrays, p, g, state.exp_avg, state.exp_avg_sq, *constants),
        "tuned+alloc": _bind(tuned_adam(n, dtype, True), g, m, v, 1),
    }
    return contenders, module.adam_update(g, state, p)[0]


def adam_rows(module, torch, budget, min_rounds, rng):
    from symlearn import optim

    rows = []
    package = optim.adam()
    for n, dtype in SIZES:
        contenders, reference = adam_contenders(module, package, torch, n, dtype, rng)
        tolerance = 1e-10 if dtype == np.float64 else 1e-4
        for label in ("package", "idiomatic", "lambdify", "kernel", "tuned+alloc"):
            assert np.allclose(contenders[label]()[0], reference, rtol=tolerance, atol=0), label
        medians, ratios, rounds = interleaved(contenders, budget, min_rounds)
        rows.append(("adam step", n, np.dtype(dtype).name, medians, ratios, rounds))
        print_row(rows[-1], flush=True)
    return rows


def print_row(row, flush=False):
    name, n, dtype, medians, _, rounds = row
    times = " ".join(f"{label} {medians[label] * 1e6:.1f}us" for label in medians)
    print(f"  {name} n={n:.0e} {dtype}: {times}; rounds {rounds}", flush=flush)


def markdown(rows) -> str:
    columns = ("package", "idiomatic", "tuned", "torch", "lambdify", "copy", "kernel",
               "tuned+alloc", "convert")
    lines = [
        "| function | n | dtype | exported | " + " | ".join(f"/ {c}" for c in columns) + " |",
        "|---|---:|---|---:|" + "---:|" * len(columns),
    ]
    for name, n, dtype, medians, ratios, _ in rows:
        cells = [f"{ratios[c]:.2f}" if c in ratios else "" for c in columns]
        lines.append(f"| {name} | {n:.0e} | {dtype} | {_time(medians['exported'])} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def _time(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def import_times(directory: Path, repeats: int) -> dict:
    """Median wall and CPU seconds of importing the generated module beyond ``import numpy``,
    each in a new interpreter: cold (no bytecode cache: compiled from source, as on the first
    import) and warm (from the ``.pyc`` Python writes on the first import)."""
    from symlearn import export

    path = directory / "symlearn_all.py"
    path.write_text(export(losses=["all"], optimizers=["all"]))
    probe = ("import sys, time; sys.path.insert(0, sys.argv[1]); import numpy; "
             "t, c = time.perf_counter(), time.process_time(); import symlearn_all; "
             "print(time.perf_counter() - t, time.process_time() - c)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = {"lines": len(path.read_text().splitlines())}
    for label in ("cold", "warm"):
        flags = ["-B"] if label == "cold" else []
        if label == "warm":  # the first import writes the .pyc
            subprocess.run([sys.executable, "-c", probe, str(directory)], check=True,
                           capture_output=True, env=env)
        walls, cpus = [], []
        for _ in range(repeats):
            if label == "cold":
                for cache in directory.glob("__pycache__/*"):
                    cache.unlink()
            out = subprocess.run([sys.executable, *flags, "-c", probe, str(directory)],
                                 check=True, capture_output=True, text=True, env=env)
            wall, cpu = map(float, out.stdout.split())
            walls.append(wall)
            cpus.append(cpu)
        result[label] = (statistics.median(walls), statistics.median(cpus))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small budget (under a minute)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds per cell (default 1.5; --quick 0.08)")
    parser.add_argument("--only", choices=("losses", "adam", "import"), default=None)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: this process's CPU time (default; a shared machine's other "
                        "processes do not count), wall: elapsed time")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    budget = args.budget if args.budget is not None else (0.08 if args.quick else 1.5)
    min_rounds = 7 if args.quick else 15
    import torch

    from symlearn import export

    torch.set_num_threads(1)
    print(environment(torch) + f"; clock: {args.clock}", flush=True)
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench_exported.py"
        path.write_text(export(losses=LOSSES, optimizers=["adam"]))
        module = load(path, "bench_exported")
        if args.only in (None, "losses"):
            rows += loss_rows(module, torch, budget, min_rounds, rng)
        if args.only in (None, "adam"):
            rows += adam_rows(module, torch, budget, min_rounds, rng)
        imports = None
        if args.only in (None, "import"):
            imports = import_times(Path(directory), 7 if args.quick else 9)
    print()
    print(f"load average after: {', '.join(f'{a:.2f}' for a in os.getloadavg())}")
    if rows:
        print()
        print(markdown(rows))
        print("\nexported: median time per call; the other columns: median of the per-round "
              "ratios exported time / that contender's time (below 1.0: exported is faster).")
    if imports is not None:
        print(f"\nimport of a generated module with every exportable loss and optimizer "
              f"({imports['lines']} lines) beyond import numpy, median of "
              f"{7 if args.quick else 9} fresh interpreters (wall / CPU): cold, compiled from "
              f"source {imports['cold'][0] * 1e3:.1f} / {imports['cold'][1] * 1e3:.1f} ms; "
              f"warm, from its .pyc {imports['warm'][0] * 1e3:.1f} / "
              f"{imports['warm'][1] * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
