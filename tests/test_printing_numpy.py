"""StableNumPyPrinter: each stable form against an independent reference (mpmath at 50 digits,
or numpy's own special functions), at ordinary arguments and at magnitude 1000."""

from __future__ import annotations

import inspect

import mpmath
import numpy as np
import pytest
import sympy as sp

from symlearn.codegen.printer import StableNumPyPrinter
from symlearn.compile import lambdify_stable
from symlearn.functions import log_sigmoid, relu, sigmoid, softplus
from symlearn.losses._functions import logsumexp, xlogy

a, b, c = sp.symbols("a b c", real=True)
POINTS = np.array([-1000.0, -30.0, -1.5, -1e-12, 0.0, 1e-12, 2.0, 30.0, 1000.0])


def exact(function, *values):
    mpmath.mp.dps = 50
    return float(function(*[mpmath.mpf(float(v)) for v in values]))


CASES = [
    ("softplus", softplus(a), lambda u: mpmath.log1p(mpmath.exp(u))),
    ("sigmoid", sigmoid(a), lambda u: 1 / (1 + mpmath.exp(-u))),
    ("log_sigmoid", log_sigmoid(a), lambda u: -mpmath.log1p(mpmath.exp(-u))),
    ("log(sigmoid)", sp.log(sigmoid(a)), lambda u: -mpmath.log1p(mpmath.exp(-u))),
    ("log(1 + exp)", sp.log(1 + sp.exp(a)), lambda u: mpmath.log1p(mpmath.exp(u))),
    ("expm1", sp.exp(a) - 1, lambda u: mpmath.expm1(u) if u < 700 else mpmath.inf),
    ("log1p", sp.log(1 + a), lambda u: mpmath.log1p(u) if u > -1 else mpmath.nan),
    # 1 - sigmoid(u) cancels to 0.0 in floats from u ~ 37 on; sigmoid(-u) does not.
    ("1 - sigmoid", 1 - sigmoid(a), lambda u: 1 / (1 + mpmath.exp(u))),
    ("log(1 - sigmoid)", sp.log(1 - sigmoid(a)), lambda u: -mpmath.log1p(mpmath.exp(u))),
]


@pytest.mark.parametrize("name, expr, reference", CASES, ids=[c[0] for c in CASES])
def test_stable_form_matches_high_precision_reference(name, expr, reference):
    f = lambdify_stable([a], expr)
    with np.errstate(all="ignore"):
        got = np.asarray(f(POINTS), dtype=float)
    expected = np.array([exact(reference, p) for p in POINTS])
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))


def test_binary_cross_entropy_on_a_sigmoid_is_finite_at_large_logits():
    """The course's -y log sigma(z) - (1-y) log(1 - sigma(z)), compiled as written, against
    y log(1 + e^-z) + (1-y) log(1 + e^z) in 50-digit arithmetic."""
    z, y = a, b
    f = lambdify_stable([z, y], -y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z)))
    logits = np.array([-1000.0, -40.0, 0.3, 40.0, 1000.0])
    targets = np.array([1.0, 0.0, 0.7, 1.0, 0.0])
    expected = [
        exact(lambda u, t: t * mpmath.log1p(mpmath.exp(-u)) + (1 - t) * mpmath.log1p(mpmath.exp(u)),
              u, t)
        for u, t in zip(logits, targets)
    ]
    np.testing.assert_allclose(f(logits, targets), expected, rtol=1e-13)


