r"""Derivation documents for the optimizers: each update rule, and the facts the course states
about them, checked (symbolically where SymPy decides, otherwise by a stated numeric test).

Course content, kept beside the derivation sources rather than in the library: derivations/optim.py
loads it with ``symlearn.registry.load_helper(__file__, "_optim_documents")``, and
``symlearn.optim.Optimizer.derivation()`` reaches :func:`optimizer_document` the same way, through
the registry's derivations folder. The build cache's key covers it (every ``_*.py`` beside the
sources). Built lazily: nothing here runs until a builder is called.
"""

from __future__ import annotations

import sympy as sp

from symlearn import Custom, Derivation, Figure, Step, Symbolic
from symlearn._course_sources import course_source
from symlearn.calculus.steps import add_gradient_steps

# The course material under the names a reader knows (full form at a document's first mention).
SLIDES = course_source("003")
NOTES = course_source("000")

__all__ = [
    "adagrad_document",
    "adam_document",
    "amsgrad_document",
    "comparison_document",
    "momentum_document",
    "nesterov_document",
    "optimizer_document",
    "saddle_document",
    "schedules_document",
    "sgd_document",
]


def _rule_table(optimizer) -> tuple[list, list]:
    rows = [(eq.lhs, eq.rhs) for eq in optimizer.equations]
    return ["quantity", "update"], rows


#: What each hyper-parameter symbol of an update rule means, in words, with PyTorch's argument.
_MEANINGS = {
    r"\mu": "the momentum coefficient (`momentum`: the fraction of the buffer kept each step)",
    r"\tau": "the dampening (`dampening`: the fraction of each new gradient left out of the "
             "buffer)",
    r"\lambda": "the weight-decay coefficient (`weight_decay`)",
    r"\kappa": "the learning-rate decay (`lr_decay`)",
    "s_{0}": "the accumulator's starting value (`initial_accumulator_value`)",
    r"\epsilon": "a small constant that keeps the denominator away from zero (`eps`)",
    r"\alpha": "the decay rate of the running mean of squared gradients (`alpha`)",
    r"\rho": "the decay rate of the running means of squared gradients and of squared steps "
             "(`rho`)",
    r"\beta_{1}": "the decay rate of the first moment (`betas[0]`: the running mean of the "
                  "gradients)",
    r"\beta_{2}": "the decay rate of the second moment (`betas[1]`: the running mean of the "
                  "squared gradients)",
    r"\psi": "the momentum decay (`momentum_decay`: how fast the momentum coefficient warms up)",
}

#: The symbols every update rule uses, for documents whose prose does not introduce them.
_STEP_SYMBOLS = {
    r"\eta_t": "the learning rate at step $t$",
    "g_t": "the gradient of the loss at the parameters $\\theta_t$",
}


def _where_rule(doc: Derivation, optimizer, *, basics: bool = False) -> Derivation:
    """A "where" clause after an update-rule table: each hyper-parameter the table shows, in words
    and by its PyTorch argument (and $\\eta_t$, $g_t$ when ``basics``, for documents whose prose
    has not introduced them)."""
    shown = set().union(*(eq.rhs.free_symbols for eq in optimizer.equations))
    entries = dict(_STEP_SYMBOLS) if basics else {}
    for symbol in optimizer.rule.hyperparameters:
        if symbol in shown:
            entries[symbol] = _MEANINGS[symbol.name]
    return doc.where(entries) if entries else doc


def optimizer_document(optimizer, name: str | None = None, title: str | None = None) -> Derivation:
    """The update rule of ``optimizer`` as a document: equations, hyper-parameters, PyTorch twin."""
    name = name or optimizer.name
    doc = Derivation(name, title or f"{optimizer.summary}", optimizer.summary)
    doc = doc.section("Update rule").text(
        "One step, in the order PyTorch computes it. $t = 0, 1, \\dots$ counts the updates already "
        "made, $g_t$ is the gradient at $\\theta_t$ and $\\eta_t$ the learning rate (a constant or "
        "a schedule's value at $t$); the update is $\\Delta\\theta_t$ and "
        "$\\theta_{t+1} = \\theta_t + \\Delta\\theta_t$."
    )
    header, rows = _rule_table(optimizer)
    doc = _where_rule(doc.table(header, rows), optimizer)
    hyper = [(k, repr(v)) for k, v in optimizer.hyperparameters.items()]
    doc = doc.section("Hyper-parameters").table(["argument", "value"], hyper).text(
        f"Names and defaults are those of `torch.optim.{optimizer.torch_name}`; the compiled step "
        "equals PyTorch's iterates to $10^{-10}$ relative over 200 steps on Rosenbrock and on a "
        "logistic-regression loss (tests/test_optim.py)."
    )
    extra = _FACTS.get(optimizer.name)
    return extra(doc) if extra else doc


# --------------------------------------------------------------------------------------------------
# Checks for claims about recurrences: verified for each t in a range (stated as such).


def _for_each_t(t: sp.Symbol, values=range(1, 13)):
    def check(lhs, rhs, context):
        for k in values:
            difference = (sp.sympify(lhs) - sp.sympify(rhs)).xreplace({t: k}).doit()
            if sp.simplify(difference) != 0:
                return False
        return True

    return Custom(check, f"checked symbolically for each $t = 1, \\dots, {max(values)}$", "symbolic")


