r"""Derivation documents for the loss catalog, generated from its rows.

An elementwise loss's document follows from its :class:`~symlearn.losses._spec.LossSpec`: the
definition and reduction, the derivative by ``sympy.diff``, the step to the textbook form, and each
place where the compiled function differs from the expression (PyTorch's clamps, its convention at
kinks, a simpler equal form), every step checked. Losses with structure (cross-entropy, CTC, the
embedding losses and distances) derive their gradient on a small explicit instance.
"""

from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, Figure, Numeric, Step
from ..functions import sigmoid
from ..printing.latex import latex

__all__ = ["build_document", "build_overview", "document_name"]

_REDUCTION_TEXT = (
    "Reductions (PyTorch's): `'none'` returns every element's loss, `'sum'` their sum $L = "
    r"\sum_i \ell_i$, and `'mean'` (the default) $L = \frac{1}{N} \sum_i \ell_i$, so that "
    r"$\frac{\partial L}{\partial x_i} = \frac{1}{N} \frac{\partial \ell}{\partial x}(x_i, y_i)$. "
    "The compiled gradient takes the factor $1/N$ as an argument, so value and gradient cost one "
    "pass each."
)


def document_name(name: str) -> str:
    return name.replace("_", "-")


def _m(expr) -> str:
    return f"${latex(expr)}$"


def _definition(spec) -> str:
    twin = f"PyTorch twin: `{spec.torch}`." if spec.torch else "It has no PyTorch twin."
    domain = "; ".join(f"`{k}`: {v}" for k, v in spec.domain.items())
    return f"{spec.title}. {twin} Domain: {domain}."


def _start(spec) -> Derivation:
    return Derivation(
        name=document_name(spec.name),
        title=f"{spec.title}: ${spec.latex_name}$ and its gradient",
        summary=f"{spec.title}: the loss, its gradient, PyTorch's conventions, checked step by step.",
        domain=dict(spec.numeric_domain),
    )


def build_document(spec) -> Derivation:
    if spec.structured is not None:
        return _STRUCTURED[spec.name](spec)
    return _elementwise_document(spec)


def _elementwise_document(spec) -> Derivation:
    x = spec.symbols[0]
    ell = sp.Function(r"\ell")(*spec.symbols)
    doc = _start(spec).section("The loss").text(_definition(spec))
    doc = doc.text(
        f"Per element, with prediction ${latex(x)}$ and target ${latex(spec.symbols[-1])}$: "
        f"$\\ell = {latex(spec.expr)}$."
        + (f" {spec.notes}" if spec.notes else "")
    )
    doc = doc.text(_REDUCTION_TEXT)
    doc = doc.section("The gradient")
    derivative = sp.diff(spec.expr, x)
    lines = [(derivative, "differentiate (SymPy applies the chain rule)")]
    if spec.textbook_grad is not None and sp.simplify(derivative - spec.textbook_grad) != 0:
        lines.append((spec.textbook_grad, "simplify to the textbook form"))
    doc = doc.chain(sp.Derivative(spec.expr, x), *lines)
    if spec.grad_expr is not None:
        doc = doc.text(
            "The compiled gradient is the form below; it equals the derivative wherever the "
            "loss is differentiable (checked at random points, which miss the kinks)."
            + (f" At the kinks: {spec.kink}" if spec.kink else "")
        )
        doc = doc.steps(
            Step(spec.grad_expr, derivative, "PyTorch's form of the derivative", check=Numeric())
        )
    elif spec.kink:
        doc = doc.text(f"At the kinks: {spec.kink}")
    if spec.compiled_expr is not None:
        doc = doc.section("The compiled value").text(
            "The compiled value is the form below, equal to the loss on its domain."
            + (" PyTorch clamps each logarithm at $-100$, so the value stays finite at "
               "probabilities of exactly 0 or 1." if spec.name == "binary_cross_entropy" else "")
        )
        doc = doc.steps(Step(spec.compiled_expr, spec.expr, "the compiled form", check=Numeric()))
    for name, (value, grad) in spec.absent_forms.items():
        symbol = spec.optional_arrays[name]
        plain = spec.expr.subs(symbol, spec.defaults_for_absent[name])
        doc = doc.section(f"Without {name.replace('_', ' ')}").text(
            f"With `{name}` absent (${latex(symbol)} = {spec.defaults_for_absent[name]}$) the loss "
            "and its gradient take the textbook forms, which are what is compiled: the softplus "
            "is computed once and shared, since $\\sigma(x) = e^{x - \\operatorname{softplus}(x)}$."
        )
        doc = doc.steps(
            Step(plain, value, "log-sigmoid identities"),
            Step(sp.Derivative(value, x), grad, "differentiate"),
        )
    for name, (value, grad) in spec.flags.items():
        doc = doc.section(f"With {name.replace('_', ' ')}").text(
            f"With `{name}=True` the element is ${latex(value)}$."
        )
        doc = doc.chain(sp.Derivative(value, x), (grad, "differentiate"))
    doc = doc.section("Numerical stability").text(
        "The compiled functions are printed by symlearn's stable NumPy printer: "
        r"$\log(1 + e^{u})$ and softplus as `logaddexp(0, u)`, $\log\sigma(u)$ as "
        r"`-logaddexp(0, -u)`, $\log(1 + u)$ as `log1p(u)`; so they are finite and equal to "
        "PyTorch at logits of magnitude 1000, where a naive `sympy.lambdify` overflows."
    )
    return doc