@pytest.mark.parametrize("compile_", ["compile_function", "lambdify_inplace"])
def test_stable_forms_survive_common_subexpression_elimination(compile_):
    """With sigmoid(z) in two places, CSE names it (x0 = sigmoid(z)); log(x0) and log(1 - x0)
    would then be -inf at |z| = 1000. stable_forms makes log_sigmoid nodes before CSE."""
    from symlearn.codegen.rewrite import stable_forms
    from symlearn.compile import compile_function, lambdify_inplace

    z, y = a, b
    bce = -y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z))
    assert not stable_forms(bce).has(sp.log) and stable_forms(bce).has(log_sigmoid)
    exprs = [bce, sp.log(1 + sp.exp(z)) * sp.exp(z), 1 - sigmoid(z)]
    if compile_ == "compile_function":
        f = compile_function([z, y], exprs)
    else:
        f = lambdify_inplace([z, y], exprs, arrays={z, y}, cse=True)
    logits = np.array([-1000.0, -40.0, 0.3, 40.0, 700.0])
    targets = np.array([1.0, 0.0, 0.7, 1.0, 0.0])
    with np.errstate(over="ignore", under="ignore"):
        values = f(logits, targets)
    references = [
        lambda u, t: t * mpmath.log1p(mpmath.exp(-u)) + (1 - t) * mpmath.log1p(mpmath.exp(u)),
        lambda u, t: mpmath.log1p(mpmath.exp(u)) * mpmath.exp(u),
        lambda u, t: 1 / (1 + mpmath.exp(u)),
    ]
    for got, reference in zip(values, references):
        expected = [exact(reference, u, t) for u, t in zip(logits, targets)]
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)


def test_log_of_sum_of_exponentials_is_logsumexp():
    expressions = [sp.log(sp.exp(a) + sp.exp(b)), logsumexp(a, b, c)]
    values = (np.array([1000.0, -1000.0, 0.0]), np.array([999.0, -1001.0, 1.0]), 2.0)
    for expr in expressions:
        f = lambdify_stable([a, b, c], expr)
        got = f(*values)
        args = expr.args if isinstance(expr, logsumexp) else (a, b)
        n = len(args)
        expected = [
            exact(lambda *u: mpmath.log(sum(mpmath.exp(v) for v in u)), *[values[k][i] if k < 2 else values[k] for k in range(n)])
            for i in range(3)
        ]
        np.testing.assert_allclose(got, expected, rtol=1e-14)
    # A naive lambdify of the same expression overflows.
    with np.errstate(all="ignore"):
        naive = sp.lambdify([a, b], sp.log(sp.exp(a) + sp.exp(b)), "numpy")(1000.0, 999.0)
    assert not np.isfinite(naive)


def test_logsumexp_derivative_is_softmax():
    derivative = sp.diff(logsumexp(a, b, c), a)
    expected = sp.exp(a) / (sp.exp(a) + sp.exp(b) + sp.exp(c))
    assert sp.simplify(derivative.rewrite(sp.exp) - expected) == 0


def test_xlogy_is_zero_at_zero_and_matches_x_log_y():
    f = lambdify_stable([a, b], xlogy(a, b))
    with np.errstate(all="raise"):  # no log(0) is ever evaluated
        got = f(np.array([0.0, 0.5, 2.0]), np.array([0.0, 0.25, 3.0]))
    np.testing.assert_allclose(got, [0.0, 0.5 * np.log(0.25), 2.0 * np.log(3.0)], rtol=1e-15)
    assert sp.diff(xlogy(a, b), b) == a / b


def test_heaviside_max_min_relu_print_as_numpy_ufuncs():
    printer = StableNumPyPrinter()
    assert printer.doprint(sp.Heaviside(a, 1)) == "numpy.heaviside(a, 1.0)"
    assert printer.doprint(sp.Max(0, a)) == "numpy.maximum(0, a)"
    assert printer.doprint(sp.Min(a, b)) == "numpy.minimum(a, b)"
    f = lambdify_stable([a], [sp.Heaviside(a, 1), sp.Heaviside(a, 0), relu(a)])
    np.testing.assert_array_equal(f(np.array([-1.0, 0.0, 2.0])), [[0, 1, 1], [0, 0, 1], [0, 0, 2]])


def test_max_min_of_more_than_two_arguments():
    """Nested ufuncs (SymPy's own print, functools.reduce, is not in lambdify's numpy names)."""
    c = sp.Symbol("c", real=True)
    f = lambdify_stable([a, b, c], [sp.Max(a, b, c), sp.Min(a, b, c, 0)])
    x, y, z = np.array([1.0, 5.0, -2.0]), np.array([2.0, 0.0, -3.0]), np.array([3.0, -1.0, -4.0])
    top, bottom = f(x, y, z)
    np.testing.assert_array_equal(top, np.max([x, y, z], axis=0))
    np.testing.assert_array_equal(bottom, np.min([x, y, z, np.zeros(3)], axis=0))


