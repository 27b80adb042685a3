r"""The loss catalog: one :class:`~symlearn.losses._spec.LossSpec` per loss.

Every loss named in the course (the lecture slides "Neural Network Training Basics", slide
"Lots of Puzzling Terms!", and the list of the blog post "Deep Dive: Loss Functions") is one row
here; the :class:`~symlearn.losses._spec.Loss` objects, their documents, the ``symlearn losses``
listing, the tests and the benchmark all read this table. Signatures and defaults are those of
``torch.nn.functional`` (torch 2.13), including the legacy ``size_average``/``reduce`` arguments.

Symbols: $x$ is one element of the prediction (``input``; logits where the name says so), $y$ one
element of the target.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import sympy as sp

from .._course_sources import course_source
from ..functions import log_sigmoid, relu, sigmoid, softplus
from . import _structured as structured
from ._functions import xlogy
from ._spec import Check, LossSpec

# Reader-facing names of the course material, for the rows' notes (not seed file names).
_SLIDES = "From " + course_source("003")
_NOTES = "From " + course_source("000")
_BLOG = "From " + course_source("001")

__all__ = ["SPECS"]

x, y = sp.symbols("x y", real=True)
x1, x2 = sp.symbols("x_1 x_2", real=True)
delta = sp.Symbol("delta", positive=True)
beta = sp.Symbol("beta", nonnegative=True)
margin = sp.Symbol("m", real=True)
pos_weight = sp.Symbol("p_w", positive=True)

_unit = (-2.0, 2.0)


def _is_sign(a):
    return (a == 1) | (a == -1)


def _positive_option(name):
    def check(options):
        if not options[name] > 0:
            raise ValueError(f"{name}={options[name]!r} must be positive")

    return check


def _nonnegative_option(name):
    def check(options):
        if not options[name] >= 0:
            raise ValueError(f"{name}={options[name]!r} must be non-negative")

    return check


# --- signatures: exactly torch.nn.functional's (names, order, defaults) ---------------------------
def _sig_mse(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    return dict(locals())


def _sig_l1(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    return dict(locals())


def _sig_huber(input, target, reduction="mean", delta=1.0, weight=None):
    return dict(locals())


def _sig_smooth_l1(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    return dict(locals())


def _sig_bce(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    return dict(locals())


def _sig_bce_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
):
    return dict(locals())


def _sig_kl(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    return dict(locals())


def _sig_hinge_embedding(
    input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"
):
    return dict(locals())


def _sig_margin_ranking(
    input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"
):
    return dict(locals())


def _sig_soft_margin(input, target, size_average=None, reduce=None, reduction="mean"):
    return dict(locals())


def _sig_multilabel(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    return dict(locals())


def _sig_plain(input, target, reduction="mean"):
    return dict(locals())


def _sig_poisson_nll(
    input, target, log_input=True, full=False, size_average=None, eps=1e-08, reduce=None,
    reduction="mean",
):
    return dict(locals())


def _sig_gaussian_nll(input, target, var, full=False, eps=1e-06, reduction="mean"):
    return dict(locals())


# --- gaussian_nll_loss (torch.nn.functional.gaussian_nll_loss) -------------------------------------
var = sp.Symbol("v", positive=True)
gaussian_eps = sp.Symbol("epsilon", positive=True)
_clamped_var = sp.Max(var, gaussian_eps)  # PyTorch clamps var at eps (under no_grad)


def _gaussian_full(value, grad, on):
    r"""full=True adds the constant $\frac{1}{2}\log 2\pi$ of the Gaussian density."""
    return (value + sp.log(2 * sp.pi) / 2, grad) if on else (value, grad)


def _gaussian_var(arrays, bound):
    """PyTorch's rules for ``var``: a float is the same variance everywhere; an array one axis
    short of input (homoscedastic) gains a last axis; otherwise it must have input's shape, or
    differ from it in exactly one axis where it has size 1; no entry may be negative."""
    given, x = bound["var"], arrays["input"]
    v = arrays["var"]
    if isinstance(given, (int, float)) and not isinstance(given, bool):
        v = np.full(x.shape, float(given))
    elif v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v = v[..., None]
        elif not (v.ndim == x.ndim and sum(b for a, b in zip(x.shape, v.shape) if a != b) == 1):
            raise ValueError(
                f"var has shape {v.shape}; expected input's shape {x.shape}, that shape without "
                f"its last axis, or that shape with one axis of size 1"
            )
    with np.errstate(invalid="ignore"):
        negative = v < 0
    if np.any(negative):
        raise ValueError(f"var must be non-negative; got {v[negative].flat[0]!r}")
    return {**arrays, "var": v}


# --- poisson_nll_loss's forms (torch.nn.functional.poisson_nll_loss) --------------------------------
poisson_eps = sp.Symbol("epsilon", positive=True)


def _poisson_log_input(value, grad, on):
    r"""log_input=False: the input is the rate itself, $x - y\log(x + \epsilon)$."""
    if on:
        return value, grad
    return x - y * sp.log(x + poisson_eps), 1 - y / (x + poisson_eps)


#: Stirling's approximation of $\log(y!)$, added by ``full=True`` where $y > 1$ (PyTorch masks it
#: to 0 elsewhere); it does not depend on the input, so the gradient is unchanged.
_stirling = sp.Piecewise(
    (y * sp.log(y) - y + sp.log(2 * sp.pi * y) / 2, y > 1), (sp.S.Zero, True)
)


def _poisson_full(value, grad, on):
    return (value + _stirling, grad) if on else (value, grad)


# --- matrix forms (training, symlearn.neurons) -----------------------------------------------------
# (Z, T, n, k) -> the 1 x 1 mean loss over a batch: Z the model's output and T the targets, both
# n x k. Written in the matrix rule table's vocabulary (symlearn.calculus.matrix), so that its
# reverse pass gives each gradient in closed form; imported when a form is built, so that
# importing the catalog does not import the matrix layer.
_u = sp.Dummy("u", real=True)
#: u -> u^2 elementwise (a HadamardProduct(A, A) would become a HadamardPower, which the rule table
#: does not hold).
_SQUARE = sp.Lambda(_u, _u**2)


def _matrix_cross_entropy(Z, T, n, k):
    # torch.nn.functional.cross_entropy(logits, labels), reduction='mean'. With one-hot rows of T
    # (each summing to 1), -sum_j T_ij log softmax(Z)_ij = logsumexp(Z_i) - <T_i, Z_i>; written so,
    # the rule table gives the textbook gradient (softmax(Z) - T) / n directly.
    from ..calculus.matrix import LogSumExp, MatSum

    return (1 / n) * MatSum(LogSumExp(Z)) - (1 / n) * MatSum(sp.HadamardProduct(T, Z))


def _matrix_bce_with_logits(Z, T, n, k):
    # softplus(z) - y z per element (stable by construction), mean over the n k elements.
    from ..calculus.matrix import MatSum, elementwise

    return (1 / (n * k)) * MatSum(elementwise(softplus, Z) - sp.HadamardProduct(T, Z))


def _matrix_mse(Z, T, n, k):
    # torch.nn.functional.mse_loss, reduction='mean': the mean over all n k entries.
    from ..calculus.matrix import MatSum, elementwise

    return (1 / (n * k)) * MatSum(elementwise(_SQUARE, Z - T))


# --- the elementwise rows ---------------------------------------------------------------------------
_error = x - y

SPECS: list[LossSpec] = [
    LossSpec(
        name="mse_loss",
        title="Mean squared error (L2)",
        latex_name=r"\operatorname{MSE}",
        signature=_sig_mse,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=_error**2,
        textbook_grad=2 * (x - y),
        weight="normalized",
        torch="torch.nn.functional.mse_loss",
        domain={"input": "real", "target": "real"},
        notes=f"{_SLIDES}, slide 'L1 and L2 Loss'; weighted 'mean' divides by the sum of the "
              "weights.",
        matrix_form=_matrix_mse,
        matrix_targets="values",
    ),
    LossSpec(
        name="l1_loss",
        title="Mean absolute error (L1)",
        latex_name=r"\operatorname{MAE}",
        signature=_sig_l1,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=sp.Abs(_error),
        textbook_grad=sp.sign(x - y),
        weight="normalized",
        torch="torch.nn.functional.l1_loss",
        domain={"input": "real", "target": "real"},
        kink=r"at $x = y$ the gradient is $\operatorname{sign}(0) = 0$, as in PyTorch.",
        notes=f"{_SLIDES}, slide 'L1 and L2 Loss'.",
    ),
    LossSpec(
        name="huber_loss",
        title="Huber loss",
        latex_name=r"L_{\delta}",
        signature=_sig_huber,
        arrays=("input", "target"),
        symbols=(x, y),
        options={"delta": delta},
        expr=sp.Piecewise(
            (_error**2 / 2, sp.Abs(_error) <= delta),
            (delta * (sp.Abs(_error) - delta / 2), True),
        ),
        textbook_grad=sp.Piecewise((x - y, sp.Abs(x - y) <= delta), (delta * sp.sign(x - y), True)),
        weight="elementwise",
        option_checks=_positive_option("delta"),
        torch="torch.nn.functional.huber_loss",
        domain={"input": "real", "target": "real", "delta": "> 0"},
        kink=r"the gradient is continuous at $|x - y| = \delta$; both branches give $\pm\delta$.",
        notes=f"{_SLIDES}, slide 'Huber & Smoothed L1'; weighted 'mean' divides by the element "
              "count.",
    ),
    LossSpec(
        name="smooth_l1_loss",
        title="Smooth L1 loss",
        latex_name=r"\operatorname{SmoothL1}_{\beta}",
        signature=_sig_smooth_l1,
        arrays=("input", "target"),
        symbols=(x, y),
        options={"beta": beta},
        expr=sp.Piecewise(
            (_error**2 / (2 * beta), sp.Abs(_error) < beta),
            (sp.Abs(_error) - beta / 2, True),
        ),
        textbook_grad=sp.Piecewise(((x - y) / beta, sp.Abs(x - y) < beta), (sp.sign(x - y), True)),
        option_checks=_nonnegative_option("beta"),
        torch="torch.nn.functional.smooth_l1_loss",
        domain={"input": "real", "target": "real", "beta": ">= 0"},
        kink=r"with $\beta = 0$ it is the L1 loss, and the gradient at $x = y$ is $\operatorname{sign}(0) = 0$.",
        notes=r"Equal to the Huber loss divided by $\beta$ when $\delta = \beta$.",
    ),
    LossSpec(
        name="binary_cross_entropy",
        title="Binary cross-entropy on probabilities",
        latex_name=r"\operatorname{BCE}",
        signature=_sig_bce,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=-(y * sp.log(x) + (1 - y) * sp.log(1 - x)),
        textbook_grad=(x - y) / (x * (1 - x)),
        # PyTorch clamps each log at -100 and the gradient's denominator at 1e-12
        # (aten/src/ATen/native/Loss.cpp, binary_cross_entropy and its backward); that 1e-12 is a
        # float32 constant, 9.99999996e-13, which decides the gradient at x = 0 or 1 (-1.000000004e12).
        compiled_expr=-(y * sp.Max(sp.log(x), -100) + (1 - y) * sp.Max(sp.log(1 - x), -100)),
        grad_expr=(x - y) / sp.Max(x * (1 - x), sp.Float(float(np.float32(1e-12)))),
        weight="elementwise",
        checks=(
            Check("input", lambda a: (a >= 0) & (a <= 1), "a probability in [0, 1]"),
            Check("target", lambda a: (a >= 0) & (a <= 1), "a probability in [0, 1]"),
        ),
        numeric_domain={x: (0.0, 1.0), y: (0.0, 1.0)},
        torch="torch.nn.functional.binary_cross_entropy",
        domain={"input": "[0, 1]", "target": "[0, 1]"},
        notes=f"{_NOTES}, section 'Other Loss Functions'; logs are clamped at -100 as in PyTorch.",
    ),
    LossSpec(
        name="binary_cross_entropy_with_logits",
        title="Binary cross-entropy with logits",
        latex_name=r"\operatorname{BCE}_{\sigma}",
        signature=_sig_bce_logits,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=-pos_weight * y * log_sigmoid(x) - (1 - y) * log_sigmoid(-x),
        optional_arrays={"pos_weight": pos_weight},
        defaults_for_absent={"pos_weight": 1},
        absent_forms={"pos_weight": (softplus(x) - y * x, sigmoid(x) - y)},
        textbook_grad=sigmoid(x) * (1 + (pos_weight - 1) * y) - pos_weight * y,
        weight="elementwise",
        torch="torch.nn.functional.binary_cross_entropy_with_logits",
        domain={"input": "real (logits)", "target": "[0, 1]", "pos_weight": "> 0"},
        notes=r"Stable by construction: $\log\sigma$ is printed as $-\operatorname{logaddexp}(0, -x)$.",
        matrix_form=_matrix_bce_with_logits,
        matrix_targets="binary",
    ),
    LossSpec(
        name="kl_div",
        title="Kullback-Leibler divergence",
        latex_name=r"D_{\mathrm{KL}}",
        signature=_sig_kl,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=xlogy(y, y) - y * x,
        textbook_grad=-y,
        flags={"log_target": (sp.exp(y) * (y - x), -sp.exp(y))},
        checks=(
            Check("target", lambda a: a >= 0, "a probability (non-negative)", unless="log_target"),
        ),
        numeric_domain={y: (0.0, 1.0)},
        torch="torch.nn.functional.kl_div",
        domain={"input": "log-probabilities", "target": "probabilities (log_target=False)"},
        reductions=("none", "mean", "sum", "batchmean"),
        notes=(
            rf"{_SLIDES}, slide 'Cross Entropy': $D_{{KL}}(p, q) = H(p, q) - H(p)$; "
            r"input holds $\log q$. "
            r"With log_target=True the target holds $\log p$ and the element is $e^{y}(y - x)$."
        ),
    ),
    LossSpec(
        name="hinge_embedding_loss",
        title="Hinge embedding loss",
        latex_name=r"\operatorname{HingeEmb}",
        signature=_sig_hinge_embedding,
        arrays=("input", "target"),
        symbols=(x, y),
        options={"margin": margin},
        # PyTorch (aten/src/ATen/native/Loss.cpp, hinge_embedding_loss) adds
        # where(y != 1, max(0, m - x), 0) and where(y != -1, x, 0): a target other than 1 or -1
        # (its OpInfo samples use real ones) takes both terms.
        expr=sp.Piecewise(
            (x, sp.Eq(y, 1)),
            (sp.Max(0, margin - x), sp.Eq(y, -1)),
            (x + sp.Max(0, margin - x), True),
        ),
        grad_expr=sp.Piecewise(
            (sp.S.One, sp.Eq(y, 1)),
            (-sp.Heaviside(margin - x, 1), sp.Eq(y, -1)),
            (1 - sp.Heaviside(margin - x, 1), True),
        ),
        numeric_domain={y: (-1.0, 1.0)},
        torch="torch.nn.functional.hinge_embedding_loss",
        domain={"input": "real (a distance)", "target": "real (usually 1 or -1)"},
        kink=r"at $x = m$ PyTorch's clamp_min passes the gradient: $-1$ for $y = -1$.",
        notes=(
            r"$\ell = x$ for $y = 1$ and $\max(0, m - x)$ for $y = -1$; any other target takes "
            r"both terms, $x + \max(0, m - x)$, as PyTorch."
        ),
    ),
    LossSpec(
        name="margin_ranking_loss",
        title="Margin ranking loss",
        latex_name=r"\operatorname{MarginRank}",
        signature=_sig_margin_ranking,
        arrays=("input1", "input2", "target"),
        symbols=(x1, x2, y),
        options={"margin": margin},
        expr=sp.Max(0, -y * (x1 - x2) + margin),
        grad_expr=-y * sp.Heaviside(-y * (x1 - x2) + margin, 1),
        textbook_grad=-y * sp.Heaviside(-y * (x1 - x2) + margin, 1),
        torch="torch.nn.functional.margin_ranking_loss",
        domain={"input1": "real", "input2": "real", "target": "real (usually 1 or -1)"},
        kink=r"at $-y(x_1 - x_2) + m = 0$ PyTorch's clamp_min passes the gradient ($-y$).",
        notes="The gradient is with respect to input1.",
    ),
    LossSpec(
        name="soft_margin_loss",
        title="Soft margin loss",
        latex_name=r"\operatorname{SoftMargin}",
        signature=_sig_soft_margin,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=softplus(-y * x),
        textbook_grad=-y * sigmoid(-y * x),
        torch="torch.nn.functional.soft_margin_loss",
        domain={"input": "real", "target": "real (usually 1 or -1)"},
        notes=r"$\log(1 + e^{-yx})$, printed as $\operatorname{logaddexp}(0, -yx)$.",
    ),
    LossSpec(
        name="multilabel_soft_margin_loss",
        title="Multi-label soft margin loss",
        latex_name=r"\operatorname{MultiLabelSoftMargin}",
        signature=_sig_multilabel,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=-(y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x)),
        compiled_expr=softplus(x) - y * x,
        grad_expr=sigmoid(x) - y,
        textbook_grad=sigmoid(x) - y,
        weight="elementwise",
        mean_over="last",
        torch="torch.nn.functional.multilabel_soft_margin_loss",
        domain={"input": "real (logits), shape (N, C)", "target": "{0, 1}, shape (N, C)"},
        notes="Per sample, the mean over the C classes of the element; then the reduction over N.",
    ),
    LossSpec(
        name="gaussian_nll_loss",
        title="Gaussian negative log-likelihood",
        latex_name=r"\operatorname{GaussianNLL}",
        signature=_sig_gaussian_nll,
        arrays=("input", "target", "var"),
        symbols=(x, y, var),
        options={"eps": gaussian_eps},
        expr=(sp.log(var) + (x - y) ** 2 / var) / 2,
        textbook_grad=(x - y) / var,
        compiled_expr=(sp.log(_clamped_var) + (x - y) ** 2 / _clamped_var) / 2,
        grad_expr=(x - y) / _clamped_var,
        flags={"full": _gaussian_full},
        option_checks=_positive_option("eps"),
        broadcast=True,
        prepare=_gaussian_var,
        numeric_domain={var: (0.5, 3.0), gaussian_eps: (1e-8, 0.25)},
        stability=(
            r"PyTorch clamps the variance at $\epsilon$ before the logarithm and the division, "
            r"and so does the compiled function: a zero variance gives a finite loss "
            r"($\frac{1}{2}\log\epsilon + (x - y)^2 / 2\epsilon$), not $-\infty$ or a division "
            r"by zero."
        ),
        torch="torch.nn.functional.gaussian_nll_loss",
        domain={
            "input": "real (the predicted mean)",
            "target": "real, broadcastable to input",
            "var": "non-negative: input's shape, one axis short, or a float",
            "eps": "> 0",
        },
        notes=(
            r"$-\log \mathcal{N}(y; x, v)$ up to the constant $\frac{1}{2}\log 2\pi$ (added by "
            r"full=True). PyTorch clamps $v$ at $\epsilon$ for stability; the gradient is with "
            r"respect to input, the mean."
        ),
    ),
    LossSpec(
        name="poisson_nll_loss",
        title="Poisson negative log-likelihood",
        latex_name=r"\operatorname{PoissonNLL}",
        signature=_sig_poisson_nll,
        arrays=("input", "target"),
        symbols=(x, y),
        options={"eps": poisson_eps},
        # log_input=True (the default): the input is log(rate); exp(x) - y x is -log of the
        # Poisson likelihood up to log(y!), which full=True adds (as Stirling's approximation).
        expr=sp.exp(x) - y * x,
        textbook_grad=sp.exp(x) - y,
        flags={"log_input": _poisson_log_input, "full": _poisson_full},
        option_checks=_positive_option("eps"),
        numeric_domain={x: (0.1, 3.0), y: (0.0, 5.0)},
        stability=(
            r"With log_input=True the rate $e^{x}$ overflows to $+\infty$ above $x \approx 709$ "
            r"in float64, as in PyTorch (the loss is then truly beyond float64). With "
            r"log_input=False, $\epsilon$ keeps $\log(x + \epsilon)$ finite at a zero rate; a "
            r"negative rate gives NaN, as in PyTorch."
        ),
        torch="torch.nn.functional.poisson_nll_loss",
        domain={
            "input": "log-rate (log_input=True) or rate > -eps (log_input=False)",
            "target": "counts (non-negative)",
            "eps": "> 0",
        },
        notes=(
            r"$-\log P(y \mid \lambda) = \lambda - y \log\lambda + \log y!$ with $\lambda = e^{x}$; "
            r"with log_input=False, $\lambda = x$ and $\log(x + \epsilon)$ avoids $\log 0$."
        ),
    ),
    LossSpec(
        name="mean_squared_log_error",
        title="Mean squared logarithmic error",
        latex_name=r"\operatorname{MSLE}",
        signature=_sig_plain,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=(sp.log(1 + x) - sp.log(1 + y)) ** 2,
        textbook_grad=2 * (sp.log(1 + x) - sp.log(1 + y)) / (1 + x),
        checks=(
            Check("input", lambda a: a > -1, "greater than -1"),
            Check("target", lambda a: a > -1, "greater than -1"),
        ),
        numeric_domain={x: (-0.9, 5.0), y: (-0.9, 5.0)},
        domain={"input": "> -1", "target": "> -1"},
        notes=rf"{_BLOG}: squashes the range of the outputs; $\log(1 + u)$ is printed as log1p.",
    ),
    LossSpec(
        name="mean_absolute_percentage_error",
        title="Mean absolute percentage error",
        latex_name=r"\operatorname{MAPE}",
        signature=_sig_plain,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=sp.Abs(x - y) / sp.Abs(y),
        textbook_grad=sp.sign(x - y) / sp.Abs(y),
        checks=(Check("target", lambda a: a != 0, "non-zero"),),
        domain={"input": "real", "target": "non-zero"},
        kink=r"at $x = y$ the gradient is $\operatorname{sign}(0) = 0$, as for the L1 loss.",
        notes=f"{_BLOG}: a relative error (a fraction, not multiplied by 100).",
    ),
    LossSpec(
        name="logistic_loss",
        title="Logistic loss",
        latex_name=r"\operatorname{Logistic}",
        signature=_sig_plain,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=softplus(-y * x),
        textbook_grad=-y * sigmoid(-y * x),
        checks=(Check("target", _is_sign, "1 or -1"),),
        numeric_domain={y: (-1.0, 1.0)},
        domain={"input": "real (a score f)", "target": "{1, -1}"},
        notes=rf"{_BLOG}: $\log(1 + e^{{-yf}})$, stable as $\operatorname{{logaddexp}}(0, -yf)$.",
    ),
    LossSpec(
        name="hinge_loss",
        title="SVM hinge loss",
        latex_name=r"\operatorname{Hinge}",
        signature=_sig_plain,
        arrays=("input", "target"),
        symbols=(x, y),
        expr=relu(1 - y * x),
        textbook_grad=-y * sp.Heaviside(1 - y * x, 0),
        checks=(Check("target", _is_sign, "1 or -1"),),
        numeric_domain={y: (-1.0, 1.0)},
        domain={"input": "real (a score f)", "target": "{1, -1}"},
        kink=r"at $yf = 1$ the gradient is $0$, the convention of torch.relu.",
        notes=rf"{_SLIDES}, slide 'Hinge Loss': $\max(0, 1 - yf)$.",
    ),
]

#: Matrix forms of rows written in _structured.py: loss name -> (matrix_form, matrix_targets).
_STRUCTURED_MATRIX_FORMS = {"cross_entropy": (_matrix_cross_entropy, "labels")}

SPECS += [
    replace(spec, matrix_form=form[0], matrix_targets=form[1])
    if (form := _STRUCTURED_MATRIX_FORMS.get(spec.name)) else spec
    for spec in structured.SPECS
]

_ORDER = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "hinge_embedding_loss",
    "ctc_loss", "cosine_embedding_loss", "margin_ranking_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "triplet_margin_loss", "mean_squared_log_error",
    "mean_absolute_percentage_error", "linf_distance", "minkowski_distance", "logistic_loss",
    "hinge_loss", "poisson_nll_loss", "gaussian_nll_loss", "triplet_margin_with_distance_loss",
    "multi_margin_loss", "multilabel_margin_loss",
]
SPECS.sort(key=lambda s: _ORDER.index(s.name) if s.name in _ORDER else len(_ORDER))
