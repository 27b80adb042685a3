"""lambdify_inplace: the same values as lambdify_stable, arguments never written, outputs that alias
nothing, and fewer arrays allocated."""

from __future__ import annotations

import inspect
import tracemalloc

import numpy as np
import pytest
import sympy as sp

from symlearn import losses, optim
from symlearn.compile import lambdify_inplace, lambdify_stable
from symlearn.functions import log_sigmoid, relu, sigmoid, softplus
from symlearn.losses._functions import elementsum, inner, logsumexp, xlogy
from symlearn.losses._spec import _cse_sharing_functions, _share_softplus, summed_value

a, b, c = sp.symbols("a b c", real=True)
s, k = sp.symbols("s k", positive=True)
theta = sp.Symbol(r"\theta_{t}", real=True)  # not an identifier: renamed in the code
ARGS = [a, b, c, s, k]
ARRAYS = {a, b, c}

EXPRESSIONS = {
    "sum and difference": [a - b, -a - b + 1, 1 - a, -a],
    "products and scalars": [2 * s * a * b * c, -k * a / b, 2 / (a * b), s / (k + a**2)],
    "powers": [a**2, a**3, (1 + a**2) ** sp.Rational(-1, 2), sp.sqrt(1 + b**2), s**a, a**b],
    "ufuncs": [sp.exp(a) * b, sp.log(1 + a**2) - sp.Abs(b), sp.tanh(a - b), sp.sign(a)],
    "stable forms": [
        sp.exp(a - b) - 1 + c, sp.log(1 + sp.exp(a * b)), sp.log(sigmoid(a + b)),
        sp.log(sp.exp(a) + sp.exp(b)), softplus(a) * b, sigmoid(a) - b, log_sigmoid(-a),
        logsumexp(a, b, c), xlogy(a**2, b**2), relu(a - b) + sp.Max(a, b) - sp.Min(a, c),
        sp.Heaviside(a - b),
    ],
    "piecewise": [sp.Piecewise((a * b, a > b), (b - 1, True)) + c],
    "reductions": [s * inner(a - b, a - b), elementsum(a * b + 1) / k, 2 * (a - b) * s],
    "shared subexpressions": [
        k * (a - b) / (s + sp.sqrt(c + (a - b) ** 2)), a - b, c + (a - b) ** 2,
        sp.exp(a - b) * (a - b),
    ],
    "outputs that are arguments or repeated": [a, a * b, a * b, s, sp.Integer(0)],
    "symbol not an identifier": [theta * a + theta**2],
}


def _inputs(rng, shape):
    arrays = {sym: rng.uniform(0.1, 0.9, shape) for sym in (a, b, c)}
    return [arrays[a], arrays[b], arrays[c], 0.7, 1.3]


def _assert_same(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-13, atol=1e-300)
        assert np.shape(g) == np.shape(e)


def _compiled(exprs, cse=True):
    args = ARGS + [theta] if any(theta in e.free_symbols for e in exprs) else ARGS
    arrays = ARRAYS | ({theta} if theta in args else set())
    return args, lambdify_inplace(args, exprs, arrays=arrays, cse=cse), lambdify_stable(
        args, exprs, cse=cse
    )


@pytest.mark.parametrize("name", list(EXPRESSIONS))
@pytest.mark.parametrize("shape", [(7,), (1,), (3, 4), ()])
def test_inplace_equals_lambdify_stable(name, shape):
    exprs = [sp.sympify(e) for e in EXPRESSIONS[name]]
    args, inplace, stable = _compiled(exprs)
    rng = np.random.default_rng(0)
    values = _inputs(rng, shape)
    if len(args) > len(ARGS):
        values.append(rng.uniform(0.1, 0.9, shape))
    copies = [np.copy(v) for v in values]
    with np.errstate(all="ignore"):
        got = inplace(*values)
        expected = stable(*values)
    _assert_same(got, expected)
    for value, copy in zip(values, copies):  # no argument written
        np.testing.assert_array_equal(value, copy)
    if not shape:  # 0-d arrays take lambdify_stable's function, which may return an argument
        return
    arrays = [v for v in values if isinstance(v, np.ndarray)]
    outputs = [g for g in got if isinstance(g, np.ndarray)]
    for i, out in enumerate(outputs):
        assert not any(np.shares_memory(out, v) for v in arrays)
        assert not any(np.shares_memory(out, other) for other in outputs[i + 1 :])


