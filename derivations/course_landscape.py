r"""The loss landscape and where training starts: local minima, saddle points and the noise of
SGD; random initialisation (symmetry breaking, variance scaling).

Two documents:

* ``minima-saddles-and-sgd-noise``: critical points classified by the Hessian on a landscape
  with a global minimum, a local minimum and a saddle; full-batch gradient descent against
  mini-batch SGD on a real finite sum, measured over 50 runs per batch size.
* ``random-initialisation``: identical hidden units receive identical gradients (symbolic) and
  stay identical (measured); the variance of a sum of $n$ products derived, giving Glorot's
  and He's scalings, and activations through 20 layers measured.

Algebra is checked symbolically; numbers come from runs made at build time with fixed seeds.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from symlearn import Custom, Derivation, Figure, Step, Symbolic
from symlearn.calculus.steps import add_gradient_steps
from symlearn.registry import load_helper

# --------------------------------------------------------------------------------------------------
# Shared helpers: displayed formulas and measured claims


_course = load_helper(__file__, "_course")
_shown = _course.shown
_tex = _course.tex
_value = _course.value
_measured = _course.measured
_measured_step = _course.measured_step












# ==================================================================================================
# Document 1: local minima, saddle points and the noise of SGD

x, y = sp.symbols("x y", real=True)
LANDSCAPE = x**4 + sp.Rational(2, 3) * x**3 - x**2 + y**2
CRITICAL = ((-1, 0), (0, 0), (sp.Rational(1, 2), 0))
N_TERMS, SPREAD, LR, STEPS, SEEDS = 64, 2.0, 0.1, 300, 50
BATCHES = (4, 16, 64)
START = (1.2, 1.0)


def _landscape_np(gx, gy):
    return gx**4 + 2 / 3 * gx**3 - gx**2 + gy**2


@functools.lru_cache(maxsize=1)
def perturbations() -> np.ndarray:
    r"""$\mathbf{a}_i$, $i = 1..64$: standard normal (seed 0), centred so they sum to zero, times 2."""
    a = np.random.default_rng(0).standard_normal((N_TERMS, 2))
    return SPREAD * (a - a.mean(0))


def _runs(batch: int, seed: int, runs: int, start=START, steps=STEPS) -> np.ndarray:
    """``runs`` independent mini-batch SGD runs on $L = \\frac{1}{N}\\sum_i \\ell_i$, side by
    side (one generator, seeded with ``seed``); each step of each run draws its batch without
    replacement. ``batch = N`` is full-batch gradient descent. Returns paths, shape
    ``(steps + 1, runs, 2)``."""
    a = perturbations()
    rng = np.random.default_rng(seed)
    p = np.tile(np.array(start, dtype=float), (runs, 1))
    path = [p]
    for _ in range(steps):
        grad = np.stack([4 * p[:, 0] ** 3 + 2 * p[:, 0] ** 2 - 2 * p[:, 0], 2 * p[:, 1]], 1)
        if batch < N_TERMS:
            # the first `batch` entries of a random permutation per run: a batch without replacement
            idx = np.argsort(rng.random((runs, N_TERMS)), axis=1)[:, :batch]
            grad = grad + a[idx].mean(axis=1)
        p = p - LR * grad
        path.append(p)
    return np.array(path)


@functools.lru_cache(maxsize=1)
def landscape_runs() -> dict:
    paths = {b: _runs(b, 0, SEEDS) for b in BATCHES}
    return {"ends": {b: paths[b][-1] for b in BATCHES}, "gd": paths[N_TERMS][:, 0],
            "sgd": [paths[4][:, i] for i in range(4)],
            "saddle_gd": _runs(N_TERMS, 0, 1, start=(0.0, 1.0))[:, 0],
            "saddle_sgd": _runs(4, 1, 1, start=(0.0, 1.0))[:, 0]}


def _draw_landscape(path):
    from symlearn.render.figures import plotted

    runs = landscape_runs()
    gx, gy = np.meshgrid(np.linspace(-1.6, 1.5, 300), np.linspace(-1.2, 1.2, 300))
    with plotted(path, 1, 2, figsize=(11, 3.9)) as (_fig, (a, b)):
        for axis in (a, b):
            axis.contour(gx, gy, _landscape_np(gx, gy), levels=np.linspace(-0.6, 2.5, 24),
                         colors="0.8", linewidths=0.6)
            axis.plot([-1, 0.5], [0, 0], "k*", ms=9)
            axis.plot([0], [0], "kx", ms=8)
            axis.set_xlabel("$x$")
            axis.set_ylabel("$y$")
        a.plot(*runs["gd"].T, color="k", lw=2, label="full batch (GD)")
        for i, p in enumerate(runs["sgd"]):
            a.plot(*p.T, lw=0.7, label=f"SGD, batch 4, seed {i}")
        a.legend(fontsize=7, loc="upper left")
        a.set_title("from $(1.2, 1)$: minima (stars), saddle (cross)")
        b.plot(*runs["saddle_gd"].T, color="k", lw=2, label="GD from $(0, 1)$: stops at the saddle")
        b.plot(*runs["saddle_sgd"].T, lw=0.8, label="SGD from $(0, 1)$")
        b.legend(fontsize=7, loc="upper left")
        b.set_title("started on the saddle's ridge")


def build_minima_saddles() -> Derivation:
    doc = Derivation(
        name="minima-saddles-and-sgd-noise",
        title="Local minima, saddle points and the noise of SGD",
        summary=(
            "Critical points classified by the Hessian; full-batch gradient descent stops at "
            "the first minimum or on a saddle's ridge, mini-batch SGD's noise can leave both, "
            "and does not guarantee the global minimum (measured over 50 runs)."
        ),
    )
    doc = doc.section("Critical points and the Hessian").text(
        "A **critical point** of a loss $L(\\boldsymbol{\\theta})$ is where its gradient is "
        "zero; a small step in any direction changes $L$ only to second order, governed by the "
        "Hessian $\\mathbf{H}$ (the matrix of second derivatives). If all eigenvalues of "
        "$\\mathbf{H}$ are positive it is a local minimum, all negative a local maximum, mixed "
        "signs a **saddle point**: downhill in some directions, uphill in others. A local "
        "minimum is **global** when no other point has a lower loss. The landscape used here "
        "has all three kinds: $L(x, y) = x^4 + \\frac{2}{3}x^3 - x^2 + y^2$."
    )
    # the gradient and the Hessian one partial derivative at a time, rule by rule
    L_ = sp.Symbol("L")
    gx, gy = 4 * x**3 + 2 * x**2 - 2 * x, 2 * y
    doc = doc.text("The gradient, one partial derivative at a time (in $\\partial L/\\partial x$ "
                   "the term $y^2$ is a constant, and in $\\partial L/\\partial y$ every term "
                   "in $x$ is):")
    doc = add_gradient_steps(doc, LANDSCAPE, x, output=L_, textbook=gx, why=False)
    doc = add_gradient_steps(doc, LANDSCAPE, y, output=L_, textbook=gy, why=False)
    doc = doc.text("So the gradient is zero where both partials are; the first one factors:")
    doc = doc.steps(
        Step(_shown(r"4x^3 + 2x^2 - 2x"), _shown(r"4x\,(x + 1)\left(x - \tfrac{1}{2}\right)"),
             "factor: zeros at $x = -1, 0, \\frac{1}{2}$ (and $y = 0$)",
             claim=(4 * x**3 + 2 * x**2 - 2 * x, 4 * x * (x + 1) * (x - sp.Rational(1, 2)))),
    )
    doc = doc.text(
        "The Hessian's entries are the partials of the partials. $\\partial L/\\partial x$ "
        "has no $y$ and $\\partial L/\\partial y$ no $x$, so the mixed entries "
        "$\\partial^2 L/\\partial x\\,\\partial y$ are zero; the diagonal ones, writing "
        "$L_x = \\partial L/\\partial x$ and $L_y = \\partial L/\\partial y$:"
    )
    Lx, Ly = sp.Symbol("L_x"), sp.Symbol("L_y")
    doc = add_gradient_steps(doc, gx, x, output=Lx, why=False)
    doc = add_gradient_steps(doc, gy, y, output=Ly, why=False)
    doc = doc.steps(
        Step(_shown(r"\mathbf{H}"), sp.diag(12 * x**2 + 4 * x - 2, 2),
             "the diagonal entries just derived; the mixed ones are zero",
             claim=(sp.hessian(LANDSCAPE, (x, y)), sp.diag(12 * x**2 + 4 * x - 2, 2))),
    )
    rows = []
    for cx, cy in CRITICAL:
        at = {x: cx, y: cy}
        h11 = (12 * x**2 + 4 * x - 2).xreplace(at)
        kind = "local minimum" if h11 > 0 else "saddle point"
        rows.append((f"$({sp.latex(cx)}, {cy})$", f"${sp.latex(LANDSCAPE.xreplace(at))}$",
                     f"${sp.latex(h11)}, 2$", kind))
    doc = doc.table(["point", "$L$", "eigenvalues of $\\mathbf{H}$", "kind"], rows,
                    caption="Exact values (SymPy). $(-1, 0)$ is the global minimum.")
    h = sp.hessian(LANDSCAPE, (x, y))
    doc = doc.steps(
        Step(_shown(r"L(-1, 0)"), sp.Rational(-2, 3), "global minimum",
             claim=(LANDSCAPE.xreplace({x: -1, y: 0}), sp.Rational(-2, 3))),
        Step(_shown(r"L(\tfrac{1}{2}, 0)"), sp.Rational(-5, 48), "a higher, local minimum",
             claim=(LANDSCAPE.xreplace({x: sp.Rational(1, 2), y: 0}), sp.Rational(-5, 48))),
        Step(_shown(r"\det \mathbf{H}(0, 0)"), sp.Integer(-4),
             "eigenvalues $-2$ and $2$: a saddle", claim=(h.xreplace({x: 0, y: 0}).det(), -4)),
    )
    runs = landscape_runs()
    doc = doc.section("Full batch against mini-batches, measured").text(
        "To have a real finite sum with mini-batches, write $L$ as the mean of $N = 64$ "
        "per-example losses $\\ell_i(\\boldsymbol{\\theta}) = L(\\boldsymbol{\\theta}) + "
        "\\mathbf{a}_i \\cdot \\boldsymbol{\\theta}$, with fixed random vectors $\\mathbf{a}_i$ "
        "(standard normal, seed 0, centred so that $\\sum_i \\mathbf{a}_i = \\mathbf{0}$, times "
        "2). Their mean is exactly $L$, and a mini-batch $B$ gives the gradient "
        "$\\nabla L + \\frac{1}{|B|}\\sum_{i\\in B}\\mathbf{a}_i$: right on average, noisy in "
        "each step, noisier for smaller batches. From $(1.2, 1)$, in the basin of the local "
        f"minimum, each run takes {STEPS} steps with $\\eta = {LR}$ (batches drawn without "
        f"replacement); {SEEDS} runs per batch size, all drawn from one generator with seed 0; "
        "batch 64 is full-batch gradient descent."
    )
    ends = runs["ends"]
    share = {b: float(np.mean(ends[b][:, 0] < 0)) for b in BATCHES}
    doc = doc.table(
        ["batch size $\\lvert B\\rvert$", "runs ending near the global minimum ($x < 0$)",
         "runs ending near the local minimum"],
        [(str(b), f"{round(share[b] * SEEDS)} of {SEEDS}",
          f"{SEEDS - round(share[b] * SEEDS)} of {SEEDS}") for b in BATCHES],
        caption="Measured endpoints after 300 steps.",
    )
    gd_end = runs["gd"][-1]
    doc = doc.steps(
        _measured_step(r"\Vert \boldsymbol{\theta}^{\mathrm{GD}}_{300} - (\tfrac{1}{2}, 0)\Vert ",
                       float(np.linalg.norm(gd_end - [0.5, 0])),
                       "full-batch GD settles in the local minimum", "distance after 300 steps",
                       relation="<", rhs=(1e-6, "10^{-6}")),
        _measured_step(r"\text{share}_{|B| = 4}(\text{global})", share[4],
                       "noise carries some runs over the barrier",
                       "fraction of the 50 batch-4 runs ending with $x < 0$", relation=">",
                       rhs=(0.0, "0")),
        _measured_step(r"\text{share}_{|B| = 4}(\text{global})", share[4],
                       "but not all of them", "fraction of the 50 batch-4 runs ending with $x < 0$",
                       relation="<", rhs=(1.0, "1")),
    )
    sg, ss = runs["saddle_gd"], runs["saddle_sgd"]
    doc = doc.section("Stuck on a saddle").text(
        "Started at $(0, 1)$, on the line $x = 0$ where $\\partial L/\\partial x = 0$, full-batch "
        "gradient descent never leaves that line and walks into the saddle $(0, 0)$, where the "
        "gradient vanishes: the course notes' 'zero gradient, no update'. The saddle is "
        "unstable (the $x$-direction curves down), so any perturbation grows; mini-batch noise "
        "supplies one at once:"
    )
    doc = doc.steps(
        _measured_step(r"|x^{\mathrm{GD}}_{300}|", float(abs(sg[-1, 0])),
                       "GD stays on $x = 0$ exactly", "$|x|$ of the full-batch run after 300 steps",
                       relation="=", rhs=(0.0, "0")),
        _measured_step(r"L(\boldsymbol{\theta}^{\mathrm{SGD}}_{300})",
                       float(_landscape_np(*ss[-1])), "SGD (batch 4) left the saddle, $L(0,0) = 0$",
                       "loss at the end of the batch-4 run from $(0, 1)$", relation="<",
                       rhs=(-0.05, "-0.05")),
    )
    doc = doc.figure(Figure(
        "minima-saddles-sgd",
        "Left: full-batch GD (black) from $(1.2, 1)$ ends in the local minimum; four batch-4 "
        "SGD runs wander, some across the barrier. Right: from $(0, 1)$ GD stops at the saddle, "
        "SGD does not (measured).",
        _draw_landscape, requires="matplotlib",
    ))
    return doc.section("Remark on the course notes").text(
        "**What the course notes claim.** Mini-batch gradient descent 'leads to faster "
        "training and convergence to the Global Minima'. **Why it does not hold.** Nothing "
        f"guarantees the global minimum: in the table above {SEEDS - round(share[4] * SEEDS)} "
        f"of {SEEDS} batch-4 runs end in the local minimum, and with a constant learning rate "
        "SGD does not converge to a point at all, it keeps jittering around one (the noise "
        "floor of `learning-rate-diagnostics`). What is true: the noise can carry the "
        "iterate out of shallow basins and off saddles, where full-batch descent would stay. "
        "For large networks, most critical points met in training are saddles rather than bad "
        "local minima (Dauphin et al., 2014), which is why plain SGD works as well as it does; "
        "that is an empirical finding about those networks, not a theorem."
    )


# ==================================================================================================
# Document 2: random initialisation

SYM_HIDDEN, SYM_EPOCHS, SYM_LR = 8, 1000, 1.0
DEPTH, WIDTH = 20, 128


@functools.lru_cache(maxsize=1)
def xor_data() -> tuple[np.ndarray, np.ndarray]:
    """200 points uniform in $[-1, 1]^2$ (seed 0), label 1 when $x_1 x_2 > 0$ (XOR pattern)."""
    X = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(float)


def _train_tanh_net(W1, b1, v, c):
    """Full-batch GD on mean BCE for 2 -> tanh hidden -> 1 logit; returns the final parameters
    and the training accuracy."""
    X, t = xor_data()
    n = len(t)
    for _ in range(SYM_EPOCHS):
        A = np.tanh(X @ W1 + b1)
        z = A @ v + c
        dz = (0.5 * (1 + np.tanh(0.5 * z)) - t) / n  # sigma(z) - y, per example / n
        dA = np.outer(dz, v) * (1 - A**2)
        W1, b1, v, c = (W1 - SYM_LR * X.T @ dA, b1 - SYM_LR * dA.sum(0), v - SYM_LR * A.T @ dz,
                        c - SYM_LR * dz.sum())
    z = np.tanh(X @ W1 + b1) @ v + c
    return (W1, b1, v, c), float(np.mean((z > 0) == (t == 1)))


@functools.lru_cache(maxsize=1)
def symmetry_runs() -> dict:
    rng = np.random.default_rng(1)
    constant = (np.full((2, SYM_HIDDEN), 0.5), np.zeros(SYM_HIDDEN), np.full(SYM_HIDDEN, 0.5), 0.0)
    random = (rng.normal(0, 1, (2, SYM_HIDDEN)), np.zeros(SYM_HIDDEN),
              rng.normal(0, 1 / np.sqrt(SYM_HIDDEN), SYM_HIDDEN), 0.0)
    out = {}
    for label, init in (("constant", constant), ("random", random)):
        (W1, _b1, _v, _c), acc = _train_tanh_net(*init)
        spread = float(np.max(np.abs(W1 - W1[:, :1])))  # how far the units drifted apart
        out[label] = {"acc": acc, "spread": spread}
    return out


def _forward_stats(scale_fn, activation, seed=0) -> np.ndarray:
    """Mean squared activation after each of 20 layers of width 128, 64 standard normal
    inputs, weights $\\mathcal{N}(0, s^2)$ with $s$ = ``scale_fn(n_in, n_out)``."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((64, WIDTH))
    out = []
    for _ in range(DEPTH):
        W = rng.normal(0.0, scale_fn(WIDTH, WIDTH), (WIDTH, WIDTH))
        h = activation(h @ W)
        out.append(float(np.mean(h**2)))
    return np.array(out)


