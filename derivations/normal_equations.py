"""Least squares: from L(theta) = ||y - X theta||^2 to the normal equations X^T X theta = X^T y."""

import numpy as np
import sympy as sp

from symlearn import Custom, Derivation, Figure, Step
from symlearn._course_sources import course_source
from symlearn.render.figures import plotted

NAME = "normal-equations"

n, d = sp.symbols("n d", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
L = sp.Symbol(r"\mathcal{L}")
SIZES = {n: 4, d: 3}  # the instance on which matrix identities are checked entry by entry

RESIDUAL = sp.MatAdd(y, -X * theta, evaluate=False)
LOSS = sp.MatMul(sp.Transpose(RESIDUAL), RESIDUAL, evaluate=False)
GRADIENT = 2 * X.T * X * theta - 2 * X.T * y
SOLUTION = sp.Inverse(X.T * X) * X.T * y


def scalar_instance(rows: int = 4, cols: int = 3):
    """The loss and the matrix gradient written out in scalar symbols x_ij, y_i, theta_j."""
    Xs = sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"x_{i + 1}{j + 1}"))
    ys = sp.Matrix(rows, 1, lambda i, _: sp.Symbol(f"y_{i + 1}"))
    ts = sp.Matrix(cols, 1, lambda j, _: sp.Symbol(f"theta_{j + 1}"))
    loss = sum((ys[i] - sum(Xs[i, j] * ts[j] for j in range(cols))) ** 2 for i in range(rows))
    gradient = 2 * Xs.T * Xs * ts - 2 * Xs.T * ys
    return loss, gradient, list(ts)


def _scalar_diff_agrees(lhs, rhs, context) -> bool:
    loss, gradient, thetas = scalar_instance()
    return all(sp.expand(sp.diff(loss, t) - gradient[j]) == 0 for j, t in enumerate(thetas))


def _same_equation(lhs, rhs, context) -> bool:
    """``lhs: G = 0`` and ``rhs: A = B`` have the same solutions because G = 2 (A - B)."""
    g = (lhs.lhs - lhs.rhs).xreplace(SIZES).as_explicit()
    a_minus_b = (rhs.lhs - rhs.rhs).xreplace(SIZES).as_explicit()
    return sp.simplify(g - 2 * a_minus_b) == sp.zeros(*g.shape)


