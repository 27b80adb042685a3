"""Activations: derivatives against sympy.diff of their exponential rewrites and finite differences."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from symlearn.compile import lambdify_stable
from symlearn.functions import ACTIVATIONS, log_sigmoid, relu, sigmoid, softplus
from symlearn.printing.latex import latex

x = sp.Symbol("x", real=True)

# The independent definitions, written out here from the textbook formulas.
ELEMENTARY = {
    sigmoid: 1 / (1 + sp.exp(-x)),
    softplus: sp.log(1 + sp.exp(x)),
    log_sigmoid: -sp.log(1 + sp.exp(-x)),
}
SMOOTH = list(ELEMENTARY)


@pytest.mark.parametrize("f", SMOOTH, ids=lambda f: f.__name__)
def test_derivative_equals_diff_of_elementary_form(f):
    ours = sp.diff(f(x), x)
    reference = sp.diff(ELEMENTARY[f], x)
    assert sp.simplify(ours.rewrite(sp.exp) - reference) == 0


@pytest.mark.parametrize("f", SMOOTH, ids=lambda f: f.__name__)
def test_rewrite_as_exp_is_the_elementary_form(f):
    assert sp.simplify(f(x).rewrite(sp.exp) - ELEMENTARY[f]) == 0


@pytest.mark.parametrize("f", SMOOTH, ids=lambda f: f.__name__)
@pytest.mark.parametrize("point", [-7.5, -1.0, 0.0, 0.3, 4.0])
def test_derivative_matches_central_finite_difference(f, point):
    h = mpmath.mpf("1e-20")
    with mpmath.workdps(50):
        g = sp.lambdify(x, ELEMENTARY[f], "mpmath")
        fd = (g(mpmath.mpf(point) + h) - g(mpmath.mpf(point) - h)) / (2 * h)
    ours = float(sp.diff(f(x), x).subs(x, point).evalf(30))
    assert ours == pytest.approx(float(fd), rel=1e-12, abs=1e-15)


def test_chain_rule_goes_through_sigmoid():
    w, b = sp.symbols("w b", real=True)
    got = sp.diff(sigmoid(w * x + b), w)
    assert got == x * sigmoid(w * x + b) * (1 - sigmoid(w * x + b))


def test_sigmoid_derivative_prints_as_textbook():
    z = sp.Symbol("z")
    assert latex(sp.diff(sigmoid(z), z)) == (
        r"\sigma\left(z\right) \left(1 - \sigma\left(z\right)\right)"
    )


def test_relu_derivative_is_step_with_zero_at_zero():
    d = sp.diff(relu(x), x)
    assert d.subs(x, 0) == 0
    assert d.subs(x, 2) == 1 and d.subs(x, -2) == 0
    # away from the kink it agrees with sympy.diff of Max(0, x)
    ref = sp.diff(sp.Max(0, x), x)
    for v in (-3, -0.5, 0.5, 3):
        assert float(d.subs(x, v)) == float(ref.subs(x, v))


@pytest.mark.parametrize(
    "expr, value",
    [
        (sigmoid(0), sp.Rational(1, 2)),
        (softplus(0), sp.log(2)),
        (log_sigmoid(0), -sp.log(2)),
        (relu(-3), 0),
        (relu(sp.Rational(5, 2)), sp.Rational(5, 2)),
    ],
)
def test_exact_values(expr, value):
    assert sp.simplify(expr - value) == 0


def test_high_precision_evaluation_does_not_overflow():
    # sigma(-1000) = 1 / (1 + e^1000), about 5.076e-435: mpmath has no overflow.
    with mpmath.workdps(40):
        expected = sp.Float(mpmath.nstr(mpmath.mpf(1) / (1 + mpmath.exp(1000)), 35), 35)
    got = sigmoid(-1000).evalf(35)
    assert abs((got - expected) / expected) < 1e-25
    assert softplus(sp.Float(1000)).evalf() == pytest.approx(1000.0)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_stable_numpy_matches_mpmath_at_large_arguments(name):
    f = ACTIVATIONS[name]
    compiled = lambdify_stable([x], f(x))
    points = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = compiled(points)
    for p, g in zip(points, np.broadcast_to(got, points.shape)):
        exact = float(f(sp.Float(p, 40)).evalf(40)) if name != "relu" else max(p, 0.0)
        assert math.isfinite(g)
        assert g == pytest.approx(exact, rel=1e-14, abs=1e-300)
