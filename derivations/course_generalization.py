r"""Overfitting and generalization: the train-test gap measured on two real fits, and why weight
decay and dropout are used.

One document, ``overfitting-and-generalization``. Its numbers come from two runs made when the
document is built, with fixed seeds so two builds give the same text:

* least-squares polynomials of degree $0..11$ on 12 noisy samples of $\sin(\pi x)$ (numpy), then
  ridge (weight decay) on the degree-11 fit;
* a one-hidden-layer ReLU network on 60 of scikit-learn's 8x8 digits, full-batch gradient
  descent, with and without weight decay and dropout (numpy; the digits file is read directly,
  so scikit-learn is not imported and the build stays fast).

The algebra (interpolation, the ridge solution, the decayed update, inverted dropout's mean) is
checked symbolically; every number is a measurement and each step says so.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import os

import numpy as np
import sympy as sp

from symlearn import Custom, Derivation, Figure, Step, Symbolic
from symlearn.registry import load_helper

NAME = "overfitting-and-generalization"

# --------------------------------------------------------------------------------------------------
# Checks for measured claims: the relation is tested on the numbers of the run, and the document
# says that it was measured (a measurement, not a proof).

_COMPARE = {
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _measured(lhs_value: float, rhs_value: float, relation: str, what: str) -> Custom:
    """A check that ``lhs_value relation rhs_value`` held in the run (``approx``: the right side
    is the measured left side rounded to the digits shown)."""

    def check(lhs, rhs, context) -> bool:
        if relation == "approx":  # the shown number is the measured one to its 3 digits
            return f"{float(lhs_value):.3g}" == f"{float(rhs_value):.3g}"
        return bool(_COMPARE[relation](float(lhs_value), float(rhs_value)))

    return Custom(check, f"measured on the run described above (fixed seeds): {what}", "measured")


_course = load_helper(__file__, "_course")
_shown = _course.shown
_tex = _course.tex
_value = _course.value






# --------------------------------------------------------------------------------------------------
# Run 1: polynomial regression


POLY_TRAIN, POLY_TEST, NOISE, MAX_DEGREE = 12, 500, 0.2, 11
LAMBDAS = np.logspace(-8, 1, 28)


def _target(x):
    return np.sin(np.pi * x)


@functools.lru_cache(maxsize=1)
def polynomial_run() -> dict:
    r"""Least squares on Legendre features of degree $p = 0..11$ (well conditioned on $[-1, 1]$),
    12 training and 500 test points, noise $\mathcal{N}(0, 0.2^2)$, seed 0.

    Returns train and test MSE per degree, and for degree 11 the test/train MSE per ridge
    $\lambda$ (minimising $\frac{1}{n}\Vert \mathbf{X}\mathbf{w} - \mathbf{y}\Vert ^2 + \lambda\Vert \mathbf{w}\Vert ^2$).
    """
    rng = np.random.default_rng(0)
    x_train = np.sort(rng.uniform(-1, 1, POLY_TRAIN))
    y_train = _target(x_train) + NOISE * rng.standard_normal(POLY_TRAIN)
    x_test = rng.uniform(-1, 1, POLY_TEST)
    y_test = _target(x_test) + NOISE * rng.standard_normal(POLY_TEST)
    legvander = np.polynomial.legendre.legvander
    train, test, coefs = [], [], {}
    for p in range(MAX_DEGREE + 1):
        A = legvander(x_train, p)
        w, *_ = np.linalg.lstsq(A, y_train, rcond=None)
        coefs[p] = w
        train.append(float(np.mean((A @ w - y_train) ** 2)))
        test.append(float(np.mean((legvander(x_test, p) @ w - y_test) ** 2)))
    A, B = legvander(x_train, MAX_DEGREE), legvander(x_test, MAX_DEGREE)
    ridge_train, ridge_test, ridge_w = [], [], []
    for lam in LAMBDAS:
        # zero of the gradient (2/n) A^T (A w - y) + 2 lam w: (A^T A + n lam I) w = A^T y
        w = np.linalg.solve(A.T @ A + POLY_TRAIN * lam * np.eye(A.shape[1]), A.T @ y_train)
        ridge_w.append(w)
        ridge_train.append(float(np.mean((A @ w - y_train) ** 2)))
        ridge_test.append(float(np.mean((B @ w - y_test) ** 2)))
    return {
        "x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
        "train": np.array(train), "test": np.array(test), "coefs": coefs,
        "ridge_train": np.array(ridge_train), "ridge_test": np.array(ridge_test),
        "ridge_w": ridge_w, "noise_mse": NOISE**2,
    }


# --------------------------------------------------------------------------------------------------
# Run 2: a small network on the digits


DIGITS_TRAIN, DIGITS_TEST, HIDDEN, EPOCHS, LR, EVERY = 60, 600, 64, 300, 0.2, 20
CONFIGS = {
    "plain": {"p": 0.0, "weight_decay": 0.0},
    "weight decay": {"p": 0.0, "weight_decay": 1e-2},
    "dropout": {"p": 0.5, "weight_decay": 0.0},
}


def load_digits_file() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1797 x 64 pixel values 0..16, labels 0..9), read from
    the package's data file without importing scikit-learn (the import alone takes seconds)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the digits data needs scikit-learn: pip install 'symlearn[data]'")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")
    with gzip.open(path) as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1], data[:, -1].astype(np.int64)


def _evaluate(weights, Xs, ys) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the network ``weights = (W1, b1, W2, b2)``, no dropout."""
    W1, b1, W2, b2 = weights
    lp = _log_softmax(np.maximum(Xs @ W1 + b1, 0) @ W2 + b2)
    return float(-lp[np.arange(len(ys)), ys].mean()), float((lp.argmax(1) == ys).mean())