def test_arrays_that_do_not_qualify_take_the_allocating_function():
    f = lambdify_inplace([a, b, s], [2 * s * (a - b)], arrays={a, b})
    x, y = np.arange(6.0), np.arange(6.0)[::-1].copy()
    cases = [
        (x.astype(np.float32), y.astype(np.float32)),  # float32: no in-place casting
        (np.arange(6), np.arange(6)[::-1].copy()),  # integers
        (x, 2.0),  # a number where an array is declared
        (x.reshape(2, 3), y[:3]),  # shapes that broadcast
        (np.array(1.5), np.array(0.5)),  # 0-d: ufuncs return numpy scalars
    ]
    for first, second in cases:
        got = f(first, second, 0.5)[0]
        expected = f.fallback(first, second, 0.5)[0]
        np.testing.assert_array_equal(got, expected)
        assert np.asarray(got).dtype == np.asarray(expected).dtype


def test_repeated_argument_is_read_only():
    f = lambdify_inplace([a, b], [a * b + a, (a - b) ** 2], arrays={a, b})
    x = np.linspace(-1, 1, 5)
    copy = x.copy()
    got = f(x, x)
    _assert_same(got, [x * x + x, np.zeros(5)])
    np.testing.assert_array_equal(x, copy)


def test_fixed_constants_are_bound_and_passed_to_the_fallback_as_numbers():
    f = lambdify_inplace([a, s, k], [k * a + s], arrays={a}, constants={k: 0.25})
    assert list(inspect.signature(f).parameters) == ["a", "s"]
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(f(x, 2.0)[0], 0.25 * x + 2.0, rtol=1e-15)
    got = f(x.astype(np.float32), 2.0)[0]  # the fallback: a number keeps float32
    assert got.dtype == np.float32


def _catalog_kernels():
    """Every elementwise loss's compiled value and gradient (and its summed value for the plain
    ones), with its optional arrays absent."""
    weight, scale = sp.Symbol("weight_"), sp.Symbol("scale_")
    for name, loss in losses.catalog.items():
        spec = loss.spec
        if spec.structured is not None:
            continue
        value = sp.sympify(spec.compiled_expr if spec.compiled_expr is not None else spec.expr)
        absent = {sym: spec.defaults_for_absent[n] for n, sym in spec.optional_arrays.items()}
        value, grad = value.subs(absent), sp.sympify(spec.derivative).subs(absent)
        for form in spec.absent_forms.values():
            value, grad = (sp.sympify(e) for e in form)
        args = [*spec.symbols, *spec.options.values(), weight, scale]
        total = summed_value(value, spec.symbols)
        exprs = _share_softplus([value, scale * grad])
        if total is not None:
            exprs += _share_softplus([scale * total, scale * grad])
        yield name, spec, args, exprs


@pytest.mark.parametrize("name, spec, args, exprs", list(_catalog_kernels()),
                         ids=[k[0] for k in _catalog_kernels()])
def test_catalog_loss_kernels(name, spec, args, exprs):
    inplace = lambdify_inplace(args, exprs, arrays=set(spec.symbols), cse=_cse_sharing_functions)
    stable = lambdify_stable(args, exprs, cse=_cse_sharing_functions)
    rng = np.random.default_rng(1)
    arrays = [rng.uniform(0.05, 0.95, 11) * rng.choice([-1.0, 1.0], 11) for _ in spec.symbols]
    low_high = spec.numeric_domain
    for i, sym in enumerate(spec.symbols):
        if sym in low_high:
            low, high = low_high[sym]
            arrays[i] = rng.uniform(max(low, 0.05), min(high, 0.95), 11)
    values = [*arrays, *(0.7 for _ in spec.options), 1.0, 0.1]
    copies = [np.copy(v) for v in arrays]
    with np.errstate(all="ignore"):
        _assert_same(inplace(*values), stable(*values))
    for value, copy in zip(arrays, copies):
        np.testing.assert_array_equal(value, copy)


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam"])
def test_optimizer_steps(name):
    """The compiled step's arrays against its allocating twin, and the state never written."""
    optimizer = getattr(optim, name)()
    compiled = optimizer.compiled
    rng = np.random.default_rng(2)
    params, grads = rng.standard_normal(9), rng.standard_normal(9)
    state = optimizer.init(params)
    for _ in range(3):  # states away from their initial values
        _, state = optimizer.update(grads, state, params)
    states = [np.copy(x) for x in compiled.read_array_states(state)]
    constants, _ = optimizer._constants(compiled, state)
    call = (params, grads, *compiled.read_array_states(state), *constants)
    before = [np.copy(x) for x in call[:2]]
    _assert_same(compiled.arrays(*call), compiled.arrays.fallback(*call))
    for value, copy in zip([*call[:2], *compiled.read_array_states(state)], [*before, *states]):
        np.testing.assert_array_equal(value, copy)


