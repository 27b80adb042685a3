r"""A corpus of hand-derived gradients for ``verify_gradient`` (issue 12), from course references.

Every family is one function from a reference, with its correct derivative and the typical slips
students make (a missing chain factor, a sign, a 1/N, a missing cap or clip, the wrong region of
a piecewise function). Each case carries a hand-written SymPy *twin* of the LaTeX: the truth of a
case comes from ``sympy.diff`` of the twin loss compared with the twin claim (in the test), never
from symlearn. The twins use SymPy's own ``Max``, ``Min``, ``Abs``, ``Piecewise``, ``erf`` and the
sigmoid written as ``1/(1+exp(-t))``; sums are written out for a concrete number of terms K.

References (cited per family in ``ref``):

* CS231n -- Stanford CS231n notes: "Optimization" (SVM hinge, softmax), "Neural Networks 1"
  (activations), "Backpropagation, intuitions" (gates).
* GBC6 -- Goodfellow, Bengio, Courville, *Deep Learning*, ch. 6 (6.2.2 output units, 6.3 hidden
  units: ReLU, absolute value rectification, leaky ReLU, maxout, hard tanh), ch. 7.1 (norm
  penalties).
* PRML4 / PRML5 -- Bishop, *Pattern Recognition and Machine Learning*, 4.3 (logistic regression,
  softmax cross-entropy), 5.2 (sum-of-squares error), 5.3 (backpropagation).
* MC -- Petersen & Pedersen, *The Matrix Cookbook*, sec. 2 (derivatives), written in scalar form.
* GELU -- Hendrycks & Gimpel, "Gaussian Error Linear Units", 2016 (exact and tanh forms).
* Swish -- Ramachandran, Zoph, Le, "Searching for Activation Functions", 2017 (x sigma(beta x)).
* ReLU6 -- Krizhevsky, "Convolutional Deep Belief Networks on CIFAR-10", 2010 (min(max(0,x),6)).
* Leaky -- Maas, Hannun, Ng, "Rectifier Nonlinearities Improve Neural Network Acoustic Models",
  2013.
* Focal -- Lin, Goyal, Girshick, He, Dollar, "Focal Loss for Dense Object Detection", 2017.
* Huber -- Huber, "Robust Estimation of a Location Parameter", 1964.
* LogCosh -- log-cosh regression loss (e.g. Chen et al., "Log Hyperbolic Cosine Loss", 2018).
* GNLL -- Gaussian negative log-likelihood (PyTorch's ``gaussian_nll_loss``; Nix & Weigend 1994).
* ELU -- Clevert, Unterthiner, Hochreiter, "Fast and Accurate Deep Network Learning by ELUs", 2016.
* Mish -- Misra, "Mish: A Self Regularized Non-Monotonic Activation Function", 2019.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp


def R(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


x, y, w, b, z, p, a, c, t, v, s = (
    R(n) for n in ["x", "y", "w", "b", "z", "p", "a", "c", "t", "v", "s"]
)
x1, x2, w1, w2, w3, z1, z2 = (R(n) for n in ["x_1", "x_2", "w_1", "w_2", "w_3", "z_1", "z_2"])
lam, lam1, lam2, mu, sig, beta, gam, alpha = (
    R(n) for n in ["lambda", "lambda_1", "lambda_2", "mu", "sigma", "beta", "gamma", "alpha"]
)
B11, B12, B21, B22 = (R(n) for n in ["B_11", "B_12", "B_21", "B_22"])
a1, a2, m, yhat = R("a_1"), R("a_2"), R("m"), R("yhat")
Z, Y, X, T = (sp.IndexedBase(n, real=True) for n in ["z", "y", "x", "t"])
N = R("N")


def sg(u):
    """The sigmoid, written out (the twin does not use symlearn's sigmoid)."""
    return 1 / (1 + sp.exp(-u))


def step(u):
    """1 where u > 0, else 0 (breakpoints are never sampled)."""
    return sp.Piecewise((1, u > 0), (0, True))


@dataclass
class Case:
    name: str
    ref: str
    loss: str
    wrt: str
    claim: str
    twin: Callable[[int], tuple]  # K -> (loss, wrt, claim) in SymPy
    slip: str | None  # None for a correct claim, else the kind of slip planted
    assume: tuple = ()
    let: tuple = ()
    domain: dict = field(default_factory=dict)  # twin symbol -> (lo, hi) for the twin's points
    sizes: tuple = (None,)  # K values for the twin (None: no sum)
    require: tuple = ()  # twin relations a point must satisfy (the twin's own --assume)
    family: str = ""


CASES: list[Case] = []


def fam(
    name,
    ref,
    loss,
    wrt,
    twin_loss,
    twin_wrt,
    claims,
    *,
    assume=(),
    let=(),
    domain=None,
    sizes=(None,),
    require=(),
):
    """A family: one loss, several claims ``(suffix, claim_tex, twin_claim, slip)``. With sizes,
    ``twin_loss`` and each ``twin_claim`` are functions of K."""
    for suffix, claim_tex, twin_claim, slip in claims:
        if sizes == (None,):

            def twin(K, L=twin_loss, C=twin_claim):
                return L, twin_wrt, C
        else:

            def twin(K, L=twin_loss, C=twin_claim):
                return L(K), (twin_wrt(K) if callable(twin_wrt) else twin_wrt), C(K)

        CASES.append(
            Case(
                f"{name}_{suffix}",
                ref,
                loss,
                wrt,
                claim_tex,
                twin,
                slip,
                tuple(assume),
                tuple(let),
                dict(domain or {}),
                tuple(sizes),
                tuple(require),
                name,
            )
        )


def ok(suffix, tex, twin):
    return (suffix, tex, twin, None)


def slip(kind, tex, twin):
    return (kind, tex, twin, kind)


# ---------------------------------------------------------------------------------------------
# CS231n: linear classifiers, SVM, softmax, gates

fam(
    "lin_mse_w",
    "CS231n",
    r"\frac{1}{2}(wx+b-y)^2",
    "w",
    (w * x + b - y) ** 2 / 2,
    w,
    [
        ok("ok", r"x(wx+b-y)", x * (w * x + b - y)),
        ok("expanded", r"wx^2 + bx - xy", w * x**2 + b * x - x * y),
        slip("chain", r"wx+b-y", w * x + b - y),
        slip("sign", r"x(y-wx-b)", x * (y - w * x - b)),
    ],
)
fam(
    "lin_mse_b",
    "CS231n",
    r"\frac{1}{2}(wx+b-y)^2",
    "b",
    (w * x + b - y) ** 2 / 2,
    b,
    [
        ok("ok", r"wx+b-y", w * x + b - y),
        slip("factor", r"2(wx+b-y)", 2 * (w * x + b - y)),
    ],
)
HINGE = 1 - y * (w * x + b)
fam(
    "svm_hinge_w",
    "CS231n",
    r"\max(0, 1 - y(wx+b))",
    "w",
    sp.Max(0, HINGE),
    w,
    [
        ok(
            "ok",
            r"\begin{cases} -yx & y(wx+b) < 1 \\ 0 & \text{otherwise} \end{cases}",
            sp.Piecewise((-y * x, y * (w * x + b) < 1), (0, True)),
        ),
        slip("clip", r"-yx", -y * x),
        slip(
            "region",
            r"\begin{cases} -yx & y(wx+b) > 1 \\ 0 & \text{otherwise} \end{cases}",
            sp.Piecewise((-y * x, y * (w * x + b) > 1), (0, True)),
        ),
        slip(
            "sign",
            r"\begin{cases} yx & y(wx+b) < 1 \\ 0 & \text{otherwise} \end{cases}",
            sp.Piecewise((y * x, y * (w * x + b) < 1), (0, True)),
        ),
    ],
)
fam(
    "svm_hinge_b",
    "CS231n",
    r"\max(0, 1 - y(wx+b))",
    "b",
    sp.Max(0, HINGE),
    b,
    [
        ok("ok", r"-y\operatorname{relu}(\operatorname{sign}(1 - y(wx+b)))", -y * step(HINGE)),
        slip("chain", r"-\operatorname{relu}(\operatorname{sign}(1 - y(wx+b)))", -step(HINGE)),
    ],
)
MC = sp.Max(0, w2 * x - w1 * x + 1)
fam(
    "multiclass_svm_w1",
    "CS231n",
    r"\max(0, w_2x - w_1x + 1)",
    "w_1",
    MC,
    w1,
    [
        ok(
            "ok",
            r"\begin{cases} -x & w_2x - w_1x + 1 > 0 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((-x, w2 * x - w1 * x + 1 > 0), (0, True)),
        ),
        slip(
            "sign",
            r"\begin{cases} x & w_2x - w_1x + 1 > 0 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((x, w2 * x - w1 * x + 1 > 0), (0, True)),
        ),
        slip("clip", "-x", -x),
    ],
)
fam(
    "multiclass_svm_w2",
    "CS231n",
    r"\max(0, w_2x - w_1x + 1)",
    "w_2",
    MC,
    w2,
    [
        ok(
            "ok",
            r"x\operatorname{relu}(\operatorname{sign}(w_2x - w_1x + 1))",
            x * step(w2 * x - w1 * x + 1),
        ),
        slip(
            "region",
            r"x\operatorname{relu}(\operatorname{sign}(w_2x - w_1x))",
            x * step(w2 * x - w1 * x),
        ),
    ],
)


def softmax(K, k):
    return sp.exp(Z[k]) / sp.Add(*[sp.exp(Z[j]) for j in range(1, K + 1)])


P1 = r"\frac{e^{z_1}}{\sum_{j=1}^{K} e^{z_j}}"
P2 = r"\frac{e^{z_2}}{\sum_{j=1}^{K} e^{z_j}}"
SIZES = (2, 3, 5)
fam(
    "softmax_p1_z1",
    "CS231n",
    P1,
    "z_1",
    lambda K: softmax(K, 1),
    Z[1],
    [
        ok(
            "ok",
            P1 + r"\left(1 - " + P1 + r"\right)",
            lambda K: softmax(K, 1) * (1 - softmax(K, 1)),
        ),
        ok(
            "exp_form",
            r"\frac{e^{z_1}\sum_{j=1}^{K} e^{z_j} - e^{2z_1}}{(\sum_{j=1}^{K} e^{z_j})^2}",
            lambda K: softmax(K, 1) - softmax(K, 1) ** 2,
        ),
        slip("term", P1, lambda K: softmax(K, 1)),
        slip(
            "sign",
            P1 + r"\left(" + P1 + r" - 1\right)",
            lambda K: softmax(K, 1) * (softmax(K, 1) - 1),
        ),
    ],
    sizes=SIZES,
)
fam(
    "softmax_p1_z2",
    "CS231n",
    P1,
    "z_2",
    lambda K: softmax(K, 1),
    Z[2],
    [
        ok("ok", "-" + P1 + P2, lambda K: -softmax(K, 1) * softmax(K, 2)),
        slip("sign", P1 + P2, lambda K: softmax(K, 1) * softmax(K, 2)),
        slip(
            "variable",
            P2 + r"\left(1 - " + P2 + r"\right)",
            lambda K: softmax(K, 2) * (1 - softmax(K, 2)),
        ),
    ],
    sizes=SIZES,
)
fam(
    "softmax_ce_z1",
    "CS231n",
    r"-\log" + P1,
    "z_1",
    lambda K: -sp.log(softmax(K, 1)),
    Z[1],
    [
        ok("ok", P1 + " - 1", lambda K: softmax(K, 1) - 1),
        slip("sign", "1 - " + P1, lambda K: 1 - softmax(K, 1)),
        slip("term", P1, lambda K: softmax(K, 1)),
    ],
    sizes=SIZES,
)
fam(
    "softmax_ce_z2",
    "CS231n",
    r"-\log" + P1,
    "z_2",
    lambda K: -sp.log(softmax(K, 1)),
    Z[2],
    [
        ok("ok", P2, lambda K: softmax(K, 2)),
        slip("sign", "-" + P2, lambda K: -softmax(K, 2)),
    ],
    sizes=SIZES,
)
fam(
    "log_softmax_z1",
    "CS231n",
    r"z_1 - \log\sum_{j=1}^{K} e^{z_j}",
    "z_1",
    lambda K: Z[1] - sp.log(sp.Add(*[sp.exp(Z[j]) for j in range(1, K + 1)])),
    Z[1],
    [
        ok("ok", "1 - " + P1, lambda K: 1 - softmax(K, 1)),
        slip("term", "-" + P1, lambda K: -softmax(K, 1)),
    ],
    sizes=SIZES,
)
fam(
    "sigmoid_gate",
    "CS231n",
    r"\sigma(x)",
    "x",
    sg(x),
    x,
    [
        ok("ok", r"\sigma(x)(1-\sigma(x))", sg(x) * (1 - sg(x))),
        ok("exp_form", r"\frac{e^{-x}}{(1+e^{-x})^2}", sp.exp(-x) / (1 + sp.exp(-x)) ** 2),
        slip("term", r"\sigma(x)", sg(x)),
        slip("sign", r"\sigma(x)(\sigma(x)-1)", sg(x) * (sg(x) - 1)),
    ],
)
fam(
    "tanh_gate",
    "CS231n",
    r"\tanh(wx)",
    "w",
    sp.tanh(w * x),
    w,
    [
        ok("ok", r"x(1-\tanh^2(wx))", x * (1 - sp.tanh(w * x) ** 2)),
        slip("chain", r"1-\tanh^2(wx)", 1 - sp.tanh(w * x) ** 2),
        slip("sign", r"x(1+\tanh^2(wx))", x * (1 + sp.tanh(w * x) ** 2)),
    ],
)
fam(
    "relu_neuron_w",
    "CS231n",
    r"\operatorname{relu}(wx+b)",
    "w",
    sp.Max(0, w * x + b),
    w,
    [
        ok(
            "ok",
            r"\begin{cases} x & wx+b > 0 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((x, w * x + b > 0), (0, True)),
        ),
        slip("clip", "x", x),
        slip(
            "chain",
            r"\begin{cases} 1 & wx+b > 0 \\ 0 & \text{otherwise}\end{cases}",
            step(w * x + b),
        ),
    ],
)
fam(
    "relu_neuron_b",
    "CS231n",
    r"\max(0, wx+b)",
    "b",
    sp.Max(0, w * x + b),
    b,
    [
        ok("ok", r"\frac{1}{2}\left(1 + \frac{wx+b}{|wx+b|}\right)", step(w * x + b)),
        slip("region", r"\frac{1}{2}\left(1 - \frac{wx+b}{|wx+b|}\right)", step(-(w * x + b))),
    ],
)

# ---------------------------------------------------------------------------------------------
# Goodfellow et al. ch. 6 and 7: hidden units, output units, norm penalties

fam(
    "abs_rectification",
    "GBC6",
    r"|z|",
    "z",
    sp.Abs(z),
    z,
    [
        ok("ok", r"\operatorname{sign}(z)", sp.sign(z)),
        ok("ratio", r"\frac{z}{|z|}", z / sp.Abs(z)),
        slip("region", "1", sp.S.One),
    ],
)
fam(
    "leaky_relu",
    "Leaky",
    r"\max(0.01x, x)",
    "x",
    sp.Max(x / 100, x),
    x,
    [
        ok(
            "ok",
            r"\begin{cases} 1 & x > 0 \\ 0.01 & \text{otherwise}\end{cases}",
            sp.Piecewise((1, x > 0), (sp.Rational(1, 100), True)),
        ),
        slip("region", r"\begin{cases} 1 & x > 0 \\ 0 & \text{otherwise}\end{cases}", step(x)),
        slip(
            "sign",
            r"\begin{cases} 1 & x < 0 \\ 0.01 & \text{otherwise}\end{cases}",
            sp.Piecewise((1, x < 0), (sp.Rational(1, 100), True)),
        ),
    ],
)
fam(
    "leaky_relu_neuron",
    "Leaky",
    r"\max(0.1(wx+b), wx+b)",
    "w",
    sp.Max((w * x + b) / 10, w * x + b),
    w,
    [
        ok(
            "ok",
            r"\begin{cases} x & wx+b > 0 \\ 0.1x & \text{otherwise}\end{cases}",
            sp.Piecewise((x, w * x + b > 0), (x / 10, True)),
        ),
        slip(
            "chain",
            r"\begin{cases} 1 & wx+b > 0 \\ 0.1 & \text{otherwise}\end{cases}",
            sp.Piecewise((1, w * x + b > 0), (sp.Rational(1, 10), True)),
        ),
    ],
)
fam(
    "maxout_z1",
    "GBC6",
    r"\max(z_1, z_2)",
    "z_1",
    sp.Max(z1, z2),
    z1,
    [
        ok("ok", r"\begin{cases} 1 & z_1 > z_2 \\ 0 & \text{otherwise}\end{cases}", step(z1 - z2)),
        slip(
            "region",
            r"\begin{cases} 1 & z_1 < z_2 \\ 0 & \text{otherwise}\end{cases}",
            step(z2 - z1),
        ),
        slip("factor", r"\frac{1}{2}", sp.S.Half),
    ],
)
fam(
    "maxout3_z2",
    "GBC6",
    r"\max(z_1, \max(z_2, z))",
    "z_2",
    sp.Max(z1, z2, z),
    z2,
    [
        ok(
            "ok",
            r"\operatorname{relu}(\operatorname{sign}(z_2 - z_1))"
            r"\operatorname{relu}(\operatorname{sign}(z_2 - z))",
            step(z2 - z1) * step(z2 - z),
        ),
        slip("region", r"\operatorname{relu}(\operatorname{sign}(z_2 - z_1))", step(z2 - z1)),
    ],
)
fam(
    "hard_tanh",
    "GBC6",
    r"\max(-1, \min(1, x))",
    "x",
    sp.Max(-1, sp.Min(1, x)),
    x,
    [
        ok(
            "ok",
            r"\begin{cases} 1 & -1 < x < 1 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((1, (x > -1) & (x < 1)), (0, True)),
        ),
        slip("clip", "1", sp.S.One),
        slip(
            "region",
            r"\begin{cases} 1 & 0 < x < 1 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((1, (x > 0) & (x < 1)), (0, True)),
        ),
    ],
)
fam(
    "l2_penalty",
    "GBC6",
    r"\frac{\alpha}{2}w^2 + \frac{1}{2}(wx-y)^2",
    "w",
    alpha * w**2 / 2 + (w * x - y) ** 2 / 2,
    w,
    [
        ok("ok", r"\alpha w + x(wx-y)", alpha * w + x * (w * x - y)),
        slip("term", r"x(wx-y)", x * (w * x - y)),
        slip("factor", r"\frac{\alpha}{2} w + x(wx-y)", alpha * w / 2 + x * (w * x - y)),
    ],
)
fam(
    "l1_penalty",
    "GBC6",
    r"\lambda |w| + (wx-y)^2",
    "w",
    lam * sp.Abs(w) + (w * x - y) ** 2,
    w,
    [
        ok(
            "ok",
            r"\lambda\operatorname{sign}(w) + 2x(wx-y)",
            lam * sp.sign(w) + 2 * x * (w * x - y),
        ),
        slip("region", r"\lambda + 2x(wx-y)", lam + 2 * x * (w * x - y)),
    ],
)
fam(
    "elastic_net",
    "GBC6",
    r"\lambda_1|w| + \lambda_2 w^2",
    "w",
    lam1 * sp.Abs(w) + lam2 * w**2,
    w,
    [
        ok("ok", r"\lambda_1\mathrm{sgn}(w) + 2\lambda_2 w", lam1 * sp.sign(w) + 2 * lam2 * w),
        slip("factor", r"\lambda_1\mathrm{sgn}(w) + \lambda_2 w", lam1 * sp.sign(w) + lam2 * w),
    ],
)
fam(
    "bernoulli_output",
    "GBC6",
    r"\operatorname{softplus}((1-2y)z)",
    "z",
    sp.log(1 + sp.exp((1 - 2 * y) * z)),
    z,
    [
        ok("ok", r"(1-2y)\sigma((1-2y)z)", (1 - 2 * y) * sg((1 - 2 * y) * z)),
        slip("chain", r"\sigma((1-2y)z)", sg((1 - 2 * y) * z)),
    ],
)
fam(
    "two_layer_relu",
    "GBC6",
    r"\frac{1}{2}(v\operatorname{relu}(wx) - y)^2",
    "w",
    (v * sp.Max(0, w * x) - y) ** 2 / 2,
    w,
    [
        ok(
            "ok",
            r"(v\operatorname{relu}(wx) - y)\, v x \begin{cases} 1 & wx > 0 \\ 0 & "
            r"\text{otherwise}\end{cases}",
            (v * sp.Max(0, w * x) - y) * v * x * step(w * x),
        ),
        slip("clip", r"(v\operatorname{relu}(wx) - y) v x", (v * sp.Max(0, w * x) - y) * v * x),
        slip(
            "chain",
            r"(v\operatorname{relu}(wx) - y) x \begin{cases} 1 & wx > 0 \\ 0 & "
            r"\text{otherwise}\end{cases}",
            (v * sp.Max(0, w * x) - y) * x * step(w * x),
        ),
    ],
)
fam(
    "two_layer_tanh",
    "PRML5",
    r"\frac{1}{2}(v\tanh(wx) - y)^2",
    "w",
    (v * sp.tanh(w * x) - y) ** 2 / 2,
    w,
    [
        ok(
            "ok",
            r"(v\tanh(wx) - y) v (1-\tanh^2(wx)) x",
            (v * sp.tanh(w * x) - y) * v * (1 - sp.tanh(w * x) ** 2) * x,
        ),
        slip(
            "chain",
            r"(v\tanh(wx) - y) v (1-\tanh^2(wx))",
            (v * sp.tanh(w * x) - y) * v * (1 - sp.tanh(w * x) ** 2),
        ),
    ],
)
fam(
    "two_layer_tanh_v",
    "PRML5",
    r"\frac{1}{2}(v\tanh(wx) - y)^2",
    "v",
    (v * sp.tanh(w * x) - y) ** 2 / 2,
    v,
    [
        ok("ok", r"(v\tanh(wx) - y)\tanh(wx)", (v * sp.tanh(w * x) - y) * sp.tanh(w * x)),
        slip(
            "variable",
            r"(v\tanh(wx) - y) v (1-\tanh^2(wx)) x",
            (v * sp.tanh(w * x) - y) * v * (1 - sp.tanh(w * x) ** 2) * x,
        ),
    ],
)

# ---------------------------------------------------------------------------------------------
# PRML ch. 4-5: logistic regression, softmax regression, sum-of-squares error

BCE_Z = -y * sp.log(sg(z)) - (1 - y) * sp.log(1 - sg(z))
fam(
    "bce_logit",
    "PRML4",
    r"-y\log\sigma(z) - (1-y)\log(1-\sigma(z))",
    "z",
    BCE_Z,
    z,
    [
        ok("ok", r"\sigma(z) - y", sg(z) - y),
        slip("sign", r"y - \sigma(z)", y - sg(z)),
        slip("term", r"-y(1-\sigma(z))", -y * (1 - sg(z))),
    ],
)
fam(
    "bce_prob",
    "PRML4",
    r"-y\log p - (1-y)\log(1-p)",
    "p",
    -y * sp.log(p) - (1 - y) * sp.log(1 - p),
    p,
    [
        ok("ok", r"\frac{p-y}{p(1-p)}", (p - y) / (p * (1 - p))),
        ok("split", r"-\frac{y}{p} + \frac{1-y}{1-p}", -y / p + (1 - y) / (1 - p)),
        slip("sign", r"-\frac{y}{p} - \frac{1-y}{1-p}", -y / p - (1 - y) / (1 - p)),
        slip("term", r"-\frac{y}{p}", -y / p),
    ],
    assume=("0<p<1",),
    domain={p: (0.001, 0.999)},
)
ZL = w * x + b
fam(
    "logreg_w",
    "PRML4",
    r"-y\log\sigma(wx+b) - (1-y)\log(1-\sigma(wx+b))",
    "w",
    -y * sp.log(sg(ZL)) - (1 - y) * sp.log(1 - sg(ZL)),
    w,
    [
        ok("ok", r"x(\sigma(wx+b) - y)", x * (sg(ZL) - y)),
        slip("chain", r"\sigma(wx+b) - y", sg(ZL) - y),
        slip("sign", r"x(y - \sigma(wx+b))", x * (y - sg(ZL))),
    ],
)
Z2 = w1 * x1 + w2 * x2 + b
fam(
    "logreg_let_w2",
    "PRML4",
    r"-y\log\sigma(z) - (1-y)\log(1-\sigma(z))",
    "w_2",
    -y * sp.log(sg(Z2)) - (1 - y) * sp.log(1 - sg(Z2)),
    w2,
    [
        ok("ok", r"x_2(\sigma(z) - y)", x2 * (sg(Z2) - y)),
        slip("variable", r"x_1(\sigma(z) - y)", x1 * (sg(Z2) - y)),
        slip("chain", r"\sigma(z) - y", sg(Z2) - y),
    ],
    let=("z=w_1x_1+w_2x_2+b",),
)
fam(
    "logreg_yhat_w",
    "PRML4",
    r"-y\log\hat{y} - (1-y)\log(1-\hat{y})",
    "w",
    -y * sp.log(sg(ZL)) - (1 - y) * sp.log(1 - sg(ZL)),
    w,
    [
        ok("ok", r"x(\hat{y} - y)", x * (sg(ZL) - y)),
        slip("chain", r"\hat{y} - y", sg(ZL) - y),
    ],
    let=(r"\hat{y}=\sigma(z)", "z=wx+b"),
)


def ce_classes(K):
    return -sp.Add(*[Y[k] * sp.log(softmax(K, k)) for k in range(1, K + 1)])


fam(
    "softmax_regression_ce_z1",
    "PRML4",
    r"-\sum_{k=1}^{K} y_k\log\frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}",
    "z_1",
    ce_classes,
    Z[1],
    [
        ok(
            "ok",
            P1 + r"\sum_{k=1}^{K} y_k - y_1",
            lambda K: softmax(K, 1) * sp.Add(*[Y[k] for k in range(1, K + 1)]) - Y[1],
        ),
        slip("term", P1 + " - y_1", lambda K: softmax(K, 1) - Y[1]),  # needs sum y = 1
        slip(
            "sign",
            "y_1 - " + P1 + r"\sum_{k=1}^{K} y_k",
            lambda K: Y[1] - softmax(K, 1) * sp.Add(*[Y[k] for k in range(1, K + 1)]),
        ),
    ],
    sizes=SIZES,
)


def sse(K):
    return sp.Add(*[(w * X[n] - T[n]) ** 2 for n in range(1, K + 1)]) / 2


fam(
    "sum_of_squares_w",
    "PRML5",
    r"\frac{1}{2}\sum_{n=1}^{N}(w x_n - t_n)^2",
    "w",
    sse,
    w,
    [
        ok(
            "ok",
            r"\sum_{n=1}^{N} x_n(w x_n - t_n)",
            lambda K: sp.Add(*[X[n] * (w * X[n] - T[n]) for n in range(1, K + 1)]),
        ),
        slip(
            "chain",
            r"\sum_{n=1}^{N} (w x_n - t_n)",
            lambda K: sp.Add(*[(w * X[n] - T[n]) for n in range(1, K + 1)]),
        ),
        slip(
            "factor",
            r"2\sum_{n=1}^{N} x_n(w x_n - t_n)",
            lambda K: 2 * sp.Add(*[X[n] * (w * X[n] - T[n]) for n in range(1, K + 1)]),
        ),
    ],
    sizes=SIZES,
)


def mse_mean(K):
    return sp.Add(*[(Y[i] - w * X[i] - b) ** 2 for i in range(1, K + 1)]) / K


fam(
    "least_squares_mean_b",
    "PRML5",
    r"\frac{1}{n}\sum_{i=1}^{n}(y_i - w x_i - b)^2",
    "b",
    mse_mean,
    b,
    [
        ok(
            "ok",
            r"-\frac{2}{n}\sum_{i=1}^{n}(y_i - w x_i - b)",
            lambda K: -2 * sp.Add(*[(Y[i] - w * X[i] - b) for i in range(1, K + 1)]) / K,
        ),
        slip(
            "1/N",
            r"-2\sum_{i=1}^{n}(y_i - w x_i - b)",
            lambda K: -2 * sp.Add(*[(Y[i] - w * X[i] - b) for i in range(1, K + 1)]),
        ),
        slip(
            "sign",
            r"\frac{2}{n}\sum_{i=1}^{n}(y_i - w x_i - b)",
            lambda K: 2 * sp.Add(*[(Y[i] - w * X[i] - b) for i in range(1, K + 1)]) / K,
        ),
    ],
    sizes=SIZES,
)
fam(
    "least_squares_implicit_w",
    "PRML5",
    r"\frac{1}{2}\sum_i (y_i - w x_i)^2",
    "w",
    lambda K: sp.Add(*[(Y[i] - w * X[i]) ** 2 for i in range(1, K + 1)]) / 2,
    w,
    [
        ok(
            "ok",
            r"-\sum_i x_i(y_i - w x_i)",
            lambda K: -sp.Add(*[X[i] * (Y[i] - w * X[i]) for i in range(1, K + 1)]),
        ),
        ok(
            "explicit_bound",
            r"\sum_{i=1}^{n} (w x_i^2 - x_i y_i)",
            lambda K: sp.Add(*[(w * X[i] ** 2 - X[i] * Y[i]) for i in range(1, K + 1)]),
        ),
        slip(
            "sign",
            r"\sum_i x_i(y_i - w x_i)",
            lambda K: sp.Add(*[X[i] * (Y[i] - w * X[i]) for i in range(1, K + 1)]),
        ),
    ],
    sizes=SIZES,
)
fam(
    "ridge_sum_w",
    "PRML5",
    r"\sum_{i=1}^{n}(y_i - w x_i)^2 + \lambda w^2",
    "w",
    lambda K: sp.Add(*[(Y[i] - w * X[i]) ** 2 for i in range(1, K + 1)]) + lam * w**2,
    w,
    [
        ok(
            "ok",
            r"-2\sum_{i=1}^{n}x_i(y_i - w x_i) + 2\lambda w",
            lambda K: (
                -2 * sp.Add(*[X[i] * (Y[i] - w * X[i]) for i in range(1, K + 1)]) + 2 * lam * w
            ),
        ),
        slip(
            "term",
            r"-2\sum_{i=1}^{n}x_i(y_i - w x_i)",
            lambda K: -2 * sp.Add(*[X[i] * (Y[i] - w * X[i]) for i in range(1, K + 1)]),
        ),
    ],
    sizes=SIZES,
)
fam(
    "product_likelihood",
    "PRML4",
    r"\prod_{i=1}^{n} \sigma(w x_i)",
    "w",
    lambda K: sp.Mul(*[sg(w * X[i]) for i in range(1, K + 1)]),
    w,
    [
        ok(
            "ok",
            r"\left(\prod_{i=1}^{n}\sigma(w x_i)\right) \sum_{i=1}^{n} x_i(1-\sigma(w x_i))",
            lambda K: (
                sp.Mul(*[sg(w * X[i]) for i in range(1, K + 1)])
                * sp.Add(*[X[i] * (1 - sg(w * X[i])) for i in range(1, K + 1)])
            ),
        ),
        slip(
            "chain",
            r"\left(\prod_{i=1}^{n}\sigma(w x_i)\right) \sum_{i=1}^{n} (1-\sigma(w x_i))",
            lambda K: (
                sp.Mul(*[sg(w * X[i]) for i in range(1, K + 1)])
                * sp.Add(*[(1 - sg(w * X[i])) for i in range(1, K + 1)])
            ),
        ),
    ],
    sizes=(2, 3),
)
fam(
    "poisson_nll",
    "PRML4",
    r"\lambda - y\log\lambda",
    r"\lambda",
    lam - y * sp.log(lam),
    lam,
    [
        ok("ok", r"1 - \frac{y}{\lambda}", 1 - y / lam),
        slip("chain", "1 - y", 1 - y),
        slip("sign", r"1 + \frac{y}{\lambda}", 1 + y / lam),
    ],
    assume=(r"\lambda > 0",),
    domain={lam: (0.001, 1000)},
)
fam(
    "exp_loss",
    "PRML4",
    r"e^{-y(wx+b)}",
    "w",
    sp.exp(-y * ZL),
    w,
    [
        ok("ok", r"-yxe^{-y(wx+b)}", -y * x * sp.exp(-y * ZL)),
        slip("chain", r"e^{-y(wx+b)}", sp.exp(-y * ZL)),
        slip("sign", r"yxe^{-y(wx+b)}", y * x * sp.exp(-y * ZL)),
    ],
)
fam(
    "binary_entropy",
    "PRML4",
    r"-p\log p - (1-p)\log(1-p)",
    "p",
    -p * sp.log(p) - (1 - p) * sp.log(1 - p),
    p,
    [
        ok("ok", r"\log\frac{1-p}{p}", sp.log((1 - p) / p)),
        slip("sign", r"\log\frac{p}{1-p}", sp.log(p / (1 - p))),
        slip("term", r"-\log p - 1", -sp.log(p) - 1),
    ],
    assume=("0<p<1",),
    domain={p: (0.001, 0.999)},
)
fam(
    "log_sigmoid",
    "PRML4",
    r"\log\sigma(x)",
    "x",
    sp.log(sg(x)),
    x,
    [
        ok("ok", r"1-\sigma(x)", 1 - sg(x)),
        ok("neg", r"\sigma(-x)", sg(-x)),
        slip("term", r"\sigma(x)", sg(x)),
    ],
)

# ---------------------------------------------------------------------------------------------
# Matrix Cookbook, scalar forms (sec. 2.4: d(x^T a)/dx = a, d(x^T B x)/dx = (B + B^T) x, ...)

fam(
    "mc_linear",
    "MC",
    r"a_1 x_1 + a_2 x_2",
    "x_1",
    a1 * x1 + a2 * x2,
    x1,
    [
        ok("ok", "a_1", a1),
        slip("variable", "a_2", a2),
    ],
)
QF = B11 * x1**2 + (B12 + B21) * x1 * x2 + B22 * x2**2
fam(
    "mc_quadratic_form",
    "MC",
    r"B_{11}x_1^2 + (B_{12}+B_{21})x_1x_2 + B_{22}x_2^2",
    "x_1",
    QF,
    x1,
    [
        ok("ok", r"2B_{11}x_1 + (B_{12}+B_{21})x_2", 2 * B11 * x1 + (B12 + B21) * x2),
        slip("term", r"2B_{11}x_1 + 2B_{12}x_2", 2 * B11 * x1 + 2 * B12 * x2),
        slip("factor", r"B_{11}x_1 + (B_{12}+B_{21})x_2", B11 * x1 + (B12 + B21) * x2),
    ],
)
fam(
    "mc_squared_norm",
    "MC",
    r"(x_1-a_1)^2 + (x_2-a_2)^2",
    "x_1",
    (x1 - a1) ** 2 + (x2 - a2) ** 2,
    x1,
    [
        ok("ok", r"2(x_1-a_1)", 2 * (x1 - a1)),
        slip("factor", r"x_1-a_1", x1 - a1),
        slip("sign", r"2(a_1-x_1)", 2 * (a1 - x1)),
    ],
)
fam(
    "mc_norm",
    "MC",
    r"\sqrt{x_1^2 + x_2^2}",
    "x_1",
    sp.sqrt(x1**2 + x2**2),
    x1,
    [
        ok("ok", r"\frac{x_1}{\sqrt{x_1^2+x_2^2}}", x1 / sp.sqrt(x1**2 + x2**2)),
        slip("term", r"\frac{x_1}{x_1^2+x_2^2}", x1 / (x1**2 + x2**2)),
        slip("factor", r"\frac{2x_1}{\sqrt{x_1^2+x_2^2}}", 2 * x1 / sp.sqrt(x1**2 + x2**2)),
    ],
)
fam(
    "mc_bilinear",
    "MC",
    r"a_1 w_1 x_1 + a_1 w_2 x_2 + a_2 w_3 x_1",
    "w_1",
    a1 * w1 * x1 + a1 * w2 * x2 + a2 * w3 * x1,
    w1,
    [
        ok("ok", "a_1x_1", a1 * x1),
        slip("variable", "a_1x_2", a1 * x2),
    ],
)
fam(
    "mc_log_det_scalar",
    "MC",
    r"\log|x|",
    "x",
    sp.log(sp.Abs(x)),
    x,
    [
        ok("ok", r"\frac{1}{x}", 1 / x),
        slip("region", r"\frac{1}{|x|}", 1 / sp.Abs(x)),
    ],
)
fam(
    "mc_inverse",
    "MC",
    r"\frac{a}{x}",
    "x",
    a / x,
    x,
    [
        ok("ok", r"-\frac{a}{x^2}", -a / x**2),
        slip("sign", r"\frac{a}{x^2}", a / x**2),
    ],
)
fam(
    "mc_power",
    "MC",
    r"(ax+c)^3",
    "x",
    (a * x + c) ** 3,
    x,
    [
        ok("ok", r"3a(ax+c)^2", 3 * a * (a * x + c) ** 2),
        slip("chain", r"3(ax+c)^2", 3 * (a * x + c) ** 2),
    ],
)
fam(
    "mc_trace_quadratic",
    "MC",
    r"w_1^2 + w_2^2 + 2w_1w_2c",
    "w_1",
    w1**2 + w2**2 + 2 * w1 * w2 * c,
    w1,
    [
        ok("ok", r"2w_1 + 2w_2c", 2 * w1 + 2 * w2 * c),
        slip("factor", r"2w_1 + w_2c", 2 * w1 + w2 * c),
    ],
)

# ---------------------------------------------------------------------------------------------
# Activation papers: GELU, Swish, ReLU6, ELU, Mish

GELU = x / 2 * (1 + sp.erf(x / sp.sqrt(2)))
fam(
    "gelu_exact",
    "GELU",
    r"\frac{x}{2}\left(1+\operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right)",
    "x",
    GELU,
    x,
    [
        ok(
            "ok",
            r"\frac{1}{2}\left(1+\operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right) + "
            r"\frac{x e^{-x^2/2}}{\sqrt{2\pi}}",
            (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi),
        ),
        slip(
            "term",
            r"\frac{1}{2}\left(1+\operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right)",
            (1 + sp.erf(x / sp.sqrt(2))) / 2,
        ),
        slip(
            "chain",
            r"\frac{1}{2}\left(1+\operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right)"
            r" + \frac{x e^{-x^2/2}}{\sqrt{\pi}}",
            (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-(x**2) / 2) / sp.sqrt(sp.pi),
        ),
    ],
)
U = sp.sqrt(2 / sp.pi) * (x + sp.Rational(44715, 10**6) * x**3)
GELU_T = x / 2 * (1 + sp.tanh(U))
U_TEX = r"\sqrt{\frac{2}{\pi}}(x+0.044715x^3)"
fam(
    "gelu_tanh",
    "GELU",
    r"\frac{x}{2}(1+\tanh(" + U_TEX + "))",
    "x",
    GELU_T,
    x,
    [
        ok(
            "ok",
            r"\frac{1}{2}(1+\tanh("
            + U_TEX
            + r")) + \frac{x}{2}(1-\tanh^2("
            + U_TEX
            + r"))\sqrt{\frac{2}{\pi}}(1+0.134145x^2)",
            (1 + sp.tanh(U)) / 2
            + x
            / 2
            * (1 - sp.tanh(U) ** 2)
            * sp.sqrt(2 / sp.pi)
            * (1 + sp.Rational(134145, 10**6) * x**2),
        ),
        slip(
            "chain",
            r"\frac{1}{2}(1+\tanh(" + U_TEX + r")) + \frac{x}{2}(1-\tanh^2(" + U_TEX + r"))",
            (1 + sp.tanh(U)) / 2 + x / 2 * (1 - sp.tanh(U) ** 2),
        ),
    ],
)
fam(
    "swish_x",
    "Swish",
    r"x\sigma(\beta x)",
    "x",
    x * sg(beta * x),
    x,
    [
        ok(
            "ok",
            r"\sigma(\beta x) + \beta x\sigma(\beta x)(1-\sigma(\beta x))",
            sg(beta * x) + beta * x * sg(beta * x) * (1 - sg(beta * x)),
        ),
        slip(
            "chain",
            r"\sigma(\beta x) + x\sigma(\beta x)(1-\sigma(\beta x))",
            sg(beta * x) + x * sg(beta * x) * (1 - sg(beta * x)),
        ),
        slip(
            "term",
            r"\beta x\sigma(\beta x)(1-\sigma(\beta x))",
            beta * x * sg(beta * x) * (1 - sg(beta * x)),
        ),
    ],
)
fam(
    "swish_beta",
    "Swish",
    r"x\sigma(\beta x)",
    r"\beta",
    x * sg(beta * x),
    beta,
    [
        ok(
            "ok", r"x^2\sigma(\beta x)(1-\sigma(\beta x))", x**2 * sg(beta * x) * (1 - sg(beta * x))
        ),
        slip(
            "chain", r"x\sigma(\beta x)(1-\sigma(\beta x))", x * sg(beta * x) * (1 - sg(beta * x))
        ),
    ],
)
fam(
    "silu",
    "Swish",
    r"x\sigma(x)",
    "x",
    x * sg(x),
    x,
    [
        ok("ok", r"\sigma(x)(1 + x(1-\sigma(x)))", sg(x) * (1 + x * (1 - sg(x)))),
        slip("term", r"x\sigma(x)(1-\sigma(x))", x * sg(x) * (1 - sg(x))),
    ],
)
fam(
    "relu6",
    "ReLU6",
    r"\min(\max(0,x),6)",
    "x",
    sp.Min(sp.Max(0, x), 6),
    x,
    [
        ok(
            "ok",
            r"\begin{cases} 1 & 0 < x < 6 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((1, (x > 0) & (x < 6)), (0, True)),
        ),
        slip("clip", r"\frac{1}{2}\left(1+\frac{x}{|x|}\right)", step(x)),
        slip(
            "region",
            r"\begin{cases} 1 & 0 < x < 4 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((1, (x > 0) & (x < 4)), (0, True)),
        ),
    ],
)
fam(
    "relu6_as_difference",
    "ReLU6",
    r"\operatorname{relu}(x)-\operatorname{relu}(x-6)",
    "x",
    sp.Max(0, x) - sp.Max(0, x - 6),
    x,
    [
        ok(
            "ok",
            r"\operatorname{relu}(\operatorname{sign}(x)) - "
            r"\operatorname{relu}(\operatorname{sign}(x-6))",
            step(x) - step(x - 6),
        ),
        slip("clip", r"\frac{1}{2}\left(1+\frac{x}{|x|}\right)", step(x)),
    ],
)
fam(
    "relu6_neuron",
    "ReLU6",
    r"\min(\max(0,wx+b),6)",
    "w",
    sp.Min(sp.Max(0, ZL), 6),
    w,
    [
        ok(
            "ok",
            r"\begin{cases} x & 0 < wx+b < 6 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((x, (ZL > 0) & (ZL < 6)), (0, True)),
        ),
        slip(
            "clip",
            r"\begin{cases} x & wx+b > 0 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((x, ZL > 0), (0, True)),
        ),
    ],
)
fam(
    "elu",
    "ELU",
    r"\begin{cases} x & x > 0 \\ \alpha(e^{x}-1) & \text{otherwise}\end{cases}",
    "x",
    sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True)),
    x,
    [
        ok(
            "ok",
            r"\begin{cases} 1 & x > 0 \\ \alpha e^{x} & \text{otherwise}\end{cases}",
            sp.Piecewise((1, x > 0), (alpha * sp.exp(x), True)),
        ),
        slip(
            "region",
            r"\begin{cases} 1 & x > 1 \\ \alpha e^{x} & \text{otherwise}\end{cases}",
            sp.Piecewise((1, x > 1), (alpha * sp.exp(x), True)),
        ),
        slip(
            "term",
            r"\begin{cases} 1 & x > 0 \\ \alpha (e^{x} - 1) & \text{otherwise}\end{cases}",
            sp.Piecewise((1, x > 0), (alpha * (sp.exp(x) - 1), True)),
        ),
    ],
)
SP = sp.log(1 + sp.exp(x))
fam(
    "mish",
    "Mish",
    r"x\tanh(\operatorname{softplus}(x))",
    "x",
    x * sp.tanh(SP),
    x,
    [
        ok(
            "ok",
            r"\tanh(\operatorname{softplus}(x)) + x(1-\tanh^2(\operatorname{softplus}(x)))"
            r"\sigma(x)",
            sp.tanh(SP) + x * (1 - sp.tanh(SP) ** 2) * sg(x),
        ),
        slip(
            "chain",
            r"\tanh(\operatorname{softplus}(x)) + x(1-\tanh^2(\operatorname{softplus}(x)))",
            sp.tanh(SP) + x * (1 - sp.tanh(SP) ** 2),
        ),
    ],
)
fam(
    "softplus",
    "GBC6",
    r"\operatorname{softplus}(x)",
    "x",
    SP,
    x,
    [
        ok("ok", r"\sigma(x)", sg(x)),
        ok("exp_form", r"\frac{e^{x}}{1+e^{x}}", sp.exp(x) / (1 + sp.exp(x))),
        slip("sign", r"\frac{1}{1+e^{x}}", 1 / (1 + sp.exp(x))),
    ],
)