def _log_softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


@functools.lru_cache(maxsize=1)
def digits_run() -> dict:
    r"""Train 64 -> 64 ReLU -> 10 softmax by full-batch gradient descent ($\eta = 0.2$, 300
    epochs) on 60 digits; test on 600 others (a fixed random choice; small, to build fast). Inputs standardized with the training rows'
    statistics. Weight decay adds $\lambda\Vert W\Vert ^2$ to the loss (weights only, not biases);
    dropout zeroes each hidden unit with probability $p$ (PyTorch's convention) and scales the
    rest by $1/(1-p)$ during training only. Same initial weights (seed 1) for every config."""
    X, y = load_digits_file()
    perm = np.random.default_rng(0).permutation(len(y))
    tr, te = perm[:DIGITS_TRAIN], perm[DIGITS_TRAIN:DIGITS_TRAIN + DIGITS_TEST]
    mu, sd = X[tr].mean(0), X[tr].std(0)
    sd[sd == 0] = 1.0
    Xtr, Xte, ytr, yte = (X[tr] - mu) / sd, (X[te] - mu) / sd, y[tr], y[te]
    Ytr = np.eye(10)[ytr]
    n = len(ytr)
    results = {}
    for label, cfg in CONFIGS.items():
        rng = np.random.default_rng(1)
        W1 = rng.normal(0.0, np.sqrt(2 / 64), (64, HIDDEN))  # He initialisation for ReLU
        b1 = np.zeros(HIDDEN)
        W2 = rng.normal(0.0, np.sqrt(1 / HIDDEN), (HIDDEN, 10))
        b2 = np.zeros(10)
        p, lam = cfg["p"], cfg["weight_decay"]
        curve = []

        for epoch in range(1, EPOCHS + 1):
            Z1 = Xtr @ W1 + b1
            A1 = np.maximum(Z1, 0)
            mask = (rng.random(A1.shape) >= p) / (1 - p) if p > 0 else 1.0
            A1d = A1 * mask
            P = np.exp(_log_softmax(A1d @ W2 + b2))
            d2 = (P - Ytr) / n  # softmax + cross-entropy: dL/dZ2 = (P - Y)/n
            gW2, gb2 = A1d.T @ d2 + 2 * lam * W2, d2.sum(0)
            dZ1 = (d2 @ W2.T) * mask * (Z1 > 0)
            gW1, gb1 = Xtr.T @ dZ1 + 2 * lam * W1, dZ1.sum(0)
            W1, b1, W2, b2 = W1 - LR * gW1, b1 - LR * gb1, W2 - LR * gW2, b2 - LR * gb2
            if epoch % EVERY == 0 or epoch == 1:
                weights = (W1, b1, W2, b2)
                curve.append((epoch, *_evaluate(weights, Xtr, ytr), *_evaluate(weights, Xte, yte)))
        results[label] = np.array(curve)  # epoch, train loss, train acc, test loss, test acc
    return {"curves": results, "n_train": n, "n_test": len(yte)}


# --------------------------------------------------------------------------------------------------
# Figures