def _solution_solves(lhs, rhs, context) -> bool:
    """theta = (X^T X)^{-1} X^T y satisfies X^T X theta = X^T y for 50 random full-rank X."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        Xn, yn = rng.standard_normal((4, 3)), rng.standard_normal((4, 1))
        t = np.linalg.inv(Xn.T @ Xn) @ Xn.T @ yn
        if not np.allclose(Xn.T @ Xn @ t, Xn.T @ yn, rtol=1e-9, atol=1e-9):
            return False
    return True


DATA_SEED = 2024


def random_problem(rows: int = 50, cols: int = 3, seed: int = DATA_SEED):
    """A random least-squares problem with an intercept column, for the lstsq comparison."""
    rng = np.random.default_rng(seed)
    Xn = np.column_stack([np.ones(rows), rng.uniform(-2, 2, size=(rows, cols - 1))])
    true = np.array([1.5, -0.7, 2.0][:cols])
    yn = Xn @ true + 0.3 * rng.standard_normal(rows)
    return Xn, yn


def normal_equation_solution(Xn, yn):
    """theta = (X^T X)^{-1} X^T y, compiled from the derived expression."""
    f = sp.lambdify([X, y], SOLUTION, "numpy")
    return np.asarray(f(Xn, yn.reshape(-1, 1))).ravel()


def _agrees_with_lstsq(lhs, rhs, context) -> bool:
    Xn, yn = random_problem()
    ours = normal_equation_solution(Xn, yn)
    reference = np.linalg.lstsq(Xn, yn, rcond=None)[0]
    return bool(np.allclose(ours, reference, rtol=1e-10, atol=1e-12))


def _draw_fit(path):
    rng = np.random.default_rng(7)
    xs = np.sort(rng.uniform(-2, 2, 25))
    ys = 0.8 * xs + 0.5 + 0.4 * rng.standard_normal(25)
    Xn = np.column_stack([np.ones_like(xs), xs])
    t = normal_equation_solution(Xn, ys)
    with plotted(path) as (_, ax):
        _draw_fit_axes(ax, xs, ys, Xn, t)


def _draw_fit_axes(ax, xs, ys, Xn, t):
    fitted = Xn @ t
    ax.vlines(xs, np.minimum(ys, fitted), np.maximum(ys, fitted), color="#d62728", lw=0.8,
              label="residuals $y - X\\theta$")
    ax.scatter(xs, ys, s=14, color="#1f77b4", zorder=3, label="data")
    grid = np.linspace(-2.2, 2.2, 2)
    ax.plot(grid, t[0] + t[1] * grid, color="black",
            label=f"$\\theta = (X^TX)^{{-1}}X^Ty$: {t[0]:.2f} + {t[1]:.2f} x")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize=8, loc="upper left")


def build():
    doc = Derivation(
        name=NAME,
        title="Least squares and the normal equations",
        summary=(
            f"The linear model of {course_source('003')}, "
            "$f(\\mathbf{x}|\\boldsymbol{\\theta}) = "
            "\\mathbf{x}^T\\boldsymbol{\\theta}$: expand the loss, differentiate it, set the "
            "gradient to zero, and solve. Matrix identities are checked entry by entry on a "
            "$4 \\times 3$ instance."
        ),
        sizes=SIZES,
        definitions={L: LOSS},
    )
    doc = doc.section("The loss")
    doc = doc.text(
        "Stack the inputs as the rows of $\\mathbf{X} \\in \\mathbb{R}^{n \\times d}$ and the "
        "targets in $\\mathbf{y} \\in \\mathbb{R}^{n}$. The loss is the squared norm of the "
        "residual, and it expands like a square:"
    )
    doc = doc.chain(
        L,
        (LOSS, "$\\|\\mathbf{v}\\|^2 = \\mathbf{v}^T\\mathbf{v}$"),
        (
            sp.MatMul(sp.MatAdd(y.T, -theta.T * X.T, evaluate=False), RESIDUAL, evaluate=False),
            "$(\\mathbf{A}\\mathbf{B})^T = \\mathbf{B}^T\\mathbf{A}^T$",
        ),
        (
            sp.MatAdd(y.T * y, -theta.T * X.T * y, -y.T * X * theta, theta.T * X.T * X * theta,
                      evaluate=False),
            "distribute",
        ),
        (
            sp.MatAdd(y.T * y, -2 * y.T * X * theta, theta.T * X.T * X * theta, evaluate=False),
            "$\\boldsymbol{\\theta}^T\\mathbf{X}^T\\mathbf{y}$ is $1\\times 1$, so it equals its "
            "transpose",
        ),
    )
    doc = doc.section("The gradient")
    doc = doc.text(
        "With $\\partial(\\mathbf{a}^T\\boldsymbol{\\theta})/\\partial\\boldsymbol{\\theta} = "
        "\\mathbf{a}$ and $\\partial(\\boldsymbol{\\theta}^T\\mathbf{A}\\boldsymbol{\\theta})/"
        "\\partial\\boldsymbol{\\theta} = 2\\mathbf{A}\\boldsymbol{\\theta}$ for symmetric "
        "$\\mathbf{A} = \\mathbf{X}^T\\mathbf{X}$ (the seed writes the same gradient as a row, "
        "$-2\\mathbf{y}^T\\mathbf{X} + 2\\boldsymbol{\\theta}^T\\mathbf{X}^T\\mathbf{X}$):"
    )
    doc = doc.steps(
        Step(sp.Derivative(L, theta), GRADIENT, "SymPy's matrix derivative, entry by entry"),
        Step(
            sp.Derivative(L, theta), GRADIENT,
            "the same from sympy.diff of the loss written in scalars",
            check=Custom(
                _scalar_diff_agrees,
                "checked symbolically on a $4\\times 3$ instance: sympy.diff of the scalar loss "
                "$\\sum_i (y_i - \\sum_j x_{ij}\\theta_j)^2$ by each $\\theta_j$ equals entry $j$ "
                "of $2\\mathbf{X}^T\\mathbf{X}\\boldsymbol{\\theta} - 2\\mathbf{X}^T\\mathbf{y}$",
                method="symbolic",
            ),
        ),
    )
    doc = doc.section("The first-order condition")
    zero = sp.ZeroMatrix(d, 1)
    first_order = sp.Eq(GRADIENT, zero, evaluate=False)
    normal = sp.Eq(X.T * X * theta, X.T * y, evaluate=False)
    doc = doc.steps(
        Step(
            first_order, normal, "divide by 2 and move $\\mathbf{X}^T\\mathbf{y}$ across",
            relation="iff",
            check=Custom(
                _same_equation,
                "checked symbolically on a $4\\times 3$ instance: the gradient is exactly twice "
                "$\\mathbf{X}^T\\mathbf{X}\\boldsymbol{\\theta} - \\mathbf{X}^T\\mathbf{y}$",
                method="symbolic",
            ),
        ),
        Step(
            normal, sp.Eq(theta, SOLUTION, evaluate=False),
            "when $\\mathbf{X}^T\\mathbf{X}$ is invertible ($\\mathbf{X}$ of full column rank)",
            relation="iff",
            check=Custom(
                _solution_solves,
                "checked numerically: the solution satisfies the normal equations for 50 random "
                "full-rank $4\\times 3$ matrices $\\mathbf{X}$",
                method="numeric",
            ),
        ),
    )
    doc = doc.text(
        "The loss is convex ($\\mathbf{X}^T\\mathbf{X}$ is positive semi-definite), so this "
        "stationary point is the global minimum. In practice one solves the linear system "
        "rather than forming the inverse (cheaper and more accurate), and for ill-conditioned "
        "data one avoids forming $\\mathbf{X}^T\\mathbf{X}$ at all: in the 2-norm its condition "
        "number is the square of $\\mathbf{X}$'s, which a QR or SVD based solver working on "
        "$\\mathbf{X}$ itself (such as `numpy.linalg.lstsq`) does not incur."
    )
    doc = doc.section("Against numpy.linalg.lstsq")
    Xn, yn = random_problem()
    ours = normal_equation_solution(Xn, yn)
    reference = np.linalg.lstsq(Xn, yn, rcond=None)[0]
    doc = doc.text(
        f"On a random problem with $n = {Xn.shape[0]}$ rows (an intercept column and two "
        f"features, seed {DATA_SEED}), the compiled formula and `numpy.linalg.lstsq` give:"
    )
    doc = doc.table(
        ("", "$\\theta_1$", "$\\theta_2$", "$\\theta_3$"),
        [
            ("normal equations", *(sp.Float(f"{v:.6f}", 7) for v in ours)),
            ("`lstsq`", *(sp.Float(f"{v:.6f}", 7) for v in reference)),
        ],
    )
    doc = doc.steps(
        Step(
            sp.Symbol(r"\boldsymbol{\theta}_{\text{normal}}"),
            sp.Symbol(r"\boldsymbol{\theta}_{\text{lstsq}}"),
            "to $10^{-10}$ relative",
            check=Custom(
                _agrees_with_lstsq,
                "checked numerically: the two solutions agree to a relative tolerance of "
                "$10^{-10}$",
                method="numeric",
            ),
        )
    )
    doc = doc.figure(
        Figure(
            "normal-equations-fit",
            "A straight-line fit $y = \\theta_1 + \\theta_2 x$ by the normal equations; the red "
            "segments are the residuals whose squares the solution minimizes.",
            _draw_fit,
            requires="matplotlib",
        )
    )
    return doc