def _peak_bytes(function, *args) -> int:
    function(*args)  # warm up
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = function(*args)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del result
    return peak


def test_adam_step_allocates_its_outputs_only():
    """One array per output at most live at once (the update, m and v), where the allocating
    code holds more; measured with tracemalloc, which sees numpy's data buffers."""
    optimizer = optim.adam()
    compiled = optimizer.compiled
    n = 200_000
    rng = np.random.default_rng(3)
    params, grads = rng.standard_normal(n), rng.standard_normal(n)
    state = optimizer.init(params)
    constants, _ = optimizer._constants(compiled, state)
    call = (params, grads, *compiled.read_array_states(state), *constants)
    inplace = _peak_bytes(compiled.arrays, *call)
    allocating = _peak_bytes(compiled.arrays.fallback, *call)
    assert inplace <= 3.5 * params.nbytes < allocating


# -- random expressions: a differential test of the generator against lambdify_stable ---------------
def _random_expression(rng, depth):
    if depth == 0 or rng.random() < 0.25:
        r = rng.random()
        if r < 0.55:
            return rng.choice([a, b, c])
        if r < 0.8:
            return rng.choice([s, k])
        return sp.Rational(rng.randint(-5, 5), rng.randint(1, 4)) or sp.Integer(2)
    x = _random_expression(rng, depth - 1)
    y = _random_expression(rng, depth - 1)
    return rng.choice([
        lambda: x + y, lambda: x - y, lambda: x * y, lambda: x / (1 + y**2), lambda: x**2,
        lambda: sp.sqrt(1 + x**2), lambda: sp.exp(-(x**2)), lambda: sp.log(1 + x**2),
        lambda: sp.tanh(x), lambda: sigmoid(x), lambda: softplus(x), lambda: log_sigmoid(x),
        lambda: sp.Max(x, y, 0), lambda: -x + 3 * x * y,
    ])()


@pytest.mark.parametrize("seed", range(40))
def test_random_expressions_equal_lambdify_stable(seed):
    """Random trees sharing a subexpression (so CSE names it), with outputs that are that
    subexpression, an argument, or repeated: same values, arguments unchanged, no aliasing."""
    import random

    rng, values = random.Random(seed), np.random.default_rng(seed)
    shared = _random_expression(rng, 3)
    exprs = [_random_expression(rng, 3) + shared * _random_expression(rng, 2)
             for _ in range(rng.randint(1, 3))]
    exprs += [shared, a, exprs[0]][: rng.randint(0, 3)]
    f = lambdify_inplace(ARGS, exprs, arrays=ARRAYS, cse=True)
    g = lambdify_stable(ARGS, exprs, cse=True)
    for shape in [(7,), (3, 4), (1,)]:
        arrays = [values.normal(size=shape) for _ in range(3)]
        scalars = [float(values.uniform(0.1, 2.0)) for _ in range(2)]
        copies = [x.copy() for x in arrays]
        with np.errstate(all="ignore"):
            want = g(*copies, *scalars)
            got = f(*arrays, *scalars)
        for x, x0 in zip(arrays, copies):
            np.testing.assert_array_equal(x, x0)
        for w, o in zip(want, got):
            np.testing.assert_allclose(np.broadcast_to(o, shape), np.broadcast_to(w, shape),
                                       rtol=1e-12, atol=1e-12, equal_nan=True)
        produced = [o for o in got if isinstance(o, np.ndarray) and o.ndim]
        for i, o in enumerate(produced):
            assert not any(np.shares_memory(o, x) for x in arrays)
            assert not any(np.shares_memory(o, p) for p in produced[i + 1:])