def _draw_polynomial(path):
    from symlearn.render.figures import plotted

    run = polynomial_run()
    legvander = np.polynomial.legendre.legvander
    grid = np.linspace(-1, 1, 300)
    with plotted(path, 1, 2, figsize=(10, 3.6)) as (_fig, (a, b)):
        a.scatter(run["x_train"], run["y_train"], color="k", s=18, zorder=3, label="12 training points")
        a.plot(grid, _target(grid), color="0.6", ls="--", label=r"$\sin(\pi x)$")
        best = int(np.argmin(run["test"]))
        for p in (1, best, MAX_DEGREE):
            a.plot(grid, legvander(grid, p) @ run["coefs"][p], label=f"degree {p}")
        a.set_ylim(-2, 2)
        a.set_xlabel("x")
        a.legend(fontsize=7)
        degrees = np.arange(MAX_DEGREE + 1)
        b.semilogy(degrees, np.maximum(run["train"], 1e-32), "o-", label="train MSE")
        b.semilogy(degrees, run["test"], "s-", label="test MSE")
        b.axhline(run["noise_mse"], color="0.6", ls=":", label=r"noise variance $0.04$")
        b.set_xlabel("polynomial degree $p$")
        b.set_ylim(bottom=1e-4)
        b.legend(fontsize=7)


def _draw_ridge(path):
    from symlearn.render.figures import plotted

    run = polynomial_run()
    with plotted(path) as (_fig, ax):
        ax.loglog(LAMBDAS, np.maximum(run["ridge_train"], 1e-32), "o-", ms=3, label="train MSE")
        ax.loglog(LAMBDAS, run["ridge_test"], "s-", ms=3, label="test MSE")
        ax.set_xlabel(r"weight decay $\lambda$ (degree 11)")
        ax.legend(fontsize=8)


def _draw_digits(path):
    from symlearn.render.figures import plotted

    curves = digits_run()["curves"]
    with plotted(path, 1, 3, figsize=(12, 3.4)) as (_fig, (a, b, c)):
        for label, curve in curves.items():
            a.semilogy(curve[:, 0], curve[:, 1], label=label)
            b.plot(curve[:, 0], curve[:, 3], label=label)
            c.plot(curve[:, 0], curve[:, 4], label=label)
        for axis, name in ((a, "training cross-entropy"), (b, "test cross-entropy"),
                           (c, "test accuracy")):
            axis.set_xlabel("epoch")
            axis.set_ylabel(name)
            axis.legend(fontsize=8)
        b.set_ylim(0.5, 1.5)
        c.set_ylim(0.6, 0.85)


# --------------------------------------------------------------------------------------------------
# The document


def _definitions(doc: Derivation) -> Derivation:
    return doc.section("Training error, test error and the gap").text(
        "A model $f(\\mathbf{x}\\mid\\boldsymbol{\\theta})$ is fitted by minimising the cost on a "
        "training set of $n$ examples $(\\mathbf{x}^{(i)}, y^{(i)})$, "
        "$E_{\\mathrm{train}}(\\boldsymbol{\\theta}) = \\frac{1}{n}\\sum_{i=1}^{n} "
        "\\ell(f(\\mathbf{x}^{(i)}\\mid\\boldsymbol{\\theta}), y^{(i)})$, where $\\ell$ is the "
        "loss of one example. What we care about is the error on new examples from the same "
        "source, estimated by the same average over a held-out test set that training never "
        "sees: $E_{\\mathrm{test}}(\\boldsymbol{\\theta})$. The difference "
        "$E_{\\mathrm{test}} - E_{\\mathrm{train}}$ is the **generalization gap**. A model "
        "**overfits** when lowering $E_{\\mathrm{train}}$ further raises $E_{\\mathrm{test}}$: it "
        "has started to fit the noise of the particular $n$ examples rather than the rule that "
        "produced them. The course notes describe exactly this: high scores on the training data "
        "and low scores on the test data."
    )