def _relu(u):
    return np.maximum(u, 0)


@functools.lru_cache(maxsize=1)
def depth_runs() -> dict:
    return {
        ("ReLU", "std 0.01"): _forward_stats(lambda i, o: 0.01, _relu),
        ("ReLU", "Glorot"): _forward_stats(lambda i, o: np.sqrt(2 / (i + o)), _relu),
        ("ReLU", "He"): _forward_stats(lambda i, o: np.sqrt(2 / i), _relu),
        ("ReLU", "std 0.15"): _forward_stats(lambda i, o: 0.15, _relu),
        ("tanh", "std 0.01"): _forward_stats(lambda i, o: 0.01, np.tanh),
        ("tanh", "Glorot"): _forward_stats(lambda i, o: np.sqrt(2 / (i + o)), np.tanh),
    }


def _draw_depth(path):
    from symlearn.render.figures import plotted

    runs = depth_runs()
    layers = np.arange(1, DEPTH + 1)
    with plotted(path, 1, 2, figsize=(11, 3.6)) as (_fig, (a, b)):
        for (act, init), ms in runs.items():
            axis = a if act == "ReLU" else b
            axis.semilogy(layers, np.maximum(ms, 1e-300), "o-", ms=3, label=init)
        for axis, act in ((a, "ReLU"), (b, "tanh")):
            axis.set_xlabel("layer")
            axis.set_ylabel("mean squared activation")
            axis.set_title(f"{act}, width {WIDTH}")
            axis.legend(fontsize=8)