def _bias_correction(doc: Derivation) -> Derivation:
    beta = sp.Symbol(r"\beta", positive=True)
    k, i = sp.Symbol("k", integer=True, positive=True), sp.Symbol("i", integer=True, positive=True)
    g = sp.IndexedBase("g")
    m = sp.Function("m")
    eg = sp.Symbol(r"\mathbb{E}[g]")
    unrolled = (1 - beta) * sp.Sum(beta ** (k - i) * g[i], (i, 1, k))

    def unroll_check(lhs, rhs, context):
        for n in range(1, 9):
            value = sp.Integer(0)
            for j in range(1, n + 1):  # m_j = beta m_{j-1} + (1 - beta) g_j, m_0 = 0
                value = beta * value + (1 - beta) * g[j]
            if sp.expand(value - rhs.xreplace({k: n}).doit()) != 0:
                return False
        return True

    doc = doc.section("Why Adam divides by $1 - \\beta^{t+1}$ (bias correction)").text(
        "Write $k = t + 1$ for the number of gradients seen. With $m_0 = 0$ the recurrence "
        "$m_k = \\beta m_{k-1} + (1 - \\beta) g_k$ unrolls to a weighted sum whose weights do not "
        "add up to one, so $m_k$ is biased towards the zero it started from "
        f"({SLIDES}: 'moments = 0 -> bias!')."
    )
    doc = doc.steps(
        Step(m(k), unrolled, "unroll the recurrence from $m_0 = 0$",
             check=Custom(unroll_check, "checked symbolically for each $k = 1, \\dots, 8$", "symbolic")),
    )
    doc = doc.text(
        "Take expectations with a stationary gradient, $\\mathbb{E}[g_i] = \\mathbb{E}[g]$ for "
        "every $i$ (linearity of expectation), and sum the geometric series:"
    )
    expected = (1 - beta) * sp.Sum(beta ** (k - i), (i, 1, k)) * eg
    doc = doc.chain(
        sp.Symbol(r"\mathbb{E}[m_k]"),
        Step(None, expected, "linearity, $\\mathbb{E}[g_i] = \\mathbb{E}[g]$",
             claim=(unrolled.replace(lambda e: isinstance(e, sp.Indexed), lambda e: eg), expected),
             check=_for_each_t(k)),
        Step(None, (1 - beta**k) * eg, "geometric series", check=_for_each_t(k)),
    )
    doc = doc.text(
        "So $\\hat m_k = m_k / (1 - \\beta_1^k)$ has expectation $\\mathbb{E}[g]$; the same argument "
        "with $g_i^2$ gives $\\mathbb{E}[v_k] = (1 - \\beta_2^k)\\,\\mathbb{E}[g^2]$ and the divisor "
        "$1 - \\beta_2^k$. At the first step the correction matters most: $m_1 = (1-\\beta_1) g_1$ "
        "and $\\hat m_1 = g_1$ exactly."
    )
    doc = doc.steps(
        Step(sp.Symbol(r"\hat{m}_1"), g[1], "$k = 1$",
             claim=(((1 - beta) * g[1]) / (1 - beta), g[1]), check=Symbolic()),
    )
    return doc


def _adamw_note(doc: Derivation) -> Derivation:
    return doc.section("Decoupled weight decay versus L2").text(
        "Adam's `weight_decay` adds $\\lambda\\theta_t$ to the gradient, so the decay is divided by "
        "$\\sqrt{\\hat v}$ like the rest of the gradient: parameters with large gradients are "
        "barely decayed. AdamW (Loshchilov and Hutter, 2019) subtracts $\\eta_t\\lambda\\theta_t$ "
        "outside the adaptive scaling, so every parameter shrinks by the same factor "
        "$1 - \\eta_t\\lambda$ per step. For SGD the two are the same; for Adam they are not."
    )


def _adagrad_decay(doc: Derivation) -> Derivation:
    t = sp.Symbol("t", positive=True)
    g, eta = sp.Symbol("g", positive=True), sp.Symbol(r"\eta", positive=True)
    # Built unevaluated: SymPy would otherwise cancel g against sqrt(t g^2) on construction and
    # the step would print eta/sqrt(t) = eta/sqrt(t).
    root = sp.Pow(sp.Mul(t, g**2, evaluate=False), sp.Rational(1, 2), evaluate=False)
    step = sp.Mul(eta * g, sp.Pow(root, -1, evaluate=False), evaluate=False)
    doc = doc.section("Why AdaGrad's step decays to zero").text(
        "The accumulated sum $s_t$ only grows. With a constant gradient $g > 0$ (and $s_0 = 0$, "
        "$\\epsilon$ negligible) it is $s_t = t g^2$ after $t$ steps, and with a constant learning "
        "rate $\\eta$ the step length is"
    )
    doc = doc.chain(
        step,
        (eta / sp.sqrt(t), "$\\sqrt{t g^2} = g\\sqrt{t}$ for $g > 0$"),
    )
    doc = doc.steps(
        Step(sp.Limit(eta / sp.sqrt(t), t, sp.oo), 0, "the sum grows without bound"),
    )
    return doc.text(
        "The step shrinks like $1/\\sqrt{t}$ whatever the gradient: on a long run AdaGrad stops "
        f"before it arrives ({SLIDES}: 'step size decays to zero'). "
        "RMSProp replaces the sum by a "
        "decaying mean, $v_{t+1} = \\alpha v_t + (1 - \\alpha) g_t^2$, which stays near $g^2$."
    )


def _rmsprop_note(doc: Derivation) -> Derivation:
    t, alpha, g = sp.Symbol("t", integer=True, positive=True), sp.Symbol(r"\alpha", positive=True), sp.Symbol("g")
    doc = doc.section("The decaying mean stays finite").text(
        "With a constant gradient $g$ and $v_0 = 0$, RMSProp's mean after $t$ steps is"
    )
    def check(lhs, rhs, context):
        value = sp.Integer(0)
        for n in range(1, 10):
            value = alpha * value + (1 - alpha) * g**2
            if sp.simplify(value - rhs.xreplace({t: n})) != 0:
                return False
        return True

    doc = doc.steps(Step(sp.Symbol("v_t"), (1 - alpha**t) * g**2, "geometric series",
                         check=Custom(check, "checked symbolically for each $t = 1, \\dots, 9$", "symbolic")))
    return doc.text(
        "which tends to $g^2$, not to infinity, so the step tends to $\\eta$ (the lecture "
        "slides' `decay_rate` "
        "is PyTorch's `alpha`). Like Adam's moments it starts biased towards zero; RMSProp does not "
        "correct that, so its first steps are larger than $\\eta$ by $1/\\sqrt{1-\\alpha}$."
    )


def _adadelta_note(doc: Derivation) -> Derivation:
    return doc.section("Units").text(
        "If $\\theta$ is in metres and $f$ in joules, $g$ is in joules per metre. SGD's "
        "$\\eta g$ has the units of $\\eta$ times J/m, so $\\eta$ must carry m$^2$/J. AdaDelta's "
        "$\\delta_t = \\sqrt{u_t + \\epsilon}\\, g_t / \\sqrt{v_{t+1} + \\epsilon}$ is an RMS of past "
        "steps (metres) times a gradient over an RMS of gradients (dimensionless): metres, as "
        "$\\theta$. That is why its learning rate defaults to 1.0 (Zeiler 2012)."
    )


def _nadam_note(doc: Derivation) -> Derivation:
    return doc.section("Momentum schedule").text(
        "PyTorch's NAdam warms the momentum coefficient up from $\\beta_1/2$ towards $\\beta_1$: "
        "$\\mu_{t+1} = \\beta_1(1 - \\tfrac12 0.96^{(t+1)\\psi})$ with $\\psi$ = `momentum_decay` "
        "(Dozat 2016). The update mixes the current gradient and the next step's momentum, the "
        "Nesterov look-ahead written without evaluating a second gradient."
    )


