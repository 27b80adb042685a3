r"""What a loss is, why classification uses cross-entropy rather than MSE, and which losses are
robust to outliers.

Three documents:

* ``what-is-a-loss``: loss versus cost versus metric; accuracy, precision and recall are
  piecewise constant in the weights (gradient 0 almost everywhere), measured on a real model;
  why a model should output probabilities.
* ``cross-entropy-vs-mse``: binary cross-entropy from maximum likelihood, the saturating
  gradient of MSE on a sigmoid against BCE's $\sigma(z) - y$, BCE as a two-class softmax, and a
  measured training run on scikit-learn's breast-cancer data.
* ``robustness-to-outliers``: MSE, MAE and Huber fits of a line to data with outliers
  (measured), and why: the bounded derivatives of MAE and Huber.

Algebra is checked symbolically; numbers come from runs made at build time with fixed seeds.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
import sympy as sp

from symlearn import Custom, Derivation, Figure, Rounded, Step, Symbolic, sigmoid
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












def _fast() -> Custom:
    """A symbolic check that tries ``expand`` (after ``expand_log``, which only splits logs of
    factors SymPy knows to be positive) before the full
    ``Symbolic`` check (``simplify`` after rewriting the activations): builds stay fast."""

    def check(lhs, rhs, context) -> bool:
        difference = sp.sympify(lhs) - sp.sympify(rhs)
        as_exp = difference.replace(lambda e: isinstance(e, sigmoid), lambda e: e.rewrite(sp.exp))
        logs_normalised = as_exp.replace(  # equal arguments of log print equal after this
            lambda e: isinstance(e, sp.log), lambda e: sp.log(sp.factor(sp.together(e.args[0]))))
        # expand_log without force: it splits a log only where SymPy knows the factors positive
        for form in (difference, sp.expand_log(difference), as_exp, logs_normalised):
            if sp.expand(sp.powsimp(sp.expand(sp.together(form)))) == 0:
                return True
        return Symbolic().run(lhs, rhs, "=", context, 0).passed

    return Custom(check, "checked symbolically: expand (or simplify) of lhs - rhs is 0",
                  "symbolic")


def _sklearn_data(name: str) -> str:
    """Path of one of scikit-learn's bundled data files, found without importing scikit-learn
    (the import alone takes seconds)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("this document's data needs scikit-learn: pip install 'symlearn[data]'")
    return os.path.join(spec.submodule_search_locations[0], "datasets", "data", name)


def load_breast_cancer_file() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's breast-cancer data: 569 x 30 features; target 0 = malignant, 1 = benign."""
    data = np.loadtxt(_sklearn_data("breast_cancer.csv"), delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1].astype(np.int64)


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # stable for any z


# ==================================================================================================
# Document 1: what a loss is