# --------------------------------------------------------------------------------------------------
# Structured losses: the gradient on a small explicit instance


def _cross_entropy_document(spec) -> Derivation:
    z1, z2, z3 = sp.symbols("z_1 z_2 z_3", real=True)
    p1, p2, p3 = sp.symbols("p_1 p_2 p_3", positive=True)
    logits = (z1, z2, z3)
    normalizer = sp.log(sp.exp(z1) + sp.exp(z2) + sp.exp(z3))
    softmax = [sp.exp(z) / sum(sp.exp(v) for v in logits) for z in logits]
    ell = normalizer - z1
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text(
        "With logits $z$ and $q = \\operatorname{softmax}(z)$, the cross-entropy of the one-hot "
        "target $y$ is $-\\log q_y = \\log \\sum_j e^{z_j} - z_y$. Shown for $C = 3$ classes and "
        "target class 1:"
    )
    doc = doc.steps(
        Step(-sp.log(softmax[0]), ell, "log of a quotient"),
    )
    doc = doc.section("The gradient: softmax minus one-hot")
    doc = doc.chain(sp.Derivative(ell, z1), (softmax[0] - 1, "differentiate the log-sum-exp"))
    doc = doc.chain(sp.Derivative(ell, z2), (softmax[1], "only the log-sum-exp depends on $z_2$"))
    doc = doc.text(
        "So $\\nabla_z \\ell = \\operatorname{softmax}(z) - \\operatorname{onehot}(y)$; with a class "
        "weight $w_y$ both sides are multiplied by $w_y$, and `'mean'` divides by $\\sum_n w_{y_n}$ "
        "(PyTorch)."
    )
    doc = doc.section("Probability targets and label smoothing")
    soft = -(p1 * sp.log(softmax[0]) + p2 * sp.log(softmax[1]) + p3 * sp.log(softmax[2]))
    doc = doc.chain(
        sp.Derivative(soft, z1),
        (softmax[0] * (p1 + p2 + p3) - p1, "differentiate; each $\\log q_c$ contributes"),
    )
    doc = doc.text(
        "With label smoothing $\\varepsilon$, PyTorch replaces the target by "
        "$(1 - \\varepsilon)\\,y + \\varepsilon / C$, so the gradient is "
        "$\\operatorname{softmax}(z) - (1 - \\varepsilon)\\operatorname{onehot}(y) - \\varepsilon/C$."
    )
    doc = doc.section("Numerical stability").text(
        "Log-softmax is computed as $z - \\max z - \\log \\sum_j e^{z_j - \\max z}$: every exponent "
        "is at most 0, so logits of magnitude 1000 give finite values equal to PyTorch's."
    )
    return doc


def _nll_document(spec) -> Derivation:
    x1, x2, x3, w1 = sp.symbols("x_1 x_2 x_3 w_1", real=True)
    ell = -w1 * x1
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text(
        "The input holds log-probabilities $x$; for target class $y$ with weight $w_y$ the loss is "
        "$-w_y x_y$. For $C = 3$ and $y = 1$:"
    )
    doc = doc.chain(sp.Derivative(ell, x1), (-w1, "differentiate"))
    doc = doc.chain(sp.Derivative(ell, x2), (sp.S.Zero, "the loss does not involve $x_2$"))
    return doc.text(
        "`'mean'` divides the sum by $\\sum_n w_{y_n}$ over the targets not equal to `ignore_index`."
    )