_FACTS = {
    "adam": _bias_correction,
    "adamw": _adamw_note,
    "adagrad": _adagrad_decay,
    "rmsprop": _rmsprop_note,
    "adadelta": _adadelta_note,
    "nadam": _nadam_note,
}


# --------------------------------------------------------------------------------------------------
# Momentum and Nesterov


def _substituter(definitions: dict):
    def expand(expr):
        for _ in range(10):
            new = sp.sympify(expr).xreplace(definitions)
            if new == expr:
                break
            expr = new
        return expr

    return expand


def momentum_document() -> Derivation:
    from symlearn.optim import sgd

    rho, alpha, g = sp.Symbol(r"\rho", positive=True), sp.Symbol(r"\alpha", positive=True), sp.Symbol("g_t")
    u, w = sp.Symbol("u_t"), sp.Symbol("w_t")
    u1, w1 = sp.Symbol("u_{t+1}"), sp.Symbol("w_{t+1}")
    doc = Derivation("momentum", "SGD with momentum: two forms, one trajectory",
                     "Momentum in the course's two forms, their equivalence, PyTorch's dampening, "
                     "and what momentum does to sign-switching gradients (an erratum of "
                     f"{NOTES}).")
    doc = doc.section("Two forms").text(
        f"{SLIDES[0].upper() + SLIDES[1:]} write "
        "$u_{t+1} = \\rho u_t + g_t$, $x_{t+1} = x_t - \\alpha u_{t+1}$ (PyTorch's form, "
        "$u$ is `momentum_buffer`). Its Nesterov slide, and many texts, write "
        "$w_{t+1} = \\rho w_t - \\alpha g_t$, $x_{t+1} = x_t + w_{t+1}$. Claim: with a constant "
        "$\\alpha$ and $u_0 = w_0 = 0$, $w_t = -\\alpha u_t$ for every $t$, hence the same iterates. "
        "Induction step, assuming $w_t = -\\alpha u_t$:"
    )
    expand = _substituter({w1: rho * w - alpha * g, u1: rho * u + g, w: -alpha * u})
    doc = doc.chain(
        w1,
        Step(None, rho * w - alpha * g, "the second form", claim=(expand(w1), expand(rho * w - alpha * g))),
        Step(None, -alpha * rho * u - alpha * g, "induction hypothesis $w_t = -\\alpha u_t$",
             claim=(expand(rho * w - alpha * g), -alpha * rho * u - alpha * g)),
        Step(None, -alpha * u1, "the first form", claim=(-alpha * rho * u - alpha * g, expand(-alpha * u1))),
    )
    doc = doc.text(
        "So $x_t + w_{t+1} = x_t - \\alpha u_{t+1}$: the same iterates. With a schedule "
        "$\\alpha_t$ the forms differ: the second form scales each gradient by the rate of the step "
        "it arrives in, the first scales the whole buffer by the current rate. PyTorch uses the "
        "first. Its `dampening` $\\tau$ multiplies the new gradient by $1 - \\tau$, except at the "
        "first step, where the buffer is set to $g_0$ (PyTorch's `buf = grad.clone()`)."
    )
    optimizer = sgd(momentum=0.9, dampening=0.1)
    header, rows = _rule_table(optimizer)
    doc = doc.table(header, rows, "sgd(momentum=0.9, dampening=0.1): PyTorch's form")
    doc = _where_rule(doc, optimizer, basics=True).text(
        "PyTorch's $\\mu$ is the course's $\\rho$, and its $\\eta_t$ the course's $\\alpha$.")
    # Steady states: constant gradient versus alternating gradient.
    ustar = sp.Symbol("u^*")
    doc = doc.section("What momentum does to consistent and to sign-switching gradients").text(
        "Erratum: the lecture notes say momentum 'increases the strength of the updates for "
        "dimensions "
        "whose gradients switch direction'. It does the opposite: it accelerates dimensions whose "
        "gradient keeps its sign and damps those whose gradient switches. With a constant "
        "gradient $g$ the buffer settles where $u^* = \\rho u^* + g$:"
    )
    doc = doc.steps(Step(ustar, g / (1 - rho), "fixed point of $u = \\rho u + g$",
                         claim=(g / (1 - rho), rho * g / (1 - rho) + g)))
    doc = doc.text(
        "ten times the gradient for $\\rho = 0.9$. With a gradient alternating $+g, -g$, two steps "
        "map $u \\mapsto \\rho(\\rho u + g) - g$, whose fixed point is"
    )
    doc = doc.steps(Step(ustar, -g / (1 + rho), "fixed point of $u = \\rho^2 u + (\\rho - 1) g$",
                         claim=(-g / (1 + rho), rho**2 * (-g / (1 + rho)) + (rho - 1) * g)))
    return doc.text(
        "of size $g/(1 + \\rho) \\approx 0.53\\,g$ for $\\rho = 0.9$: the oscillating dimension moves "
        "about half as far as without momentum, and the consistent one ten times as far. That is "
        "how momentum crosses a narrow valley's floor slowly and runs along it fast."
    )