@functools.lru_cache(maxsize=1)
def metric_landscape() -> dict:
    r"""One feature of the breast-cancer data (mean radius, standardized), the model
    $p = \sigma(w x + b)$ with the bias fixed at $b = 0.6$, and
    accuracy, precision, recall and the mean binary cross-entropy on a grid of 2001 weights."""
    X, y = load_breast_cancer_file()
    x = (X[:, 0] - X[:, 0].mean()) / X[:, 0].std()
    b = 0.6
    ws = np.linspace(-8.0, 2.0, 2001)
    Z = ws[:, None] * x[None, :] + b
    pred = Z > 0
    tp = np.sum(pred & (y == 1), axis=1)
    fp = np.sum(pred & (y == 0), axis=1)
    fn = np.sum(~pred & (y == 1), axis=1)
    acc = np.mean(pred == (y == 1), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
    recall = tp / (tp + fn)
    bce = np.mean(np.logaddexp(0, Z) - y * Z, axis=1)  # softplus(z) - y z
    # finite differences of accuracy and of BCE at 500 random weights, h = 1e-6
    rng = np.random.default_rng(0)
    w_rand = rng.uniform(-8, 2, 500)
    h = 1e-6

    def accuracy(w):
        return np.mean(((w[:, None] * x + b) > 0) == (y == 1), axis=1)

    def cost(w):
        z = w[:, None] * x + b
        return np.mean(np.logaddexp(0, z) - y * z, axis=1)

    d_acc = (accuracy(w_rand + h) - accuracy(w_rand - h)) / (2 * h)
    d_bce = (cost(w_rand + h) - cost(w_rand - h)) / (2 * h)
    return {"x": x, "y": y, "b": b, "ws": ws, "acc": acc, "precision": precision,
            "recall": recall, "bce": bce, "d_acc": d_acc, "d_bce": d_bce, "n": len(y)}


def _draw_metrics(path):
    from symlearn.render.figures import plotted

    m = metric_landscape()
    zoom = np.linspace(-2.0, -1.8, 2001)
    zoom_acc = np.mean(((zoom[:, None] * m["x"] + m["b"]) > 0) == (m["y"] == 1), axis=1)
    with plotted(path, 1, 3, figsize=(12, 3.4)) as (_fig, (a, z, b)):
        a.plot(m["ws"], m["acc"], label="accuracy")
        a.plot(m["ws"], m["precision"], label="precision")
        a.plot(m["ws"], m["recall"], label="recall")
        a.set_xlabel("weight $w$")
        a.set_ylim(0, 1.02)
        a.legend(fontsize=8)
        a.set_title("metrics")
        z.plot(zoom, zoom_acc, drawstyle="steps-post")
        z.set_xlabel("weight $w$ (zoom)")
        z.set_title("accuracy, zoomed: flat steps")
        b.plot(m["ws"], m["bce"], color="C3")
        b.set_xlabel("weight $w$")
        b.set_title("mean binary cross-entropy: smooth")


def build_what_is_a_loss() -> Derivation:
    m = metric_landscape()
    doc = Derivation(
        name="what-is-a-loss",
        title="What a loss is: loss, cost and metric, and why accuracy cannot be trained",
        summary=(
            "A loss scores one prediction, the cost averages it over the data, a metric reports "
            "performance; accuracy, precision and recall are piecewise constant in the weights "
            "(gradient 0 almost everywhere), so training needs a smooth loss on probabilities."
        ),
    )
    doc = doc.section("Loss, cost and metric").text(
        "A model $f(\\mathbf{x}\\mid\\boldsymbol{\\theta})$ with parameters "
        "$\\boldsymbol{\\theta}$ predicts $\\hat y = f(\\mathbf{x}\\mid\\boldsymbol{\\theta})$ for "
        "an input $\\mathbf{x}$ whose true label is $y$. A **loss** $\\ell(\\hat y, y)$ turns one "
        "prediction and its label into one number, 0 for a perfect prediction and larger for "
        "worse ones. The **cost** (or objective) is the loss averaged over the $n$ training "
        "examples, $J(\\boldsymbol{\\theta}) = \\frac{1}{n}\\sum_{i=1}^{n} "
        "\\ell(f(\\mathbf{x}^{(i)}\\mid\\boldsymbol{\\theta}), y^{(i)})$: with the data fixed it "
        "is a function of the parameters only, the landscape that gradient descent walks on. "
        "The course notes use both words for the same thing, and many texts do; the "
        "distinction that matters is the next one. A **metric** (accuracy, precision, recall) "
        "reports how good the predictions are to a person; it need not be differentiable, "
        "because nothing is trained on it."
    )
    doc = doc.section("Accuracy, precision and recall").text(
        "For two classes (positive and negative), count true positives $TP$, false positives "
        "$FP$, true negatives $TN$ and false negatives $FN$ among $n = TP + FP + TN + FN$ "
        "predictions. **Accuracy** is the fraction of correct predictions, "
        "$(TP + TN)/n$; **precision** $TP/(TP + FP)$ is the fraction of predicted positives "
        "that are positive; **recall** $TP/(TP + FN)$ the fraction of positives that are found."
    )
    doc = doc.text(
        "**What the course notes claim.** Counting how many of 100 pictures are classified "
        "correctly ('62 of them') 'is called precision & recall'. **Why it does not hold.** "
        "That count is the accuracy. Two classifiers with the same 62 correct out of 100 can "
        "have very different precision and recall. Classifier A: $TP = 40$, $TN = 22$, "
        "$FP = 30$, $FN = 8$; classifier B: $TP = 22$, $TN = 40$, $FP = 8$, $FN = 30$:"
    )
    tp_a, tn_a = 40, 22
    r = sp.Rational
    doc = doc.steps(
        Step(_shown(r"\mathrm{accuracy}_A = \mathrm{accuracy}_B"), _shown(r"\frac{62}{100}"),
             "$(40 + 22)/100$ and $(22 + 40)/100$", claim=(r(tp_a + tn_a, 100), r(22 + 40, 100)),
             check=_fast()),
        Step(_shown(r"\mathrm{precision}_A"), _value(40 / 70), "$40/(40 + 30)$",
             relation="approx", claim=(r(40, 70), _value(40 / 70)), check=Rounded(3)),
        Step(_shown(r"\mathrm{precision}_B"), _value(22 / 30), "$22/(22 + 8)$",
             relation="approx", claim=(r(22, 30), _value(22 / 30)), check=Rounded(3)),
        Step(_shown(r"\mathrm{recall}_A"), _value(40 / 48), "$40/(40 + 8)$",
             relation="approx", claim=(r(40, 48), _value(40 / 48)), check=Rounded(3)),
        Step(_shown(r"\mathrm{recall}_B"), _value(22 / 52), "$22/(22 + 30)$",
             relation="approx", claim=(r(22, 52), _value(22 / 52)), check=Rounded(3)),
    )
    doc = doc.section("Why a count cannot be trained").text(
        "The notes' real point stands: these metrics are not differentiable in a useful way. "
        "Take a classifier that predicts positive when $z = wx + b > 0$. Each example "
        "contributes the indicator $H(wx_i + b)$ ($H$ the unit step: 1 for a positive argument, "
        "0 otherwise), which changes only where $wx_i + b$ crosses 0. Its derivative with "
        "respect to $w$, where it exists, is 0:"
    )
    w, xi, bb = sp.symbols("w x_i b", real=True)
    step_fn = sp.Heaviside(w * xi + bb)
    dstep = sp.diff(step_fn, w)
    away = {w: sp.Rational(1, 3), xi: 2, bb: 1}
    u_in = w * xi + bb  # the step's argument, named u below
    doc = doc.steps(
        Step(_shown(r"\frac{\partial}{\partial w} H(w x_i + b)"),
             _shown(r"H'(u)\,\frac{\partial u}{\partial w}"),
             "chain rule, with $u = w x_i + b$",
             claim=(dstep, sp.DiracDelta(u_in) * sp.diff(u_in, w)), check=_fast()),
        Step(_shown(r"H'(u)\,\frac{\partial u}{\partial w}"), _shown(r"\delta(u)\,x_i"),
             "$H' = \\delta$, the Dirac delta; $\\partial u/\\partial w = x_i$ by linearity "
             "($x_i$ and $b$ do not change with $w$)", continued=True,
             claim=(sp.DiracDelta(u_in) * sp.diff(u_in, w), xi * sp.DiracDelta(u_in)),
             check=_fast()),
        Step(_shown(r"\delta(u)\,x_i"), _shown(r"x_i\,\delta(w x_i + b)"),
             "substitute $u$", continued=True,
             claim=(xi * sp.DiracDelta(u_in), xi * sp.DiracDelta(w * xi + bb)), check=_fast()),
        Step(_shown(r"x_i\,\delta(w x_i + b)\big|_{w x_i + b \neq 0}"), sp.Integer(0),
             "$\\delta$ vanishes away from 0 (here at $w = 1/3$, $x_i = 2$, $b = 1$)",
             claim=(dstep.xreplace(away), 0), check=_fast()),
    )
    n_zero = int(np.sum(m["d_acc"] == 0))
    doc = doc.text(
        "So accuracy, a sum of such steps divided by $n$, is flat between jumps: its gradient is "
        "0 almost everywhere and undefined at the jumps, and gradient descent gets no direction "
        "from it. Precision and recall are ratios of the same counts and behave the same way. "
        f"Measured on scikit-learn's breast-cancer data ($n = {m['n']}$; one feature, the "
        "standardized mean radius $x$; the label 1 for benign) with $b = 0.6$: central finite "
        "differences ($h = 10^{-6}$) at 500 random weights $w \\in (-8, 2)$:"
    )
    doc = doc.steps(
        _measured_step(r"\#\lbrace w : \Delta\mathrm{accuracy}/\Delta w = 0\rbrace ", n_zero,
                       "of 500 random weights", "finite differences at 500 random weights",
                       relation="=", rhs=(500, "500")),
        _measured_step(r"\#\lbrace w : \Delta J/\Delta w = 0\rbrace ", int(np.sum(m["d_bce"] == 0)),
                       "the cross-entropy cost $J$ has a slope everywhere",
                       "finite differences of the mean binary cross-entropy", relation="=",
                       rhs=(0, "0")),
    )
    doc = doc.figure(Figure(
        "loss-vs-metric",
        "Breast-cancer data, $p = \\sigma(wx + 0.6)$: accuracy, precision and recall against "
        "$w$ are step functions (the middle panel zooms into $w \\in [-2, -1.8]$); the mean "
        "binary cross-entropy is smooth (measured on grids of 2001 weights).",
        _draw_metrics, requires="matplotlib",
    ))
    doc = doc.section("Why probabilities").text(
        "The notes' second idea is the way out: let the model output a probability "
        "$p = \\sigma(z) = 1/(1 + e^{-z})$ that the label is 1, a smooth function of the "
        "weights, and score how much probability it gave to the truth. The notes' two "
        "examples are a panda shown with $p = 0.88$ and an armadillo (label 0) shown with "
        "$p = 0.03$; their loss, the difference between prediction and label:"
    )
    doc = doc.steps(
        Step(_shown(r"|1 - 0.88|"), sp.Float("0.12", 2), "the panda",
             claim=(abs(1 - r(88, 100)), r(12, 100)), check=_fast()),
        Step(_shown(r"|0 - 0.03|"), sp.Float("0.03", 1), "the armadillo",
             claim=(abs(0 - r(3, 100)), r(3, 100)), check=_fast()),
    )
    doc = doc.text(
        "This absolute difference is a valid loss, and unlike a count it changes smoothly with "
        "$p$. The loss used in practice is instead $-\\log$ of the probability given to the "
        "true label, $-\\log 0.88$ and $-\\log(1 - 0.03)$ here:"
    )
    doc = doc.steps(
        Step(-sp.log(sp.Float("0.88", 2)), sp.Float("0.128", 3), "the panda",
             relation="approx", claim=(-sp.log(r(88, 100)), sp.Float("0.128", 3)),
             check=Rounded(3)),
        Step(-sp.log(1 - sp.Float("0.03", 1)), sp.Float("0.0305", 3), "the armadillo",
             relation="approx", claim=(-sp.log(r(97, 100)), sp.Float("0.0305", 3)),
             check=Rounded(4)),
    )
    return doc.text(
        "It agrees with the difference for good predictions but grows without bound as the "
        "probability of the truth goes to 0, and it is what maximum likelihood asks for; the "
        "`cross-entropy-vs-mse` document derives it and shows why its gradient trains faster."
    )


# ==================================================================================================
# Document 2: why cross-entropy rather than MSE


CE_EPOCHS, CE_LR = 200, 0.5


@functools.lru_cache(maxsize=1)
def bce_mse_runs() -> dict:
    r"""Logistic regression on the breast-cancer data (30 standardized features, all 569 rows),
    full-batch gradient descent, $\eta = 0.5$, 200 epochs, from a deliberately bad start: each
    weight $-2$ times the sign of its feature's correlation with the label, so the model starts
    confidently wrong; bias 0."""
    X, y = load_breast_cancer_file()
    X = (X - X.mean(0)) / X.std(0)
    n, d = X.shape
    corr = np.array([np.corrcoef(X[:, j], y)[0, 1] for j in range(d)])
    w0 = -2.0 * np.sign(corr)  # every weight points the wrong way
    out = {}
    for label in ("binary cross-entropy", "MSE on the sigmoid"):
        w, b = w0.copy(), 0.0
        losses, accs = [], []
        for _ in range(CE_EPOCHS + 1):
            z = X @ w + b
            p = _sigmoid(z)
            accs.append(float(np.mean((z > 0) == (y == 1))))
            losses.append(float(np.mean(np.logaddexp(0, z) - y * z)))
            if label == "binary cross-entropy":
                dz = (p - y) / n
            else:
                dz = 2 * (p - y) * p * (1 - p) / n
            w, b = w - CE_LR * X.T @ dz, b - CE_LR * dz.sum()
        out[label] = {"bce": np.array(losses), "acc": np.array(accs)}
    z0 = X @ w0
    out["start_z"] = z0
    return out


def _draw_gradients(path):
    from symlearn.render.figures import plotted

    z = np.linspace(-10, 10, 400)
    p = _sigmoid(z)
    runs = bce_mse_runs()
    with plotted(path, 1, 2, figsize=(11, 3.6)) as (_fig, (a, b)):
        a.semilogy(z, np.abs(p - 1), label=r"BCE: $|\sigma(z) - 1|$")
        a.semilogy(z, np.abs(2 * (p - 1) * p * (1 - p)), label=r"MSE: $|2(\sigma - 1)\sigma(1-\sigma)|$")
        a.set_xlabel("logit $z$ (label $y = 1$)")
        a.set_ylabel(r"$|\partial \ell / \partial z|$")
        a.legend(fontsize=8)
        for label in ("binary cross-entropy", "MSE on the sigmoid"):
            b.plot(runs[label]["acc"], label=f"trained on {label}")
        b.set_xlabel("epoch")
        b.set_ylabel("training accuracy")
        b.legend(fontsize=8)


def build_cross_entropy_vs_mse() -> Derivation:
    doc = Derivation(
        name="cross-entropy-vs-mse",
        title="Why cross-entropy rather than MSE for classification",
        summary=(
            "Binary cross-entropy is the negative log-likelihood of a Bernoulli label; its "
            "gradient in the logit is $\\sigma(z) - y$, while MSE on a sigmoid saturates; BCE is "
            "the two-class softmax cross-entropy; measured on the breast-cancer data."
        ),
    )
    z, yy = sp.symbols("z y", real=True)
    p = sp.Symbol("p", positive=True)
    doc = doc.section("Maximum likelihood gives the cross-entropy").text(
        "A binary classifier outputs $p = \\sigma(z)$, the probability it assigns to the label "
        "$y = 1$, from a logit $z$. If the label is drawn as a Bernoulli variable with that "
        "probability, the probability of the observed label is $p$ when $y = 1$ and $1 - p$ "
        "when $y = 0$, which one formula covers: $P(y \\mid p) = p^{y}(1 - p)^{1 - y}$. "
        "**Maximum likelihood** chooses the parameters that make the observed labels most "
        "probable; with independent examples the likelihood is a product, its logarithm a sum, "
        "and maximizing it is minimizing the mean of $-\\log P(y^{(i)} \\mid p^{(i)})$:"
    )
    bern = p**yy * (1 - p) ** (1 - yy)
    bce = -yy * sp.log(p) - (1 - yy) * sp.log(1 - p)
    doc = doc.steps(
        Step(_shown(r"-\log\left(p^{y}(1 - p)^{1 - y}\right)"), _shown(r"-y\log p - (1 - y)\log(1 - p)"),
             "the log of a product is the sum of the logs",
             claim=(-sp.log(bern), bce), check=Custom(
                 lambda lhs, rhs, context: all(
                     sp.simplify((lhs - rhs).subs(yy, label)) == 0 for label in (0, 1)),
                 "checked symbolically for $y = 0$ and $y = 1$, the label's two values",
                 "symbolic")),
    )
    doc = doc.text(
        "This is the binary cross-entropy $\\ell_{\\mathrm{BCE}}(p, y)$ (PyTorch's "
        "`binary_cross_entropy`). The same recipe with a Gaussian, $y \\sim \\mathcal{N}(\\hat y, "
        "s^2)$, gives the squared error: that is the assumption MSE makes, a real-valued target "
        "with Gaussian noise, not a label that is 0 or 1:"
    )
    yhat = sp.Symbol(r"\hat{y}", real=True)
    s_ = sp.Symbol("s", positive=True)
    gauss = sp.exp(-(yy - yhat) ** 2 / (2 * s_**2)) / sp.sqrt(2 * sp.pi * s_**2)
    doc = doc.steps(
        Step(_shown(r"-\log \mathcal{N}(y; \hat y, s^2)"),
             _shown(r"\frac{(y - \hat y)^2}{2 s^2} + \frac{1}{2}\log(2\pi s^2)"),
             "a constant plus the squared error over $2s^2$",
             claim=(-sp.log(gauss), (yy - yhat) ** 2 / (2 * s_**2) + sp.log(2 * sp.pi * s_**2) / 2),
             check=_fast()),
    )
    doc = doc.section("The gradients in the logit").text(
        "Training moves $z$, so what matters is $\\partial\\ell/\\partial z$ with "
        "$p = \\sigma(z)$ and $\\sigma'(z) = \\sigma(z)(1 - \\sigma(z))$. For the cross-entropy "
        "the factor $\\sigma'$ cancels; for the squared error $(\\sigma(z) - y)^2$ it stays:"
    )
    # Each gradient rule by rule (named intermediates, chain rule, the sigmoid's derivative),
    # every step checked; the last step is the textbook form, checked equal.
    doc = doc.text("The cross-entropy, $\\ell_{\\mathrm{BCE}} = -y\\log\\sigma(z) - "
                   "(1 - y)\\log(1 - \\sigma(z))$, differentiated one rule at a time:")
    doc = add_gradient_steps(doc, bce.subs(p, sigmoid(z)), z, textbook=sigmoid(z) - yy,
                             output=sp.Symbol(r"\ell_{\mathrm{BCE}}"))
    doc = doc.text(
        "Why the result is so simple: the derivative of $\\log \\sigma(z)$ is "
        "$\\sigma'(z)/\\sigma(z) = 1 - \\sigma(z)$, and that of $\\log(1 - \\sigma(z))$ is "
        "$-\\sigma(z)$; the factor $\\sigma'$ that would shrink the gradient divides out. "
        "The squared error of the probability, $\\ell_{\\mathrm{MSE}} = (\\sigma(z) - y)^2$, "
        "the same way:"
    )
    doc = add_gradient_steps(doc, (sigmoid(z) - yy) ** 2, z,
                             textbook=2 * (sigmoid(z) - yy) * sigmoid(z) * (1 - sigmoid(z)),
                             output=sp.Symbol(r"\ell_{\mathrm{MSE}}"), why=False)
    doc = doc.text(
        "Here nothing divides the factor $\\sigma'(z) = \\sigma(z)(1 - \\sigma(z))$ away: it "
        "multiplies the error, and it is at most $1/4$ and nearly $0$ wherever $|z|$ is large."
    )
    bce_at = (sigmoid(z) - yy).xreplace({z: -10, yy: 1})
    mse_at = (2 * (sigmoid(z) - yy) * sigmoid(z) * (1 - sigmoid(z))).xreplace({z: -10, yy: 1})
    doc = doc.text(
        "When the model is confidently wrong, say $y = 1$ but $z = -10$ ($p \\approx 4.5 "
        "\\cdot 10^{-5}$), the cross-entropy pushes with almost full strength while the squared "
        "error has almost nothing left, because $\\sigma'(-10)$ is tiny:"
    )
    doc = doc.steps(
        Step(_shown(r"\partial\ell_{\mathrm{BCE}}/\partial z\,\big|_{z=-10,\,y=1}"),
             sp.Float("-1.00", 3), "$\\sigma(-10) - 1$", relation="approx",
             claim=(bce_at, sp.Float("-1.00", 3)), check=Rounded(2)),
        Step(_shown(r"\partial\ell_{\mathrm{MSE}}/\partial z\,\big|_{z=-10,\,y=1}"),
             _shown(r"-9.08 \cdot 10^{-5}"), "$2(\\sigma - 1)\\sigma(1 - \\sigma)$ at $z = -10$",
             relation="approx", claim=(mse_at * 10**5, sp.Float("-9.08", 3)), check=Rounded(2)),
    )
    runs = bce_mse_runs()
    bce_run, mse_run = runs["binary cross-entropy"], runs["MSE on the sigmoid"]
    first = {k: int(np.argmax(v["acc"] >= 0.9)) if np.any(v["acc"] >= 0.9) else None
             for k, v in (("bce", bce_run), ("mse", mse_run))}
    doc = doc.section("Measured: learning from a confidently wrong start").text(
        "Logistic regression on scikit-learn's breast-cancer data (569 examples, 30 "
        "standardized features), full-batch gradient descent with $\\eta = 0.5$ for "
        f"{CE_EPOCHS} epochs, started with every weight $\\pm 2$ of the wrong sign, so the "
        f"initial training accuracy is {bce_run['acc'][0]:.3f}. One run descends the mean "
        "cross-entropy, the other the mean squared error of $p$ (same start, same rate):"
    )
    doc = doc.steps(
        _measured_step(r"t_{90\%}(\text{BCE})", first["bce"],
                       "first epoch with training accuracy $\\ge 0.9$",
                       "epoch at which the cross-entropy run first reaches 90% accuracy",
                       relation="=", rhs=(first["bce"], str(first["bce"]))),
        _measured_step(r"\mathrm{accuracy}_{" + str(CE_EPOCHS) + r"}(\text{MSE})",
                       mse_run["acc"][-1], f"after all {CE_EPOCHS} epochs, still below 0.9",
                       "training accuracy of the squared-error run after the last epoch",
                       relation="<", rhs=(0.9, "0.9")),
    )
    doc = doc.text(
        f"The squared-error run barely moves (training accuracy {mse_run['acc'][-1]:.3f} after "
        f"{CE_EPOCHS} epochs): at the start most logits are large and wrong, where "
        "$\\sigma'(z) \\approx 0$ silences its gradient, exactly the saturation derived above. "
        "The cross-entropy's gradient is largest exactly when the model is confidently wrong."
    )
    doc = doc.figure(Figure(
        "bce-vs-mse",
        "Left: size of the gradient in the logit for a positive example ($y = 1$): the "
        "squared error's vanishes for very wrong ($z \\ll 0$) as well as very right "
        "predictions. Right: training accuracy per epoch from a confidently wrong start "
        "(measured).",
        _draw_gradients, requires="matplotlib",
    ))
    doc = doc.section("Binary cross-entropy is the two-class softmax").text(
        "With two classes and logits $(z_1, z_0)$ the softmax probability of class 1 is "
        "$e^{z_1}/(e^{z_1} + e^{z_0}) = \\sigma(z_1 - z_0)$: only the difference of the logits "
        "matters, so one output $z = z_1 - z_0$ (take $z_0 = 0$) is enough, and the softmax "
        "cross-entropy $-y\\log q_1 - (1 - y)\\log q_0$ (PyTorch's `cross_entropy` with two "
        "classes) is the binary cross-entropy of $\\sigma(z)$:"
    )
    z1, z0 = sp.symbols("z_1 z_0", real=True)
    q1 = sp.exp(z1) / (sp.exp(z1) + sp.exp(z0))
    doc = doc.steps(
        Step(_shown(r"\frac{e^{z_1}}{e^{z_1} + e^{z_0}}"), _shown(r"\sigma(z_1 - z_0)"),
             "divide numerator and denominator by $e^{z_1}$", claim=(q1, sigmoid(z1 - z0)),
             check=_fast()),
        Step(_shown(r"-y\log q_1 - (1 - y)\log q_0\,\big|_{z_0 = 0}"),
             _shown(r"\ell_{\mathrm{BCE}}(\sigma(z_1), y)"), "$q_0 = 1 - q_1$",
             claim=((-yy * sp.log(q1) - (1 - yy) * sp.log(1 - q1)).xreplace({z0: 0}),
                    bce.subs(p, sigmoid(z1))), check=_fast()),
    )
    doc = doc.section("Remark on the course notes").text(
        "**What the course notes claim.** Among classification losses: 'Hinge loss "
        "(equivalent of MSE in classification)'. **Why it does not hold.** With labels "
        "$y \\in \\lbrace -1, 1\\rbrace$ and a score $z$, the hinge loss is $\\max(0, 1 - yz)$: zero as "
        "soon as the example is on the right side with margin $yz \\ge 1$, and linear, not "
        "quadratic, in the violation. The squared error on the same labels, $(y - z)^2 = "
        "(1 - yz)^2$, also punishes predictions that are **too** right. For $y = 1$, $z = 3$:"
    )
    yz = sp.Symbol("z", real=True)
    hinge = sp.Max(0, 1 - yz)
    return doc.steps(
        Step(_shown(r"\max(0, 1 - yz)\,\big|_{y=1,\,z=3}"), sp.Integer(0),
             "correct with margin: no loss", claim=(hinge.xreplace({yz: 3}), 0), check=_fast()),
        Step(_shown(r"(y - z)^2\,\big|_{y=1,\,z=3}"), sp.Integer(4),
             "the squared error penalizes a confident correct answer",
             claim=(((1 - yz) ** 2).xreplace({yz: 3}), 4), check=_fast()),
    ).text(
        "Neither is a likelihood: the hinge loss gives no probabilities at all (the "
        "`hinge-loss` document derives its subgradient). If classification has an analogue of "
        "MSE's role, the loss that follows from the noise model, it is the cross-entropy."
    )


# ==================================================================================================
# Document 3: robustness to outliers

N_POINTS, N_OUTLIERS, DELTA = 40, 4, 1.0


@functools.lru_cache(maxsize=1)
def outlier_fits() -> dict:
    r"""40 points $y = 2x + 1 + \mathcal{N}(0, 0.3^2)$, $x$ uniform on $[0, 5]$ (seed 0), of
    which the 4 with the largest $x$ get $+15$. Fits of $y \approx a x + c$: MSE by least
    squares; MAE and Huber ($\delta = 1$) by iteratively reweighted least squares (weights
    $1/\max(|r|, 10^{-9})$ and $\min(1, \delta/|r|)$), 200 iterations from the MSE fit."""
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(0, 5, N_POINTS))
    y = 2 * x + 1 + 0.3 * rng.standard_normal(N_POINTS)
    y[-N_OUTLIERS:] += 15.0
    A = np.column_stack([x, np.ones_like(x)])
    fits = {"MSE": np.linalg.lstsq(A, y, rcond=None)[0]}
    for label, weight in (("MAE", lambda r: 1 / np.maximum(np.abs(r), 1e-9)),
                          ("Huber", lambda r: np.minimum(1.0, DELTA / np.maximum(np.abs(r), 1e-12)))):
        beta = fits["MSE"].copy()
        for _ in range(200):
            wts = weight(y - A @ beta)
            beta = np.linalg.solve(A.T @ (wts[:, None] * A), A.T @ (wts * y))
        fits[label] = beta
    clean = np.linalg.lstsq(A[:-N_OUTLIERS], y[:-N_OUTLIERS], rcond=None)[0]
    return {"x": x, "y": y, "fits": fits, "clean": clean}


