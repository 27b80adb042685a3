r"""Derivation documents for the loss catalog, generated from its rows (course content, so it
lives beside the other derivation sources; ``Loss.derivation()`` and ``derivations/losses.py``
load it with ``symlearn.registry.load_helper``).

An elementwise loss's document follows from its :class:`~symlearn.losses._spec.LossSpec`: the
definition and reduction, the derivative step by step with each rule named
(:func:`symlearn.calculus.steps.add_gradient_steps`), the step to the textbook form, and each
place where the compiled function differs from the expression (PyTorch's clamps, its convention at
kinks, a simpler equal form), every step checked. Losses with structure (cross-entropy, CTC, the
embedding losses and distances) derive their gradient on a small explicit instance.

Every document ends with a worked example (:data:`EXAMPLES`): the value and gradient at one small
concrete input, each number a ``Rounded`` step whose exact value SymPy computes from the loss's
expression, and a build-time check that the compiled function returns the same numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp

from symlearn._course_sources import course_source
from symlearn.calculus.steps import add_gradient_steps
from symlearn.derivation import Derivation, Figure, Numeric, Step
from symlearn.functions import sigmoid
from symlearn.losses._spec import apply_flag
from symlearn.printing.latex import latex

__all__ = ["EXAMPLES", "build_document", "build_overview", "document_name", "worked_example"]

_REDUCTION_TEXT = (
    "Reductions (PyTorch's): `'none'` returns every element's loss, `'sum'` their sum $L = "
    r"\sum_i \ell_i$, and `'mean'` (the default) $L = \frac{1}{N} \sum_i \ell_i$, so that "
    r"$\frac{\partial L}{\partial x_i} = \frac{1}{N} \frac{\partial \ell}{\partial x}(x_i, y_i)$. "
    "The compiled gradient takes the factor $1/N$ as an argument, so value and gradient cost one "
    "pass each."
)


#: The per-element loss in the documents' formulas.
ELL = sp.Symbol(r"\ell")

#: A sentence per loss for the question a student asks about its gradient.
WHY = {
    "mse_loss": (
        "Why the factor 2: the square's power rule brings it down. Some texts define "
        r"$\frac{1}{2}(x - y)^2$ to cancel it; PyTorch's `mse_loss` does not, so its gradient is "
        r"$2(x - y)$ (and $2(x - y)/N$ under `'mean'`)."
    ),
    "l1_loss": (
        r"Why the gradient does not shrink near the target: $|x - y|$ has slope $\pm 1$ "
        "everywhere except at $x = y$, so gradient descent takes steps of the same size until it "
        "crosses the target; this is what makes L1 robust to outliers and slow to settle."
    ),
    "binary_cross_entropy": (
        r"Why $x(1 - x)$ in the denominator: it is $\sigma'(z)$ when $x = \sigma(z)$, so the "
        r"chain rule through a sigmoid output cancels it and the gradient in the logit is "
        r"$x - y$ (the `binary-cross-entropy-with-logits` document)."
    ),
    "binary_cross_entropy_with_logits": (
        r"Why the gradient is $\sigma(x) - y$ (without `pos_weight`): $1 - \sigma(-x) = "
        r"\sigma(x)$, so the two log-sigmoid terms give $-y(1 - \sigma(x)) + (1 - y)\sigma(x)"
        r" = \sigma(x) - y$: the predicted probability minus the target, never saturating the "
        "way the squared error on a sigmoid does."
    ),
    "soft_margin_loss": (
        r"Why a sigmoid: $\operatorname{softplus}' = \sigma$, so the gradient is "
        r"$-y\,\sigma(-xy)$, near 0 once the margin $xy$ is large and near $-y$ when the sign "
        "is wrong."
    ),
    "logistic_loss": (
        r"Why a sigmoid: $\operatorname{softplus}' = \sigma$, so the gradient is "
        r"$-y\,\sigma(-xy)$, near 0 once the margin $xy$ is large and near $-y$ when the sign "
        "is wrong."
    ),
    "hinge_loss": (
        r"Why the gradient is 0 for a margin above 1: there $1 - xy < 0$, and relu is flat; only "
        "the points inside the margin or misclassified (the support vectors) move the weights."
    ),
}


def document_name(name: str) -> str:
    return name.replace("_", "-")


def _m(expr) -> str:
    return f"${latex(expr)}$"


def _title(spec) -> str:
    """The loss's plain title for prose: a symbol it names in parentheses, "Minkowski (L_p)
    distance", is typeset as maths ($L_p$) rather than printed as ASCII."""
    return spec.title.replace(f"({spec.latex_name})", f"(${spec.latex_name}$)")


def _definition(spec) -> str:
    twin = f"PyTorch twin: `{spec.torch}`." if spec.torch else "It has no PyTorch twin."
    domain = "; ".join(f"`{k}`: {v}" for k, v in spec.domain.items())
    return f"{_title(spec)}. {twin} Domain: {domain}."


def _start(spec) -> Derivation:
    return Derivation(
        name=document_name(spec.name),
        title=f"{_title(spec)}: ${spec.latex_name}$ and its gradient",
        summary=f"{_title(spec)}: the loss, its gradient, PyTorch's conventions, checked step by "
                "step.",
        domain=dict(spec.numeric_domain),
    )