def nesterov_document() -> Derivation:
    from symlearn.optim import sgd

    rho, alpha = sp.Symbol(r"\rho", positive=True), sp.Symbol(r"\alpha", positive=True)
    x, v, G = sp.Symbol("x_t"), sp.Symbol("v_t"), sp.Symbol(r"\nabla f(\tilde{x}_t)")
    x1, v1 = sp.Symbol("x_{t+1}"), sp.Symbol("v_{t+1}")
    xt, xt1 = sp.Symbol(r"\tilde{x}_t"), sp.Symbol(r"\tilde{x}_{t+1}")
    defs = {x1: x + v1, v1: rho * v - alpha * G, xt1: x1 + rho * v1, xt: x + rho * v}
    expand = _substituter(defs)

    def step(lhs, rhs, reason):
        return Step(lhs, rhs, reason, claim=(sp.expand(expand(lhs)), sp.expand(expand(rhs))),
                    check=Symbolic())

    doc = Derivation("nesterov", "Nesterov momentum: the change of variables, and PyTorch's form",
                     f"The look-ahead Nesterov update of {SLIDES} rewritten at the look-ahead "
                     "point, "
                     "checked symbolically, and shown equal to PyTorch's "
                     "`torch.optim.SGD(nesterov=True)`.")
    doc = doc.section("The look-ahead form").text(
        "The lecture slides write $v_{t+1} = \\rho v_t - \\alpha \\nabla f(x_t + \\rho v_t)$, "
        "$x_{t+1} = x_t + v_{t+1}$. The gradient is taken at the look-ahead point, not at the "
        "iterate. Change variables to $\\tilde x_t = x_t + \\rho v_t$ so that the gradient is at the "
        "variable we store:"
    )
    doc = doc.steps(
        step(xt1, x1 + rho * v1, "definition of $\\tilde x_{t+1}$"),
        Step(xt1, x + v1 + rho * v1, "$x_{t+1} = x_t + v_{t+1}$",
             claim=(sp.expand(expand(xt1)), sp.expand(expand(x + v1 + rho * v1))), continued=True),
        Step(xt1, xt - rho * v + v1 + rho * v1, "$x_t = \\tilde x_t - \\rho v_t$",
             claim=(sp.expand(expand(xt1)), sp.expand(expand(xt - rho * v + v1 + rho * v1))), continued=True),
        Step(xt1, xt + v1 + rho * (v1 - v), "collect $\\rho$",
             claim=(sp.expand(expand(xt1)), sp.expand(expand(xt + v1 + rho * (v1 - v)))), continued=True),
    )
    doc = doc.text(
        "with $v_{t+1} = \\rho v_t - \\alpha \\nabla f(\\tilde x_t)$: the lecture slides' result, "
        "now checked "
        "symbolically (each line, with the definitions substituted, minus the left side simplifies "
        "to zero)."
    )
    # PyTorch's form.
    b, b1, theta, theta1, g = (sp.Symbol(n) for n in ("b_t", "b_{t+1}", r"\theta_t", r"\theta_{t+1}", "g_t"))
    torch_defs = {b1: rho * b + g, theta1: theta - alpha * (g + rho * b1), theta: xt, g: G, b: -v / alpha}
    texpand = _substituter({**torch_defs, **defs})
    doc = doc.section("PyTorch's nesterov=True").text(
        "PyTorch stores $b$ with $b_{t+1} = \\rho b_t + g_t$ and steps "
        "$\\theta_{t+1} = \\theta_t - \\alpha(g_t + \\rho b_{t+1})$, with $g_t$ the gradient at "
        "$\\theta_t$. Identify $\\theta_t = \\tilde x_t$ and $b_t = -v_t / \\alpha$ (so "
        "$\\theta_0 = x_0$ when $v_0 = 0$). Then PyTorch's step is the change-of-variables step:"
    )
    doc = doc.steps(
        Step(theta1, xt + v1 + rho * (v1 - v), "$\\theta_t = \\tilde x_t$, $b_t = -v_t/\\alpha$",
             claim=(sp.expand(texpand(theta1)), sp.expand(texpand(xt + v1 + rho * (v1 - v)))),
             check=Symbolic()),
        Step(b1, -v1 / alpha, "the buffer stays $-v/\\alpha$",
             claim=(sp.expand(texpand(b1)), sp.expand(texpand(-v1 / alpha))), check=Symbolic()),
    )
    optimizer = sgd(momentum=0.9, nesterov=True)
    header, rows = _rule_table(optimizer)
    doc = doc.table(header, rows, "sgd(momentum=0.9, nesterov=True)")
    doc = _where_rule(doc, optimizer, basics=True).text(
        "PyTorch's $\\mu$ is the course's $\\rho$, and its $\\eta_t$ the course's $\\alpha$.")
    return doc.text(
        "So PyTorch's iterate is the slides' look-ahead point $x_t + \\rho v_t$, not $x_t$; "
        "tests/test_optim.py checks this on 100 steps of a narrow valley. Compared with plain "
        "momentum, the step adds $\\rho(v_{t+1} - v_t)$: a correction that brakes when the "
        f"velocity turns ({NOTES}: it corrects momentum's overshoot)."
    )


def adam_document() -> Derivation:
    from symlearn.optim import adam

    return optimizer_document(adam(), "adam", "Adam: bias-corrected momentum over RMSProp")