def _draw_outliers(path):
    from symlearn.render.figures import plotted

    f = outlier_fits()
    grid = np.linspace(0, 5, 50)
    r = np.linspace(-4, 4, 401)
    with plotted(path, 1, 2, figsize=(11, 3.6)) as (_fig, (a, b)):
        a.scatter(f["x"], f["y"], s=12, color="k", zorder=3, label="data (4 outliers)")
        for label, (slope, icpt) in f["fits"].items():
            a.plot(grid, slope * grid + icpt, label=f"{label}: slope {slope:.2f}")
        a.plot(grid, 2 * grid + 1, color="0.6", ls=":", label="true line, slope 2")
        a.set_xlabel("$x$")
        a.set_ylabel("$y$")
        a.legend(fontsize=7)
        b.plot(r, 2 * r, label=r"MSE: $2r$")
        b.plot(r, np.sign(r), label=r"MAE: $\mathrm{sign}(r)$")
        b.plot(r, np.clip(r, -DELTA, DELTA), label=r"Huber ($\delta = 1$)")
        b.set_xlabel("residual $r$")
        b.set_ylabel(r"$d\ell/dr$")
        b.legend(fontsize=8)


def build_robustness_to_outliers() -> Derivation:
    f = outlier_fits()
    doc = Derivation(
        name="robustness-to-outliers",
        title="Robustness to outliers: MSE, MAE and Huber",
        summary=(
            "Fits of a line to data with outliers under the squared, absolute and Huber losses "
            "(measured), and why: the derivative of the squared error grows with the residual, "
            "those of MAE and Huber are bounded."
        ),
    )
    doc = doc.section("Three losses of the residual").text(
        "For a prediction $\\hat y$ of $y$ write the residual $r = y - \\hat y$. The squared "
        "error is $r^2$ (MSE averages it), the absolute error $|r|$ (MAE), and the Huber loss "
        "$\\ell_\\delta$ with threshold $\\delta > 0$ is $\\frac{1}{2}r^2$ for $|r| \\le \\delta$ and "
        "$\\delta(|r| - \\frac{1}{2}\\delta)$ beyond (the course notes' definition; PyTorch's "
        "`huber_loss`). A fitted model is where the residuals' pulls balance, and the pull of "
        "one residual is the derivative of its loss:"
    )
    rr = sp.Symbol("r", real=True)
    d = sp.Symbol("delta", positive=True)
    huber = sp.Piecewise((rr**2 / 2, sp.Abs(rr) <= d), (d * (sp.Abs(rr) - d / 2), True))
    psi = sp.Piecewise((rr, sp.Abs(rr) <= d), (d * sp.sign(rr), True))
    # each pull derived rule by rule (add_gradient_steps), every step checked
    doc = doc.text("The squared error, $\\ell = r^2$:")
    doc = add_gradient_steps(doc, rr**2, rr, output=sp.Symbol("ell"), why=False)
    doc = doc.text(
        "It grows without bound: a residual ten times larger pulls ten times harder. The "
        "absolute error, $\\ell = |r|$, whose derivative is $r/|r|$, the sign of $r$, for "
        "$r \\neq 0$ (at $r = 0$ there is a kink and no derivative):"
    )
    doc = add_gradient_steps(doc, sp.Abs(rr), rr, output=sp.Symbol("ell"), why=False)
    doc = doc.text(
        "It is bounded by 1: every residual pulls equally hard, however large. The Huber "
        "loss, each piece differentiated on its own interval (the pieces meet at "
        "$|r| = \\delta$ with the same value and the same slope $\\pm\\delta$, so the "
        "derivative is continuous):"
    )
    doc = add_gradient_steps(doc, huber, rr, output=sp.Symbol(r"\ell_\delta"), why=False)
    doc = doc.steps(
        Step(sp.Derivative(_shown(r"\ell_\delta(r)"), rr),
             _shown(r"\begin{cases} r & |r| \le \delta \\ \delta\,\mathrm{sign}(r) & "
                    r"|r| > \delta \end{cases}"),
             "the same cases, as usually written; "
             "$|\\delta\\,\\mathrm{sign}(r)| = \\delta$, bounded",
             claim=(sp.diff(huber, rr).rewrite(sp.sign), psi), check=_piecewise_check(huber, psi, rr, d)),
    )
    doc = doc.text(
        "The same bound shows in the simplest fit, a constant $c$ for the data "
        "$y_1, \\dots, y_n$: MSE's minimiser is the mean, and moving one point by $\\Delta$ moves "
        "it by $\\Delta/n$, however large $\\Delta$ is; MAE's minimiser is the median, which "
        "does not move at all once the point is beyond the middle."
    )
    ys = sp.symbols("y_1:6", real=True)
    c = sp.Symbol("c", real=True)
    mean = sum(ys) / 5
    doc = doc.steps(
        Step(_shown(r"\frac{\partial}{\partial c}\sum_i (y_i - c)^2\,\Big|_{c = \bar y}"),
             sp.Integer(0), "the mean minimises the squared error ($n = 5$)",
             claim=(sp.diff(sum((yi - c) ** 2 for yi in ys), c).subs(c, mean), 0),
             check=_fast()),
    )
    doc = doc.text("One point's influence on the mean, $\\bar y = (y_1 + \\dots + y_5)/5$:")
    doc = add_gradient_steps(doc, mean, ys[4], output=sp.Symbol(r"\bar{y}"), why=False)
    fits = f["fits"]
    doc = doc.section("Measured: a line through data with outliers").text(
        "Forty points $y = 2x + 1 + \\varepsilon$ with $\\varepsilon \\sim \\mathcal{N}(0, "
        "0.3^2)$ and $x$ uniform on $[0, 5]$; the four points with the largest $x$ get $+15$ "
        "(a sensor fault, say). The line $y \\approx ax + c$ is fitted by minimising each "
        "loss: least squares for MSE; iteratively reweighted least squares for MAE and Huber "
        "($\\delta = 1$), 200 iterations."
    )
    doc = doc.table(
        ["loss", "slope $a$", "intercept $c$"],
        [(k, f"{v[0]:.3f}", f"{v[1]:.3f}") for k, v in fits.items()]
        + [("MSE without the 4 outliers", f"{f['clean'][0]:.3f}", f"{f['clean'][1]:.3f}")],
        caption="Measured (seed 0); the true line has slope 2 and intercept 1.",
    )
    err = {k: abs(v[0] - 2) for k, v in fits.items()}
    doc = doc.steps(
        _measured_step(r"|a_{\mathrm{MSE}} - 2|", err["MSE"], "the outliers drag the MSE line",
                       "slope error of the least-squares fit", relation=">",
                       rhs=(10 * err["Huber"], r"10\,|a_{\mathrm{Huber}} - 2|")),
        _measured_step(r"|a_{\mathrm{MSE}} - 2|", err["MSE"], "and from the MAE line",
                       "slope error of the MSE fit",
                       relation=">", rhs=(10 * err["MAE"], r"10\,|a_{\mathrm{MAE}} - 2|")),
    )
    doc = doc.figure(Figure(
        "outliers",
        "Left: the data and the three fitted lines (measured). Right: the pull $d\\ell/dr$ "
        "of one residual under each loss.",
        _draw_outliers, requires="matplotlib",
    ))
    return doc.section("When the sensitivity is wanted").text(
        "The course notes ask when MSE's sensitivity to outliers might be useful. When the "
        "large residuals are real (rare but genuine events whose cost grows with the square "
        "of the miss, or a Gaussian noise model, for which MSE is the maximum-likelihood loss, "
        "see `cross-entropy-vs-mse`), MSE is right to chase them, and its minimiser is the "
        "conditional mean. MAE estimates the conditional median and ignores how far the "
        "outliers are; Huber behaves like MSE for residuals below $\\delta$ (smooth at 0, so "
        "gradient descent settles) and like MAE beyond. $\\delta$ is a scale: set it near the "
        "size of ordinary noise."
    )


