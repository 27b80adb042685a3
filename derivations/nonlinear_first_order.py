"""f(x) = (cos x + tan x)^2 on (-1, 1): its derivative, its stationary point, and gradient descent."""

import numpy as np
import sympy as sp

from symlearn import Custom, Derivation, Figure, Numeric, Rounded, Step
from symlearn._course_sources import course_source
from symlearn.printing.latex import rounded_number
from symlearn.render.figures import plotted

NAME = "nonlinear-first-order"

x = sp.Symbol("x", real=True)
s = sp.Symbol("s", real=True)
F = sp.Symbol("f")
f = (sp.cos(x) + sp.tan(x)) ** 2
DOMAIN = {x: (-1, 1)}
# The stationary point in closed form (derived below): sin x* = (1 - sqrt 5) / 2.
X_STAR = sp.asin((1 - sp.sqrt(5)) / 2)
LEARNING_RATE = 0.1
START = 0.9


def gradient_descent(steps: int = 40, lr: float = LEARNING_RATE, start: float = START):
    """Iterates of x <- x - lr f'(x), with f' compiled from the derived expression."""
    fprime = sp.lambdify(x, sp.diff(f, x), "numpy")
    xs = [start]
    for _ in range(steps):
        xs.append(xs[-1] - lr * fprime(xs[-1]))
    return np.array(xs)


def _descent_converges(lhs, rhs, context) -> bool:
    xs = gradient_descent()
    return abs(xs[-1] - float(X_STAR)) < 1e-8


def _draw(path):
    grid = np.linspace(-0.999, 0.999, 400)
    fn = sp.lambdify(x, f, "numpy")
    dfn = sp.lambdify(x, sp.diff(f, x), "numpy")
    xs = gradient_descent(12)
    with plotted(path, 1, 2, figsize=(8, 3.2)) as (_, (a, b)):
        _draw_panels(a, b, grid, fn, dfn, xs)


def _draw_panels(a, b, grid, fn, dfn, xs):
    a.plot(grid, fn(grid), color="black", label="$f(x)$")
    a.plot(xs, fn(xs), "o-", ms=3, color="#d62728", lw=0.8, label=f"gradient descent, $\\alpha={LEARNING_RATE}$")
    a.axvline(float(X_STAR), color="gray", ls=":", lw=0.8)
    a.set_xlabel("x")
    a.legend(fontsize=8)
    b.plot(grid, dfn(grid), color="#1f77b4", label="$f'(x)$")
    b.axhline(0, color="gray", lw=0.6)
    b.axvline(float(X_STAR), color="gray", ls=":", lw=0.8, label="$x^* = \\arcsin((1-\\sqrt{5})/2)$")
    b.set_xlabel("x")
    b.legend(fontsize=8)