def amsgrad_document() -> Derivation:
    """AMSGrad (Reddi, Kale and Kumar 2018): Adam with the running maximum of second moments."""
    import numpy as np

    from symlearn.optim import adam

    optimizer = adam(amsgrad=True)
    doc = optimizer_document(optimizer, "amsgrad",
                             "AMSGrad: Adam with a non-decreasing second moment")
    a, b = sp.Symbol("a", real=True), sp.Symbol("b", real=True)
    d = sp.Symbol("d", nonnegative=True)
    v0 = sp.Symbol(r"V_t", positive=True)
    alpha, eps = sp.Symbol(r"\alpha", positive=True), sp.Symbol(r"\epsilon", positive=True)
    doc = doc.section("Why the effective step never grows").text(
        "Adam's $v_{t+1}$ forgets: after a burst of large gradients it decays back, so the "
        "per-coordinate step $\\eta/(\\sqrt{v} + \\epsilon)$ grows again, and Reddi et al. (2018) "
        "built a convex problem on which Adam therefore fails to converge. AMSGrad divides by "
        "$v^{\\max}_{t+1} = \\max(v^{\\max}_t, v_{t+1})$ instead. First, a maximum never decreases:"
    )

    def max_at_least_first(lhs, rhs, context):
        # On each branch of max(a, b): a >= b gives max - a = 0; b > a gives b - a, and with
        # b = a + d (d > 0) that is d > 0.
        positive = sp.Symbol("delta", positive=True)
        first = (sp.Max(a, b) - a).xreplace({b: a - d})  # branch a >= b
        second = (sp.Max(a, b) - a).xreplace({b: a + positive})  # branch b > a
        return bool(sp.simplify(first) == 0 and sp.simplify(second).is_nonnegative)

    doc = doc.steps(
        Step(sp.Max(a, b) - a, 0, "on each branch: $0$ if $a \\ge b$, $b - a > 0$ otherwise",
             relation=">=",
             check=Custom(max_at_least_first,
                          "checked symbolically on both branches of the maximum", "symbolic")),
    )
    doc = doc.text(
        "so $v^{\\max}_{t+1} = v^{\\max}_t + d$ with $d \\ge 0$. Write $V_t = v^{\\max}_t$ (positive "
        "once any gradient was non-zero) and "
        "$s_t = \\alpha/(\\sqrt{V_t} + \\epsilon)$ for the effective step of Reddi et al.'s "
        "algorithm (a constant $\\alpha$, no bias correction). The decrease from one step to the "
        "next is"
    )
    s0 = alpha / (sp.sqrt(v0) + eps)
    s1 = alpha / (sp.sqrt(v0 + d) + eps)
    decrease = alpha * d / ((sp.sqrt(v0 + d) + sp.sqrt(v0)) * (sp.sqrt(v0) + eps)
                            * (sp.sqrt(v0 + d) + eps))

    def rationalized(lhs, rhs, context):
        # sqrt(V + d) - sqrt(V) = d / (sqrt(V + d) + sqrt(V)): multiply out and compare.
        difference = sp.together(lhs - rhs)
        numerator, _ = sp.fraction(difference)
        return sp.expand(sp.expand(numerator).xreplace({sp.sqrt(v0 + d)**2: v0 + d})) == 0 or \
            sp.simplify(difference) == 0

    doc = doc.steps(
        Step(sp.Symbol("s_t") - sp.Symbol("s_{t+1}"), s0 - s1, "definition",
             claim=(s0 - s1, s0 - s1), check=Symbolic()),
        Step(None, decrease,
             "common denominator; $\\sqrt{V_t + d} - \\sqrt{V_t} = d/(\\sqrt{V_t + d} + \\sqrt{V_t})$",
             claim=(s0 - s1, decrease), check=Custom(
                 rationalized, "checked symbolically: the difference simplifies to zero", "symbolic"),
             continued=True),
        Step(None, 0, "every factor is non-negative ($d \\ge 0$; $V_t, \\alpha, \\epsilon > 0$)",
             relation=">=", claim=(decrease, 0), continued=True,
             check=Custom(lambda lhs, rhs, context: bool(lhs.is_nonnegative),
                          "checked symbolically: SymPy's assumptions give a non-negative product",
                          "symbolic")),
    )
    # Measured: one coordinate, a burst of large gradients followed by small ones.
    grads = [10.0] * 5 + [0.1] * 45
    lr, beta2, eps_value = 1e-3, 0.9, 1e-8  # a short memory, so that 50 steps show the effect
    rows, effective = [], {}
    for label, amsgrad in (("Adam", False), ("AMSGrad", True)):
        opt = adam(lr=lr, betas=(0.9, beta2), amsgrad=amsgrad)
        theta = np.zeros(1)
        state = opt.init(theta)
        steps = []
        for g in grads:
            _, state = opt.update(np.array([g]), state, theta)
            second = state.max_exp_avg_sq if amsgrad else state.exp_avg_sq
            steps.append(lr / (float(np.sqrt(second[0])) + eps_value))
        effective[label] = steps
    for k in (4, 5, 10, 20, 49):
        rows.append((str(k + 1), f"{effective['Adam'][k]:.3e}", f"{effective['AMSGrad'][k]:.3e}"))
    grows = all(x <= y for x, y in zip(effective["AMSGrad"][1:], effective["AMSGrad"]))
    doc = doc.table(["step", "Adam $\\eta/(\\sqrt{v}+\\epsilon)$",
                     "AMSGrad $\\eta/(\\sqrt{v^{\\max}}+\\epsilon)$"], rows,
                    f"five gradients of 10, then gradients of 0.1 (one coordinate, betas=(0.9, {beta2}), "
                    "computed by symlearn.optim.adam with and without amsgrad when this document "
                    "was built)")
    return doc.text(
        f"AMSGrad's column never increases ({'checked' if grows else 'NOT the case'} on all "
        f"{len(grads)} steps); Adam's grows by a factor "
        f"{effective['Adam'][-1] / effective['Adam'][4]:.1f} once the burst is forgotten (decay "
        f"rate $\\beta_2 = {beta2}$). PyTorch's `amsgrad=True` (this optimizer) also divides by "
        "Adam's bias corrections $1 - \\beta^{t+1}$, which change with $t$; the monotonicity above "
        "is a property of $v^{\\max}$ and of Reddi et al.'s uncorrected step."
    )


def adagrad_document() -> Derivation:
    from symlearn.optim import adagrad

    return optimizer_document(adagrad(), "adagrad", "AdaGrad: per-parameter steps that decay")


# --------------------------------------------------------------------------------------------------
# SGD and the cost of a full-batch gradient (counted, not timed: a document must be the same on
# every build, and wall-clock times are not)


def gradient_operation_count(n: int, d: int) -> int:
    r"""Arithmetic operations in one full-batch logistic-regression gradient
    $\frac{1}{n} X^\top(\sigma(X w) - y)$ with $X \in \mathbb{R}^{n \times d}$, as numpy computes it.

    ``X @ w``: $n d$ multiplications and $n (d - 1)$ additions; the sigmoid $1 / (1 + e^{-z})$:
    $4 n$ (negate, exp, add, divide); ``- y``: $n$; ``X.T @ r``: $d n$ multiplications and
    $d (n - 1)$ additions; ``/ n``: $d$. Total $4 n d + 4 n$: linear in $n$.
    """
    matvec = n * d + n * (d - 1)
    sigmoid = 4 * n
    residual = n
    transposed = d * n + d * (n - 1)
    return matvec + sigmoid + residual + transposed + d