def _piecewise_check(huber, psi, r, d) -> Custom:
    """The derivative of the Huber loss equals ``psi`` on each piece, for several deltas."""

    def check(lhs, rhs, context) -> bool:
        for delta in (sp.Rational(1, 2), 1, 3):
            for value in (sp.Rational(-9, 2), sp.Rational(-1, 4), sp.Rational(1, 3), 5):
                inner = sp.diff(huber, r).xreplace({d: delta}).xreplace({r: value})
                if sp.simplify(inner - psi.xreplace({d: delta, r: value})) != 0:
                    return False
        return True

    return Custom(check, "checked symbolically on both pieces, for $\\delta = 1/2, 1, 3$ at "
                  "$r = -9/2, -1/4, 1/3, 5$", "symbolic")


CATALOG = {
    "what-is-a-loss": (
        (
            "Loss, cost and metric; accuracy, precision and recall are piecewise constant in "
            "the weights, so training needs a smooth loss on probabilities."
        ),
        build_what_is_a_loss,
    ),
    "cross-entropy-vs-mse": (
        (
            "Cross-entropy from maximum likelihood; the saturating gradient of MSE on a "
            "sigmoid; BCE as a two-class softmax; measured on the breast-cancer data."
        ),
        build_cross_entropy_vs_mse,
    ),
    "robustness-to-outliers": (
        (
            "MSE, MAE and Huber fits of a line with outliers, measured; the bounded gradients "
            "of MAE and Huber derived."
        ),
        build_robustness_to_outliers,
    ),
}