def build():
    doc = Derivation(
        name=NAME,
        title="A bit of nonlinearity: $f(x) = (\\cos x + \\tan x)^2$ on $(-1, 1)$",
        summary=(
            f"The motivation for gradient descent in {course_source('003')}: the "
            "first-order condition of a nonlinear "
            "loss is a nonlinear equation. Here it can still be solved by hand; we do so, and "
            "then let gradient descent find the same point."
        ),
        domain=DOMAIN,
        definitions={F: f},
    )
    doc = doc.section("The derivative")
    doc = doc.chain(
        sp.Derivative(F, x),
        (sp.Derivative(f, x), "definition of $f$"),
        (
            sp.Mul(2, sp.cos(x) + sp.tan(x), sp.Derivative(sp.cos(x) + sp.tan(x), x), evaluate=False),
            "chain rule, $(u^2)' = 2u\\,u'$",
        ),
        (
            sp.Mul(2, sp.cos(x) + sp.tan(x),
                   sp.Add(sp.Derivative(sp.cos(x), x), sp.Derivative(sp.tan(x), x),
                          evaluate=False), evaluate=False),
            "linearity: the derivative of a sum is the sum of the derivatives",
        ),
        (
            sp.Mul(2, sp.cos(x) + sp.tan(x), -sp.sin(x) + sp.sec(x) ** 2, evaluate=False),
            "$\\cos' = -\\sin$; $\\tan' = \\sec^2$ by the quotient rule (below)",
        ),
    )
    doc = doc.text(
        "Why $\\tan' = \\sec^2$: $\\tan x = \\sin x/\\cos x$, and the quotient rule "
        "$(u/v)' = (u'v - uv')/v^2$ gives $(\\cos x \\cos x + \\sin x \\sin x)/\\cos^2 x = "
        "1/\\cos^2 x = \\sec^2 x$, since $\\cos^2 + \\sin^2 = 1$ (the lecture slides state "
        "the result)."
    )
    doc = doc.steps(
        Step(sp.Derivative(sp.sin(x) / sp.cos(x), x),
             (sp.cos(x) * sp.cos(x) + sp.sin(x) * sp.sin(x)) / sp.cos(x) ** 2,
             "quotient rule, with $\\sin' = \\cos$, $\\cos' = -\\sin$"),
        Step((sp.cos(x) * sp.cos(x) + sp.sin(x) * sp.sin(x)) / sp.cos(x) ** 2, sp.sec(x) ** 2,
             "$\\cos^2 + \\sin^2 = 1$", continued=True),
    )
    doc = doc.section("Where it vanishes")
    doc = doc.text(
        "The second factor never vanishes on the domain: it is a sum of a square and a "
        "positive number, since $\\sin x < 1$ there."
    )
    doc = doc.steps(
        Step(-sp.sin(x) + sp.sec(x) ** 2, sp.tan(x) ** 2 + (1 - sp.sin(x)), "$\\sec^2 = 1 + \\tan^2$"),
        Step(sp.tan(x) ** 2 + (1 - sp.sin(x)), 0, "on $(-1, 1)$, where $\\sin x < \\sin 1 < 1$",
             relation=">", check=Numeric()),
    )
    doc = doc.text(
        "So $f'(x) = 0$ exactly when $\\cos x + \\tan x = 0$. Multiplying by $\\cos x > 0$ and "
        "writing $s = \\sin x$ turns it into a quadratic:"
    )
    doc = doc.steps(
        Step(sp.cos(x) + sp.tan(x), (sp.cos(x) ** 2 + sp.sin(x)) / sp.cos(x), "common denominator"),
        Step(sp.cos(x) ** 2 + sp.sin(x), 1 + sp.sin(x) - sp.sin(x) ** 2, "$\\cos^2 = 1 - \\sin^2$"),
        Step(sp.Eq(1 + s - s**2, 0, evaluate=False), sp.Eq(s, (1 - sp.sqrt(5)) / 2, evaluate=False),
             "the root in $[-1, 1]$; the other, $(1 + \\sqrt 5)/2 > 1$, is no sine",
             relation="implies",
             check=Custom(lambda a, b, c: sp.simplify((1 + s - s**2).subs(s, b.rhs)) == 0
                          and abs(float(b.rhs)) <= 1 and float((1 + sp.sqrt(5)) / 2) > 1,
                          "checked symbolically: $(1-\\sqrt5)/2$ is a root of $1 + s - s^2$ and "
                          "lies in $[-1, 1]$; the other root exceeds 1", method="symbolic")),
        Step(sp.Symbol("x^*"), X_STAR, "the stationary point", check=Custom(
            lambda a, b, c: sp.simplify(sp.diff(f, x).subs(x, b)) == 0 and -1 < float(b) < 1,
            "checked symbolically: $f'(x^*) = 0$ exactly, and $x^* \\in (-1, 1)$", method="symbolic")),
        Step(sp.Symbol("x^*"), sp.Float("-0.6662", 4), "", relation="approx", check=Rounded(4),
             claim=(X_STAR, sp.Float("-0.6662", 4))),
    )
    doc = doc.text(
        "At $x^*$ the loss is $0$, its smallest possible value, so $x^*$ is the global minimum. "
        "Solving by hand worked here only because a substitution turned the condition into a "
        "quadratic. That is luck, not the rule: add a term such as $x^2$ to $f$ and the condition "
        "$f'(x) = 0$ mixes $x$ with $\\sin x$ and $\\cos x$, a transcendental equation that no "
        "substitution reduces to a polynomial, so it is solved numerically. (The seed "
        "presents this example as one that cannot be solved directly; strictly, this one can.) "
        "What works in every case is to walk downhill."
    )
    doc = doc.section("Gradient descent finds the same point")
    xs = gradient_descent()
    doc = doc.text(
        f"Starting from $x_0 = {START}$ with learning rate $\\alpha = {LEARNING_RATE}$, the "
        "update $x_{t+1} = x_t - \\alpha f'(x_t)$ gives:"
    )
    rows = [(t, rounded_number(xs[t], 6)) for t in (0, 1, 2, 5, 10, 20, 40)]
    doc = doc.table(("step $t$", "$x_t$"), rows, caption="Rounded to 6 decimals.")
    doc = doc.steps(
        Step(sp.Symbol("x_{40}"), X_STAR, "to $10^{-8}$", relation="approx", check=Custom(
            _descent_converges, "checked numerically: after 40 steps $|x_{40} - x^*| < 10^{-8}$",
            method="numeric")),
    )
    doc = doc.figure(Figure(
        "nonlinear-first-order-descent",
        "Left: $f$ with the gradient-descent iterates. Right: $f'$ crosses zero once, at $x^*$.",
        _draw, requires="matplotlib"))
    return doc