def _logistic_problem(n: int = 8192, d: int = 16, seed: int = 0):
    """A fixed logistic-regression problem: rows of X standard normal, labels from a planted w."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = (X @ w_true + 0.5 * rng.standard_normal(n) > 0).astype(float)

    def loss(w):
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    def grad(w, Xb, yb):
        return Xb.T @ (1 / (1 + np.exp(-(Xb @ w))) - yb) / len(yb)

    return X, y, loss, grad


def _minibatch_table(lr: float = 0.5, sizes=(8, 32, 128, 256), epochs: int = 5):
    """Per batch size: (size, steps per epoch, loss after 1 epoch, loss after ``epochs``).

    Batch sizes are compared at equal work, counted in examples whose gradient was computed
    (one epoch is $N$ of them whatever the batch size), not in seconds: the document must be
    the same on every build."""
    import numpy as np

    from symlearn.optim import sgd
    from symlearn.train import minibatch_sgd

    X, y, loss, grad = _logistic_problem()
    w0 = np.zeros(X.shape[1])
    optimizer = sgd(lr=lr)
    rows = []
    for size in (*sizes, len(X)):
        w1, steps = minibatch_sgd(optimizer, grad, w0, X, y, size, epochs=1)
        w_many, _ = minibatch_sgd(optimizer, grad, w0, X, y, size, epochs=epochs)
        rows.append([size, steps, loss(w1), loss(w_many)])
    return rows, len(X), loss(w0)


def sgd_document() -> Derivation:
    from symlearn.optim import sgd

    epochs = 5
    doc = Derivation("sgd", "Gradient descent, SGD and mini-batches",
                     "Gradient descent and (mini-batch) SGD as update rules; the cost of one "
                     f"full-batch gradient is linear in N ({SLIDES} say 'exponentially'), "
                     "counted.")
    doc = doc.section("Update rule")
    header, rows = _rule_table(sgd())
    doc = _where_rule(doc.table(header, rows), sgd(), basics=True).text(
        "Gradient descent evaluates $g_t = \\nabla \\mathcal{L}(\\theta_t)$ on all $N$ examples; "
        "SGD on one; mini-batch SGD on a batch $B$ of 8 to 256 examples "
        f"({NOTES}), drawn by "
        "shuffling the data once per epoch and taking consecutive slices, so an epoch is "
        "$\\lceil N/|B| \\rceil$ steps. The update rule is the same; only $g_t$ changes."
    )
    d = 16
    sizes = (2**12, 2**14, 2**16, 2**18)
    counts = [(n, gradient_operation_count(n, d)) for n in sizes]
    doc = doc.section("The cost of a full-batch gradient is linear in N").text(
        "Erratum: the lecture slides say the computational time of gradient descent 'increases "
        "exponentially as N goes up'. The loss $\\sum_{i=1}^N \\ell_i(\\theta)$ is a sum of $N$ "
        "terms, and so is its gradient $\\sum_i \\nabla \\ell_i(\\theta)$: one pass over the data. "
        f"Counted for logistic regression with $d = {d}$ features, "
        "$\\frac{1}{N} X^\\top (\\sigma(X w) - y)$ takes $N d$ multiplications and $N (d - 1)$ "
        "additions for $X w$, $4 N$ operations for the sigmoid, $N$ for the residual, "
        "$2 N d - d$ for $X^\\top r$ and $d$ for the division: $4 N d + 4 N$ in all, "
        "so doubling $N$ doubles the work:"
    )
    N_, d_ = sp.symbols("N d", positive=True, integer=True)
    parts = sp.Add(N_ * d_, N_ * (d_ - 1), 4 * N_, N_, 2 * N_ * d_ - d_, d_, evaluate=False)
    doc = doc.steps(Step(parts, 4 * N_ * d_ + 4 * N_,
                         "the operations of the five stages, added", check=Symbolic()))
    doc = doc.table(
        ["N", "arithmetic operations", "operations / N"],
        [(str(n), str(ops), f"{ops / n:g}") for n, ops in counts],
    )
    doc = doc.text(
        "(The number of operations, not the time: time depends on the machine and varies from "
        "run to run, while this document is the same on every build.) The argument for SGD "
        "stands with the correct cost: a mini-batch gradient costs $|B|/N$ of a full one, so "
        "for the work of one full step SGD takes $N/|B|$ noisy ones."
    )
    rows, n, start_loss = _minibatch_table(epochs=epochs)
    doc = doc.section("Mini-batch sizes 8 to 256, at equal work").text(
        f"Logistic regression on {n} seeded examples with 16 features (labels from a planted "
        f"weight vector plus noise), $\\theta_0 = 0$ (loss {start_loss:.4f}), plain SGD with "
        "learning rate 0.5, rows shuffled once per epoch (`minibatch_sgd` in "
        "symlearn/train.py; tests/test_optim_documents.py checks it against a "
        "hand-written numpy loop). The last row is full-batch gradient descent. Every batch size "
        "gets the same work, counted in examples whose gradient was computed: one epoch is $N$ "
        f"of them, and the last column is after {epochs} epochs."
    )
    doc = doc.table(
        ["batch size", "steps per epoch", "loss after 1 epoch", f"loss after {epochs} epochs"],
        [(str(size), str(steps), f"{one:.4f}", f"{many:.4f}") for size, steps, one, many in rows],
    )
    best_epoch = min(rows, key=lambda row: row[2])[0]
    best_many = min(rows, key=lambda row: row[3])[0]
    return doc.text(
        f"The lowest loss after one epoch (the same examples seen) came from batch size "
        f"{best_epoch}, and after {epochs} epochs from batch size {best_many}. For the same work, "
        "smaller batches take more steps, $\\lceil N/|B| \\rceil$ per epoch; full-batch descent "
        "takes one. In seconds the comparison is closer than in examples, because each step also "
        "pays a fixed Python and library overhead that small batches pay more often (not timed "
        "here). The noise of small batches also sets a floor on the loss at a fixed learning "
        "rate, which is why the lecture notes decay the learning rate."
    )


# --------------------------------------------------------------------------------------------------
# Schedules


def schedules_document() -> Derivation:
    from symlearn import optim as s

    table = [
        ("preset([0.1, 0.05, 0.01])", s.preset([0.1, 0.05, 0.01]), "LambdaLR"),
        ("step_decay(0.1, step_size=30, decay_rate=0.1)", s.step_decay(0.1, 30), "StepLR"),
        ("multistep_decay(0.1, [30, 80])", s.multistep_decay(0.1, [30, 80]), "MultiStepLR"),
        ("exponential_decay(0.1, decay_rate=0.95)", s.exponential_decay(0.1, 0.95), "ExponentialLR"),
        ("inverse_time_decay(0.1, decay_rate=0.5)", s.inverse_time_decay(0.1, 0.5), "LambdaLR"),
        ("cosine_annealing(0.1, T_max=100)", s.cosine_annealing(0.1, 100), "CosineAnnealingLR"),
        ("linear_warmup(0.1, total_iters=10)", s.linear_warmup(0.1, 10), "LinearLR"),
        ("one_cycle(0.1, total_steps=100)", s.one_cycle(0.1, 100), "OneCycleLR"),
    ]
    doc = Derivation("lr-schedules", "Learning-rate schedules as functions of the step",
                     "Preset, step, multi-step, exponential, $1/t$, cosine, linear warm-up and "
                     "one-cycle schedules as formulas in $t$, equal to `torch.optim.lr_scheduler`.")
    doc = doc.section("Formulas").text(
        "Each schedule is a factory returning a function of the step $t = 0, 1, \\dots$: with a "
        "symbol it returns the formula below, with an integer the number. The value at $t$ is the "
        "learning rate of update $t$, as with a PyTorch scheduler stepped $t$ times "
        "(tests/test_schedules.py compares all 200 first values with the PyTorch twin named)."
    )
    doc = doc.table(["schedule", "$\\eta_t$", "torch twin"],
                    [(name, sched.expression, twin) for name, sched, twin in table])
    doc = doc.text(
        "The symbols are the factories' arguments. $\\eta_0$: the initial rate (first "
        "argument), and $\\eta_0, \\eta_1, \\dots$ in `preset` its listed values; $\\gamma$: "
        "`decay_rate` of the step, multi-step and exponential decays (PyTorch's `gamma`); $s$: "
        "`step_size` in `step_decay` (decay every $s$ steps), `decay_steps` in "
        "`inverse_time_decay`; $k$: `decay_rate` of `inverse_time_decay`; $T_{\\max}$ and "
        "$\\eta_{\\min}$: `T_max` and `eta_min` of the cosine; in `linear_warmup`, $a$ and $b$ "
        "are `start_factor` and `end_factor` (the rate goes from $a\\eta_0$ to $b\\eta_0$) and "
        "$N$ is `total_iters`; in `one_cycle`, $\\eta_{\\max}$ is `max_lr`, $N$ "
        "`total_steps`, $p$ `pct_start` (the fraction of the steps spent rising), $d$ "
        "`div_factor` (the start is $\\eta_{\\max}/d$) and $d_f$ `final_div_factor` (the end is "
        "$\\eta_{\\max}/(d d_f)$)."
    )
    doc = doc.text(
        f"Why decay at all ({NOTES}): a large rate moves fast early but keeps overshooting near "
        "the minimum; shrinking it lets the iterates settle. For SGD with noisy gradients the "
        "classical conditions are $\\sum_t \\eta_t = \\infty$ and $\\sum_t \\eta_t^2 < \\infty$; "
        "the $1/t$ schedule meets both:"
    )
    eta0 = sp.Symbol(r"\eta_0", positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    doc = doc.steps(
        Step(sp.Sum(eta0 / (1 + n), (n, 0, sp.oo)), sp.oo, "harmonic series",
             check=Custom(lambda a, b, c: sp.Sum(1 / (1 + n), (n, 0, sp.oo)).doit() == sp.oo,
                          "checked symbolically (SymPy sums the series)", "symbolic")),
        Step(sp.Sum((eta0 / (1 + n)) ** 2, (n, 0, sp.oo)), eta0**2 * sp.pi**2 / 6, "Basel problem"),
    )

    def draw(path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        steps = range(100)
        for name, sched, _ in table:
            ax.plot(steps, [sched(i) for i in steps], label=name.split("(")[0])
        ax.set_xlabel("step t")
        ax.set_ylabel("learning rate")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)

    return doc.figure(Figure("lr-schedules", "The schedules of the table over 100 steps.", draw,
                             requires="matplotlib"))


# --------------------------------------------------------------------------------------------------
# Comparison and saddle point


def _problems():
    import numpy as np

    x, y = sp.symbols("x y", real=True)
    valley = (x**2 + 100 * y**2) / 2
    rosen = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    out = {}
    for key, f, start, box in [("valley", valley, (-9.0, 0.9), (-10, 10, -1.2, 1.2)),
                               ("rosenbrock", rosen, (-1.5, 2.0), (-2, 2, -1, 3))]:
        grad = sp.lambdify([x, y], [sp.diff(f, x), sp.diff(f, y)], "numpy")
        value = sp.lambdify([x, y], f, "numpy")
        out[key] = {"expr": f, "grad": lambda p, grad=grad: np.array(grad(*p), dtype=float),
                        "value": value, "start": np.array(start), "box": box}
    return out, (x, y)


_SETTINGS = {
    # optimizer label -> (factory, kwargs for the valley, kwargs for Rosenbrock); fixed step length.
    "SGD": ("sgd", {"lr": 0.019}, {"lr": 1e-3}),
    "Momentum": ("sgd", {"lr": 0.005, "momentum": 0.9}, {"lr": 2e-4, "momentum": 0.9}),
    "Nesterov": ("sgd", {"lr": 0.005, "momentum": 0.9, "nesterov": True}, {"lr": 2e-4, "momentum": 0.9, "nesterov": True}),
    "AdaGrad": ("adagrad", {"lr": 1.0}, {"lr": 0.5}),
    "RMSProp": ("rmsprop", {"lr": 0.05}, {"lr": 0.01}),
    "Adam": ("adam", {"lr": 0.3}, {"lr": 0.05}),
}


_SETTING_SYMBOLS = {"lr": r"\eta", "momentum": r"\mu", "alpha": r"\alpha", "eps": r"\epsilon",
                    "weight_decay": r"\lambda"}


def _settings_math(settings: dict) -> str:
    r"""Optimizer settings as a table cell in maths and words, ``$\eta = 0.005$, $\mu = 0.9$,
    Nesterov``, not a Python dict's repr."""
    parts = []
    for key, value in settings.items():
        if value is True:
            parts.append(key.replace("_", " ").capitalize())
        elif value is not False:
            mantissa, _, exponent = f"{value:g}".partition("e")
            number = mantissa + (rf" \cdot 10^{{{int(exponent)}}}" if exponent else "")
            parts.append(f"${_SETTING_SYMBOLS.get(key, key)} = {number}$")
    return ", ".join(parts)