def _ctc_document(spec) -> Derivation:
    # Alphabet {blank, a}, T = 2 steps, target "a": extended labels l' = (blank, a, blank).
    a1, a2, b1, b2 = sp.symbols("a_1 a_2 b_1 b_2", positive=True)  # y_t(a), y_t(blank)
    paths = a1 * a2 + a1 * b2 + b1 * a2  # aa, a-, -a all collapse to "a"
    alpha_1 = (b1, a1, sp.S.Zero)
    alpha_2 = (b2 * alpha_1[0], a2 * (alpha_1[1] + alpha_1[0]), b2 * (alpha_1[2] + alpha_1[1]))
    doc = _start(spec).section("The loss").text(_definition(spec))
    doc = doc.text(
        "CTC sums the probability of every alignment of the input to the target. There is no "
        "closed form in general: the forward (alpha) recursion computes the sum in $O(TS)$. "
        "On the smallest case, the alphabet $\\{\\epsilon, a\\}$ ($\\epsilon$ the blank), $T = 2$ "
        "steps and target $a$, write $a_t = y_t(a)$ and $b_t = y_t(\\epsilon)$ for the output "
        "probabilities. The alignments $aa$, $a\\epsilon$ and $\\epsilon a$ collapse to $a$."
    )
    doc = doc.text(
        "The extended target is $l' = (\\epsilon, a, \\epsilon)$; the recursion starts with "
        "$\\alpha_1 = (b_1, a_1, 0)$ and continues with "
        "$\\alpha_t(s) = y_t(l'_s)(\\alpha_{t-1}(s) + \\alpha_{t-1}(s-1))$ (the skip over a blank "
        "needs two distinct labels, absent here). The likelihood is "
        "$p = \\alpha_2(2) + \\alpha_2(1)$:"
    )
    doc = doc.steps(Step(alpha_2[2] + alpha_2[1], paths, "the sum over the three alignments"))
    ell = -sp.log(paths)
    beta_1_1 = a1 * a2 + a1 * b2  # beta_1(1): paths through s = 1 (label a) at t = 1
    doc = doc.section("The gradient")
    doc = doc.text(
        "With the backward variables $\\beta_t(s)$ (the same recursion from the end; like "
        "$\\alpha_t(s)$ it includes the factor $y_t(l'_s)$), the derivative in an output "
        "probability is "
        "$\\frac{\\partial (-\\log p)}{\\partial y_t(c)} = -\\frac{1}{p\\, y_t(c)^2} "
        "\\sum_{s : l'_s = c} \\alpha_t(s) \\beta_t(s)$. At $t = 1$, $c = a$ only $s = 1$ has "
        "label $a$; $\\alpha_1(1) = a_1$ and $\\beta_1(1) = a_1 a_2 + a_1 b_2$:"
    )
    doc = doc.chain(
        sp.Derivative(ell, a1),
        (-(alpha_1[1] * beta_1_1) / (paths * a1**2), "the alpha-beta formula"),
    )
    z_a, z_b = sp.symbols("z_a z_b", real=True)
    soft_a = sp.exp(z_a) / (sp.exp(z_a) + sp.exp(z_b))
    in_logits = ell.subs({a1: soft_a, b1: 1 - soft_a})
    share = (alpha_1[1] * beta_1_1 / (paths * a1)).subs({a1: soft_a, b1: 1 - soft_a})
    doc = doc.text(
        "PyTorch's gradient with respect to `log_probs` is $y_t(c) - \\frac{1}{p\\, y_t(c)} "
        "\\sum_{s: l'_s = c} \\alpha_t(s)\\beta_t(s)$: the gradient with respect to the logits $z_t$ "
        "when `log_probs = log_softmax(z)`. At $t = 1$ with $a_1 = \\operatorname{softmax}_a(z_1)$:"
    )
    doc = doc.chain(
        sp.Derivative(in_logits, z_a),
        (soft_a - share, "chain rule through the softmax: PyTorch's formula"),
        check=Numeric(),
    )
    return doc.text(
        "In general symlearn runs the alpha and beta recursions in log space (`numpy.logaddexp`), "
        "vectorized over the batch; `'mean'` divides each sample's loss by its target length and "
        "averages over the batch. A target that no alignment can produce (longer than the "
        "input allows) has $p = 0$ and the loss $+\\infty$, which has no gradient: as PyTorch's "
        "CPU kernel does, symlearn returns NaN for that sample's gradient at every used step, so "
        "it cannot train silently; `zero_infinity=True` replaces the loss and its gradient by 0."
    )