def build_document(spec) -> Derivation:
    if spec.structured is not None:
        doc = _STRUCTURED[spec.name](spec)
    else:
        doc = _elementwise_document(spec)
    return _worked_example_section(doc, spec)  # every loss has one: a KeyError names a new loss


def _pytorch_form(doc: Derivation, form) -> Derivation:
    """``form`` (PyTorch's derivative: a clamp, its value at a kink) against the derivative just
    derived, checked at random points (which miss the kinks); nothing when the two print alike."""
    derived = doc.all_steps()[-1].rhs
    if latex(form) == latex(derived):
        return doc
    return doc.steps(Step(form, derived, "PyTorch's form of the derivative", check=Numeric()))


def _elementwise_document(spec) -> Derivation:
    x = spec.symbols[0]
    target = spec.symbols[spec.arrays.index("target")] if "target" in spec.arrays else spec.symbols[-1]
    doc = _start(spec).section("The loss").text(_definition(spec))
    doc = doc.text(
        f"Per element, with prediction ${latex(x)}$ and target ${latex(target)}$: "
        f"$\\ell = {latex(spec.expr)}$."
        + (f" {spec.notes}" if spec.notes else "")
    )
    doc = doc.text(_REDUCTION_TEXT)
    doc = doc.section("The gradient").text(
        f"The derivative of $\\ell$ in ${latex(x)}$, one rule at a time; each line is checked "
        "against SymPy's derivative before it is shown."
    )
    doc = add_gradient_steps(doc, spec.expr, x, textbook=spec.textbook_grad, output=ELL)
    if spec.name in WHY:
        doc = doc.text(WHY[spec.name])
    if spec.grad_expr is not None and latex(spec.grad_expr) == latex(doc.all_steps()[-1].rhs):
        doc = doc.text("This is the form the compiled gradient computes."
                       + (f" At the kinks: {spec.kink}" if spec.kink else ""))
    elif spec.grad_expr is not None:
        doc = doc.text(
            "The compiled gradient is the form below; it equals the derivative wherever the "
            "loss is differentiable (checked at random points, which miss the kinks)."
            + (f" At the kinks: {spec.kink}" if spec.kink else "")
        )
        doc = _pytorch_form(doc, spec.grad_expr)
    elif spec.kink:
        doc = doc.text(f"At the kinks: {spec.kink}")
    cases = _target_cases(spec)
    if cases:
        target = spec.symbols[-1]
        doc = doc.section("By target").text(
            "The loss has a branch for each of these targets (checked on each: random points "
            "above take the general branch). Each branch's derivative, rule by rule:"
        )
        for value in cases:
            at = sp.sympify(spec.expr).subs(target, value)
            doc = doc.text(f"At ${latex(target)} = {latex(value)}$, $\\ell = {latex(at)}$:")
            doc = _pytorch_form(add_gradient_steps(doc, at, x, output=ELL, why=False),
                                sp.sympify(spec.derivative).subs(target, value))
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
        doc = doc.steps(Step(plain, value, "log-sigmoid identities"))
        doc = add_gradient_steps(doc, value, x, textbook=grad, output=ELL)
    defaults = _defaults(spec)
    for name, entry in spec.flags.items():
        other = not defaults.get(name, False)
        value, grad = apply_flag(entry, other, sp.sympify(spec.expr), sp.sympify(spec.derivative))
        doc = doc.section(f"With {name.replace('_', ' ')} set to {other}").text(
            f"With `{name}={other}` the element is ${latex(value)}$."
        )
        if spec.grad_expr is None:
            doc = add_gradient_steps(doc, value, x, textbook=grad, output=ELL)
        else:  # PyTorch's form (a clamp, a kink convention) is a separate, numeric step
            doc = _pytorch_form(add_gradient_steps(doc, value, x, output=ELL), grad)
    doc = doc.section("Numerical stability").text(
        spec.stability or
        "The compiled functions are printed by symlearn's stable NumPy printer: "
        r"$\log(1 + e^{u})$ and softplus as `logaddexp(0, u)`, $\log\sigma(u)$ as "
        r"`-logaddexp(0, -u)`, $\log(1 + u)$ as `log1p(u)`; so they are finite and equal to "
        "PyTorch at logits of magnitude 1000, where a naive `sympy.lambdify` overflows."
    )
    return doc