def _polynomial_section(doc: Derivation) -> Derivation:
    run = polynomial_run()
    train, test = run["train"], run["test"]
    best = int(np.argmin(test))
    doc = doc.section("Run 1: polynomials of growing degree")
    doc = doc.text(
        "Twelve inputs $x^{(i)}$ drawn uniformly from $[-1, 1]$, targets "
        "$y^{(i)} = \\sin(\\pi x^{(i)}) + \\varepsilon^{(i)}$ with noise "
        "$\\varepsilon \\sim \\mathcal{N}(0, 0.2^2)$; 500 more points drawn the same way form the "
        "test set. For each degree $p = 0, \\dots, 11$ the model "
        "$f(x\\mid\\mathbf{w}) = \\sum_{j=0}^{p} w_j P_j(x)$ ($P_j$ the Legendre polynomials, an "
        "ordinary polynomial basis that is well conditioned on $[-1, 1]$) is fitted by least "
        "squares, $\\ell = (f - y)^2$, so $E$ is the mean squared error (MSE)."
    )
    doc = doc.text(
        "**Why the training error can only fall.** The degree-$p$ models are among the "
        "degree-$(p+1)$ models (set $w_{p+1} = 0$), so the best degree-$(p+1)$ fit is at least as "
        "good on the training set. **Why it reaches zero at degree 11.** With $p + 1 = n$ "
        "coefficients the fit solves the square system $\\mathbf{V}\\mathbf{w} = \\mathbf{y}$, "
        "and for distinct inputs the Vandermonde matrix $\\mathbf{V}$ (rows "
        "$1, x^{(i)}, (x^{(i)})^2, \\dots$) is invertible: its determinant is a product of the "
        "differences of the inputs. For $n = 3$:"
    )
    a, b_, c = sp.symbols("x_1 x_2 x_3", real=True)
    V = sp.Matrix([[1, a, a**2], [1, b_, b_**2], [1, c, c**2]])
    doc = doc.steps(
        Step(_shown(r"\det \mathbf{V}"), _shown(r"\left(x_2 - x_1\right)\left(x_3 - x_1\right)\left(x_3 - x_2\right)"),
             "Vandermonde determinant: nonzero when the $x_i$ are distinct",
             claim=(V.det(), (b_ - a) * (c - a) * (c - b_)), check=Symbolic()),
    )
    doc = doc.text(
        "So a polynomial with as many coefficients as there are examples passes through every "
        "training point, whatever the noise: zero training error says nothing about new points. "
        "Measured on the run:"
    )
    doc = doc.table(
        ["degree $p$", "train MSE", "test MSE"],
        [(str(p), f"${_tex(train[p])}$", f"${_tex(test[p])}$") for p in range(MAX_DEGREE + 1)],
        caption="Least-squares polynomial fits, 12 training and 500 test points (seed 0).",
    )
    sym = {
        "tr11": _shown(r"E_{\mathrm{train}}(p = 11)"),
        "te11": _shown(r"E_{\mathrm{test}}(p = 11)"),
        "teb": _shown(rf"E_{{\mathrm{{test}}}}(p = {best})"),
        "trb": _shown(rf"E_{{\mathrm{{train}}}}(p = {best})"),
    }
    rises = int(np.sum(np.diff(train) > 1e-12))
    doc = doc.steps(
        Step(_shown(r"\#\lbrace p : E_{\mathrm{train}}(p + 1) > E_{\mathrm{train}}(p)\rbrace"),
             sp.Integer(0), "the training error never rose with the degree", relation="=",
             claim=(rises, 0), check=_measured(rises, 0, "=", "counted over $p = 0..10$ "
                                                "(a rise below $10^{-12}$ counts as rounding)")),
        Step(sym["tr11"], _shown("10^{-10}"), "interpolation: the fit passes through every point",
             relation="<", claim=(train[11], 1e-10),
             check=_measured(train[11], 1e-10, "<", f"train MSE at degree 11 is ${_tex(train[11])}$")),
        Step(sym["teb"], _value(test[best]), f"the smallest test error, at degree {best}",
             relation="approx", claim=(test[best], float(_value(test[best]))),
             check=_measured(test[best], _value(test[best]), "approx",
                             f"test MSE at degree {best}, the minimum over $p = 0..11$")),
        Step(sym["te11"], _value(test[11]), "the interpolating polynomial on new points",
             relation="approx", claim=(test[11], float(_value(test[11]))),
             check=_measured(test[11], _value(test[11]), "approx", "test MSE at degree 11")),
        Step(sym["te11"], 10 * sym["teb"], "overfitting: more than ten times worse than the best",
             relation=">", claim=(test[11], 10 * test[best]),
             check=_measured(test[11], 10 * test[best], ">",
                             f"${_tex(test[11])} > 10 \\times {_tex(test[best])}$")),
    )
    doc = doc.text(
        f"The training error falls at every degree (as argued above) while the test error falls "
        f"until degree {best} and then rises: the low degrees **underfit** (they cannot bend like "
        f"$\\sin(\\pi x)$), the high ones **overfit**. At degree {best} the test MSE "
        f"${test[best]:.3g}$ is close to the noise variance $0.2^2 = 0.04$, the error that no "
        "model can remove, since the noise of a new point is independent of everything seen."
    )
    return doc.figure(Figure(
        "overfitting-polynomials",
        "Left: the training points, the true curve and the least-squares fits of degree 1, "
        f"{best} and 11. Right: training and test MSE against the degree (measured; the training "
        "error at degree 11 is at rounding level and is clipped at the bottom).",
        _draw_polynomial, requires="matplotlib",
    ))