def _cosine_document(spec) -> Derivation:
    a1, a2, b1, b2 = sp.symbols("a_1 a_2 b_1 b_2", real=True)
    eps = sp.Symbol("epsilon", positive=True)
    A = a1**2 + a2**2 + eps
    B = b1**2 + b2**2 + eps
    cos = (a1 * b1 + a2 * b2) / sp.sqrt(A * B)
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text(
        "With $\\cos = \\langle a, b\\rangle / \\sqrt{(\\|a\\|^2 + \\epsilon)(\\|b\\|^2 + \\epsilon)}$ "
        "($\\epsilon = 10^{-12}$, PyTorch's), the loss is $1 - \\cos$ for $y = 1$ and "
        "$\\max(0, \\cos - m)$ for $y = -1$. The gradient of the cosine, for $D = 2$:"
    )
    doc = doc.chain(
        sp.Derivative(cos, a1),
        (b1 / sp.sqrt(A * B) - cos * a1 / A, "quotient and chain rules"),
    )
    return doc.text(
        "So $\\nabla_a \\cos = b/\\sqrt{AB} - \\cos\\, a/A$ with $A = \\|a\\|^2 + \\epsilon$, "
        "$B = \\|b\\|^2 + \\epsilon$, times $-1$ for $y = 1$ and times $[\\cos \\ge m]$ for $y = -1$ "
        f"({spec.kink})"
    )


def _triplet_document(spec) -> Derivation:
    a1, a2, p1, p2 = sp.symbols("a_1 a_2 p_1 p_2", real=True)
    eps = sp.Symbol("epsilon", positive=True)
    u1, u2 = a1 - p1 + eps, a2 - p2 + eps
    distance = sp.sqrt(u1**2 + u2**2)
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text(
        "With $d(u, v) = \\|u - v + \\epsilon\\|_p$ (`torch.pairwise_distance`), the loss is "
        "$\\max(0, m + d(a, p) - d(a, n))$; with `swap`, $d(a, n)$ is replaced by "
        "$\\min(d(a, n), d(p, n))$. For $p = 2$ and $D = 2$ the gradient of a distance is:"
    )
    doc = doc.chain(sp.Derivative(distance, a1), (u1 / distance, "chain rule through the root"))
    return doc.text(
        "In general $\\nabla_u \\|u\\|_p = \\operatorname{sign}(u)|u|^{p-1}/\\|u\\|_p^{p-1}$ (see "
        "the Minkowski distance), and the loss's gradient in the anchor is "
        "$\\nabla_a d(a, p) - \\nabla_a d(a, n)$ where the hinge is active; "
        f"{spec.kink}"
    )


def _linf_document(spec) -> Derivation:
    x1, x2, x3, y1, y2, y3 = sp.symbols("x_1 x_2 x_3 y_1 y_2 y_3", real=True)
    d = (x1 - y1, x2 - y2, x3 - y3)
    ell = sp.Max(*[sp.Abs(v) for v in d])
    claimed = sp.sign(d[0]) * sp.Heaviside(sp.Abs(d[0]) - sp.Abs(d[1])) * sp.Heaviside(
        sp.Abs(d[0]) - sp.Abs(d[2])
    )
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text("For $D = 3$, the gradient in $x_1$ is the sign of $x_1 - y_1$ where it is the largest:")
    doc = doc.steps(Step(sp.Derivative(ell, x1), claimed, "derivative of a maximum", check=Numeric()))
    return doc.text(f"At ties {spec.kink}")