def _target_cases(spec) -> list:
    """The target values that a Piecewise loss singles out (``Eq(y, 1)``), in order."""
    expr = sp.sympify(spec.expr)
    if not isinstance(expr, sp.Piecewise) or not spec.symbols:
        return []
    target = spec.symbols[-1]
    return [
        cond.rhs if cond.lhs == target else cond.lhs
        for _, cond in expr.args
        if isinstance(cond, sp.Eq) and target in cond.free_symbols
    ]


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
    total = sp.exp(z1) + sp.exp(z2) + sp.exp(z3)
    doc = doc.text("In the target's logit $z_1$, rule by rule:")
    doc = add_gradient_steps(doc, ell, z1, names={total: "S"}, output=ELL)
    doc = doc.text("and in another logit, $z_2$:")
    doc = add_gradient_steps(doc, ell, z2, names={total: "S"}, output=ELL)
    doc = doc.text(
        "Why the softmax's Jacobian collapses to $q - y$: written through $q = "
        "\\operatorname{softmax}(z)$, $\\ell = -\\sum_c y_c \\log q_c$ and "
        "$\\partial q_c / \\partial z_k = q_c(\\delta_{ck} - q_k)$, a full $C \\times C$ matrix; "
        "but the log's derivative $-y_c/q_c$ cancels the factor $q_c$, leaving "
        "$\\sum_c -y_c(\\delta_{ck} - q_k) = q_k \\sum_c y_c - y_k = q_k - y_k$ because the "
        "target sums to 1. No Jacobian is ever formed: the backward pass costs one subtraction "
        "per logit. Writing $\\ell$ as $\\log \\sum_j e^{z_j} - z_y$ (above) reaches the same "
        "result with only the rules for $\\log$ and $e^u$."
    )
    doc = doc.text(
        "So $\\nabla_z \\ell = \\operatorname{softmax}(z) - \\operatorname{onehot}(y)$; with a class "
        "weight $w_y$ both sides are multiplied by $w_y$, and `'mean'` divides by $\\sum_n w_{y_n}$ "
        "(PyTorch)."
    )
    doc = doc.section("Probability targets and label smoothing")
    soft = -(p1 * sp.log(softmax[0]) + p2 * sp.log(softmax[1]) + p3 * sp.log(softmax[2]))
    doc = doc.text(
        "With a probability target $p$ (PyTorch accepts one), $\\ell = -\\sum_c p_c \\log q_c$; "
        "since $\\log q_c = z_c - \\log S$, this is $\\log S \\sum_c p_c - \\sum_c p_c z_c$:"
    )
    doc = doc.steps(Step(soft, sp.log(total) * (p1 + p2 + p3) - (p1 * z1 + p2 * z2 + p3 * z3),
                         "$\\log q_c = z_c - \\log S$"))
    doc = add_gradient_steps(
        doc, sp.log(total) * (p1 + p2 + p3) - (p1 * z1 + p2 * z2 + p3 * z3), z1,
        names={total: "S"}, textbook=softmax[0] * (p1 + p2 + p3) - p1, output=ELL,
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
    m = sp.Symbol("m", real=True)
    doc = doc.steps(Step(
        sp.log(total), m + sp.log(sp.exp(z1 - m) + sp.exp(z2 - m) + sp.exp(z3 - m)),
        "log-sum-exp shifted by any $m$",
    ))
    doc = doc.text(
        "Why the shift is allowed and why it is stable: $e^{z_j} = e^{m} e^{z_j - m}$, so "
        "$\\log S = m + \\log \\sum_j e^{z_j - m}$ for every $m$ (checked above). With "
        "$m = \\max_j z_j$ the largest term of the sum is $e^0 = 1$: the sum lies in $[1, C]$, "
        "so it neither overflows ($e^{1000}$ is infinite in float64) nor underflows to "
        "$\\log 0$. The gradient $q = e^{z - \\log S}$ reuses the same stable $\\log S$."
    )
    return doc


def _nll_document(spec) -> Derivation:
    # Classes numbered from 0, as PyTorch's targets are, so that y = 1 picks x_1.
    x0, x1, _x2, w1 = sp.symbols("x_0 x_1 x_2 w_1", real=True)
    ell = -w1 * x1
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text(
        "The input holds log-probabilities $x$; for target class $y$ with weight $w_y$ the loss is "
        "$\\ell = -w_y x_y$. Here the classes are numbered from 0, as PyTorch's targets are: for $C = 3$ "
        "the entries are $x_0, x_1, x_2$, and for $y = 1$:"
    )
    doc = add_gradient_steps(doc, ell, x1, output=ELL)
    doc = doc.text("The loss does not involve the other entries, so their derivatives are 0:")
    doc = doc.steps(Step(sp.Derivative(ELL, x0), sp.S.Zero,
                         "$x_0$ does not appear in $\\ell$: a constant's derivative, $c' = 0$",
                         claim=(sp.Derivative(ell, x0), sp.S.Zero)))
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
        "label $a$; $\\alpha_1(1) = a_1$ and $\\beta_1(1) = a_1 a_2 + a_1 b_2$. Rule by rule, "
        "from $\\ell = -\\log p$ written out, the derivative ends at that formula:"
    )
    doc = add_gradient_steps(doc, ell, a1, output=ELL, why=False,
                             textbook=-(alpha_1[1] * beta_1_1) / (paths * a1**2))
    doc = doc.text(
        "The last line is $-\\alpha_1(1)\\beta_1(1)/(p\\, a_1^2)$: the $\\alpha$-$\\beta$ "
        "formula at $t = 1$, $s = 1$, equal to the rule-by-rule derivative (checked)."
    )
    z_a, z_b = sp.symbols("z_a z_b", real=True)
    soft_a = sp.exp(z_a) / (sp.exp(z_a) + sp.exp(z_b))
    share = (alpha_1[1] * beta_1_1 / (paths * a1)).subs({a1: soft_a, b1: 1 - soft_a})
    doc = doc.text(
        "PyTorch's gradient with respect to `log_probs` is $y_t(c) - \\frac{1}{p\\, y_t(c)} "
        "\\sum_{s: l'_s = c} \\alpha_t(s)\\beta_t(s)$: the gradient with respect to the logits $z_t$ "
        "when `log_probs = log_softmax(z)`. At $t = 1$ with $a_1 = \\operatorname{softmax}_a(z_1)$:"
    )
    doc = doc.steps(Step(soft_a, sigmoid(z_a - z_b), "two classes: softmax is a sigmoid"))
    doc = doc.text(
        "With two classes the softmax is the sigmoid of the difference of the logits (checked "
        "above), so $a_1 = \\sigma(z_a - z_b)$ and $b_1 = 1 - a_1$; rule by rule, ending at "
        "PyTorch's formula:"
    )
    two_class = sigmoid(z_a - z_b)
    doc = add_gradient_steps(doc, ell.subs({a1: two_class, b1: 1 - two_class}), z_a,
                             textbook=soft_a - share, output=ELL)
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
    doc = add_gradient_steps(doc, cos, a1, names={A: "A"},
                             textbook=b1 / sp.sqrt(A * B) - cos * a1 / A)
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
    doc = add_gradient_steps(doc, distance, a1, textbook=u1 / distance)
    return doc.text(
        "In general $\\nabla_u \\|u\\|_p = \\operatorname{sign}(u)|u|^{p-1}/\\|u\\|_p^{p-1}$ (see "
        "the Minkowski distance), and the loss's gradient in the anchor is "
        "$\\nabla_a d(a, p) - \\nabla_a d(a, n)$ where the hinge is active; "
        f"{spec.kink}"
    )