def _weight_decay_section(doc: Derivation) -> Derivation:
    run = polynomial_run()
    rt = run["ridge_test"]
    best = int(np.argmin(rt))
    lam_best = LAMBDAS[best]
    doc = doc.section("Weight decay: pay for large weights")
    doc = doc.text(
        "The degree-11 fit reaches its training points with large coefficients that cancel "
        "each other between the points. **Weight decay** (L2 regularisation) adds "
        "$\\lambda\\Vert \\mathbf{w}\\Vert ^2 = \\lambda\\sum_j w_j^2$, $\\lambda \\ge 0$, to the cost: "
        "$E_{\\lambda}(\\mathbf{w}) = \\frac{1}{n}\\Vert \\mathbf{X}\\mathbf{w} - \\mathbf{y}\\Vert ^2 + "
        "\\lambda\\Vert \\mathbf{w}\\Vert ^2$, with $\\mathbf{X}$ the $n \\times (p+1)$ matrix of "
        "features. To see what it does, take one feature, $E_\\lambda(w) = \\frac{1}{n}\\sum_i "
        "(x_i w - y_i)^2 + \\lambda w^2$, here with $n = 3$. Its derivative vanishes at"
    )
    w = sp.Symbol("w", real=True)
    lam_pos = sp.Symbol(r"\lambda", positive=True)
    xs = sp.symbols("x_1:4", real=True)
    ys = sp.symbols("y_1:4", real=True)
    cost = sp.Rational(1, 3) * sum((xi * w - yi) ** 2 for xi, yi in zip(xs, ys)) + lam_pos * w**2
    sxy = sum(xi * yi for xi, yi in zip(xs, ys))
    sxx = sum(xi**2 for xi in xs)
    w_star = sxy / (sxx + 3 * lam_pos)
    doc = doc.steps(
        Step(_shown("w^{*}_{\\lambda}"), _shown(
            r"\frac{\sum_i x_i y_i}{\sum_i x_i^2 + n\lambda}"),
            "the zero of $dE_\\lambda/dw$ (checked: the derivative is 0 there)",
            claim=(sp.diff(cost, w).subs(w, w_star), 0), check=Symbolic()),
    )
    doc = doc.text(
        "so the decay adds $n\\lambda > 0$ to the denominator and shrinks the weight towards 0 "
        "by the factor $\\sum_i x_i^2 / (\\sum_i x_i^2 + n\\lambda) < 1$. In gradient descent "
        "with learning rate $\\eta$ the same term shows up as a shrinking of the weights before "
        "each ordinary step, hence the name:"
    )
    eta, g = sp.symbols(r"\eta g", real=True)
    doc = doc.steps(
        Step(_shown(r"w - \eta\,(g + 2\lambda w)"), _shown(r"(1 - 2\eta\lambda)\,w - \eta g"),
             "the gradient of $\\lambda w^2$ is $2\\lambda w$; $g$ is the gradient of the data term",
             claim=(w - eta * (g + 2 * lam_pos * w), (1 - 2 * eta * lam_pos) * w - eta * g),
             check=Symbolic()),
    )
    doc = doc.text(
        "On the degree-11 polynomial of run 1, the ridge solution "
        "$(\\mathbf{X}^T\\mathbf{X} + n\\lambda\\mathbf{I})^{-1}\\mathbf{X}^T\\mathbf{y}$ for "
        f"28 values of $\\lambda$ from $10^{{-8}}$ to $10$ gives the curve below: the training "
        f"error rises with $\\lambda$, the test error first falls; its minimum is at "
        f"$\\lambda \\approx {lam_best:.2g}$."
    )
    t0 = run["test"][11]
    doc = doc.steps(
        Step(_shown(r"E_{\mathrm{test}}(p = 11, \lambda_{\mathrm{best}})"), _value(rt[best]),
             "measured", relation="approx", claim=(rt[best], float(_value(rt[best]))),
             check=_measured(rt[best], _value(rt[best]), "approx",
                             f"best test MSE over the $\\lambda$ grid, at $\\lambda = {lam_best:.2g}$")),
        Step(_shown(r"E_{\mathrm{test}}(p = 11, \lambda_{\mathrm{best}})"),
             _shown(r"E_{\mathrm{test}}(p = 11, \lambda = 0)"),
             "weight decay lowered the test error of the same model", relation="<",
             claim=(rt[best], t0),
             check=_measured(rt[best], t0, "<", f"${_tex(rt[best])} < {_tex(t0)}$")),
    )
    return doc.figure(Figure(
        "overfitting-weight-decay",
        "Degree-11 polynomial with weight decay $\\lambda$: training and test MSE (measured).",
        _draw_ridge, requires="matplotlib",
    ))