def test_forms_are_printed_not_string_edited():
    """Every stable form is a _print_<Class> method of the printer (SymPy's dispatch)."""
    methods = {name for name, _ in inspect.getmembers(StableNumPyPrinter, inspect.isfunction)}
    for cls in ("sigmoid", "softplus", "log_sigmoid", "relu", "log", "Add", "logsumexp",
                "logaddexp", "xlogy", "Heaviside", "Max", "Min"):
        assert f"_print_{cls}" in methods
    source = inspect.getsource(StableNumPyPrinter)
    assert ".replace(" not in source and "re.sub" not in source


def test_expm1_keeps_other_terms():
    f = lambdify_stable([a, b], sp.exp(a) - 1 + b)
    np.testing.assert_allclose(f(1e-20, 2.0), 2.0 + 1e-20, rtol=1e-16)
    assert "expm1" in StableNumPyPrinter().doprint(sp.exp(a) - 1 + b)


def test_elementsum_and_inner_are_reductions_over_every_element():
    """Sums of a compiled loss: elementsum as a sum, inner as one dot product, over n-d arrays."""
    from symlearn.losses._functions import elementsum, inner

    u, v = sp.symbols("u v", real=True)
    f = lambdify_stable([u, v], [elementsum(u - v), 3 * inner(u, v), inner(u - v, u - v)])
    source = inspect.getsource(f)
    assert "vdot(" in source and ".sum()" in source
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    total, dot, square = f(x, y)
    assert total == pytest.approx(float(np.sum(x) - np.sum(y)), rel=1e-12)
    assert dot == pytest.approx(3 * float(np.sum(x * y)), rel=1e-12)
    assert square == pytest.approx(float(np.sum((x - y) ** 2)), rel=1e-12)


# -- the rewrite table (symlearn/codegen/rewrite.py), through every backend -----------------------

#: One example per entry of STABLE_REWRITES, with its value in 50-digit arithmetic.
REWRITE_EXAMPLES = {
    "sigmoid_complement": (1 - sigmoid(a), lambda u: 1 / (1 + mpmath.exp(u))),
    "expm1": (sp.exp(a) - 1, lambda u: mpmath.expm1(u) if u < 700 else mpmath.inf),
    "log_sigmoid": (sp.log(1 - sigmoid(a)), lambda u: -mpmath.log1p(mpmath.exp(u))),
    "logaddexp": (sp.log(sp.exp(a) + sp.exp(-a) + sp.exp(2 * a)),
                  lambda u: mpmath.log(mpmath.exp(u) + mpmath.exp(-u) + mpmath.exp(2 * u))),
    "softplus": (sp.log(1 + sp.exp(a)), lambda u: mpmath.log1p(mpmath.exp(u))),
    "log1p": (sp.log(1 + a), lambda u: mpmath.log1p(u) if u > -1 else mpmath.nan),
}


def test_every_rewrite_of_the_table_has_an_example():
    from symlearn.codegen.rewrite import STABLE_REWRITES

    assert [r.name for r in STABLE_REWRITES] == list(REWRITE_EXAMPLES)


def _through(backend: str, expr):
    """``expr`` compiled by one backend, as a function of one float64 array."""
    from symlearn.codegen import backend as get_backend
    from symlearn.codegen import compile_source, function_source

    if backend == "export":  # the text symlearn.export writes into a module
        return compile_source([function_source("f", [a], [expr])])["f"]
    if backend == "inplace":
        return get_backend("inplace").compile([a], expr, arrays={a}, cse=True)
    return get_backend("allocating").compile([a], expr, cse=True)


@pytest.mark.parametrize("backend", ["allocating", "inplace", "export"])
@pytest.mark.parametrize("name", list(REWRITE_EXAMPLES))
def test_each_rewrite_is_stable_in_every_backend(name, backend):
    from symlearn.codegen.rewrite import stable_forms

    expr, reference = REWRITE_EXAMPLES[name]
    rewritten = stable_forms(expr)
    assert rewritten != expr  # the table rewrote it
    f = _through(backend, expr)
    with np.errstate(all="ignore"):
        got = np.asarray(f(POINTS.copy()), dtype=float)
    expected = np.array([exact(reference, p) for p in POINTS])
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