def _multi_margin_document(spec) -> Derivation:
    x1, x2, x3, m, w = sp.symbols("x_1 x_2 x_3 m w_2", real=True)
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text(
        "For scores $x$, target class $y$, margin $m$ and $p \\in \\{1, 2\\}$, each other class "
        "$i$ adds $w_y \\max(0, m - x_y + x_i)^p$: a class scored within $m$ of the target's is "
        "penalized. For $C = 3$, $y = 2$ and $p = 2$, where both hinges are active "
        "($z_i = m - x_2 + x_i > 0$), the loss is a polynomial:"
    )
    z1, z3 = m - x2 + x1, m - x2 + x3
    ell = w * (z1**2 + z3**2) / 3
    doc = add_gradient_steps(doc, ell, x1, textbook=sp.Rational(2, 3) * w * z1, output=ELL)
    doc = doc.text("The target's score $x_2$ enters every term:")
    doc = add_gradient_steps(doc, ell, x2, textbook=-sp.Rational(2, 3) * w * (z1 + z3),
                             output=ELL)
    doc = doc.text(
        "So the gradient is $\\frac{p}{C} w_y z_i^{p-1}$ at each active $i \\ne y$ and minus their "
        "sum at $y$; an inactive hinge ($z_i < 0$) contributes nothing, and "
        f"{spec.kink} `'mean'` divides by the number of samples."
    )
    return doc