def _digits_section(doc: Derivation) -> Derivation:
    run = digits_run()
    c = run["curves"]
    plain, decay, drop = c["plain"], c["weight decay"], c["dropout"]
    doc = doc.section("Run 2: a small network on few digits")
    doc = doc.text(
        f"The same effect in a neural network: {run['n_train']} images of scikit-learn's "
        "$8 \\times 8$ "
        f"handwritten digits for training and {run['n_test']} others, chosen at random, for testing. The network "
        "is $\\mathbf{x} \\in \\mathbb{R}^{64} \\to$ 64 ReLU units $\\to$ 10 logits, trained on the "
        "cross-entropy of the softmax by full-batch gradient descent ($\\eta = 0.2$, "
        f"{EPOCHS} epochs, the same initial weights for each variant). Three variants: plain; "
        "weight decay $\\lambda = 0.01$ on both weight matrices; dropout on the hidden layer with "
        "drop probability $p = 0.5$ (PyTorch's `p`)."
    )
    last = {k: v[-1] for k, v in c.items()}
    rows = [(k, f"{v[1]:.3f}", f"{v[2]:.3f}", f"{v[3]:.3f}", f"{v[4]:.3f}") for k, v in last.items()]
    doc = doc.table(["variant", "train loss", "train accuracy", "test loss", "test accuracy"], rows,
                    caption=f"After {EPOCHS} epochs (measured, seeds fixed).")
    lowest = int(np.argmin(plain[:, 3]))
    doc = doc.steps(
        Step(_shown(r"\mathrm{acc}_{\mathrm{train}} - \mathrm{acc}_{\mathrm{test}}"),
             _value(plain[-1, 2] - plain[-1, 4]), "the gap of the plain network",
             relation="approx", claim=(plain[-1, 2] - plain[-1, 4], float(_value(plain[-1, 2] - plain[-1, 4]))),
             check=_measured(plain[-1, 2] - plain[-1, 4], _value(plain[-1, 2] - plain[-1, 4]),
                             "approx", "train accuracy minus test accuracy after the last epoch")),
        Step(_shown(r"E_{\mathrm{test}}(\text{last epoch})"),
             _shown(r"\min_{t} E_{\mathrm{test}}(t)"),
             "the plain network's test loss rose after its minimum", relation=">",
             claim=(plain[-1, 3], plain[lowest, 3]),
             check=_measured(plain[-1, 3], plain[lowest, 3], ">",
                             f"{plain[-1, 3]:.3f} at epoch {EPOCHS} > {plain[lowest, 3]:.3f} at "
                             f"epoch {int(plain[lowest, 0])}")),
        Step(_shown(r"E_{\mathrm{test}}(\text{weight decay})"),
             _shown(r"E_{\mathrm{test}}(\text{plain})"), "weight decay lowered the test loss",
             relation="<", claim=(decay[-1, 3], plain[-1, 3]),
             check=_measured(decay[-1, 3], plain[-1, 3], "<",
                             f"{decay[-1, 3]:.3f} < {plain[-1, 3]:.3f} after {EPOCHS} epochs")),
    )
    drop_helped = drop[-1, 3] < plain[-1, 3]
    doc = doc.text(
        f"The plain network fits all {run['n_train']} training images (training accuracy 1) and "
        f"classifies about {100 * plain[-1, 4]:.0f}% of new ones correctly. Its test loss is "
        f"lowest at epoch {int(plain[lowest, 0])} and then rises while the training loss keeps "
        "falling: the extra training only makes the network more confident on its training "
        "images, including on the new images it gets wrong. Stopping at the minimum of a "
        "held-out loss (**early stopping**) is the cheapest remedy. Weight decay keeps the "
        "weights, and so the logits, small: the test loss ends lower."
        + (" Dropout also ended with a lower test loss in this run." if drop_helped else
           " Dropout did **not** lower the test loss in this run (it ended at "
           f"{drop[-1, 3]:.3f} against {plain[-1, 3]:.3f}), and its training loss went even lower "
           f"({drop[-1, 1]:.3f}): the noise did not stop the network from becoming confident on "
           "its 60 images. Its benefit is usually reported for wider networks trained with "
           "mini-batches (Srivastava et al., 2014); a regulariser is a hypothesis to test on "
           "held-out data, not a guarantee.")
    )
    doc = doc.figure(Figure(
        "overfitting-digits",
        f"Digits, {run['n_train']} training images: training and test cross-entropy and test "
        "accuracy per epoch (measured; the first evaluation, at epoch 1, is off the scales).",
        _draw_digits, requires="matplotlib",
    ))
    doc = doc.section("Why dropout is scaled by $1/(1-p)$")
    doc = doc.text(
        "During training, dropout multiplies each hidden activation $a$ by $m/(1-p)$ with "
        "$m \\sim \\mathrm{Bernoulli}(1-p)$: $m = 1$ (kept) with probability $1 - p$, $m = 0$ "
        "(dropped) with probability $p$. At test time nothing is dropped. The scaling makes the "
        "expected training activation equal the test one:"
    )
    a_ = sp.Symbol("a", real=True)
    p = sp.Symbol("p", positive=True)
    outcomes = {1: 1 - p, 0: p}  # m -> probability
    expectation = sum(prob * m / (1 - p) * a_ for m, prob in outcomes.items())
    doc = doc.steps(
        Step(_shown(r"\mathbb{E}\left[\frac{m}{1-p}\,a\right]"),
             _shown(r"(1-p)\cdot\frac{a}{1-p} + p\cdot 0"),
             "the two outcomes of $m$, weighted by their probabilities",
             claim=(expectation, (1 - p) * a_ / (1 - p)), check=Symbolic()),
        Step(_shown(r"(1-p)\cdot\frac{a}{1-p} + p\cdot 0"), a_, "cancel $1-p$ (as $p < 1$)",
             continued=True, claim=((1 - p) * a_ / (1 - p), a_), check=Symbolic()),
    )
    doc = doc.text(
        "Each training step "
        "thus trains a different random sub-network whose average behaves like the full one: no "
        "unit can rely on a particular other unit being present, which is the course notes' "
        "'helps in generalization rather than remembering specific features'. The `dropout` "
        "document derives the layer itself; when reading any text on dropout, check whether "
        "its $p$ is the drop probability (PyTorch's) or the keep probability."
    )
    return doc