def _minkowski_document(spec) -> Derivation:
    x1, x2, y1, y2 = sp.symbols("x_1 x_2 y_1 y_2", real=True)
    p = sp.Symbol("p", positive=True)
    ell = (sp.Abs(x1 - y1) ** p + sp.Abs(x2 - y2) ** p) ** (1 / p)
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text("For $D = 2$ and any $p > 0$ (checked for $p$ in $(1, 4)$):")
    doc = replace_domain(doc, {p: (1.0, 4.0)})
    doc = doc.steps(
        Step(
            sp.Derivative(ell, x1),
            sp.sign(x1 - y1) * sp.Abs(x1 - y1) ** (p - 1) / ell ** (p - 1),
            "chain rule; $\\frac{d}{du}|u|^p = p\\operatorname{sign}(u)|u|^{p-1}$",
            check=Numeric(),
        )
    )
    return doc.text(
        f"For $p = 2$ this is $(x - y)/\\|x - y\\|_2$, and for $p = 1$ the sign. {spec.kink}"
    )


def replace_domain(doc: Derivation, extra) -> Derivation:
    from dataclasses import replace

    return replace(doc, domain={**doc.domain, **extra})


_STRUCTURED = {
    "cross_entropy": _cross_entropy_document,
    "nll_loss": _nll_document,
    "ctc_loss": _ctc_document,
    "cosine_embedding_loss": _cosine_document,
    "triplet_margin_loss": _triplet_document,
    "linf_distance": _linf_document,
    "minkowski_distance": _minkowski_document,
}


# --------------------------------------------------------------------------------------------------
# The overview: every loss, its gradient and a plot


def _plot_inputs(name, e):
    """Arguments for a 1-D plot against the error (regression) or the margin (classification)."""
    import numpy as np

    ones = np.ones_like(e)
    regression = {"mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "mean_absolute_percentage_error"}
    if name in regression:
        return (e + 1.0, ones), {}
    if name == "mean_squared_log_error":
        return (np.maximum(e + 1.0, -0.9), ones), {}
    if name in {"soft_margin_loss", "logistic_loss", "hinge_loss"}:
        return (e, ones), {}
    if name in {"binary_cross_entropy_with_logits", "multilabel_soft_margin_loss"}:
        return (e[:, None] if name.startswith("multi") else e, (ones[:, None] if name.startswith("multi") else ones)), {}
    if name == "binary_cross_entropy":
        return (np.clip(1 / (1 + np.exp(-e)), 1e-6, 1 - 1e-6), ones), {}
    if name == "hinge_embedding_loss":
        return (e, -ones), {}
    if name == "margin_ranking_loss":
        return (e, 0 * e, ones), {}
    if name == "kl_div":
        return (e, 0.5 * ones), {}
    return None


def _draw_overview(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import catalog

    names = [n for n in catalog if _plot_inputs(n, np.zeros(1)) is not None]
    columns = 4
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(10, 2.2 * rows), squeeze=False)
    e = np.linspace(-3, 3, 301)
    for ax, name in zip(axes.flat, names):
        args, kwargs = _plot_inputs(name, e)
        value, grad = catalog[name].value_and_grad(*args, reduction="none", **kwargs)
        ax.plot(e, np.reshape(value, -1), label="loss")
        ax.plot(e, np.reshape(grad, -1), "--", label="gradient")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.axhline(0, color="0.8", lw=0.5)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def build_overview() -> Derivation:
    from . import catalog

    doc = Derivation(
        name="losses-overview",
        title="Every loss of the course, derived",
        summary="The loss catalog on one page: each loss, its gradient, and a plot of both.",
    )
    doc = doc.text(
        "The course's \"Still puzzling?\" slide lists PyTorch's losses (seed 003); here each one is "
        "a row of symlearn's catalog, with its per-element (or per-sample) formula and the "
        "gradient its document derives and checks."
    )
    rows = []
    for loss in catalog.values():
        spec = loss.spec
        grad = spec.textbook_grad if spec.textbook_grad is not None else "see its document"
        rows.append((spec.title, spec.expr, grad, f"`{spec.name}`" if spec.torch else "none"))
    doc = doc.table(("loss", "formula", "gradient", "PyTorch twin"), rows)
    x, y = sp.symbols("x y", real=True)
    doc = doc.section("The two gradients every course shows").steps(
        Step(sp.Derivative(sp.log(1 + sp.exp(x)) - y * x, x), sigmoid(x) - y, "BCE with logits"),
        Step(sp.Derivative((x - y) ** 2, x), 2 * (x - y), "squared error"),
    )
    return doc.figure(
        Figure(
            "losses-overview",
            "Loss (solid) and gradient (dashed) against the error $x - y$ (regression) or the "
            "logit or margin (classification), one panel per elementwise loss.",
            _draw_overview,
            requires="matplotlib",
        )
    )