# ---------------------------------------------------------------------------------------------
# Robust and probabilistic regression losses: Huber, smooth L1, log-cosh, Gaussian NLL, focal


def huber(r, d):
    return sp.Piecewise((r**2 / 2, sp.Abs(r) <= d), (d * (sp.Abs(r) - d / 2), True))


H1 = (
    r"\begin{cases} \frac{1}{2}x^2 & |x| \le 1 \\ |x| - \frac{1}{2} & \text{otherwise}"
    r"\end{cases}"
)
H5 = (
    r"\begin{cases} \frac{1}{2}x^2 & |x| \le 5 \\ 5(|x| - \frac{5}{2}) & \text{otherwise}"
    r"\end{cases}"
)
fam(
    "huber_delta1",
    "Huber",
    H1,
    "x",
    huber(x, 1),
    x,
    [
        ok("ok", r"\max(-1, \min(1, x))", sp.Max(-1, sp.Min(1, x))),
        slip("clip", "x", x),
        slip(
            "region",
            r"\begin{cases} x & |x| \le 1 \\ 1 & \text{otherwise}\end{cases}",
            sp.Piecewise((x, sp.Abs(x) <= 1), (1, True)),
        ),
    ],
)
fam(
    "huber_delta5",
    "Huber",
    H5,
    "x",
    huber(x, 5),
    x,
    [
        ok("ok", r"\max(-5, \min(5, x))", sp.Max(-5, sp.Min(5, x))),
        ok(
            "cases",
            r"\begin{cases} x & |x| \le 5 \\ 5\operatorname{sign}(x) & \text{otherwise}"
            r"\end{cases}",
            sp.Piecewise((x, sp.Abs(x) <= 5), (5 * sp.sign(x), True)),
        ),
        slip("clip", "x", x),
        slip("region", r"\max(-5, \min(37, x))", sp.Max(-5, sp.Min(37, x))),
    ],
)
HD = (
    r"\begin{cases} \frac{1}{2}x^2 & |x| \le \delta \\ \delta(|x| - \frac{1}{2}\delta) & "
    r"\text{otherwise}\end{cases}"
)
fam(
    "huber_delta_symbolic",
    "Huber",
    HD,
    "x",
    huber(x, sp.Symbol("delta", real=True)),
    x,
    [
        ok(
            "ok",
            r"\max(-\delta, \min(\delta, x))",
            sp.Max(-sp.Symbol("delta", real=True), sp.Min(sp.Symbol("delta", real=True), x)),
        ),
        slip("clip", "x", x),
    ],
    assume=(r"\delta > 0",),
    domain={sp.Symbol("delta", real=True): (0.01, 300)},
)
RES = y - w * x
fam(
    "huber_residual_w",
    "Huber",
    r"\begin{cases} \frac{1}{2}(y-wx)^2 & |y-wx| \le 1 \\ |y-wx| - \frac{1}{2} & "
    r"\text{otherwise}\end{cases}",
    "w",
    huber(RES, 1),
    w,
    [
        ok("ok", r"-x\max(-1, \min(1, y-wx))", -x * sp.Max(-1, sp.Min(1, RES))),
        slip("sign", r"x\max(-1, \min(1, y-wx))", x * sp.Max(-1, sp.Min(1, RES))),
        slip("clip", r"-x(y-wx)", -x * RES),
    ],
)
fam(
    "smooth_l1_beta2",
    "Huber",
    r"\begin{cases} \frac{x^2}{4} & |x| < 2 \\ |x| - 1 & \text{otherwise}\end{cases}",
    "x",
    sp.Piecewise((x**2 / 4, sp.Abs(x) < 2), (sp.Abs(x) - 1, True)),
    x,
    [
        ok(
            "ok",
            r"\begin{cases} \frac{x}{2} & |x| < 2 \\ \operatorname{sign}(x) & "
            r"\text{otherwise}\end{cases}",
            sp.Piecewise((x / 2, sp.Abs(x) < 2), (sp.sign(x), True)),
        ),
        slip(
            "factor",
            r"\begin{cases} x & |x| < 2 \\ \operatorname{sign}(x) & "
            r"\text{otherwise}\end{cases}",
            sp.Piecewise((x, sp.Abs(x) < 2), (sp.sign(x), True)),
        ),
    ],
)
fam(
    "log_cosh",
    "LogCosh",
    r"\log\cosh x",
    "x",
    sp.log(sp.cosh(x)),
    x,
    [
        ok("ok", r"\tanh x", sp.tanh(x)),
        ok("ratio", r"\frac{\sinh x}{\cosh x}", sp.sinh(x) / sp.cosh(x)),
        slip("sign", r"-\tanh x", -sp.tanh(x)),
        slip("term", r"\frac{1}{\cosh x}", 1 / sp.cosh(x)),
    ],
)
fam(
    "log_cosh_residual",
    "LogCosh",
    r"\log\cosh(y - wx)",
    "w",
    sp.log(sp.cosh(RES)),
    w,
    [
        ok("ok", r"-x\tanh(y-wx)", -x * sp.tanh(RES)),
        slip("chain", r"\tanh(y-wx)", sp.tanh(RES)),
    ],
)
GN_MU = (y - mu) ** 2 / (2 * sig**2) + sp.log(sig)
fam(
    "gaussian_nll_mu",
    "GNLL",
    r"\frac{(y-\mu)^2}{2\sigma^2} + \log\sigma",
    r"\mu",
    GN_MU,
    mu,
    [
        ok("ok", r"\frac{\mu-y}{\sigma^2}", (mu - y) / sig**2),
        slip("sign", r"\frac{y-\mu}{\sigma^2}", (y - mu) / sig**2),
        slip("factor", r"\frac{\mu-y}{2\sigma^2}", (mu - y) / (2 * sig**2)),
    ],
    assume=(r"\sigma > 0",),
    domain={sig: (0.001, 1000)},
)
fam(
    "gaussian_nll_sigma",
    "GNLL",
    r"\frac{(y-\mu)^2}{2\sigma^2} + \log\sigma",
    r"\sigma",
    GN_MU,
    sig,
    [
        ok(
            "ok", r"\frac{1}{\sigma} - \frac{(y-\mu)^2}{\sigma^3}", 1 / sig - (y - mu) ** 2 / sig**3
        ),
        slip(
            "factor",
            r"\frac{1}{\sigma} - \frac{(y-\mu)^2}{2\sigma^3}",
            1 / sig - (y - mu) ** 2 / (2 * sig**3),
        ),
        slip("term", r"-\frac{(y-\mu)^2}{\sigma^3}", -((y - mu) ** 2) / sig**3),
    ],
    assume=(r"\sigma > 0",),
    domain={sig: (0.001, 1000)},
)
GN_V = sp.log(v) / 2 + (y - mu) ** 2 / (2 * v)
fam(
    "gaussian_nll_var",
    "GNLL",
    r"\frac{1}{2}\log v + \frac{(y-\mu)^2}{2v}",
    "v",
    GN_V,
    v,
    [
        ok(
            "ok", r"\frac{1}{2v} - \frac{(y-\mu)^2}{2v^2}", 1 / (2 * v) - (y - mu) ** 2 / (2 * v**2)
        ),
        slip(
            "sign",
            r"\frac{1}{2v} + \frac{(y-\mu)^2}{2v^2}",
            1 / (2 * v) + (y - mu) ** 2 / (2 * v**2),
        ),
    ],
    assume=("v > 0",),
    domain={v: (0.001, 1000)},
)
FOCAL2 = -((1 - p) ** 2) * sp.log(p)
fam(
    "focal_gamma2",
    "Focal",
    r"-(1-p)^2\log p",
    "p",
    FOCAL2,
    p,
    [
        ok("ok", r"2(1-p)\log p - \frac{(1-p)^2}{p}", 2 * (1 - p) * sp.log(p) - (1 - p) ** 2 / p),
        slip("term", r"-\frac{(1-p)^2}{p}", -((1 - p) ** 2) / p),
        slip(
            "sign",
            r"-2(1-p)\log p - \frac{(1-p)^2}{p}",
            -2 * (1 - p) * sp.log(p) - (1 - p) ** 2 / p,
        ),
    ],
    assume=("0<p<1",),
    domain={p: (0.001, 0.999)},
)
FOCALG = -((1 - p) ** gam) * sp.log(p)
fam(
    "focal_gamma",
    "Focal",
    r"-(1-p)^{\gamma}\log p",
    "p",
    FOCALG,
    p,
    [
        ok(
            "ok",
            r"\gamma(1-p)^{\gamma-1}\log p - \frac{(1-p)^{\gamma}}{p}",
            gam * (1 - p) ** (gam - 1) * sp.log(p) - (1 - p) ** gam / p,
        ),
        slip(
            "chain",
            r"-\gamma(1-p)^{\gamma-1}\log p - \frac{(1-p)^{\gamma}}{p}",
            -gam * (1 - p) ** (gam - 1) * sp.log(p) - (1 - p) ** gam / p,
        ),
    ],
    assume=("0<p<1", r"\gamma > 0"),
    domain={p: (0.001, 0.999), gam: (0.01, 10)},
)
FOCAL_ALPHA = -alpha * (1 - sg(z)) ** 2 * sp.log(sg(z))
fam(
    "focal_logit",
    "Focal",
    r"-\alpha(1-\sigma(z))^2\log\sigma(z)",
    "z",
    FOCAL_ALPHA,
    z,
    [
        ok(
            "ok",
            r"\alpha(1-\sigma(z))^2(2\sigma(z)\log\sigma(z) + \sigma(z) - 1)",
            alpha * (1 - sg(z)) ** 2 * (2 * sg(z) * sp.log(sg(z)) + sg(z) - 1),
        ),
        slip("term", r"-\alpha(1-\sigma(z))^3", -alpha * (1 - sg(z)) ** 3),
    ],
)
fam(
    "clamp_symbolic",
    "GBC6",
    r"\min(\max(x, a), c)",
    "x",
    sp.Min(sp.Max(x, a), c),
    x,
    [
        ok(
            "ok",
            r"\begin{cases} 1 & a < x < c \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((1, (x > a) & (x < c)), (0, True)),
        ),
        slip("clip", "1", sp.S.One),
    ],
    assume=("a < c",),
    require=(a < c,),
)
fam(
    "perceptron",
    "CS231n",
    r"\max(0, -y(wx+b))",
    "w",
    sp.Max(0, -y * ZL),
    w,
    [
        ok(
            "ok",
            r"\begin{cases} -yx & y(wx+b) < 0 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((-y * x, y * ZL < 0), (0, True)),
        ),
        slip(
            "region",
            r"\begin{cases} -yx & y(wx+b) < 1 \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((-y * x, y * ZL < 1), (0, True)),
        ),
    ],
)
fam(
    "squared_hinge",
    "CS231n",
    r"\max(0, 1 - ys)^2",
    "s",
    sp.Max(0, 1 - y * s) ** 2,
    s,
    [
        ok("ok", r"-2y\max(0, 1 - ys)", -2 * y * sp.Max(0, 1 - y * s)),
        slip("clip", r"-2y(1 - ys)", -2 * y * (1 - y * s)),
        slip("chain", r"2\max(0, 1 - ys)", 2 * sp.Max(0, 1 - y * s)),
    ],
)
fam(
    "margin_ranking",
    "CS231n",
    r"\max(0, -y(x_1 - x_2) + m)",
    "x_1",
    sp.Max(0, -y * (x1 - x2) + m),
    x1,
    [
        ok(
            "ok",
            r"\begin{cases} -y & y(x_1 - x_2) < m \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((-y, y * (x1 - x2) < m), (0, True)),
        ),
        slip(
            "sign",
            r"\begin{cases} y & y(x_1 - x_2) < m \\ 0 & \text{otherwise}\end{cases}",
            sp.Piecewise((y, y * (x1 - x2) < m), (0, True)),
        ),
    ],
)
fam(
    "abs_error_residual",
    "GBC6",
    r"|y - wx - b|",
    "b",
    sp.Abs(y - ZL),
    b,
    [
        ok("ok", r"-\operatorname{sign}(y - wx - b)", -sp.sign(y - ZL)),
        slip("sign", r"\operatorname{sign}(y - wx - b)", sp.sign(y - ZL)),
    ],
)
fam(
    "abs_error_residual_w",
    "GBC6",
    r"|y - wx - b|",
    "w",
    sp.Abs(y - ZL),
    w,
    [
        ok("ok", r"-x\,\mathrm{sgn}(y - wx - b)", -x * sp.sign(y - ZL)),
        slip("chain", r"-\mathrm{sgn}(y - wx - b)", -sp.sign(y - ZL)),
    ],
)