def build_random_initialisation() -> Derivation:
    doc = Derivation(
        name="random-initialisation",
        title="Random initialisation: symmetry breaking and variance scaling",
        summary=(
            "Hidden units that start equal get equal gradients and stay equal, so weights "
            "start random; the variance of a sum of $n$ products gives Glorot's and He's "
            "scalings, measured through 20 layers."
        ),
    )
    doc = doc.section("Equal units get equal gradients").text(
        "The course notes' recipe starts by initialising the parameters 'usually with random "
        "numbers'. Why not all equal, say all zero? Take one input $x$, two hidden units "
        "$h_k = \\tanh(w_k x)$ and the output $f = v_1 h_1 + v_2 h_2$ with the squared error "
        "$L = (f - y)^2$. If the two units start with the same incoming weight "
        "$w_1 = w_2 = w$ and the same outgoing weight $v_1 = v_2 = v$, their gradients agree:"
    )
    w1, w2, v1, v2, xx, yy, w, v = sp.symbols("w_1 w_2 v_1 v_2 x y w v", real=True)
    f = v1 * sp.tanh(w1 * xx) + v2 * sp.tanh(w2 * xx)
    L = (f - yy) ** 2
    same = {w1: w, w2: w, v1: v, v2: v}
    # the two gradients of unit 1 rule by rule; unit 2's are the same steps with 2 for 1
    L_ = sp.Symbol("L")
    doc = doc.text("First the gradients of unit 1, one rule at a time:")
    first = len(doc.all_steps()) + 1
    doc = add_gradient_steps(doc, L, w1, output=L_, why=False,
                             textbook=2 * (f - yy) * v1 * (1 - sp.tanh(w1 * xx) ** 2) * xx)
    mid = len(doc.all_steps())
    doc = add_gradient_steps(doc, L, v1, output=L_, why=False)
    last = len(doc.all_steps())
    doc = doc.text(
        "Why $\\partial L/\\partial v_1$ is shorter: $v_1$ multiplies $\\tanh(w_1 x)$ "
        "directly, so no activation's derivative enters. Unit 2's gradients are the same steps "
        "with the index 2 for 1, so at equal weights the two units' gradients are equal:"
    )
    doc = doc.steps(
        Step(_shown(r"\frac{\partial L}{\partial w_1} - \frac{\partial L}{\partial w_2}"
                    r"\,\Big|_{w_1 = w_2,\, v_1 = v_2}"), sp.Integer(0),
             f"steps ({first})-({mid}) for $k = 1$ and $k = 2$ agree when $w_1 = w_2$, $v_1 = v_2$",
             claim=((sp.diff(L, w1) - sp.diff(L, w2)).xreplace(same), 0), check=Symbolic()),
        Step(_shown(r"\frac{\partial L}{\partial v_1} - \frac{\partial L}{\partial v_2}"
                    r"\,\Big|_{w_1 = w_2,\, v_1 = v_2}"), sp.Integer(0),
             f"steps ({mid + 1})-({last}), likewise",
             claim=((sp.diff(L, v1) - sp.diff(L, v2)).xreplace(same), 0), check=Symbolic()),
    )
    doc = doc.text(
        "The update subtracts the same amount from equal weights, so they are equal again "
        "after the step, and by induction after every step, for any number of units, inputs "
        "and examples (the argument is the same with sums). The units stay copies of each "
        "other: a layer of $m$ equal units computes what one unit does. With all weights zero "
        "it is worse: $\\partial L/\\partial w_k = 2(f - y) v_k (1 - \\tanh^2(w_k x)) x$ is 0 "
        "when $v_k = 0$, so the first layer never moves. Random initial values break the "
        "symmetry."
    )
    sym = symmetry_runs()
    doc = doc.text(
        f"Measured: a network $2 \\to {SYM_HIDDEN}$ tanh units $\\to 1$ logit trained by "
        f"full-batch gradient descent on the cross-entropy ($\\eta = {SYM_LR}$, {SYM_EPOCHS} "
        "epochs) on 200 points of the XOR pattern (label 1 when $x_1 x_2 > 0$), once from all "
        "weights $0.5$, once from random normal weights (seed 1):"
    )
    doc = doc.steps(
        _measured_step(r"\max_{k} \Vert \mathbf{w}_k - \mathbf{w}_1\Vert _\infty\,(\text{constant start})",
                       sym["constant"]["spread"], "the hidden units are still identical",
                       "largest difference between any unit's incoming weights and unit 1's",
                       relation="=", rhs=(0.0, "0")),
        _measured_step(r"\mathrm{accuracy}(\text{constant start})", sym["constant"]["acc"],
                       "the eight units act as one", "training accuracy after the last epoch"),
        _measured_step(r"\mathrm{accuracy}(\text{random start})", sym["random"]["acc"],
                       "eight different units solve XOR", "training accuracy after the last epoch"),
    )
    return _variance(doc)