def _multilabel_margin_document(spec) -> Derivation:
    x1, x2, x3 = sp.symbols("x_1 x_2 x_3", real=True)
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text(
        "Every (target label, other class) pair is a hinge with margin 1: the target's score "
        "should exceed each non-target's by 1. For $C = 3$ classes with scores $x_1, x_2, x_3$, "
        "target labels 1 and 2 (the target row `[0, 1, -1]` counted from 0) and the non-target "
        "class 3, with both hinges active, the sample's loss $\\ell$ is the sum of the "
        "hinges $1 - x_1 + x_3$ and $1 - x_2 + x_3$ divided by $C$ (PyTorch's), and its "
        "derivative in the non-target's score is:"
    )
    ell = ((1 - x1 + x3) + (1 - x2 + x3)) / 3
    doc = add_gradient_steps(doc, ell, x3, output=ELL)
    doc = doc.text("Each active pair adds $1/C$ to the non-target's derivative; $x_1$ is in one pair:")
    doc = add_gradient_steps(doc, ell, x1, output=ELL)
    return doc.text(
        f"An inactive hinge contributes nothing; {spec.kink} `'mean'` divides by the number of "
        "samples."
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
    doc = add_gradient_steps(doc, ell, x1, textbook=claimed, output=ELL)
    return doc.text(f"At ties {spec.kink}")


def _minkowski_document(spec) -> Derivation:
    x1, x2, y1, y2 = sp.symbols("x_1 x_2 y_1 y_2", real=True)
    p = sp.Symbol("p", positive=True)
    ell = (sp.Abs(x1 - y1) ** p + sp.Abs(x2 - y2) ** p) ** (1 / p)
    doc = _start(spec).section("The loss").text(_definition(spec) + " " + spec.notes)
    doc = doc.text("For $D = 2$ and any $p > 0$ (checked for $p$ in $(1, 4)$):")
    doc = replace_domain(doc, {p: (1.0, 4.0)})
    doc = add_gradient_steps(
        doc, ell, x1, textbook=sp.sign(x1 - y1) * sp.Abs(x1 - y1) ** (p - 1) / ell ** (p - 1),
        output=ELL,
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
    "triplet_margin_with_distance_loss": _triplet_document,
    "multi_margin_loss": _multi_margin_document,
    "multilabel_margin_loss": _multilabel_margin_document,
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
    if name == "poisson_nll_loss":  # log-rate against a count of 1
        return (e, ones), {}
    if name == "gaussian_nll_loss":  # mean against the target, unit variance
        return (e + 1.0, ones, ones), {}
    return None


def _draw_overview(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from symlearn.losses import catalog

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


#: What the overview table's symbols mean, in the order a reader meets them.
_OVERVIEW_SYMBOLS = {
    "x": "the input (`input`): a prediction, a logit, a probability or a log-probability",
    "y": "the target (`target`); $y_j$ is a sample's $j$-th target label",
    r"\delta": "Huber's threshold (`delta`)",
    r"\beta": "smooth L1's threshold (`beta`)",
    "z": "the logits; $z_j$ is class $j$'s",
    "C": "the number of classes",
    "w": "the class weights (`weight`); $w_y$ is the target's",
    "p_w": "the positive class's weight (`pos_weight`)",
    "m": "the margin (`margin`)",
    r"\alpha_T(s)": "CTC's forward variable at the last step $T$, position $s$",
    "S'": "the length of the target with the blanks added",
    "x_1, x_2": "the two inputs a ranking compares",
    r"\cos": "the cosine similarity of the two inputs",
    "a, p, n": "anchor, positive and negative; $a_i$, $p_i$, $n_i$ their entries",
    "D": "the length of the vectors compared",
    "p": "as an exponent, the norm's order or a margin's power (`p`)",
    "v": "the variance (`var`)",
}


def build_overview() -> Derivation:
    from symlearn.losses import catalog

    doc = Derivation(
        name="losses-overview",
        title="Every loss of the course, derived",
        summary="The loss catalog on one page: each loss, its gradient, and a plot of both.",
    )
    doc = doc.text(
        f"The \"Still puzzling?\" slide of {course_source('003')} lists PyTorch's "
        "losses; here each one is "
        "a row of symlearn's catalog, with its per-element (or per-sample) formula and the "
        "gradient its document derives and checks."
    )
    doc = doc.notation(_OVERVIEW_SYMBOLS, "the symbols of the table below")
    rows = []
    for loss in catalog.values():
        spec = loss.spec
        grad = spec.textbook_grad if spec.textbook_grad is not None else "see its document"
        rows.append((spec.title, spec.expr, grad, f"`{spec.name}`" if spec.torch else "none"))
    doc = doc.table(("loss", "formula", "gradient", "PyTorch twin"), rows)
    x, y = sp.symbols("x y", real=True)
    bce = sp.log(1 + sp.exp(x)) - y * x
    doc = doc.section("The two gradients every course shows").text(
        "Binary cross-entropy on a logit $x$ with a target $y \\in [0, 1]$ is "
        f"$\\ell = {latex(bce)}$ per element (the log-sigmoid form of the table, written out). "
        "Its derivative, one rule at a time:"
    )
    doc = add_gradient_steps(doc, bce, x, textbook=sigmoid(x) - y, output=ELL)
    doc = doc.text(
        "The predicted probability minus the target: the gradient never saturates, however "
        "wrong the logit. The squared error of a prediction $x$ against a target $y$ is "
        "$\\ell = (x - y)^2$:"
    )
    # Unevaluated, so that the last line reads 2(x - y), the residual doubled, as texts write it.
    doubled = sp.Mul(2, x - y, evaluate=False)
    doc = add_gradient_steps(doc, (x - y) ** 2, x, textbook=doubled, output=ELL, why=False)
    doc = doc.text(
        "Both gradients are the residual, prediction minus target; the squared error's is twice "
        "it, because the power rule brings the exponent 2 down."
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


# --------------------------------------------------------------------------------------------------
# A worked example per loss: the value and gradient at one small concrete input, exact from SymPy


#: One small input per loss, ``name -> (args, kwargs)``. Floats are dyadic (exact in binary), so
#: the arrays handed to the compiled function, to PyTorch and to SymPy hold the same numbers.
EXAMPLES: dict = {
    "mse_loss": (([0.5, -1.0, 2.0], [1.0, 0.5, 1.5]), {}),
    "l1_loss": (([0.5, -1.0, 2.0], [1.0, 0.5, 1.5]), {}),
    "huber_loss": (([0.5, -1.0, 3.0], [1.0, 0.5, 1.5]), {}),
    "smooth_l1_loss": (([0.5, -1.0, 3.0], [1.0, 0.5, 1.5]), {}),
    "cross_entropy": (([[0.5, -1.0, 2.0]], [2]), {}),
    "nll_loss": (([[-1.5, -0.5, -2.0]], [1]), {}),
    "binary_cross_entropy": (([0.25, 0.5, 0.875], [0.0, 1.0, 1.0]), {}),
    "binary_cross_entropy_with_logits": (([-1.5, 0.5, 2.0], [0.0, 1.0, 0.75]), {}),
    # input = log q for the normalised q = (1/2, 1/4, 1/4) (the nearest doubles), so the sum is
    # D_KL(p || q) = ln(2)/4 >= 0, as information-theory proves.
    "kl_div": (([-0.6931471805599453, -1.3862943611198906, -1.3862943611198906], [0.25, 0.5, 0.25]), {"reduction": "batchmean"}),
    "hinge_embedding_loss": (([0.5, 2.0, 0.25], [1.0, -1.0, -1.0]), {}),
    "ctc_loss": (
        ([[[-1.3862943611198906, -0.2876820724517809]], [[-0.6931471805599453, -0.6931471805599453]]],
         [[1]], [2], [1]),
        {},
    ),
    "cosine_embedding_loss": (([[1.0, 2.0]], [[2.0, -0.5]], [1.0]), {}),
    "margin_ranking_loss": (([0.5, -1.0, 2.0], [1.0, 0.5, 1.5], [1.0, -1.0, 1.0]), {}),
    "soft_margin_loss": (([0.5, -1.0, 2.0], [1.0, -1.0, -1.0]), {}),
    "multilabel_soft_margin_loss": (([[0.5, -1.0, 2.0]], [[1.0, 0.0, 1.0]]), {}),
    "triplet_margin_loss": (([[1.0, 0.0]], [[0.5, 0.5]], [[0.0, 0.5]]), {}),
    "mean_squared_log_error": (([0.5, 1.0, 3.0], [1.0, 0.5, 2.0]), {}),
    "mean_absolute_percentage_error": (([0.5, -1.0, 2.0], [1.0, 0.5, 1.5]), {}),
    "linf_distance": (([[1.0, -2.0, 0.5]], [[0.0, 0.5, 0.0]]), {}),
    "minkowski_distance": (([[1.0, -2.0]], [[0.0, 0.5]]), {"p": 3}),
    "logistic_loss": (([0.5, -1.0, 2.0], [1.0, -1.0, -1.0]), {}),
    "hinge_loss": (([0.5, -0.25, 2.0], [1.0, -1.0, -1.0]), {}),
    "poisson_nll_loss": (([0.5, -1.0, 1.5], [2.0, 0.0, 3.0]), {"full": True}),
    "gaussian_nll_loss": (([0.5, -1.0, 2.0], [1.0, 0.5, 1.5], [0.25, 1.0, 2.0]), {"full": True}),
    "triplet_margin_with_distance_loss": (([[1.0, 0.0]], [[0.5, 0.5]], [[0.0, 0.5]]), {"swap": True}),
    "multi_margin_loss": (([[0.5, 0.25, -1.0]], [1]), {"p": 2, "weight": [1.0, 1.5, 0.5]}),
    "multilabel_margin_loss": (([[0.5, -1.0, 0.25, 2.0]], [[3, 0, -1, 1]]), {}),
}

#: What an example's numbers mean, where the arrays alone do not say it.
_EXAMPLE_NOTES = {
    "ctc_loss": (
        "This is the tiny case above: `log_probs` holds $\\log$ of the output probabilities "
        "$y_1 = (b_1, a_1) = (1/4, 3/4)$ and $y_2 = (1/2, 1/2)$ over (blank, $a$), so "
        "$p = a_1 a_2 + a_1 b_2 + b_1 a_2 = 7/8$ and $L = -\\log(7/8)$; the gradient is "
        "PyTorch's, the one in the logits."
    ),
    "kl_div": (
        "`input` is $\\log q$ for the normalised $q = (1/2, 1/4, 1/4)$ and `target` is "
        "$p = (1/4, 1/2, 1/4)$, so the sum is $D_{\\mathrm{KL}}(p \\| q) = \\frac{1}{4}\\ln 2 "
        "\\geq 0$; `'batchmean'` divides it by the first axis, 3 here. `kl_div` does not "
        "normalise its input: on an `input` that is not log-probabilities summing to one it "
        "computes $\\sum y(\\log y - x)$ all the same, and that can be negative, which is no "
        "contradiction of Gibbs' inequality (the `information-theory` document)."
    ),
    "nll_loss": (
        "`target` = `[1]` is the class numbered 1 from 0, the second entry: $x_{1,2}$ in this "
        "section's numbering from 1."
    ),
}

_DIGITS = 6  # decimals shown; the Rounded check holds each to the exact value


class WorkedExample(NamedTuple):
    """The exact value and gradient (SymPy numbers) of a loss at :data:`EXAMPLES`' input."""

    args: tuple  # numpy arrays, as passed to the loss
    kwargs: dict
    value: object  # exact SymPy number
    grad: tuple  # exact SymPy numbers, one per element of the first argument (row-major)


def _exact(value):
    """A float array's entries as exact rationals (they are dyadic, or the nearest doubles)."""
    import numpy as np

    return [sp.Rational(float(v)) for v in np.asarray(value, dtype=float).reshape(-1)]


def _defaults(spec) -> dict:
    import inspect

    return {k: p.default for k, p in inspect.signature(spec.signature).parameters.items()}


def _elementwise_exact(spec, args, kwargs):
    """Mean (or sum) of ``spec.expr`` over the elements, and its derivative in each element of
    the first argument (``spec.derivative``, PyTorch's convention at kinks)."""
    import numpy as np

    options = {**_defaults(spec), **kwargs}
    values = {symbol: options[name] for name, symbol in spec.options.items()}
    values.update({s: spec.defaults_for_absent[n] for n, s in spec.optional_arrays.items()})
    element, derivative = sp.sympify(spec.expr), sp.sympify(spec.derivative)
    for name, entry in spec.flags.items():
        element, derivative = apply_flag(entry, bool(options[name]), element, derivative)
    element = element.xreplace({k: sp.nsimplify(v) for k, v in values.items()})
    derivative = derivative.xreplace({k: sp.nsimplify(v) for k, v in values.items()})
    columns = [_exact(a) for a in args]
    shape = np.shape(args[0])
    count = len(columns[0])
    reduction = options["reduction"]
    scale = {"mean": sp.Rational(1, count), "sum": sp.S.One,
             "batchmean": sp.Rational(1, shape[0])}[reduction]
    if spec.mean_over == "last" and reduction != "mean":  # the mean over the classes first
        scale = scale / shape[-1]
    points = [dict(zip(spec.symbols, row)) for row in zip(*columns)]
    value = scale * sp.Add(*[element.xreplace(p) for p in points])
    grad = tuple(scale * derivative.xreplace(p) for p in points)
    return value, grad


def _structured_exact(name, args, kwargs):
    """The loss of the example written out in SymPy (one sample), differentiated by ``diff``."""
    first = _exact(args[0])
    u = sp.symbols(f"u_0:{len(first)}", real=True)
    if name == "cross_entropy":
        (label,) = args[1]
        ell = sp.log(sp.Add(*[sp.exp(v) for v in u])) - u[label]
    elif name == "nll_loss":
        (label,) = args[1]
        ell = -u[label]
    elif name == "cosine_embedding_loss":
        b = _exact(args[1])
        eps = sp.Rational(1, 10**12)  # PyTorch's EPSILON in cosine_embedding_loss
        cos = sum(ui * bi for ui, bi in zip(u, b)) / sp.sqrt(
            (sum(ui**2 for ui in u) + eps) * (sum(bi**2 for bi in b) + eps)
        )
        ell = 1 - cos  # target 1
    elif name in ("triplet_margin_loss", "triplet_margin_with_distance_loss"):
        positive, negative = _exact(args[1]), _exact(args[2])
        eps = sp.Rational(1, 10**6)

        def distance(v, w=u):
            return sp.sqrt(sum((wi - vi + eps) ** 2 for wi, vi in zip(w, v)))

        negative_distance = distance(negative)
        if kwargs.get("swap"):  # min(d(a, n), d(p, n)); d(p, n) is a number here
            negative_distance = sp.Min(negative_distance, distance(negative, positive))
        ell = sp.Max(0, 1 + distance(positive) - negative_distance)
    elif name == "multi_margin_loss":
        (label,) = args[1]
        p, margin = sp.Integer(kwargs.get("p", 1)), sp.Rational(kwargs.get("margin", 1))
        w = _exact(kwargs["weight"])[label] if kwargs.get("weight") is not None else sp.S.One
        ell = sp.Add(*[w * sp.Max(0, margin - u[label] + v) ** p
                       for i, v in enumerate(u) if i != label]) / len(u)
    elif name == "multilabel_margin_loss":
        row = [int(t) for t in args[1][0]]
        labels = row[: row.index(-1)] if -1 in row else row
        ell = sp.Add(*[sp.Max(0, 1 - u[j] + u[i])
                       for j in labels for i in range(len(u)) if i not in labels]) / len(u)
    elif name == "linf_distance":
        target = _exact(args[1])
        ell = sp.Max(*[sp.Abs(ui - ti) for ui, ti in zip(u, target)])
    elif name == "minkowski_distance":
        target, p = _exact(args[1]), sp.Integer(kwargs["p"])
        ell = sp.Add(*[sp.Abs(ui - ti) ** p for ui, ti in zip(u, target)]) ** (1 / p)
    elif name == "ctc_loss":
        # T = 2, classes (blank, a), target "a": p = a_1 a_2 + a_1 b_2 + b_1 a_2 with y_t the
        # softmax of the logits u_t; PyTorch's gradient is the one in the logits.
        (b1, a1), (b2, a2) = [
            [sp.exp(v) / (sp.exp(u[2 * t]) + sp.exp(u[2 * t + 1])) for v in u[2 * t: 2 * t + 2]]
            for t in range(2)
        ]
        ell = -sp.log(a1 * a2 + a1 * b2 + b1 * a2)
    else:
        raise KeyError(name)
    point = dict(zip(u, first))
    value = ell.xreplace(point)
    grad = tuple(sp.diff(ell, v).xreplace(point) for v in u)
    return value, grad


_INDEX_TARGETS = (
    "cross_entropy", "nll_loss", "ctc_loss", "multi_margin_loss", "multilabel_margin_loss",
)


def worked_example(name: str) -> WorkedExample:
    """The exact value and gradient of loss ``name`` at its example input (reduction 'mean'
    unless the example says otherwise)."""
    import numpy as np

    from symlearn.losses import catalog

    spec = catalog[name].spec
    raw, kwargs = EXAMPLES[name]
    args = tuple(
        np.asarray(a, dtype=np.int64 if name in _INDEX_TARGETS and i else np.float64)
        for i, a in enumerate(raw)
    )
    if spec.structured is None:
        value, grad = _elementwise_exact(spec, args, kwargs)
    else:
        value, grad = _structured_exact(name, args, kwargs)
    return WorkedExample(args, dict(kwargs), value, grad)


def _numeric(expr) -> float:
    from symlearn.derivation import _expand_functions

    return float(sp.N(_expand_functions(sp.sympify(expr)), 30))


def _shown(expr):
    return sp.Float(f"{_numeric(expr):.{_DIGITS}f}")


_ARRAY_DECIMALS = 4  # an input that is not short in decimal (a logarithm) is shown rounded


def _array_text(array) -> str:
    """An example's input as a reader reads it: exact when its decimals are short, otherwise
    rounded to :data:`_ARRAY_DECIMALS` decimals and said so (a 16-digit double runs off the page;
    the value, the gradient and the checks still use the exact doubles)."""
    import numpy as np

    array = np.asarray(array)
    if array.dtype.kind != "f" or np.array_equal(np.round(array, _ARRAY_DECIMALS), array):
        return f"`{array.tolist()}`"
    return (f"`{np.round(array, _ARRAY_DECIMALS).tolist()}` (shown to {_ARRAY_DECIMALS} "
            "decimals; the computation uses the full doubles)")


def _worked_example_section(doc: Derivation, spec) -> Derivation:
    """Append the worked example: each number a :class:`Rounded` step whose exact value comes
    from the SymPy expression, and a build-time check that the compiled function agrees."""
    import numpy as np

    from symlearn.derivation import DerivationError, Rounded
    from symlearn.losses import catalog

    example = worked_example(spec.name)
    loss = catalog[spec.name]
    first = spec.arrays[0]
    shown_args = ", ".join(
        f"`{n}` = {_array_text(a)}" for n, a in zip(spec.arrays, example.args)
    )
    options = ", ".join(f"`{k}={v!r}`" for k, v in example.kwargs.items())
    reduction = example.kwargs.get("reduction", "mean")
    doc = doc.section("A worked example").text(
        f"At {shown_args}" + (f" with {options}" if options else f" (reduction `'{reduction}'`)")
        + f": the value $L$ and the gradient with respect to `{first}` (written $x$, indexed "
        f"from 1), each the exact value from the SymPy expression, rounded to {_DIGITS} decimals "
        "where it is not a short decimal (the check recomputes it)."
        + (f" {_EXAMPLE_NOTES[spec.name]}" if spec.name in _EXAMPLE_NOTES else "")
    )
    L = sp.Symbol("L")

    def number(lhs, exact, reason):
        """``lhs = exact`` when the exact value is a short decimal (0, -1, 0.5: no "≈ 0.0"),
        else ``lhs ≈ exact`` rounded to _DIGITS decimals."""
        value = sp.sympify(exact)
        if value.is_Rational and (value * 10**_DIGITS).is_integer:
            text = str(value) if value.is_integer else str(value.evalf(30)).rstrip("0")
            shown = sp.Integer(text) if value.is_integer else sp.Float(text, 15)
            # "=" because the decimal is the exact value (a rational with at most _DIGITS
            # decimals, printed in full); the check is the same as for the rounded ones.
            return Step(lhs, shown, reason, check=Rounded(_DIGITS), claim=(exact, shown))
        return Step(lhs, _shown(exact), reason, relation="approx", check=Rounded(_DIGITS),
                    claim=(exact, _shown(exact)))

    steps = [number(L, example.value, "the loss")]
    # Where each partial's number comes from (a value, not a derivation: the derivation is above).
    source = ("the derivative above at this element, times the reduction's factor"
              if spec.structured is None else
              "the exact derivative at this input, from the sample's loss written out")
    shape = example.args[0].shape
    for index, exact in zip(np.ndindex(shape), example.grad):
        label = ",".join(str(i + 1) for i in index)
        partial = sp.Symbol(rf"\frac{{\partial L}}{{\partial x_{{{label}}}}}")
        steps.append(number(partial, exact, source))
    doc = doc.steps(*steps)
    value, grad = loss.value_and_grad(*example.args, **example.kwargs)
    expected = np.array([_numeric(g) for g in example.grad]).reshape(shape)
    if not (np.allclose(value, _numeric(example.value), rtol=1e-10, atol=1e-12)
            and np.allclose(grad, expected, rtol=1e-10, atol=1e-12)):
        raise DerivationError(
            f"{spec.name}: the compiled value_and_grad ({value!r}, {np.asarray(grad).tolist()}) "
            f"differs from the exact example ({_numeric(example.value)!r}, {expected.tolist()})"
        )
    twin = "PyTorch's" if spec.torch else "a hand-written numpy reference's"
    return doc.text(
        f"symlearn's compiled `value_and_grad` returns these numbers to 10 significant digits "
        f"(checked when this document is built); the tests compare them with {twin}."
    )