def _remark(doc: Derivation) -> Derivation:
    return doc.section("Remark on the course notes").text(
        "**What the course notes claim.** 'When a neural network is very deep, it has too many "
        "weights and biases. When that happens, neural networks tend to overfit.' **Why that is "
        "not the whole story.** Overfitting is about capacity relative to the amount of data, "
        "not depth: run 1 overfits with a single layer (a linear model in 12 features) because "
        "it has as many parameters as examples. Conversely, the notes' 'we improve "
        "generalization' in the description of backpropagation does not hold as such: "
        "backpropagation computes the gradient of the **training** cost, and following it "
        "lowers $E_{\\mathrm{train}}$; whether $E_{\\mathrm{test}}$ follows is exactly what "
        "the runs above measure, and past a point it does not."
    )


def build() -> Derivation:
    doc = Derivation(
        name=NAME,
        title="Overfitting and generalization: the train-test gap, weight decay and dropout",
        summary=(
            "Training error falls with capacity while test error turns up: measured on "
            "polynomial fits and a small network on the digits; why weight decay shrinks "
            "weights and why dropout scales by $1/(1-p)$."
        ),
    )
    doc = _definitions(doc)
    doc = _polynomial_section(doc)
    doc = _weight_decay_section(doc)
    doc = _digits_section(doc)
    return _remark(doc)