# -- the backends behind one interface (symlearn/codegen/backends.py) -------------------------------


def test_the_three_backends_are_registered_behind_one_interface():
    from symlearn.codegen import BACKENDS, Backend, backend

    assert sorted(BACKENDS) == ["allocating", "graph", "inplace"]
    assert all(isinstance(b, Backend) for b in BACKENDS.values())
    with pytest.raises(ValueError, match="name='numba' is not a backend"):
        backend("numba")


def test_each_backend_source_is_the_code_it_compiles():
    from symlearn.calculus.matrix import MatrixGraph, MatSum, elementwise
    from symlearn.codegen import backend

    exprs = [k * (a - b) / (s + sp.sqrt(c + (a - b) ** 2)), sp.log(1 + sp.exp(a * b))]
    allocating = backend("allocating")
    assert allocating.source(ARGS, exprs, cse=True) == inspect.getsource(
        allocating.compile(ARGS, exprs, cse=True))
    inplace = backend("inplace")
    compiled = inplace.compile(ARGS, exprs, arrays=ARRAYS, cse=True)
    assert inplace.source(ARGS, exprs, arrays=ARRAYS, cse=True) == inspect.getsource(
        compiled.inplace)
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w_backend", d, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((L, MatSum(elementwise(softplus, X * w))),))
    graph = backend("graph")
    assert graph.source([X, w], g, wrt=[w]) == graph.compile([X, w], g, wrt=[w]).source


def test_the_backends_agree_with_each_other_and_with_numpy():
    """The allocating and in-place backends and the matrix-graph backend compute the same
    softplus loss and gradient; the reference is numpy written by hand:
    L = sum(log(1 + e^{Xw})), dL/dw = X^T sigmoid(Xw)."""
    from symlearn.calculus.matrix import MatrixGraph, MatSum, elementwise
    from symlearn.codegen import backend

    rng = np.random.default_rng(3)
    Xn, wn = rng.standard_normal((6, 3)), rng.standard_normal((3, 1))
    zn = (Xn @ wn).ravel()
    z = sp.Symbol("z", real=True)
    elementwise_outputs = [softplus(z), sigmoid(z)]
    allocating = backend("allocating").compile([z], elementwise_outputs, cse=True)
    inplace = backend("inplace").compile([z], elementwise_outputs, arrays={z}, cse=True)
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w_agree", d, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((L, MatSum(elementwise(softplus, X * w))),))
    loss, grads = backend("graph").compile([X, w], g, wrt=[w])(Xn, wn)
    expected_loss = np.sum(np.logaddexp(0.0, zn))
    expected_grad = Xn.T @ (1 / (1 + np.exp(-(Xn @ wn))))
    for value, slope in (allocating(zn), inplace(zn)):
        assert np.sum(value) == pytest.approx(expected_loss, rel=1e-14)
        np.testing.assert_allclose(Xn.T @ slope[:, None], expected_grad, rtol=1e-13)
    assert loss == pytest.approx(expected_loss, rel=1e-14)
    np.testing.assert_allclose(grads["w_agree"], expected_grad, rtol=1e-13)


def test_compile_function_takes_a_backend():
    from symlearn.compile import compile_function

    x = np.linspace(-3.0, 3.0, 7)
    y = np.linspace(0.0, 1.0, 7)
    expr = softplus(a) - b * a  # binary cross-entropy with logits, per element
    f = compile_function([a, b], expr, name="bce", backend="inplace", arrays={a, b})
    g = compile_function([a, b], expr, name="bce")
    expected = np.logaddexp(0.0, x) - y * x
    np.testing.assert_allclose(f(x, y), expected, rtol=1e-14)
    np.testing.assert_allclose(g(x, y), expected, rtol=1e-14)
    assert f.__name__ == "bce" and "Arguments, in order: a, b" in f.__doc__
    with pytest.raises(ValueError, match="does not compile expressions"):
        compile_function([a, b], expr, backend="graph")
