r"""Adaptive optimizers derived, and how to choose one.

Two documents:

* ``adadelta-and-nadam-derived``: which coordinates AdaGrad slows down (the course notes have it
  backwards), AdaDelta's units argument from Newton's step (and its measured consequence: the
  same path when the loss is rescaled), and NAdam from Adam plus Nesterov's look-ahead, equal to
  PyTorch's form once its momentum schedule has reached $\beta_1$.
* ``choosing-an-optimizer``: seven optimizers on two real problems (logistic regression on the
  breast-cancer data, Rosenbrock's valley), measured, and what the measurements do and do not
  say about choosing.

The optimizers are symlearn's (``symlearn.optim``), whose steps equal PyTorch's
(tests/test_optim.py). Algebra is checked symbolically; numbers come from runs made at build
time and are marked as measured.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
import sympy as sp

from symlearn import Derivation, Figure, Rounded, Step, Symbolic
from symlearn.registry import load_helper

# --------------------------------------------------------------------------------------------------
# Shared helpers: displayed formulas and measured claims


_course = load_helper(__file__, "_course")
_shown = _course.shown
_tex = _course.tex
_value = _course.value
_measured = functools.partial(_course.measured,
                              method="measured on the run described above")
_measured_step = functools.partial(_course.measured_step, check=_measured)












# ==================================================================================================
# Document 1: AdaGrad's direction, AdaDelta's units, NAdam


@functools.lru_cache(maxsize=1)
def adagrad_steps() -> np.ndarray:
    """symlearn's ``adagrad(lr=1)`` on two coordinates: coordinate 1 sees gradient 1 at every
    step, coordinate 2 only at the fourth; the four updates, shape (4, 2)."""
    from symlearn.optim import adagrad

    opt = adagrad(lr=1.0)
    params = np.zeros(2)
    state = opt.init(params)
    updates = []
    for g in ((1.0, 0.0), (1.0, 0.0), (1.0, 0.0), (1.0, 1.0)):
        update, state = opt.update(np.array(g), state, params)
        updates.append(update)
    return np.array(updates)


SCALES, ADADELTA_STEPS = (1.0, 100.0), 1000


@functools.lru_cache(maxsize=1)
def scaled_runs() -> dict:
    r"""$L_c(\theta) = \frac{c}{2}(\theta - 3)^2$ for $c = 1$ and $c = 100$, from $\theta = 0$:
    AdaDelta (PyTorch defaults) and SGD ($\eta = 0.01$), 1000 steps each."""
    from symlearn.optim import adadelta, sgd

    out = {}
    optimizers = {"AdaDelta": adadelta(), "SGD": sgd(lr=0.01)}  # run() starts from a fresh state
    for c in SCALES:
        def grad(theta, c=c):
            return c * (theta - 3.0)

        for name, opt in optimizers.items():
            out[(name, c)] = np.array(opt.run(grad, np.array([0.0]), ADADELTA_STEPS))[:, 0]
    return out


def _draw_adaptive(path):
    from symlearn.render.figures import plotted

    runs = scaled_runs()
    with plotted(path, 1, 2, figsize=(11, 3.6)) as (_fig, (a, b)):
        for (name, c), p in runs.items():
            axis = a if name == "AdaDelta" else b
            axis.plot(p, ls="-" if c == 1 else "--", label=f"$c = {c:g}$")
        for axis, name in ((a, "AdaDelta (defaults)"), (b, r"SGD, $\eta = 0.01$")):
            axis.axhline(3, color="0.7", lw=0.8)
            axis.set_xlabel("step")
            axis.set_ylabel(r"$\theta$")
            axis.set_title(name + r" on $\frac{c}{2}(\theta - 3)^2$")
            axis.legend(fontsize=8)


def _adagrad(doc: Derivation) -> Derivation:
    doc = doc.section("AdaGrad slows the coordinates it has seen most").text(
        "AdaGrad keeps, per coordinate, the running sum of squared gradients "
        "$s_t = \\sum_{k \\le t} g_k^2$ and steps by $-\\eta\\, g_t / (\\sqrt{s_t} + \\epsilon)$. "
        "The effective learning rate of a coordinate, $\\eta/(\\sqrt{s_t} + \\epsilon)$, "
        "therefore falls with every large gradient that coordinate has received."
    )
    doc = doc.text(
        "**What the course notes claim.** 'Adagrad: make large steps at places already "
        "visited, make smaller steps near new places.' **Why it does not hold.** It is the other "
        "way round: directions along which the loss has already moved a lot (large accumulated "
        "$s_t$) get small steps, and rarely updated directions (for example the weights of "
        "sparse, rarely active features) get large ones; the notes' own long-narrow-valley "
        "slide says the same ('step size along steep directions will be damped'). Take two "
        "coordinates; the first has gradient 1 at each of four steps, the second only at the "
        "fourth. With $\\eta = 1$ and $\\epsilon \\to 0$ the fourth updates are:"
    )
    g1 = sp.Integer(1)
    steps = adagrad_steps()
    doc = doc.steps(
        Step(_shown(r"\Delta\theta^{(1)}_4"), sp.Rational(-1, 2),
             "$-1/\\sqrt{1 + 1 + 1 + 1}$: often updated, small step",
             claim=(-g1 / sp.sqrt(4 * g1**2), sp.Rational(-1, 2)), check=Symbolic()),
        Step(_shown(r"\Delta\theta^{(2)}_4"), sp.Integer(-1),
             "$-1/\\sqrt{0 + 0 + 0 + 1}$: new direction, full step",
             claim=(-g1 / sp.sqrt(g1**2), -1), check=Symbolic()),
        _measured_step(r"\Delta\theta^{(1)}_4\ (\texttt{symlearn.optim.adagrad})", steps[3, 0],
                       "the library's step, $\\epsilon = 10^{-10}$",
                       "fourth update of coordinate 1"),
        _measured_step(r"\Delta\theta^{(2)}_4\ (\texttt{symlearn.optim.adagrad})", steps[3, 1],
                       "the library's step", "fourth update of coordinate 2"),
    )
    return doc.text(
        "The decay never stops: $s_t$ only grows, so on a long run every step size goes to 0 "
        "(the notes' 'step size decays to zero'), which RMSProp and AdaDelta fix by replacing "
        "the sum with a decaying average."
    )


def _adadelta(doc: Derivation) -> Derivation:
    doc = doc.section("AdaDelta: a step with the units of $\\theta$").text(
        "Zeiler (2012) starts from units. Say the parameter $\\theta$ is measured in a unit "
        "$[\\theta]$ and the loss in $[L]$. A gradient $g = \\partial L/\\partial\\theta$ has "
        "units $[L]/[\\theta]$, so the SGD step $\\eta g$ has the units of $\\theta$ only if "
        "$\\eta$ carries $[\\theta]^2/[L]$: the learning rate silently depends on how the loss "
        "and the parameters are scaled. Newton's step divides by the curvature "
        "$h = \\partial^2 L/\\partial\\theta^2$, units $[L]/[\\theta]^2$, and comes out right. "
        "Writing the units as positive symbols $U_\\theta$, $U_L$:"
    )
    ut, ul = sp.symbols("U_theta U_L", positive=True)
    g_u, h_u = ul / ut, ul / ut**2
    doc = doc.steps(
        Step(_shown(r"[\eta g]"), _shown(r"[\eta]\,U_L/U_\theta"),
             "equals $U_\\theta$ only if $[\\eta] = U_\\theta^2/U_L$",
             claim=(sp.Symbol("eta_u", positive=True) * g_u, sp.Symbol("eta_u", positive=True) * ul / ut),
             check=Symbolic()),
        Step(_shown(r"[g/h]"), ut, "Newton's step has the units of $\\theta$",
             claim=(g_u / h_u, ut), check=Symbolic()),
    )
    doc = doc.text(
        "Newton's step $\\Delta\\theta = -g/h$ can be solved for the inverse curvature, "
        "$1/h = -\\Delta\\theta/g$. AdaDelta does not know $h$; it estimates $|\\Delta\\theta|$ "
        "and $|g|$ by running root-mean-squares, $\\sqrt{u_t + \\epsilon}$ of the past steps and "
        "$\\sqrt{v_{t+1} + \\epsilon}$ of the gradients (each a decaying average of squares with "
        "rate $\\rho$), and steps by $-\\frac{\\sqrt{u_t + \\epsilon}}{\\sqrt{v_{t+1} + "
        "\\epsilon}}\\,g_t$ (PyTorch's `Adadelta`, the `adadelta` document). With $u$ in "
        "$[\\theta]^2$ and $v$ in $([L]/[\\theta])^2$, and $\\epsilon$ negligible:"
    )
    doc = doc.steps(
        Step(_shown(r"\left[\frac{\sqrt{u}}{\sqrt{v}}\,g\right]"), ut,
             "the ratio carries the inverse curvature's units",
             claim=(sp.sqrt(ut**2) / sp.sqrt(g_u**2) * g_u, ut), check=Symbolic()),
    )
    runs = scaled_runs()
    same = float(np.max(np.abs(runs[("AdaDelta", 1.0)] - runs[("AdaDelta", 100.0)])))
    doc = doc.text(
        "So rescaling the loss, $L \\to cL$, multiplies $g$ and $\\sqrt{v}$ by $c$ and leaves "
        "AdaDelta's step unchanged (up to $\\epsilon$): there is no learning rate to retune, "
        "which is why PyTorch's default is `lr = 1.0`. Measured with symlearn's `adadelta` and "
        "`sgd` on $L_c(\\theta) = \\frac{c}{2}(\\theta - 3)^2$ from $\\theta = 0$, 1000 steps, for "
        "$c = 1$ and $c = 100$:"
    )
    sgd1 = runs[("SGD", 1.0)]
    doc = doc.steps(
        _measured_step(r"\max_t |\theta^{c=1}_t - \theta^{c=100}_t|\ (\text{AdaDelta})", same,
                       "the two paths coincide", "largest difference over the 1000 steps",
                       relation="<", rhs=(1e-4, "10^{-4}")),
        _measured_step(r"\theta^{c=1}_{100}\ (\text{SGD}, \eta = 0.01)", sgd1[100],
                       "SGD's pace depends on $c$", "$\\theta$ after 100 steps, $c = 1$",
                       relation="<", rhs=(runs[("SGD", 100.0)][100] - 1,
                                          r"\theta^{c=100}_{100} - 1")),
    )
    first = runs[("AdaDelta", 1.0)][1]
    eps, rho = sp.Rational(1, 10**6), sp.Rational(9, 10)
    exact_first = sp.sqrt(eps) / sp.sqrt((1 - rho) * 9 + eps) * 3
    doc = doc.text(
        "The caveat is $\\epsilon$. PyTorch uses one $\\epsilon = 10^{-6}$ for both roots, so "
        "the units only match when it is negligible, and it is not at the start: $u_0 = 0$, so "
        "the first step is $\\sqrt{\\epsilon}/\\sqrt{(1 - \\rho) g_0^2 + \\epsilon}\\;g_0$, about "
        "$\\sqrt{\\epsilon/(1 - \\rho)} \\approx 0.003$ in size whatever the problem. Here, with "
        "$g_0 = -3$ and $\\rho = 0.9$:"
    )
    doc = doc.steps(
        Step(_shown(r"|\theta_1 - \theta_0|"), sp.Float("0.00316", 3),
             "$\\sqrt{10^{-6}}\\cdot 3/\\sqrt{0.9 + 10^{-6}}$", relation="approx",
             claim=(exact_first, sp.Float("0.00316", 3)), check=Rounded(5)),
        _measured_step(r"\theta_1\ (\texttt{symlearn.optim.adadelta})", first,
                       "the library's first step", "$\\theta$ after one step"),
    )
    return doc.text(
        "AdaDelta therefore starts slowly and accelerates as $u$ builds up (left panel "
        "below): the notes' 'prevent stop because of too small steps' describes the later "
        "phase, where unlike AdaGrad its averages forget old gradients."
    )


def _nadam(doc: Derivation) -> Derivation:
    doc = doc.section("NAdam: Adam with Nesterov's look-ahead").text(
        "Adam (the `adam` document) keeps $m_t = \\beta_1 m_{t-1} + (1 - \\beta_1) g_t$ and "
        "$v_t$, bias-corrects $\\hat m_t = m_t/(1 - \\beta_1^t)$, $\\hat v_t = v_t/(1 - "
        "\\beta_2^t)$ (here $t = 1, 2, \\dots$ counts the gradients seen), and steps by "
        "$-\\eta\\,\\hat m_t/(\\sqrt{\\hat v_t} + \\epsilon)$. Expanding $m_t$ splits the step "
        "into the old momentum and the new gradient:"
    )
    b1, t = sp.symbols("beta_1 t", positive=True)
    m_prev, g = sp.symbols("m_{t-1} g_t", real=True)
    m_t = b1 * m_prev + (1 - b1) * g
    doc = doc.steps(
        Step(_shown(r"\hat m_t"), _shown(r"\frac{\beta_1 m_{t-1}}{1 - \beta_1^t} + "
                                         r"\frac{(1 - \beta_1)\,g_t}{1 - \beta_1^t}"),
             "expand $m_t$", claim=(m_t / (1 - b1**t),
                                    b1 * m_prev / (1 - b1**t) + (1 - b1) * g / (1 - b1**t)),
             check=Symbolic()),
    )
    doc = doc.text(
        "Nesterov's idea (the `nesterov` document) is to apply the momentum at the point it "
        "is about to reach: the momentum part of the step is taken from the **next** momentum "
        "rather than the last one. Dozat (2016) does exactly that here: he replaces "
        "$\\beta_1 m_{t-1}$, bias-corrected for $t$ gradients, by $\\beta_1 m_t$, "
        "bias-corrected for $t + 1$, and keeps the gradient term. That is a choice of method, "
        "not an identity; what can be checked is that it gives PyTorch's `NAdam`. PyTorch "
        "writes the step as $-\\eta\\,(\\sqrt{\\hat v_t} + \\epsilon)^{-1}\\big("
        "\\frac{1 - \\mu_t}{1 - P_t}\\,g_t + \\frac{\\mu_{t+1}}{1 - P_t\\,\\mu_{t+1}}\\,m_t\\big)$ "
        "with a momentum schedule $\\mu_t = \\beta_1(1 - \\frac{1}{2}\\,0.96^{t\\psi})$ and "
        "$P_t = \\mu_1\\cdots\\mu_t$. For $\\psi > 0$ the schedule tends to $\\beta_1$; with a "
        "constant $\\mu_t = \\beta_1$ (so $P_t = \\beta_1^t$) the bracket is Dozat's:"
    )
    mu, P = sp.symbols("mu P_t", positive=True)
    mt = sp.Symbol("m_t", real=True)
    pytorch = (1 - mu) / (1 - P) * g + mu / (1 - P * mu) * mt
    dozat = (1 - b1) * g / (1 - b1**t) + b1 * mt / (1 - b1 ** (t + 1))
    doc = doc.steps(
        Step(_shown(r"\frac{1 - \mu_t}{1 - P_t}\,g_t + \frac{\mu_{t+1}}{1 - P_t\,\mu_{t+1}}\,m_t"
                    r"\,\Big|_{\mu = \beta_1}"),
             _shown(r"\frac{(1 - \beta_1)\,g_t}{1 - \beta_1^t} + \frac{\beta_1 m_t}{1 - \beta_1^{t+1}}"),
             "$P_t\\,\\mu_{t+1} = \\beta_1^{t+1}$",
             claim=(pytorch.xreplace({mu: b1, P: b1**t}), dozat), check=Symbolic()),
    )
    psi = sp.Rational(4, 1000)
    mu1 = sp.Rational(9, 10) * (1 - sp.Rational(1, 2) * sp.Rational(24, 25) ** psi)
    doc = doc.text(
        "PyTorch's default $\\psi = 0.004$ (`momentum_decay`) warms the momentum up: "
        "$\\mu_t$ starts near $\\beta_1/2$ and tends to $\\beta_1$ as $0.96^{t\\psi} \\to 0$, "
        "slowly ($0.96^{t\\psi} = \\frac{1}{2}$ only at $t\\psi \\approx 17$, $t \\approx 4200$). "
        "Beware: `momentum_decay=0` does not switch the schedule off, it fixes "
        "$\\mu_t = \\beta_1(1 - \\frac{1}{2}) = \\beta_1/2$ for every step "
        "(tests/test_course_documents.py checks this against PyTorch):"
    )
    t_half = sp.log(sp.Rational(1, 2)) / sp.log(sp.Rational(24, 25)) / psi
    return doc.steps(
        Step(_shown(r"\mu_1"), sp.Float("0.450", 3), "$0.9\\,(1 - \\frac{1}{2}\\,0.96^{0.004})$",
             relation="approx", claim=(mu1, sp.Float("0.450", 3)), check=Rounded(3)),
        Step(_shown(r"t\ \text{with}\ 0.96^{t\psi} = \tfrac{1}{2}"), sp.Integer(4245),
             "$\\log(1/2)/(\\psi\\log 0.96)$", relation="approx",
             claim=(t_half, sp.Integer(4245)), check=Rounded(0)),
    )


def build_adadelta_nadam() -> Derivation:
    doc = Derivation(
        name="adadelta-and-nadam-derived",
        title="AdaGrad, AdaDelta and NAdam: where their formulas come from",
        summary=(
            "AdaGrad damps the coordinates it has seen most (the course notes have it "
            "backwards); AdaDelta's step has the units of $\\theta$, so rescaling the loss "
            "does not change its path (measured); NAdam is Adam with Nesterov's look-ahead, "
            "equal to PyTorch's form once its momentum schedule reaches $\\beta_1$."
        ),
    )
    doc = _adagrad(doc)
    doc = _adadelta(doc)
    doc = doc.figure(Figure(
        "adadelta-units",
        "$\\theta$ against step on $\\frac{c}{2}(\\theta - 3)^2$ for $c = 1$ (solid) and "
        "$c = 100$ (dashed): AdaDelta's two paths coincide, SGD's do not (measured).",
        _draw_adaptive, requires="matplotlib",
    ))
    return _nadam(doc)


# ==================================================================================================
# Document 2: choosing an optimizer


def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("this document's data needs scikit-learn: pip install 'symlearn[data]'")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", "breast_cancer.csv")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    X = (data[:, :-1] - data[:, :-1].mean(0)) / data[:, :-1].std(0)
    return np.hstack([X, np.ones((len(X), 1))]), data[:, -1]


LOGISTIC_STEPS, ROSEN_STEPS = 200, 2000


def _optimizers():
    from symlearn.optim import adadelta, adagrad, adam, nadam, rmsprop, sgd

    # (label, for logistic regression, for Rosenbrock, the two settings as LaTeX); every other
    # argument is PyTorch's default
    sgd_rows = (
        ("SGD", sgd(lr=0.1), sgd(lr=1e-3), ("$\\eta = 0.1$", "$\\eta = 10^{-3}$")),
        ("SGD + momentum 0.9", sgd(lr=0.1, momentum=0.9), sgd(lr=1e-3, momentum=0.9),
         ("$\\eta = 0.1$", "$\\eta = 10^{-3}$")),
    )
    same = (
        ("AdaGrad", adagrad(lr=0.1), "$\\eta = 0.1$"),
        ("RMSProp", rmsprop(lr=0.01), "$\\eta = 0.01$"),
        ("AdaDelta", adadelta(), "$\\eta = 1$"),
        ("Adam", adam(lr=0.01), "$\\eta = 0.01$"),
        ("NAdam", nadam(lr=0.01), "$\\eta = 0.01$"),
    )
    # one instance for both problems (run() starts from a fresh state): one compilation each
    return sgd_rows + tuple((label, opt, opt, (tex, tex)) for label, opt, tex in same)


def _rosen(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def _rosen_grad(p):
    return np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)])


@functools.lru_cache(maxsize=1)
def comparison_runs() -> dict:
    """Each optimizer on the mean cross-entropy of logistic regression (breast cancer, 30
    standardized features and a bias, full batch, 300 steps from 0) and on Rosenbrock's
    function (2000 steps from (-1.5, 2))."""
    X, y = _breast_cancer()
    n = len(y)

    def grad(w):
        z = X @ w
        return X.T @ (0.5 * (1 + np.tanh(0.5 * z)) - y) / n

    def loss(w):
        z = X @ w
        return float(np.mean(np.logaddexp(0, z) - y * z))

    out = {}
    for label, for_logistic, for_rosen, settings in _optimizers():
        path = for_logistic.run(grad, np.zeros(X.shape[1]), LOGISTIC_STEPS)
        rosen = for_rosen.run(_rosen_grad, np.array([-1.5, 2.0]), ROSEN_STEPS)
        out[label] = {
            "logistic": np.array([loss(w) for w in path]),
            "rosen": np.array([_rosen(p) for p in rosen]),
            "settings": settings,
        }
    from symlearn.optim import sgd

    with np.errstate(over="ignore", invalid="ignore"):
        fast = sgd(lr=0.1).run(_rosen_grad, np.array([-1.5, 2.0]), 10)
        out["SGD at 0.1 on Rosenbrock"] = float(_rosen(fast[-1]))
    return out


def _draw_comparison(path):
    from symlearn.render.figures import plotted

    runs = comparison_runs()
    with plotted(path, 1, 2, figsize=(11, 3.8)) as (_fig, (a, b)):
        for label, run in runs.items():
            if not isinstance(run, dict):
                continue
            a.semilogy(run["logistic"], label=label)
            b.semilogy(np.maximum(run["rosen"], 1e-16), label=label)
        a.set_xlabel("step")
        a.set_ylabel("mean cross-entropy")
        a.set_title("logistic regression, breast cancer")
        b.set_xlabel("step")
        b.set_ylabel("Rosenbrock $f$")
        b.set_title("Rosenbrock from $(-1.5, 2)$")
        a.legend(fontsize=7)


def build_choosing_an_optimizer() -> Derivation:
    runs = comparison_runs()
    doc = Derivation(
        name="choosing-an-optimizer",
        title="Choosing an optimizer: what a measurement can and cannot tell",
        summary=(
            "Seven optimizers on logistic regression and on Rosenbrock's valley, measured; "
            "the ranking changes with the problem and the learning rate, so the choice is a "
            "default plus a tuned learning rate, not a law."
        ),
    )
    doc = doc.section("Two problems, seven optimizers").text(
        "symlearn's optimizers (their steps equal PyTorch's) on two problems: the mean "
        "cross-entropy of logistic regression on scikit-learn's breast-cancer data (569 "
        f"examples, 30 standardized features and a bias; full batch, {LOGISTIC_STEPS} steps "
        f"from $\\mathbf{{w}} = 0$), and Rosenbrock's $f(x, y) = (1 - x)^2 + 100(y - x^2)^2$, "
        f"a curved narrow valley with its minimum 0 at $(1, 1)$ ({ROSEN_STEPS} steps from "
        "$(-1.5, 2)$). Learning rates were set once per optimizer to a common value for its "
        "family, other arguments at PyTorch's defaults; only SGD's rate differs between the "
        "problems, because at $\\eta = 0.1$ it diverges on Rosenbrock (measured below):"
    )
    diverged = runs["SGD at 0.1 on Rosenbrock"]
    runs = {k: v for k, v in runs.items() if isinstance(v, dict)}
    rows = []
    for label, run in runs.items():
        rows.append((label, run["settings"][0], f"${_tex(run['logistic'][-1])}$",
                     run["settings"][1], f"${_tex(run['rosen'][ROSEN_STEPS // 2])}$",
                     f"${_tex(run['rosen'][-1])}$"))
    doc = doc.table(["optimizer", "logistic settings", "final loss", "Rosenbrock settings",
                     f"$f$ after {ROSEN_STEPS // 2} steps", f"$f$ after {ROSEN_STEPS}"], rows,
                    caption="Measured (deterministic: full-batch gradients).")
    best_log = min(runs, key=lambda k: runs[k]["logistic"][-1])
    best_ros = min(runs, key=lambda k: runs[k]["rosen"][-1])
    worst_ros = max(runs, key=lambda k: runs[k]["rosen"][-1])
    adam_rank = sorted(runs, key=lambda k: runs[k]["rosen"][-1]).index("Adam") + 1
    adam_rank_half = sorted(runs, key=lambda k: runs[k]["rosen"][ROSEN_STEPS // 2]).index("Adam") + 1
    doc = doc.steps(
        _measured_step(r"f_{\mathrm{Rosenbrock}}\ \text{after 10 SGD steps at}\ \eta = 0.1",
                       diverged if np.isfinite(diverged) else 1e308, "it diverges",
                       "Rosenbrock's $f$ after 10 steps of SGD with $\\eta = 0.1$", relation=">",
                       rhs=(1e6, "10^{6}")),
        _measured_step(r"f_{\mathrm{Rosenbrock}}(\text{" + worst_ros + "})",
                       runs[worst_ros]["rosen"][-1], "the spread on one problem",
                       f"final $f$ of the worst ({worst_ros}) against the best ({best_ros})",
                       relation=">", rhs=(1000 * runs[best_ros]["rosen"][-1],
                                          r"1000\, f_{\mathrm{Rosenbrock}}(\text{" + best_ros
                                          + "})")),
    )
    doc = doc.text(
        f"Measured here: on the logistic loss the best final value is {best_log}'s, on "
        f"Rosenbrock {best_ros}'s; Adam ranks {adam_rank_half} of 7 on Rosenbrock after "
        f"{ROSEN_STEPS // 2} steps and {adam_rank} of 7 after {ROSEN_STEPS}: even the ranking "
        "depends on the budget. On both "
        "problems the rates were not tuned per optimizer, so the table ranks settings as much "
        "as methods; the first lesson is to compare optimizers only after tuning each "
        "one's learning rate (Wilson et al., 2017; Choi et al., 2019)."
    )
    doc = doc.figure(Figure(
        "optimizer-choice",
        "Loss against step for the seven optimizers on the two problems (measured).",
        _draw_comparison, requires="matplotlib",
    ))
    return doc.section("A working rule").text(
        "The course notes close with 'if you have no idea: ADAM'. As a first choice that is "
        "reasonable, and the reasons can be stated: Adam (or AdamW, when weight decay is "
        "wanted, see `adamw`) rescales each coordinate by its gradient's running RMS, so one "
        "default rate ($10^{-3}$) works across many problems, and its bias correction makes "
        "the first steps sensible. Beyond the first choice: **SGD with momentum** and a "
        "learning-rate schedule is what many published image models were trained with, and "
        "has been reported to generalize better than adaptive methods there (Wilson et al., "
        "2017), at the price of tuning the rate; **AdaGrad** suits convex problems with "
        "sparse features, where rare coordinates deserve large steps, but its steps shrink "
        "for ever; **RMSProp** and **AdaDelta** fix that decay (AdaDelta without a rate to "
        "tune, see `adadelta-and-nadam-derived`); **NAdam** adds Nesterov's look-ahead to "
        "Adam. Whatever the choice, read the loss curve (`learning-rate-diagnostics`): the "
        "learning rate matters more than the name of the method."
    )


CATALOG = {
    "adadelta-and-nadam-derived": (
        (
            "AdaGrad damps what it has seen most; AdaDelta's unit-consistent step (measured "
            "scale invariance); NAdam from Adam plus Nesterov, equal to PyTorch's form."
        ),
        build_adadelta_nadam,
    ),
    "choosing-an-optimizer": (
        (
            "Seven optimizers on logistic regression and Rosenbrock, measured; why the "
            "learning rate matters more than the method."
        ),
        build_choosing_an_optimizer,
    ),
}