def _trajectories(problem, index, steps):
    from symlearn import optim

    paths = {}
    for label, (factory, *kwargs) in _SETTINGS.items():
        optimizer = getattr(optim, factory)(**kwargs[index])
        paths[label] = optimizer.run(problem["grad"], problem["start"], steps)
    return paths


def comparison_document() -> Derivation:
    import numpy as np

    problems, (x, y) = _problems()
    doc = Derivation("optimizer-comparison", "Comparison of optimization methods",
                     f"The comparison of {SLIDES}: SGD, momentum, Nesterov, AdaGrad, RMSProp "
                     "and Adam on "
                     "a narrow valley (condition number 100, from its Hessian) and on Rosenbrock.")
    doc = doc.section("The two landscapes").text(
        "The condition number is the ratio of the Hessian's largest to smallest singular value "
        "(as the lecture slides define it); a large one is a long narrow valley."
    )
    hessian = sp.hessian(problems["valley"]["expr"], (x, y))
    eigen = sorted(hessian.eigenvals())
    kappa = sp.Symbol(r"\kappa")
    doc = doc.steps(
        Step(sp.Symbol(r"H_{\mathrm{valley}}"), hessian, "Hessian of $(x^2 + 100 y^2)/2$",
             claim=(sp.hessian(problems["valley"]["expr"], (x, y)), sp.diag(1, 100))),
        Step(kappa, sp.Integer(100), "$\\lambda_{\\max}/\\lambda_{\\min}$",
             claim=(sp.Integer(eigen[-1]) / sp.Integer(eigen[0]), sp.Integer(100))),
    )
    h_rosen = sp.hessian(problems["rosenbrock"]["expr"], (x, y)).subs({x: 1, y: 1})
    ev = [float(e) for e in h_rosen.eigenvals()]
    doc = doc.steps(
        Step(sp.Symbol(r"H_{\mathrm{Rosenbrock}}(1, 1)"), sp.Matrix([[802, -400], [-400, 200]]),
             "Hessian of $(1-x)^2 + 100(y - x^2)^2$ at its minimum", claim=(h_rosen, sp.Matrix([[802, -400], [-400, 200]]))),
    )
    doc = doc.text(
        f"Rosenbrock's condition number at the minimum is {max(ev) / min(ev):.0f}, and its valley "
        "is curved, so no fixed rescaling of the axes straightens it."
    )
    steps = 300
    paths = {key: _trajectories(problems[key], i, steps) for i, key in enumerate(problems)}
    rows = []
    for label in _SETTINGS:
        row = [label]
        for key in problems:
            final = paths[key][label][-1]
            row.append(f"{float(problems[key]['value'](*final)):.3g}")
        rows.append(tuple(row))
    doc = doc.section("Trajectories").table(["optimizer", f"valley loss after {steps} steps",
                                             f"Rosenbrock loss after {steps} steps"], rows)

    def draw_paths(path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
        for ax, key in zip(axes, problems):
            x0, x1, y0, y1 = problems[key]["box"]
            gx, gy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
            levels = np.logspace(-1, 3.5, 20) if key == "rosenbrock" else np.logspace(-1, 2.5, 15)
            ax.contour(gx, gy, problems[key]["value"](gx, gy), levels=levels, colors="0.8",
                       linewidths=0.6)
            for label, trajectory in paths[key].items():
                arr = np.array(trajectory)
                ax.plot(arr[:, 0], arr[:, 1], lw=1, label=label)
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_title(key)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)

    def draw_loss(path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, key in zip(axes, problems):
            for label, trajectory in paths[key].items():
                arr = np.array(trajectory)
                ax.semilogy(problems[key]["value"](arr[:, 0], arr[:, 1]) + 1e-16, lw=1, label=label)
            ax.set_xlabel("step")
            ax.set_ylabel("loss")
            ax.set_title(key)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)

    doc = doc.figure(Figure("optimizer-paths", "Contours and paths (fixed step lengths as in the "
                                               "table of settings).", draw_paths, requires="matplotlib"))
    doc = doc.figure(Figure("optimizer-loss", "Loss against step.", draw_loss, requires="matplotlib"))
    settings = [(label, _settings_math(kw1), _settings_math(kw2))
                for label, (factory, kw1, kw2) in _SETTINGS.items()]
    doc = doc.table(["label", "valley", "Rosenbrock"], settings, "settings")
    return doc.text(
        "Reading the pictures: plain SGD's rate is capped by the steep direction "
        "($\\eta < 2/\\lambda_{\\max} = 0.02$ on the valley), so it crawls along the flat one. "
        "Momentum damps the zig-zag across the valley and accelerates along it (see the momentum "
        f"document: the opposite of the wording of {NOTES}). "
        "The adaptive methods rescale each "
        "coordinate by its own gradient history, which undoes the axis-aligned valley's "
        "conditioning but not Rosenbrock's curved one."
    )