def _expect(expr, sigmas: dict):
    r"""$\mathbb{E}$ of a polynomial in independent $\mathcal{N}(0, \sigma_v^2)$ variables
    ``v`` (``sigmas[v] = sigma_v``): each monomial's expectation is the product of the normal
    moments $\mathbb{E}[v^k] = 0$ for odd $k$, $\sigma^k (k - 1)!!$ for even $k$."""
    poly = sp.Poly(sp.expand(expr), *sigmas)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        term = coeff
        for v, k in zip(sigmas, powers):
            term *= 0 if k % 2 else sigmas[v] ** k * sp.factorial2(k - 1)
        total += term
    return sp.expand(total)


def _variance_of(expr, sigmas: dict):
    return sp.expand(_expect(expr**2, sigmas) - _expect(expr, sigmas) ** 2)


def _moment_check() -> Custom:
    return Custom(
        lambda lhs, rhs, context: sp.expand(sp.sympify(lhs) - sp.sympify(rhs)) == 0,
        "checked symbolically: both sides computed from the moments of independent normal "
        "variables ($\\mathbb{E}[v^k] = 0$ for odd $k$, $\\sigma^k (k-1)!!$ for even $k$)",
        "symbolic",
    )


def _variance(doc: Derivation) -> Derivation:
    doc = doc.section("How large: the variance of a sum of products").text(
        "A unit computes $z = \\sum_{j=1}^{n} w_j x_j$ over its $n$ inputs ($n = n_{\\mathrm{in}}$, "
        "the fan-in). Let the weights and inputs be independent, with zero means, variances "
        "$\\mathrm{Var}(w)$ and $\\mathrm{Var}(x)$. For one product, with "
        "$\\mathbb{E}[w] = \\mathbb{E}[x] = 0$ and independence:"
    )
    sw, sx = sp.symbols("sigma_w sigma_x", positive=True)
    wv, xv = sp.symbols("w x", real=True)
    moments = {wv: sw, xv: sx}
    doc = doc.steps(
        Step(_shown(r"\mathrm{Var}(w x)"), _shown(r"\mathbb{E}[w^2]\,\mathbb{E}[x^2] - "
                                                 r"(\mathbb{E}[w]\,\mathbb{E}[x])^2"),
             "independence: $\\mathbb{E}[w^2 x^2] = \\mathbb{E}[w^2]\\mathbb{E}[x^2]$",
             claim=(_variance_of(wv * xv, moments),
                    _expect(wv**2, moments) * _expect(xv**2, moments)
                    - (_expect(wv, moments) * _expect(xv, moments)) ** 2),
             check=_moment_check()),
        Step(_shown(r"\mathbb{E}[w^2]\,\mathbb{E}[x^2] - (\mathbb{E}[w]\,\mathbb{E}[x])^2"),
             _shown(r"\mathrm{Var}(w)\,\mathrm{Var}(x)"), "zero means",
             continued=True, claim=(_variance_of(wv * xv, moments), sw**2 * sx**2),
             check=_moment_check()),
    )
    doc = doc.text(
        "The $n$ products are independent, so their variances add: "
        "$\\mathrm{Var}(z) = n\\,\\mathrm{Var}(w)\\,\\mathrm{Var}(x)$. For $n = 3$:"
    )
    ws = sp.symbols("w_1:4", real=True)
    xs = sp.symbols("x_1:4", real=True)
    moments3 = {**{v: sw for v in ws}, **{v: sx for v in xs}}
    doc = doc.steps(
        Step(_shown(r"\mathrm{Var}\Big(\sum_{j=1}^{3} w_j x_j\Big)"),
             _shown(r"3\,\mathrm{Var}(w)\,\mathrm{Var}(x)"), "independent terms: variances add",
             claim=(_variance_of(sum(a * b for a, b in zip(ws, xs)), moments3), 3 * sw**2 * sx**2),
             check=_moment_check()),
    )
    doc = doc.text(
        "To keep the signal's variance the same from layer to layer, "
        "$\\mathrm{Var}(z) = \\mathrm{Var}(x)$, choose $\\mathrm{Var}(w) = 1/n_{\\mathrm{in}}$. "
        "The same argument for the gradients flowing backwards asks for $1/n_{\\mathrm{out}}$; "
        "**Glorot** (Xavier) initialisation takes the compromise "
        "$\\mathrm{Var}(w) = 2/(n_{\\mathrm{in}} + n_{\\mathrm{out}})$ (Glorot and Bengio, "
        "2010), meant for activations that are close to the identity near 0 such as $\\tanh$. "
        "A ReLU passes only the positive half: for $z \\sim \\mathcal{N}(0, \\sigma_z^2)$ with "
        "density $p$, the next layer's input $\\max(0, z)$ is 0 for $z < 0$, so its second "
        "moment is"
    )
    sz = sp.Symbol("sigma_z", positive=True)
    zz = sp.Symbol("z", real=True)
    density = sp.exp(-zz**2 / (2 * sz**2)) / (sz * sp.sqrt(2 * sp.pi))
    half = sp.integrate(zz**2 * density, (zz, 0, sp.oo))
    full = sp.integrate(zz**2 * density, (zz, -sp.oo, sp.oo))
    doc = doc.steps(
        Step(_shown(r"\int_0^\infty z^2\,p(z)\,dz"),
             _shown(r"\frac{1}{2}\int_{-\infty}^{\infty} z^2\,p(z)\,dz"),
             "$p$ is symmetric", claim=(half, full / 2), check=Symbolic()),
        Step(_shown(r"\frac{1}{2}\int_{-\infty}^{\infty} z^2\,p(z)\,dz"), sz**2 / 2,
             "half of $\\mathrm{Var}(z)$", continued=True, claim=(full / 2, sz**2 / 2),
             check=Symbolic()),
    )
    doc = doc.text(
        "so **He** (Kaiming) initialisation doubles the variance to compensate: "
        "$\\mathrm{Var}(w) = 2/n_{\\mathrm{in}}$ (He et al., 2015); PyTorch's "
        "`nn.init.xavier_normal_` and `nn.init.kaiming_normal_` use these two standard "
        "deviations. Measured: 64 standard normal inputs pushed through 20 layers of width "
        "128 (no biases), reporting the mean squared activation after each layer:"
    )
    runs = depth_runs()
    doc = doc.table(
        ["activation", "weight std", "after layer 1", "after layer 20"],
        [(act, init, f"${_tex(ms[0])}$", f"${_tex(ms[-1])}$") for (act, init), ms in runs.items()],
        caption="Measured (seed 0); He: $\\sqrt{2/128} = 0.125$, Glorot: "
                "$\\sqrt{2/256} \\approx 0.088$.",
    )
    he, small, big = runs[("ReLU", "He")], runs[("ReLU", "std 0.01")], runs[("ReLU", "std 0.15")]
    doc = doc.steps(
        _measured_step(r"\overline{h^2}_{20}/\overline{h^2}_{1}\ (\text{ReLU, He})", he[-1] / he[0],
                       "He keeps the scale", "ratio of layer 20 to layer 1"),
        _measured_step(r"\overline{h^2}_{20}\ (\text{ReLU, std } 0.01)", small[-1],
                       "too small: the signal vanishes", "mean squared activation after layer 20",
                       relation="<", rhs=(1e-30, "10^{-30}")),
        _measured_step(r"\overline{h^2}_{20}\ (\text{ReLU, std } 0.15)", big[-1],
                       "slightly too large: it grows by $0.15^2 \\cdot 128/2 = 1.44$ per layer",
                       "mean squared activation after layer 20", relation=">",
                       rhs=(10 * big[0], r"10\,\overline{h^2}_{1}")),
    )
    glorot_relu, glorot_tanh = runs[("ReLU", "Glorot")], runs[("tanh", "Glorot")]
    doc = doc.text(
        "Glorot's scaling, derived for activations that pass the signal unchanged, loses half "
        "of it at every ReLU layer: with equal fan-in and fan-out it is the $1/n$ scaling, and "
        f"the measured second moment falls from ${_tex(glorot_relu[0])}$ to "
        f"${_tex(glorot_relu[-1])}$, close to $0.5^{{19}} \\approx 1.9 \\cdot 10^{{-6}}$ times the first "
        "(19 more layers). "
        "With $\\tanh$, which is contracting ($|\\tanh u| < |u|$), it also decays, but "
        f"slowly (${_tex(glorot_tanh[0])}$ to ${_tex(glorot_tanh[-1])}$ over 20 layers); a "
        "weight scale about ten times too small kills the signal in either network."
    )
    return doc.figure(Figure(
        "initialisation-depth",
        "Mean squared activation through 20 layers of width 128 for several weight scales "
        "(measured). Left ReLU, right tanh.",
        _draw_depth, requires="matplotlib",
    ))


CATALOG = {
    "minima-saddles-and-sgd-noise": (
        (
            "Critical points classified by the Hessian; full-batch descent stops in the first "
            "basin or on a saddle, mini-batch noise can leave both (measured)."
        ),
        build_minima_saddles,
    ),
    "random-initialisation": (
        (
            "Equal units get equal gradients and stay equal; the variance of a sum of products "
            "gives Glorot and He scaling, measured through 20 layers."
        ),
        build_random_initialisation,
    ),
}
