r"""Why gradient descent works, and how to read a loss curve to set the learning rate.

Two documents:

* ``why-gradient-descent-works``: the gradient is orthogonal to the level sets, it is the
  direction of steepest ascent (Cauchy-Schwarz), the first-order Taylor argument that a small
  step against it lowers the loss, and the step-size bound $2/\lambda_{\max}$ from the Hessian of
  a quadratic; paths of gradient descent on a contour plot.
* ``learning-rate-diagnostics``: loss curves for a too small, a good, a too large and a
  divergent learning rate on a real least-squares problem (scikit-learn's diabetes data), with
  the thresholds derived from the Hessian's eigenvalues; and why a decaying rate helps SGD.

The algebra is checked symbolically; every number comes from a run made at build time with
fixed seeds and is marked as measured.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
import sympy as sp

from symlearn import Custom, Derivation, Figure, Step
from symlearn.calculus.steps import add_gradient_steps
from symlearn.registry import load_helper


def _is_zero(expr) -> bool:
    """``expand`` first (it decides polynomial and rational identities quickly), then
    ``simplify`` (trigonometric ones); a matrix is zero when every entry is."""
    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    expr = sp.sympify(expr)
    return sp.expand(sp.together(expr)) == 0 or _trig_zero(expr) or sp.simplify(expr) == 0


def _trig_zero(expr) -> bool:
    """Polynomials in $\\sin u$, $\\cos u$: replace them by symbols $S$, $C$ and reduce the
    numerator modulo $S^2 + C^2 - 1$ (exact, and much faster than ``trigsimp``)."""
    trig = sorted({f.args[0] for f in expr.atoms(sp.sin, sp.cos)}, key=sp.default_sort_key)
    if not trig:
        return False
    names, relations, mapping = [], [], {}
    for i, u in enumerate(trig):
        S, C = sp.symbols(f"S{i} C{i}")
        mapping.update({sp.sin(u): S, sp.cos(u): C})
        names += [S, C]
        relations.append(S**2 + C**2 - 1)
    numerator = sp.numer(sp.together(sp.expand(expr.xreplace(mapping))))
    if any(numerator.has(u) for u in trig if u.free_symbols):
        return False  # the angle also appears outside sin and cos
    return sp.reduced(sp.expand(numerator), relations, *names)[1] == 0


def _expanded() -> Custom:
    """A symbolic check that tries ``expand`` before ``simplify`` (builds stay fast)."""
    return Custom(
        lambda lhs, rhs, context: _is_zero(sp.sympify(lhs) - sp.sympify(rhs)),
        "checked symbolically: expand (or simplify) of lhs - rhs is 0",
        "symbolic",
    )

# --------------------------------------------------------------------------------------------------
# Shared helpers: displayed formulas and measured claims


_course = load_helper(__file__, "_course")
_shown = _course.shown
_tex = _course.tex
_value = _course.value
_measured = _course.measured
_measured_step = _course.measured_step












# ==================================================================================================
# Document 1: why gradient descent works

x, y, s = sp.symbols("x y s", real=True)
c = sp.Symbol("c", positive=True)
A_DIAG = (1, 10)  # L(x, y) = (x^2 + 10 y^2) / 2: Hessian diag(1, 10), a narrow valley
LOSS = (A_DIAG[0] * x**2 + A_DIAG[1] * y**2) / 2
START = np.array([-9.0, 1.5])
PATH_RATES = (0.05, 2 / 11, 0.19)
DIVERGENT_RATE = 0.21
PATH_STEPS = 40


def _grad(p):
    return np.array([A_DIAG[0] * p[0], A_DIAG[1] * p[1]])


def _loss(p):
    return 0.5 * (A_DIAG[0] * p[0] ** 2 + A_DIAG[1] * p[1] ** 2)


@functools.lru_cache(maxsize=1)
def descent_paths() -> dict:
    """Gradient descent $\\boldsymbol{\\theta} \\leftarrow \\boldsymbol{\\theta} - \\alpha\\nabla L$
    on $L$ from (-9, 1.5), 40 steps per rate."""
    return {lr: _descend(_grad, START, lr, PATH_STEPS) for lr in (*PATH_RATES, DIVERGENT_RATE)}


def _descend(grad, start, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent (PyTorch's SGD without momentum); all iterates, one per row."""
    path = [np.asarray(start, dtype=float)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            path.append(path[-1] - lr * grad(path[-1]))
    return np.array(path)


def _draw_level_sets(path):
    from symlearn.render.figures import plotted

    paths = descent_paths()
    gx, gy = np.meshgrid(np.linspace(-10, 10, 300), np.linspace(-3, 3, 300))
    with plotted(path, 2, 1, figsize=(8, 6.4)) as (_fig, (a, b)):
        levels = [0.5, 2, 5, 10, 20, 40]
        for axis in (a, b):
            axis.contour(gx, gy, _loss((gx, gy)), levels=levels, colors="0.75", linewidths=0.7)
            axis.set_aspect("equal")
            axis.set_xlabel("$x$")
            axis.set_ylabel("$y$")
        # gradient arrows on the level set L = 20: they cross it at right angles
        angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        px, py = np.sqrt(40) * np.cos(angles), np.sqrt(4) * np.sin(angles)
        g = np.array([_grad(q) for q in zip(px, py)])
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        a.quiver(px, py, g[:, 0], g[:, 1], color="C3", angles="xy", scale_units="xy", scale=0.6,
                 width=0.004)
        a.set_title(r"$\nabla L$ on the level set $L = 20$")
        for lr in PATH_RATES:
            p = paths[lr]
            b.plot(p[:, 0], p[:, 1], "o-", ms=2.5, lw=1, label=rf"$\alpha = {lr:.3g}$")
        b.set_xlim(-10, 10)
        b.set_ylim(-3, 3)
        b.set_title("gradient descent, 40 steps from $(-9, 1.5)$")
        b.legend(fontsize=8, loc="lower right")


def _level_sets(doc: Derivation) -> Derivation:
    doc = doc.section("The gradient is orthogonal to the level sets").text(
        "Let $L: \\mathbb{R}^d \\to \\mathbb{R}$ be a differentiable loss of the parameters "
        "$\\boldsymbol{\\theta}$ and $\\nabla L(\\boldsymbol{\\theta})$ its gradient, the vector "
        "of partial derivatives $\\partial L / \\partial \\theta_j$. A **level set** is "
        "$\\lbrace \\boldsymbol{\\theta} : L(\\boldsymbol{\\theta}) = c\\rbrace$, a contour line of the "
        "landscape. If a curve $\\boldsymbol{\\theta}(s)$ stays on it, "
        "$L(\\boldsymbol{\\theta}(s)) = c$ for every $s$, and differentiating both sides by the "
        "chain rule gives $\\nabla L(\\boldsymbol{\\theta}(s)) \\cdot \\boldsymbol{\\theta}'(s) = 0$: "
        "the gradient is orthogonal to every direction $\\boldsymbol{\\theta}'(s)$ along the "
        "level set (the course notes' 'gradient is a vector perpendicular to the level set'). "
        "On the example used throughout, $L(x, y) = \\frac{1}{2}(x^2 + 10y^2)$, the level set "
        "$L = c$ is the ellipse $(x, y) = (\\sqrt{2c}\\cos s, \\sqrt{2c/10}\\,\\sin s)$. "
        "First its gradient, one partial derivative at a time (in $\\partial L/\\partial x$ "
        "the term $10y^2$ does not change with $x$, so it is a constant there, and likewise "
        "$x^2$ in $\\partial L/\\partial y$):"
    )
    L_ = sp.Symbol("L")
    first = len(doc.all_steps()) + 1
    doc = add_gradient_steps(doc, LOSS, x, output=L_, why=False)
    doc = add_gradient_steps(doc, LOSS, y, output=L_, why=False)
    derived = f"({first})-({len(doc.all_steps())})"
    doc = doc.text(
        f"So $\\nabla L = (x, 10y)$ (steps {derived}). Along the ellipse:"
    )
    curve = sp.Matrix([sp.sqrt(2 * c) * sp.cos(s), sp.sqrt(2 * c / 10) * sp.sin(s)])
    on_curve = {x: curve[0], y: curve[1]}
    gradient = sp.Matrix([sp.diff(LOSS, x), sp.diff(LOSS, y)])
    return doc.steps(
        Step(_shown(r"L(\boldsymbol{\theta}(s))"), c, "the curve lies on the level set $L = c$",
             claim=(LOSS.xreplace(on_curve), c), check=_expanded()),
        Step(_shown(r"\nabla L \cdot \boldsymbol{\theta}'(s)"),
             _shown(r"x\,x'(s) + 10\,y\,y'(s)"),
             f"$\\nabla L = (x, 10y)$, steps {derived}",
             claim=((gradient.T * curve.diff(s))[0].xreplace({}).subs(on_curve),
                    (x * sp.diff(curve[0], s) + 10 * y * sp.diff(curve[1], s)).subs(on_curve)),
             check=_expanded()),
        Step(_shown(r"x\,x'(s) + 10\,y\,y'(s)"), sp.Integer(0), "on the ellipse",
             continued=True,
             claim=((gradient.subs(on_curve).T * curve.diff(s))[0], 0), check=_expanded()),
    )


def _steepest(doc: Derivation) -> Derivation:
    doc = doc.section("The gradient is the steepest direction").text(
        "Move from $\\boldsymbol{\\theta}$ a small distance $h$ in a unit direction "
        "$\\mathbf{u}$ ($\\Vert \\mathbf{u}\\Vert  = 1$). The first-order Taylor expansion "
        "$L(\\boldsymbol{\\theta} + h\\mathbf{u}) = L(\\boldsymbol{\\theta}) + h\\,\\nabla "
        "L(\\boldsymbol{\\theta})\\cdot\\mathbf{u} + O(h^2)$ says the rate of change is the "
        "directional derivative $D_{\\mathbf{u}}L = \\nabla L \\cdot \\mathbf{u}$. Which "
        "$\\mathbf{u}$ makes it most negative? In two dimensions write $\\nabla L = (g_1, g_2)$ "
        "and $\\mathbf{u} = (\\cos\\varphi, \\sin\\varphi)$. Lagrange's identity (the "
        "two-dimensional Cauchy-Schwarz inequality) bounds it:"
    )
    g1, g2, phi = sp.symbols("g_1 g_2 varphi", real=True)
    D = g1 * sp.cos(phi) + g2 * sp.sin(phi)
    norm2 = g1**2 + g2**2
    doc = doc.steps(
        Step(_shown(r"\Vert \nabla L\Vert ^2 - (D_{\mathbf{u}}L)^2"),
             _shown(r"(g_1\sin\varphi - g_2\cos\varphi)^2"),
             "$\\Vert \\mathbf{u}\\Vert ^2 = \\cos^2\\varphi + \\sin^2\\varphi = 1$",
             claim=(norm2 - D**2, (g1 * sp.sin(phi) - g2 * sp.cos(phi)) ** 2), check=_expanded()),
    )
    doc = doc.text(
        "The right side is a square, so $(D_{\\mathbf{u}}L)^2 \\le \\Vert \\nabla L\\Vert ^2$, i.e. "
        "$-\\Vert \\nabla L\\Vert  \\le D_{\\mathbf{u}}L \\le \\Vert \\nabla L\\Vert$, with equality exactly when "
        "$\\mathbf{u}$ is parallel to $\\nabla L$. The lower bound is reached at "
        "$\\mathbf{u} = -\\nabla L/\\Vert \\nabla L\\Vert$:"
    )
    u_star = {sp.cos(phi): -g1 / sp.sqrt(norm2), sp.sin(phi): -g2 / sp.sqrt(norm2)}
    doc = doc.steps(
        Step(_shown(r"D_{-\nabla L/\Vert \nabla L\Vert }\,L"), -sp.sqrt(norm2),
             "substitute $\\cos\\varphi = -g_1/\\Vert \\nabla L\\Vert$, $\\sin\\varphi = -g_2/\\Vert \\nabla L\\Vert$",
             claim=(D.xreplace(u_star), -sp.sqrt(norm2)), check=_expanded()),
    )
    return doc.text(
        "So $-\\nabla L$ is the direction of steepest descent, and $+\\nabla L$ of steepest "
        "ascent (the course notes' near-sighted climber who always takes the steepest step). "
        "The same argument holds in $d$ dimensions with the Cauchy-Schwarz inequality "
        "$|\\nabla L \\cdot \\mathbf{u}| \\le \\Vert \\nabla L\\Vert \\,\\Vert \\mathbf{u}\\Vert$."
    )


def _taylor(doc: Derivation) -> Derivation:
    doc = doc.section("A small step against the gradient lowers the loss").text(
        "Gradient descent takes $\\boldsymbol{\\theta}_{t+1} = \\boldsymbol{\\theta}_t - "
        "\\alpha\\,\\mathbf{g}$ with $\\mathbf{g} = \\nabla L(\\boldsymbol{\\theta}_t)$ and "
        "learning rate $\\alpha > 0$. Taylor's theorem with $h\\mathbf{u} = -\\alpha\\mathbf{g}$ "
        "gives $L(\\boldsymbol{\\theta}_{t+1}) = L(\\boldsymbol{\\theta}_t) - "
        "\\alpha\\Vert \\mathbf{g}\\Vert ^2 + O(\\alpha^2)$: when $\\mathbf{g} \\neq 0$ the first-order "
        "term is negative and, for $\\alpha$ small enough, dominates the rest, so "
        "$L(\\boldsymbol{\\theta}_{t+1}) < L(\\boldsymbol{\\theta}_t)$ (the course notes' "
        "'proof: 1st order Taylor approximation'). How small is small enough depends on the "
        "curvature, which the second-order term measures. For a quadratic "
        "$L(\\boldsymbol{\\theta}) = \\frac{1}{2}\\boldsymbol{\\theta}^T\\mathbf{A}\\boldsymbol{\\theta}$ "
        "with symmetric $\\mathbf{A}$ (its Hessian) the expansion is exact. With "
        "$\\mathbf{A} = \\begin{pmatrix} a & b \\\\ b & d \\end{pmatrix}$, "
        "$\\boldsymbol{\\theta} = (x, y)$ and $\\mathbf{g} = \\mathbf{A}\\boldsymbol{\\theta}$:"
    )
    a, b, d, alpha = sp.symbols("a b d alpha", real=True)
    A = sp.Matrix([[a, b], [b, d]])
    theta = sp.Matrix([x, y])
    g = A * theta
    quad = lambda v: (v.T * A * v)[0] / 2
    doc = doc.steps(
        Step(_shown(r"L(\boldsymbol{\theta} - \alpha\mathbf{g})"),
             _shown(r"L(\boldsymbol{\theta}) - \alpha\,\mathbf{g}^T\mathbf{g} + "
                    r"\frac{\alpha^2}{2}\,\mathbf{g}^T\mathbf{A}\,\mathbf{g}"),
             "expand the quadratic; $\\mathbf{g} = \\mathbf{A}\\boldsymbol{\\theta}$",
             claim=(quad(theta - alpha * g),
                    quad(theta) - alpha * (g.T * g)[0] + alpha**2 / 2 * (g.T * A * g)[0]),
             check=_expanded()),
    )
    doc = doc.text(
        "The loss falls exactly when $\\alpha\\,\\mathbf{g}^T\\mathbf{g} > \\frac{\\alpha^2}{2}"
        "\\mathbf{g}^T\\mathbf{A}\\mathbf{g}$, i.e. $\\alpha < 2\\,\\mathbf{g}^T\\mathbf{g} / "
        "\\mathbf{g}^T\\mathbf{A}\\mathbf{g}$. The Rayleigh quotient "
        "$\\mathbf{g}^T\\mathbf{A}\\mathbf{g}/\\mathbf{g}^T\\mathbf{g}$ lies between the "
        "smallest and the largest eigenvalue of $\\mathbf{A}$, $\\lambda_{\\min}$ and "
        "$\\lambda_{\\max}$, so every $\\alpha < 2/\\lambda_{\\max}$ lowers the loss at every "
        "step, whatever the gradient."
    )
    return doc


def _bound(doc: Derivation) -> Derivation:
    doc = doc.section("The step-size bound $2/\\lambda_{\\max}$").text(
        "Whether the iterates converge is decided along the eigenvectors of $\\mathbf{A}$. "
        "Along an eigenvector with eigenvalue $\\lambda > 0$ the loss is $\\frac{1}{2}\\lambda "
        "\\theta^2$ and its gradient $\\lambda\\theta$, so one step multiplies the coordinate by "
        "a fixed factor:"
    )
    lam = sp.Symbol("lambda", positive=True)
    alpha = sp.Symbol("alpha", positive=True)
    th0 = sp.Symbol("theta_0", real=True)
    t = sp.Symbol("t", integer=True, nonnegative=True)
    th = sp.Symbol("theta", real=True)

    def unrolled(lhs, rhs, context) -> bool:
        value = th0
        for k in range(1, 9):
            value = value - alpha * lam * value  # one gradient step on lam theta^2 / 2
            if sp.expand(value - rhs.xreplace({t: k})) != 0:
                return False
        return True

    def interval(lhs, rhs, context) -> bool:
        # 1 - alpha lam decreases strictly in alpha (lam > 0); it is 1 at alpha = 0 and -1 at
        # alpha = 2/lam, so it lies strictly between -1 and 1 exactly on (0, 2/lam)
        factor = 1 - alpha * lam
        decreasing = bool(sp.diff(factor, alpha).is_negative)
        return (decreasing and sp.solve(sp.Eq(factor, 1), alpha) == []  # alpha > 0 excludes 0
                and sp.simplify(factor.subs(alpha, 0) - 1) == 0
                and sp.solve(sp.Eq(factor, -1), alpha) == [2 / lam])

    # the gradient along the eigenvector, rule by rule, before the step uses it
    doc = doc.text("The gradient of $\\frac{1}{2}\\lambda\\theta^2$, rule by rule:")
    doc = add_gradient_steps(doc, lam * th**2 / 2, th, output=sp.Symbol("L"), why=False)
    grad_step = len(doc.all_steps())
    doc = doc.steps(
        Step(_shown(r"\theta - \alpha\,\frac{d}{d\theta}\left(\frac{\lambda\theta^2}{2}\right)"),
             _shown(r"(1 - \alpha\lambda)\,\theta"),
             f"one gradient step, with the derivative $\\lambda\\theta$ of step ({grad_step})",
             claim=(th - alpha * sp.diff(lam * th**2 / 2, th), (1 - alpha * lam) * th),
             check=_expanded()),
        Step(_shown(r"\theta_t"), _shown(r"(1 - \alpha\lambda)^t\,\theta_0"),
             "unroll from $\\theta_0$ over $t$ steps",
             claim=(None, (1 - alpha * lam) ** t * th0),
             check=Custom(unrolled, "checked symbolically for each $t = 1, \\dots, 8$",
                          "symbolic")),
        Step(_shown(r"|1 - \alpha\lambda| < 1"), _shown(r"0 < \alpha < \frac{2}{\lambda}"),
             "$\\theta_t \\to 0$ for every $\\theta_0$ exactly when the factor is below 1",
             relation="iff",
             check=Custom(interval, "checked symbolically: $1 - \\alpha\\lambda$ decreases "
                          "strictly in $\\alpha$, equals 1 at $\\alpha = 0$ and $-1$ exactly at "
                          "$\\alpha = 2/\\lambda$", "symbolic")),
    )
    doc = doc.text(
        "All directions must converge, so gradient descent on a quadratic converges exactly "
        "when $0 < \\alpha < 2/\\lambda_{\\max}$. Between $1/\\lambda$ and $2/\\lambda$ the "
        "factor is negative: the coordinate changes sign at every step and overshoots the "
        "minimum, yet still shrinks. Near any minimum a smooth loss is close to its quadratic "
        "Taylor model, with $\\mathbf{A}$ the Hessian there, so the same bound governs the "
        "last phase of training."
    )
    paths = descent_paths()
    doc = doc.text(
        "For $L = \\frac{1}{2}(x^2 + 10y^2)$ the eigenvalues are 1 and 10, so the bound is "
        "$\\alpha < 0.2$. From $(-9, 1.5)$, 40 steps of gradient descent at "
        "three rates below the bound and one above it:"
    )
    rows = []
    for lr, p in paths.items():
        losses = np.array([_loss(q) for q in p])
        rows.append((f"${lr:.3g}$", f"${_tex(losses[-1])}$",
                     "yes" if np.all(np.diff(losses) < 0) else "no"))
    doc = doc.table(["$\\alpha$", "$L$ after 40 steps", "$L$ fell at every step"], rows,
                    caption="Measured on the runs of the figure; $L$ at the start is 51.75.")
    below = [np.all(np.diff([_loss(q) for q in paths[lr]]) < 0) for lr in PATH_RATES]
    diverged = _loss(paths[DIVERGENT_RATE][-1])
    doc = doc.steps(
        _measured_step(r"\#\lbrace \alpha \in \lbrace 0.05, 2/11, 0.19\rbrace  : L \text{ fell at every step}\rbrace ",
                       sum(below), "all three rates below the bound",
                       "counted over the 40 steps of each run", relation="=", rhs=(3, "3")),
        _measured_step(r"L(\boldsymbol{\theta}_{40})\big|_{\alpha = 0.21}", diverged,
                       "above the bound the $y$-coordinate grows by $|1 - 2.1| = 1.1$ per step",
                       f"the loss after 40 steps at $\\alpha = 0.21$ is ${_tex(diverged)}$",
                       relation=">", rhs=(_loss(START), r"L(\boldsymbol{\theta}_0)")),
    )
    return doc.figure(Figure(
        "gd-level-sets",
        "Top: the gradient, drawn at twelve points of the level set $L = 20$, crosses it at "
        "right angles. Bottom: gradient descent at $\\alpha = 0.05$ (slow along the flat $x$ "
        "direction), $\\alpha = 2/11$ (the best fixed rate, see `learning-rate-diagnostics`) "
        "and $\\alpha = 0.19$ (just below $2/\\lambda_{\\max} = 0.2$: it zigzags across the "
        "narrow $y$ direction).",
        _draw_level_sets, requires="matplotlib",
    ))


def _remarks(doc: Derivation) -> Derivation:
    doc = doc.section("Remarks on the course notes")
    doc = doc.text(
        "**What the course notes claim.** 'The bigger the gradient is, the further the point is "
        "from the minimum point.' **Why it does not hold.** The gradient measures slope, not "
        "distance; the two are proportional only for a one-dimensional quadratic. On "
        "$L = \\frac{1}{2}(x^2 + 10y^2)$, whose minimum is the origin, compare "
        "$P = (0, 1)$ and $Q = (5, 0)$:"
    )
    P, Q = {x: 0, y: 1}, {x: 5, y: 0}
    grad = sp.Matrix([sp.diff(LOSS, x), sp.diff(LOSS, y)])
    # the steps of the first section that derive the two partials of L
    partials = [i for i, st in enumerate(doc.all_steps(), 1)
                if st.lhs in (sp.Derivative(sp.Symbol("L"), x), sp.Derivative(sp.Symbol("L"), y))]
    last = next(i for i, st in enumerate(doc.all_steps(), 1) if st.rhs == 10 * y)
    derived = f"steps ({partials[0]})-({last})"
    doc = doc.steps(
        Step(_shown(r"\Vert \nabla L(P)\Vert "), sp.Integer(10),
             f"$\\nabla L = (x, 10y)$ ({derived}) is $(0, 10)$ at $P$",
             claim=(grad.xreplace(P).norm(), 10), check=_expanded()),
        Step(_shown(r"\Vert \nabla L(Q)\Vert "), sp.Integer(5), "$\\nabla L = (5, 0)$ at $Q$",
             claim=(grad.xreplace(Q).norm(), 5), check=_expanded()),
    )
    doc = doc.text(
        "$P$ has twice the gradient of $Q$ but is five times closer to the minimum. Far from "
        "a minimum a loss can also be flat (a plateau), and near a sharp minimum steep."
    )
    doc = doc.text(
        "**What the course notes claim.** 'Going in the opposite direction to change the "
        "weight is known as backpropagation', and 'Back Propagation is the process we use to "
        "update the individual weights'. **Why it does not hold.** Backpropagation is the "
        "chain rule run backwards through the network: it only **computes** the gradient "
        "$\\mathbf{g} = \\nabla L$ (see `mlp-backprop`). The **update** is a separate choice, "
        "the optimizer's. From one and the same $g \\neq 0$ (one weight), SGD moves by "
        "$-\\eta g$, while Adam's first step, after its bias correction "
        "($\\hat m_1 = g$, $\\hat v_1 = g^2$, see `adam`), moves by"
    )
    g, eta, eps = sp.symbols("g eta epsilon", positive=True)
    m_hat = ((1 - sp.Rational(9, 10)) * g) / (1 - sp.Rational(9, 10))
    v_hat = ((1 - sp.Rational(999, 1000)) * g**2) / (1 - sp.Rational(999, 1000))
    doc = doc.steps(
        Step(_shown(r"-\eta\,\frac{\hat m_1}{\sqrt{\hat v_1} + \epsilon}"),
             -eta * g / (g + eps),
             "$g > 0$ here; with PyTorch's $\\beta_1 = 0.9$, $\\beta_2 = 0.999$",
             claim=(-eta * m_hat / (sp.sqrt(v_hat) + eps), -eta * g / (g + eps)),
             check=_expanded()),
    )
    return doc.text(
        "which is about $-\\eta$ for any $g$ much larger than $\\epsilon$ (PyTorch's default "
        "$10^{-8}$): the same backpropagated gradient, "
        "two different updates. Backpropagation answers 'which way, and how steep'; the "
        "optimizer decides how far to go."
    )


def build_why_gradient_descent_works() -> Derivation:
    doc = Derivation(
        name="why-gradient-descent-works",
        title="Why gradient descent works: steepest descent and the step-size bound",
        summary=(
            "The gradient is orthogonal to level sets and points uphill fastest; a small step "
            "against it lowers the loss (first-order Taylor); on a quadratic the iterates "
            "converge exactly when $0 < \\alpha < 2/\\lambda_{\\max}$."
        ),
    )
    doc = _level_sets(doc)
    doc = _steepest(doc)
    doc = _taylor(doc)
    doc = _bound(doc)
    return _remarks(doc)


# ==================================================================================================
# Document 2: learning-rate diagnostics


def load_diabetes_file() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes data, unscaled (442 x 10 features, the disease progression
    target), read from the package's data files without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the diabetes data needs scikit-learn: pip install 'symlearn[data]'")
    folder = os.path.join(spec.submodule_search_locations[0], "datasets", "data")
    X = np.loadtxt(os.path.join(folder, "diabetes_data_raw.csv.gz"))
    y = np.loadtxt(os.path.join(folder, "diabetes_target.csv.gz"))
    return X, y


RATE_STEPS = 100
SGD_EPOCHS, SGD_BATCH = 30, 16


@functools.lru_cache(maxsize=1)
def diabetes_problem() -> dict:
    r"""Least squares on the diabetes data: standardized features plus a column of ones,
    standardized target; $L(\mathbf{w}) = \frac{1}{n}\Vert \mathbf{X}\mathbf{w} - \mathbf{y}\Vert ^2$,
    Hessian $\mathbf{H} = \frac{2}{n}\mathbf{X}^T\mathbf{X}$ and its eigenvalues."""
    X, y = load_diabetes_file()
    X = (X - X.mean(0)) / X.std(0)
    X = np.hstack([X, np.ones((len(X), 1))])
    y = (y - y.mean()) / y.std()
    n = len(y)
    H = 2 / n * X.T @ X
    eig, vectors = np.linalg.eigh(H)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    loss_star = float(np.mean((X @ w_star - y) ** 2))
    top = vectors[:, -1] * np.sign(vectors[np.argmax(np.abs(vectors[:, -1])), -1])  # fixed sign
    return {"X": X, "y": y, "n": n, "H": H, "lam_min": float(eig[0]), "lam_max": float(eig[-1]),
            "w_star": w_star, "loss_star": loss_star, "top": top}


def _rates(problem) -> dict:
    lo, hi = problem["lam_min"], problem["lam_max"]
    return {
        "too small": 0.1 / hi,
        "good": 1 / hi,
        "too large": 1.99 / hi,
        "divergent": 2.05 / hi,
        "asymptotically best": 2 / (lo + hi),
    }


@functools.lru_cache(maxsize=1)
def rate_runs() -> dict:
    """Full-batch gradient descent from $\\mathbf{w} = 0$, 100 steps per rate;
    the excess loss $L(\\mathbf{w}_t) - L^*$ per step."""
    prob = diabetes_problem()
    X, y, n = prob["X"], prob["y"], prob["n"]

    def grad(w):
        return 2 / n * X.T @ (X @ w - y)

    runs = {}
    for label, lr in _rates(prob).items():
        path = _descend(grad, np.zeros(X.shape[1]), lr, RATE_STEPS)
        with np.errstate(over="ignore", invalid="ignore"):
            losses = np.array([np.mean((X @ w - y) ** 2) for w in path])
        runs[label] = {"lr": lr, "excess": losses - prob["loss_star"],
                       "steep": np.array([(w - prob["w_star"]) @ prob["top"] for w in path])}
    return runs


@functools.lru_cache(maxsize=1)
def sgd_runs() -> dict:
    """Mini-batch SGD (batch 16, reshuffled each epoch, seed 0) with a constant rate and with a
    rate halved every 5 epochs; excess loss after each epoch."""
    prob = diabetes_problem()
    X, y, n = prob["X"], prob["y"], prob["n"]
    base = 0.5 / prob["lam_max"]
    out = {}
    for label, schedule in (("constant", lambda e: base),
                            ("halved every 5 epochs", lambda e: base * 0.5 ** (e // 5))):
        rng = np.random.default_rng(0)
        w = np.zeros(X.shape[1])
        excess = [float(np.mean((X @ w - y) ** 2)) - prob["loss_star"]]
        for epoch in range(SGD_EPOCHS):
            lr = schedule(epoch)
            order = rng.permutation(n)
            for start in range(0, n, SGD_BATCH):
                idx = order[start:start + SGD_BATCH]
                Xb, yb = X[idx], y[idx]
                w = w - lr * 2 / len(idx) * Xb.T @ (Xb @ w - yb)
            excess.append(float(np.mean((X @ w - y) ** 2)) - prob["loss_star"])
        out[label] = np.array(excess)
    return out


def _draw_rates(path):
    from symlearn.render.figures import plotted

    runs = rate_runs()
    with plotted(path, 1, 2, figsize=(11, 3.8)) as (_fig, (a, b)):
        for label, run in runs.items():
            if label == "asymptotically best":
                continue
            a.semilogy(np.maximum(run["excess"], 1e-16), label=rf"{label}, $\eta = {run['lr']:.3g}$")
        a.set_xlabel("step $t$")
        a.set_ylabel(r"$L(\mathbf{w}_t) - L^*$")
        a.set_ylim(1e-6, 1e3)
        a.legend(fontsize=7)
        for label in ("good", "too large"):
            b.plot(runs[label]["steep"][:40], "o-", ms=2, label=label)
        b.axhline(0, color="0.6", ls=":")
        b.set_xlabel("step $t$")
        b.set_ylabel(r"$(\mathbf{w}_t - \mathbf{w}^*) \cdot \mathbf{v}_{\max}$")
        b.legend(fontsize=7)


def _draw_sgd(path):
    from symlearn.render.figures import plotted

    runs = sgd_runs()
    with plotted(path) as (_fig, ax):
        for label, excess in runs.items():
            ax.semilogy(np.maximum(excess, 1e-16), "o-", ms=2.5, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(r"$L(\mathbf{w}) - L^*$")
        ax.legend(fontsize=8)


def build_learning_rate_diagnostics() -> Derivation:
    prob = diabetes_problem()
    runs = rate_runs()
    lo, hi = prob["lam_min"], prob["lam_max"]
    doc = Derivation(
        name="learning-rate-diagnostics",
        title="Learning-rate diagnostics: reading the loss curve",
        summary=(
            "Loss curves of gradient descent for a too small, a good, a too large and a "
            "divergent learning rate on the diabetes data, with the thresholds "
            "$2/\\lambda_{\\max}$ and $2/(\\lambda_{\\min} + \\lambda_{\\max})$ derived from the "
            "Hessian; why SGD needs a decaying rate."
        ),
    )
    doc = doc.section("The problem and its Hessian").text(
        "scikit-learn's diabetes data: $n = 442$ patients, 10 standardized measurements plus a "
        "column of ones (the bias) in $\\mathbf{X} \\in \\mathbb{R}^{442 \\times 11}$, and the "
        "standardized disease progression $\\mathbf{y}$. The loss is the mean squared error "
        "$L(\\mathbf{w}) = \\frac{1}{n}\\Vert \\mathbf{X}\\mathbf{w} - \\mathbf{y}\\Vert ^2$, whose "
        "minimum $L^*$ is reached at the least-squares fit $\\mathbf{w}^*$. Its gradient is "
        "$\\frac{2}{n}\\mathbf{X}^T(\\mathbf{X}\\mathbf{w} - \\mathbf{y})$ (see "
        "`linear-regression`), and its Hessian, the matrix of second derivatives, is constant. "
        "On a small instance ($n = 3$ examples, 2 features), entry by entry:"
    )
    Xs = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"x_{i + 1}{j + 1}", real=True))
    ys = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"y_{i + 1}", real=True))
    ws = sp.Matrix(2, 1, lambda j, _: sp.Symbol(f"w_{j + 1}", real=True))
    r = Xs * ws - ys
    mse = (r.T * r)[0] / 3
    # one gradient entry, then one Hessian entry, rule by rule; the rest follow the same way
    first = len(doc.all_steps()) + 1
    doc = add_gradient_steps(doc, mse, ws[0], output=sp.Symbol("L"), why=False)
    doc = doc.text(
        "Each residual $x_{i1} w_1 + x_{i2} w_2 - y_i$ enters squared, so the chain rule brings "
        "down $2 \\times$ the residual times its derivative $x_{i1}$. Differentiating this "
        "once more, now in $w_2$ (an entry off the diagonal; "
        "$L_{w_1} = \\partial L/\\partial w_1$), each residual leaves its coefficient $x_{i2}$:"
    )
    doc = add_gradient_steps(doc, sp.diff(mse, ws[0]), ws[1], output=sp.Symbol("L_{w_1}"),
                             why=False)
    last = len(doc.all_steps())
    doc = doc.text(
        "The same steps for any $j, k$ give $\\frac{2}{n}\\sum_i x_{ij} x_{ik}$, the "
        "$(j, k)$ entry of $\\frac{2}{n}\\mathbf{X}^T\\mathbf{X}$, and no $\\mathbf{w}$ is "
        "left: the Hessian is constant."
    )
    doc = doc.steps(
        Step(_shown(r"\mathbf{H} = \left[\frac{\partial^2 L}{\partial w_j \partial w_k}\right]"),
             _shown(r"\frac{2}{n}\mathbf{X}^T\mathbf{X}"),
             f"every entry as in steps ({first})-({last}), checked on all four",
             claim=(sp.hessian(mse, list(ws)), sp.Rational(2, 3) * Xs.T * Xs), check=_expanded()),
    )
    doc = doc.text(
        "Since $L$ is exactly quadratic, the error $\\mathbf{e}_t = \\mathbf{w}_t - "
        "\\mathbf{w}^*$ obeys $\\mathbf{e}_{t+1} = (\\mathbf{I} - \\eta\\mathbf{H})\\mathbf{e}_t$, "
        "and along each eigenvector of $\\mathbf{H}$ (eigenvalue $\\lambda_i$) it is multiplied "
        "by $1 - \\eta\\lambda_i$ per step (derived in `why-gradient-descent-works`). Measured "
        "on these data with numpy's `eigvalsh`:"
    )
    doc = doc.steps(
        _measured_step(r"\lambda_{\max}", hi, "largest eigenvalue of $\\mathbf{H}$",
                       "numpy.linalg.eigvalsh of $\\frac{2}{n}\\mathbf{X}^T\\mathbf{X}$"),
        _measured_step(r"\lambda_{\min}", lo, "smallest eigenvalue",
                       "numpy.linalg.eigvalsh of $\\frac{2}{n}\\mathbf{X}^T\\mathbf{X}$"),
        _measured_step(r"\kappa = \lambda_{\max}/\lambda_{\min}", hi / lo,
                       "condition number: a narrow valley", "ratio of the two eigenvalues"),
    )
    doc = doc.section("The thresholds").text(
        "Convergence needs $|1 - \\eta\\lambda_i| < 1$ for every $i$, that is "
        "$\\eta < 2/\\lambda_{\\max}$. The slowest direction decides the speed: the rate of "
        "convergence is $\\rho(\\eta) = \\max_i |1 - \\eta\\lambda_i| = \\max(|1 - "
        "\\eta\\lambda_{\\min}|, |1 - \\eta\\lambda_{\\max}|)$. Too small an $\\eta$ leaves "
        "$1 - \\eta\\lambda_{\\min}$ close to 1; too large an $\\eta$ makes $\\eta\\lambda_{\\max} - 1$ "
        "close to 1. The best fixed rate balances the two, $1 - \\eta\\lambda_{\\min} = "
        "\\eta\\lambda_{\\max} - 1$:"
    )
    eta = sp.Symbol("eta", positive=True)
    lmin, lmax = sp.symbols(r"\lambda_{\min} \lambda_{\max}", positive=True)
    kappa = sp.Symbol("kappa", positive=True)
    (eta_star,) = sp.solve(sp.Eq(1 - eta * lmin, eta * lmax - 1), eta)
    doc = doc.steps(
        Step(_shown(r"\eta^*"), 2 / (lmin + lmax), "solve $1 - \\eta\\lambda_{\\min} = "
             "\\eta\\lambda_{\\max} - 1$", claim=(eta_star, 2 / (lmin + lmax)), check=_expanded()),
        Step(_shown(r"\rho(\eta^*) = 1 - \eta^*\lambda_{\min}"),
             (kappa - 1) / (kappa + 1), "with $\\kappa = \\lambda_{\\max}/\\lambda_{\\min}$",
             claim=((1 - eta_star * lmin).xreplace({lmax: kappa * lmin}), (kappa - 1) / (kappa + 1)),
             check=_expanded()),
    )
    rho = (hi / lo - 1) / (hi / lo + 1)
    doc = doc.text(
        f"Here $\\rho(\\eta^*) \\approx {rho:.4f}$: even the best fixed rate gains only "
        f"{100 * (1 - rho):.2f}% per step in the flattest direction, which is why "
        "ill-conditioned problems are slow for plain gradient descent (momentum and adaptive "
        "methods address exactly this). $\\eta^*$ is the best rate for the **worst case** as "
        f"$t \\to \\infty$; with $\\kappa \\approx {hi / lo:.0f}$ it is "
        f"${2 / (lo + hi) * hi:.4f}/\\lambda_{{\\max}}$, a hair below the divergence threshold, "
        "and the steep direction then also shrinks by only $\\rho$ per step. The rate "
        "$\\eta = 1/\\lambda_{\\max}$ removes the steep component in one step "
        "($1 - \\eta\\lambda_{\\max} = 0$) and leaves the others at "
        "$1 - \\lambda_i/\\lambda_{\\max}$. Five rates, 100 full-batch steps each from "
        "$\\mathbf{w} = 0$:"
    )
    rows = []
    for label, run in runs.items():
        final = run["excess"][-1]
        rows.append((label, f"${run['lr'] * hi:.4g}/\\lambda_{{\\max}}$",
                     f"${_tex(final)}$",
                     str(int(np.sum(np.diff(run["excess"]) > 0)))))
    doc = doc.table(["learning rate", "$\\eta$", "$L(\\mathbf{w}_{100}) - L^*$",
                     "steps where $L$ rose"], rows,
                    caption="Measured; $L(\\mathbf{w}_0) - L^*$ = " + f"{runs['good']['excess'][0]:.3f}.")
    small, good, large, div, best = (runs[k]["excess"] for k in (
        "too small", "good", "too large", "divergent", "asymptotically best"))
    doc = doc.steps(
        _measured_step(r"L_{100}(\text{good}) - L^*", good[-1], "the good rate",
                       "excess loss after 100 steps", relation="<",
                       rhs=(small[-1], r"L_{100}(\text{too small}) - L^*")),
        _measured_step(r"L_{100}(\text{good}) - L^*", good[-1], "too large is slower too",
                       "excess loss after 100 steps", relation="<",
                       rhs=(large[-1], r"L_{100}(\text{too large}) - L^*")),
        _measured_step(r"L_{100}(\eta^*) - L^*", best[-1],
                       "the asymptotic optimum is slow for 100 steps",
                       "excess loss after 100 steps", relation=">",
                       rhs=(good[-1], r"L_{100}(\text{good}) - L^*")),
        _measured_step(r"L_{100}(\text{divergent}) - L^*", div[-1],
                       "above $2/\\lambda_{\\max}$: grows geometrically",
                       "excess loss after 100 steps", relation=">",
                       rhs=(div[0], r"L_0 - L^*")),
    )
    doc = doc.text(
        "**How to read the curves.** **Too small:** a smooth curve that keeps falling at a slow "
        "rate; a larger $\\eta$ would help. **Good:** the fastest fall. **Too large:** on this "
        "exactly quadratic loss the loss still falls at every step (each eigen-component "
        "shrinks in absolute value), but the error's component along the steepest direction, "
        "$(\\mathbf{w}_t - \\mathbf{w}^*)\\cdot\\mathbf{v}_{\\max}$ with $\\mathbf{v}_{\\max}$ the "
        "eigenvector of $\\mathbf{H}$ for $\\lambda_{\\max}$, changes sign at every step, the iterate jumping across the valley floor (right "
        "panel), and shrinks by only $|1 - 1.99| = 0.99$ per step, "
        "so the curve flattens early; on a real network, where the curvature changes along the "
        "path, this is where the loss curve turns jagged. **Divergent:** the loss grows "
        "geometrically, to `inf` or `nan` if left running: lower $\\eta$ at once."
    )
    steep_good, steep_large = runs["good"]["steep"], runs["too large"]["steep"]
    flips = int(np.sum(np.sign(steep_large[1:41]) != np.sign(steep_large[:40])))
    doc = doc.steps(
        _measured_step(r"\max_{1 \le t \le 100} |(\mathbf{w}_t - \mathbf{w}^*)\cdot\mathbf{v}_{\max}|"
                       r"\ (\text{good})", float(np.max(np.abs(steep_good[1:]))),
                       "removed in the first step", "largest component after step 0",
                       relation="<", rhs=(1e-10, "10^{-10}")),
        _measured_step(r"\#\lbrace t < 40 : \text{the component changes sign}\rbrace\ "
                       r"(\text{too large})", flips, "at every step",
                       "sign changes over the first 40 steps", relation="=", rhs=(40, "40")),
    )
    doc = doc.figure(Figure(
        "lr-diagnostics",
        "Left: excess loss $L(\\mathbf{w}_t) - L^*$ per step for the four rates (measured). "
        "Right: the error's component along $\\mathbf{v}_{\\max}$, the eigenvector of "
        "$\\mathbf{H}$ for $\\lambda_{\\max}$: 0 after one step at the good rate, changing sign "
        "at every step at the too large one (measured).",
        _draw_rates, requires="matplotlib",
    ))
    doc = doc.section("Logistic regression: the same bound, from $\\sigma' \\le 1/4$").text(
        "For logistic regression the Hessian is $\\frac{1}{n}\\mathbf{X}^T\\mathbf{D}\\mathbf{X}$ "
        "with $\\mathbf{D} = \\operatorname{diag}(\\sigma(z_i)(1 - \\sigma(z_i)))$; it changes "
        "with $\\mathbf{w}$ but never exceeds $\\frac{1}{4n}\\mathbf{X}^T\\mathbf{X}$, because"
    )
    sg = sp.Symbol("sigma", real=True)
    doc = doc.steps(
        Step(_shown(r"\frac{1}{4} - \sigma(1 - \sigma)"), (sg - sp.Rational(1, 2)) ** 2,
             "complete the square: it is $\\ge 0$, zero only at $\\sigma = 1/2$",
             claim=(sp.Rational(1, 4) - sg * (1 - sg), (sg - sp.Rational(1, 2)) ** 2),
             check=_expanded()),
    )
    doc = doc.text(
        "so any $\\eta < 8n/\\lambda_{\\max}(\\mathbf{X}^T\\mathbf{X})$ keeps gradient descent "
        "on the cross-entropy stable everywhere."
    )
    return _schedules(doc)


def _schedules(doc: Derivation) -> Derivation:
    runs = sgd_runs()
    const, halved = runs["constant"], runs["halved every 5 epochs"]
    doc = doc.section("Big steps early, small steps late: a question of noise").text(
        "With mini-batches the gradient is a noisy estimate, and the noise does not vanish at "
        "the minimum: a constant rate leaves the iterate wandering in a region whose size grows "
        "with $\\eta$. Mini-batch SGD on the same loss (batch 16, reshuffled every epoch), "
        f"{SGD_EPOCHS} epochs from $\\mathbf{{w}} = 0$ with $\\eta = 0.5/\\lambda_{{\\max}}$, "
        "constant or halved every 5 epochs:"
    )
    doc = doc.steps(
        _measured_step(r"L(\text{halved}) - L^*", halved[-1], "after 30 epochs",
                       f"excess loss ${_tex(halved[-1])}$ against ${_tex(const[-1])}$",
                       relation="<", rhs=(const[-1], r"L(\text{constant}) - L^*")),
    )
    doc = doc.figure(Figure(
        "lr-diagnostics-sgd",
        "Mini-batch SGD on the diabetes loss: a constant rate stalls at a noise floor, a "
        "rate halved every 5 epochs settles far lower (measured, seed 0).",
        _draw_sgd, requires="matplotlib",
    ))
    return doc.section("Remark on the course notes").text(
        "**What the course notes claim.** One page says 'generally, you start with a small "
        "learning rate to avoid passing the minimum loss'; another that 'early in the training "
        "process, we can afford to take big steps' and should use smaller rates later. **Why "
        "neither holds as a rule, and how they fit together.** Passing the minimum is not the "
        "danger: every rate between $1/\\lambda_{\\max}$ and $2/\\lambda_{\\max}$ passes it at "
        "every step and still converges (the too-large run above). The danger is "
        "$\\eta > 2/\\lambda_{\\max}$, and $\\lambda_{\\max}$ is not known in advance, which is "
        "the sound reason to start small (or to warm up): a divergent run announces itself in a "
        "few steps. 'Big steps early, small steps late' is about the noise of mini-batch "
        "gradients, not about overshooting: once the loss stops falling at a constant rate, "
        "lowering the rate lowers the noise floor, as measured above. With full-batch "
        "gradients on a quadratic any fixed rate below $2/\\lambda_{\\max}$ converges "
        "without a schedule."
    )


CATALOG = {
    "why-gradient-descent-works": (
        (
            "Steepest descent: the gradient is orthogonal to level sets, a small step against "
            "it lowers the loss, and the step-size bound from the Hessian."
        ),
        build_why_gradient_descent_works,
    ),
    "learning-rate-diagnostics": (
        (
            "Loss curves for too small, good, too large and divergent learning rates on a real "
            "least-squares problem, with thresholds from the Hessian's eigenvalues."
        ),
        build_learning_rate_diagnostics,
    ),
}