def saddle_document() -> Derivation:
    import numpy as np

    from symlearn.optim import sgd

    x, y = sp.symbols("x y", real=True)
    f = x**2 - y**2
    doc = Derivation("saddle-point", "A saddle point: gradient descent stalls, momentum escapes",
                     "$f = x^2 - y^2$ from a start near the saddle: plain GD lingers, momentum "
                     f"leaves ({SLIDES}: 'saddle points -> zero gradient -> no update').")
    f_ = sp.Symbol("f")
    doc = doc.section("The saddle").text(
        "The two partial derivatives of $f = x^2 - y^2$, rule by rule:"
    )
    doc = add_gradient_steps(doc, f, x, output=f_, why=False)
    doc = add_gradient_steps(doc, f, y, output=f_, why=False)
    doc = doc.text(
        "Stacked, they are the gradient; differentiating each again (the power rule once more: "
        "$\\partial(2x)/\\partial x = 2$, $\\partial(-2y)/\\partial y = -2$, and neither "
        "depends on the other variable) gives the Hessian $H$ of second derivatives:"
    )
    doc = doc.steps(
        Step(sp.Symbol(r"\nabla f"), sp.Matrix([2 * x, -2 * y]),
             "the two partial derivatives above",
             claim=(sp.Matrix([sp.diff(f, x), sp.diff(f, y)]), sp.Matrix([2 * x, -2 * y]))),
        Step(sp.Symbol("H"), sp.diag(2, -2),
             "second derivatives: one positive, one negative eigenvalue",
             claim=(sp.hessian(f, (x, y)), sp.diag(2, -2))),
    )
    grad = lambda p: np.array([2 * p[0], -2 * p[1]])
    start = np.array([1.0, 1e-6])
    # Enough steps that both runs are seen to escape: GD needs ln(10^5)/ln(1.1), about 121
    # (measured below); text and plots use the same runs.
    lr, steps = 0.05, 150
    gd = np.array(sgd(lr=lr).run(grad, start, steps))
    mom = np.array(sgd(lr=lr, momentum=0.9).run(grad, start, steps))
    t_gd = int(np.argmax(np.abs(gd[:, 1]) > 0.1)) if np.any(np.abs(gd[:, 1]) > 0.1) else None
    t_mom = int(np.argmax(np.abs(mom[:, 1]) > 0.1)) if np.any(np.abs(mom[:, 1]) > 0.1) else None
    doc = doc.text(
        f"From $(1, 10^{{-6}})$ with $\\eta = {lr}$, gradient descent multiplies $y$ by "
        f"$1 + 2\\eta = {1 + 2 * lr}$ per step, so $|y|$ passes 0.1 after "
        f"{t_gd if t_gd is not None else 'more than ' + str(steps)} steps; with momentum 0.9 the "
        f"escape takes {t_mom if t_mom is not None else 'more than ' + str(steps)} steps, because "
        "the buffer accumulates the consistently signed $y$-gradient (up to $1/(1-\\rho) = 10$ "
        "times). Started exactly on $y = 0$ both stay on the $x$-axis: the $y$-gradient is zero, "
        "which is the slides' 'no update'; noise in SGD's gradients is what pushes it off. "
        f"The plots show the same two runs, {steps} steps each."
    )

    def draw(path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        gx, gy = np.meshgrid(np.linspace(-1.2, 1.2, 200), np.linspace(-1.2, 1.2, 200))
        a.contour(gx, gy, gx**2 - gy**2, levels=21, colors="0.8", linewidths=0.6)
        a.plot(gd[:, 0], gd[:, 1], label="GD")
        a.plot(mom[:, 0], mom[:, 1], label="momentum 0.9")
        a.set_xlim(-1.2, 1.2)
        a.set_ylim(-1.2, 1.2)
        a.legend()
        b.semilogy(np.abs(gd[:, 1]), label="GD")
        b.semilogy(np.abs(mom[:, 1]), label="momentum 0.9")
        b.set_xlabel("step")
        b.set_ylabel("|y|")
        b.legend()
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)

    return doc.figure(Figure("saddle-point", "Paths near the saddle of $x^2 - y^2$ and $|y|$ against "
                                             "step.", draw, requires="matplotlib"))

