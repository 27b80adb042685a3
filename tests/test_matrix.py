"""The matrix-calculus rule table: each rule against sympy.diff of the expanded scalar form of a
small instance, and compiled gradients against central finite differences."""

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardPower
from sympy.matrices.expressions.matexpr import MatrixElement

from symlearn.calculus.matrix import (
    RULES,
    SCALAR_RULES,
    FrobeniusNorm,
    LogSoftmax,
    LogSumExp,
    MatrixGraph,
    MatSum,
    Softmax,
    compile_graph,
    elementwise,
    vjp,
)
from symlearn.functions import sigmoid, softplus

A = sp.MatrixSymbol("A", 3, 2)
B = sp.MatrixSymbol("B", 2, 3)
C = sp.MatrixSymbol("C", 3, 2)
G3x2 = sp.MatrixSymbol("G", 3, 2)  # a fixed upstream gradient
# Weighting every output entry by an independent symbol makes the scalar <G, f(A)> general.
W3x2 = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"g{i}{j}"))
W3x3 = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"g{i}{j}"))
W3x1 = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"g{i}"))


def _scalar_written_out(e):
    arg = e.arg.doit()
    arg = arg if isinstance(arg, sp.MatrixBase) else arg.as_explicit()
    if isinstance(e, sp.Trace):
        return arg.trace()
    if isinstance(e, sp.Determinant):
        return arg.det()
    return sp.sqrt(sum(x**2 for x in arg))  # Frobenius norm, by its definition


def written_out(expr):
    """``expr`` as an explicit matrix of entries: each matrix symbol becomes its entries, then
    SymPy's own algebra evaluates traces, determinants, inverses and products."""
    leaves = {s: s.as_explicit() for s in expr.free_symbols if isinstance(s, sp.MatrixSymbol)}
    explicit = expr.xreplace(leaves)
    explicit = explicit.replace(
        lambda e: isinstance(e, (sp.Trace, sp.Determinant, FrobeniusNorm)), _scalar_written_out
    ).doit()
    return explicit if isinstance(explicit, sp.MatrixBase) else explicit.as_explicit()


def scalar_of(expr, weights):
    """<weights, expr> written out entry by entry: the independent reference. Every matrix
    symbol becomes its explicit matrix of entries first, so traces and determinants expand."""
    explicit = written_out(expr)
    return sum(weights[i, j] * explicit[i, j] for i in range(explicit.rows) for j in range(explicit.cols))


def agree(expr, weights, operand):
    """Our VJP for ``operand`` equals sympy.diff of <weights, expr> entry by entry."""
    G = sp.ImmutableMatrix(weights)
    ours = written_out(vjp(expr, G, [operand])[operand])
    scalar = scalar_of(expr, weights)
    for i in range(operand.shape[0]):
        for j in range(operand.shape[1]):
            truth = sp.diff(scalar, operand[i, j])
            difference = ours[i, j] - truth
            small = sp.count_ops(difference) < 40  # simplify of large rational forms stalls
            if not (small and sp.simplify(difference.rewrite(sp.exp)) == 0):
                # fall back to numbers at random points (30 digits) for transcendental forms
                atoms = sorted(difference.atoms(sp.Symbol, MatrixElement), key=str)
                rng = np.random.default_rng(1)
                for _ in range(5):
                    point = {a: sp.Float(v, 30) for a, v in zip(atoms, rng.uniform(-1, 1, len(atoms)))}
                    assert abs(complex(sp.N(difference.xreplace(point), 30))) < 1e-12
    return True


CASES = {
    "matmul-left": (A * B, W3x3, A),
    "matmul-right": (A * B, W3x3, B),
    "transpose": (B.T, W3x2, B),
    "add": (A + C, W3x2, A),
    "scale": (3 * A, W3x2, A),
    "hadamard": (sp.HadamardProduct(A, C), W3x2, A),
    "elementwise-sigmoid": (elementwise(sigmoid, A), W3x2, A),
    "elementwise-softplus": (elementwise(softplus, A), W3x2, A),
    "elementwise-tanh": (elementwise(sp.tanh, A), W3x2, A),
    "sum": (MatSum(A), sp.Matrix([[sp.Symbol("g")]]), A),
    "logsumexp": (LogSumExp(A), W3x1, A),
    "softmax": (Softmax(A), W3x2, A),
    "log-softmax": (LogSoftmax(A), W3x2, A),
    "bias-broadcast": (sp.OneMatrix(3, 1) * sp.MatrixSymbol("b", 1, 2), W3x2, sp.MatrixSymbol("b", 1, 2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_matches_sympy_diff_on_scalar_form(name):
    expr, weights, operand = CASES[name]
    assert agree(expr, weights, operand)


def test_every_rule_has_latex():
    assert all(rule.latex for rule in RULES.values())
    assert all(rule.latex for rule in SCALAR_RULES.values())


def logistic_graph():
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
    b, Z, L = sp.MatrixSymbol("b", 1, 1), sp.MatrixSymbol("Z", n, 1), sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((Z, X * w + sp.OneMatrix(n, 1) * b),
                     (L, (1 / n) * MatSum(elementwise(softplus, Z) - sp.HadamardProduct(y, Z)))))
    return g, (n, d), (X, y, w, b)


def test_logistic_regression_backward_equals_scalar_diff():
    g, (n, d), (X, y, w, b) = logistic_graph()
    assert g.check([w, b], {n: 3, d: 2})


def test_compiled_logistic_gradient_is_textbook_and_matches_finite_differences():
    g, _, (X, y, w, b) = logistic_graph()
    f = compile_graph(g, [X, y, w, b], [w, b])
    rng = np.random.default_rng(0)
    Xn, yn = rng.standard_normal((20, 3)), rng.integers(0, 2, (20, 1)).astype(float)
    wn, bn = rng.standard_normal((3, 1)), rng.standard_normal((1, 1))
    loss, grads = f(Xn, yn, wn, bn)
    p = 1 / (1 + np.exp(-(Xn @ wn + bn)))
    np.testing.assert_allclose(grads["w"], Xn.T @ (p - yn) / 20, rtol=1e-12)  # X^T (sigma - y) / n
    eps = 1e-6
    for idx in np.ndindex(wn.shape):
        plus, minus = wn.copy(), wn.copy()
        plus[idx] += eps
        minus[idx] -= eps
        fd = (f(Xn, yn, plus, bn)[0] - f(Xn, yn, minus, bn)[0]) / (2 * eps)
        assert grads["w"][idx] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_compiled_softmax_is_stable_at_large_logits():
    n, k = sp.symbols("n k", integer=True, positive=True)
    Z, Y, L = sp.MatrixSymbol("Z", n, k), sp.MatrixSymbol("Y", n, k), sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((L, (-1 / n) * MatSum(sp.HadamardProduct(Y, LogSoftmax(Z)))),))
    f = compile_graph(g, [Z, Y], [Z])
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    targets = np.eye(3)[[0, 2]]
    with np.errstate(over="raise", invalid="raise"):
        loss, grads = f(logits, targets)
    # Reference: log-softmax by hand in exact arithmetic terms: row 0 costs 0, row 1 costs 1 + log(1 + e^-1).
    assert loss == pytest.approx((0 + 1 + np.log1p(np.exp(-1))) / 2, rel=1e-12)
    assert np.all(np.isfinite(grads["Z"]))


@pytest.mark.parametrize("activation", [sigmoid, sp.tanh, softplus], ids=["sigmoid", "tanh", "softplus"])
def test_compiled_mlp_gradients_match_finite_differences(activation):
    # Compound derivatives such as tanh' = 1 - tanh^2 must print with their parentheses.
    n, d, h, k = sp.symbols("n d h k", integer=True, positive=True)
    X, Y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("Y", n, k)
    W1, b1 = sp.MatrixSymbol("W1", d, h), sp.MatrixSymbol("b1", 1, h)
    W2, b2 = sp.MatrixSymbol("W2", h, k), sp.MatrixSymbol("b2", 1, k)
    Z1, A1, Z2 = sp.MatrixSymbol("Z1", n, h), sp.MatrixSymbol("A1", n, h), sp.MatrixSymbol("Z2", n, k)
    L = sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph((
        (Z1, X * W1 + sp.OneMatrix(n, 1) * b1), (A1, elementwise(activation, Z1)),
        (Z2, A1 * W2 + sp.OneMatrix(n, 1) * b2),
        (L, (-1 / n) * MatSum(sp.HadamardProduct(Y, LogSoftmax(Z2)))),
    ))
    params = [W1, b1, W2, b2]
    f = compile_graph(g, [X, Y, *params], params)
    rng = np.random.default_rng(4)
    Xn, Yn = rng.standard_normal((6, 3)), np.eye(4)[rng.integers(0, 4, 6)]
    values = [rng.standard_normal(s) for s in [(3, 5), (1, 5), (5, 4), (1, 4)]]
    _, grads = f(Xn, Yn, *values)
    for i, p in enumerate(params):
        fd = np.zeros_like(values[i])
        for idx in np.ndindex(values[i].shape):
            plus = [v.copy() for v in values]
            minus = [v.copy() for v in values]
            plus[i][idx] += 1e-6
            minus[i][idx] -= 1e-6
            fd[idx] = (f(Xn, Yn, *plus)[0] - f(Xn, Yn, *minus)[0]) / 2e-6
        np.testing.assert_allclose(grads[p.name], fd, rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------------------------------
# Issue 13: repeated factors, scalar factors that depend on the variable, printer precedence, and
# the check that raises and runs before anything is compiled.

S2 = sp.MatrixSymbol("S", 2, 2)
T2 = sp.MatrixSymbol("T", 2, 2)
X2 = sp.MatrixSymbol("X", 2, 2)
W2x2 = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"g{i}{j}"))
x3 = sp.MatrixSymbol("x", 3, 1)
a3 = sp.MatrixSymbol("a", 3, 1)

REPEATED = {
    # Each occurrence of X is its own term: A^T G X^T B^T + B^T X^T A^T G, not twice the first.
    "AXBX": (S2 * X2 * T2 * X2, W2x2, X2),
    "XXB": (X2 * X2 * T2, W2x2, X2),
    "XTX": (X2.T * X2, W2x2, X2),
    "hadamard-XX": (sp.HadamardProduct(X2, X2), W2x2, X2),
    # Scalar (1 x 1-valued) factors that depend on the variable go through the product rule.
    "trace-times-I": (sp.Trace(X2) * sp.Identity(1), sp.Matrix([[sp.Symbol("g")]]), X2),
    "det-times-I": (sp.Determinant(X2) * sp.Identity(1), sp.Matrix([[sp.Symbol("g")]]), X2),
    "xTa-times-xTa": (sp.Trace(x3.T * a3) * (x3.T * a3), sp.Matrix([[sp.Symbol("g")]]), x3),
    "trace-times-matrix": (sp.Trace(X2) * X2, W2x2, X2),
    # The rules added for the Matrix Cookbook's section 2.
    "inverse": (sp.Inverse(X2 + 3 * sp.Identity(2)), W2x2, X2),
    "matpow-3": (X2**3, W2x2, X2),
    "hadamard-power-3": (HadamardPower(A, 3), W3x2, A),
    "log-det": (sp.log(sp.Determinant(X2 + 3 * sp.Identity(2))) * sp.Identity(1),
                sp.Matrix([[sp.Symbol("g")]]), X2),
    "frobenius": (FrobeniusNorm(A) * sp.Identity(1), sp.Matrix([[sp.Symbol("g")]]), A),
    "frobenius-squared": (FrobeniusNorm(A) ** 2 * sp.Identity(1), sp.Matrix([[sp.Symbol("g")]]), A),
    "trace-of-sin": (sp.Trace(elementwise(sp.sin, X2)) * sp.Identity(1),
                     sp.Matrix([[sp.Symbol("g")]]), X2),
}


@pytest.mark.parametrize("name", sorted(REPEATED))
def test_repeated_and_scalar_factors_match_sympy_diff(name):
    expr, weights, operand = REPEATED[name]
    assert agree(expr, weights, operand)


def test_repeated_factor_gradient_is_the_cookbook_sum():
    # Matrix Cookbook (2012) eq. (114): d/dX Tr(A X B X) = A^T X^T B^T + B^T X^T A^T.
    n = sp.Symbol("n", integer=True, positive=True)
    X, A_, B_ = (sp.MatrixSymbol(s, n, n) for s in "XAB")
    grad = vjp(A_ * X * B_ * X, sp.Identity(n), [X])[X]
    expected = A_.T * X.T * B_.T + B_.T * X.T * A_.T
    rng = np.random.default_rng(3)
    values = {s: sp.ImmutableMatrix(rng.standard_normal((3, 3))) for s in (X, A_, B_)}
    got = np.array(grad.xreplace({n: 3}).subs({s.xreplace({n: 3}): v for s, v in values.items()})
                   .as_explicit(), dtype=float)
    want = np.array(expected.xreplace({n: 3}).subs({s.xreplace({n: 3}): v for s, v in values.items()})
                    .as_explicit(), dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _half_squared_residual():
    m, d = sp.symbols("m d", integer=True, positive=True)
    A_, x, b = sp.MatrixSymbol("A", m, d), sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("b", m, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    u = sp.Dummy("u")
    g = MatrixGraph(((L, sp.Rational(1, 2) * MatSum(elementwise(sp.Lambda(u, u**2), A_ * x - b))),))
    return g, (A_, x, b)


def test_scaled_loss_as_one_node_compiles_and_is_textbook():
    # The printer must keep ``A.T @ ((1/2) * (...))`` together (it printed ``A.T @ (1/2) * (...)``).
    g, (A_, x, b) = _half_squared_residual()
    f = compile_graph(g, [A_, x, b], [x])
    rng = np.random.default_rng(5)
    An, xn, bn = rng.standard_normal((5, 3)), rng.standard_normal((3, 1)), rng.standard_normal((5, 1))
    loss, grads = f(An, xn, bn)
    assert loss == pytest.approx(0.5 * np.sum((An @ xn - bn) ** 2), rel=1e-12)
    np.testing.assert_allclose(grads["x"], An.T @ (An @ xn - bn), rtol=1e-12)  # A^T (A x - b)


def test_check_raises_naming_the_node_and_the_difference(monkeypatch):
    from symlearn.calculus import matrix

    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1)
    Z, L = sp.MatrixSymbol("Z", n, 1), sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((Z, X * w), (L, MatSum(elementwise(sigmoid, Z)))))
    assert g.check([w], {n: 3, d: 2})
    # A wrong rule (f' dropped): the check must raise, name the node and say by how much.
    wrong = matrix.Rule(lambda node, index, G: G, "wrong")
    monkeypatch.setitem(matrix.RULES, ElementwiseApplyFunction, wrong)
    with pytest.raises(matrix.GradientCheckError) as error:
        g.check([w], {n: 3, d: 2})
    assert error.value.node == "Z"
    assert error.value.max_difference > 1e-3
    assert "Z" in str(error.value) and "differs" in str(error.value)


def test_nothing_compiles_an_unchecked_gradient(monkeypatch):
    from symlearn.calculus import matrix

    n, d = sp.symbols("n d", integer=True, positive=True)
    X, v = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("v_unchecked", d, 1)
    Z, L = sp.MatrixSymbol("Zu", n, 1), sp.MatrixSymbol("Lu", 1, 1)
    g = MatrixGraph(((Z, X * v), (L, MatSum(elementwise(sp.tanh, Z)))))
    monkeypatch.setitem(matrix.RULES, ElementwiseApplyFunction, matrix.Rule(lambda node, i, G: G, "wrong"))
    monkeypatch.setattr(matrix, "_verdict_path", lambda key: None)  # no verdict from disk
    with pytest.raises(matrix.GradientCheckError):
        compile_graph(g, [X, v], [v])


def test_the_check_runs_once_per_graph_structure(monkeypatch):
    from symlearn.calculus import matrix

    calls = []
    original = matrix.MatrixGraph.check
    monkeypatch.setattr(matrix.MatrixGraph, "check",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    monkeypatch.setattr(matrix, "_verdict_path", lambda key: None)
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, q = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("q_once", d, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((L, MatSum(elementwise(softplus, X * q))),))
    compile_graph(g, [X, q], [q])
    compile_graph(g, [X, q], [q])
    # the same structure built again (new objects) is the same key
    g2 = MatrixGraph(((L, MatSum(elementwise(softplus, X * q))),))
    compile_graph(g2, [X, q], [q])
    assert len(calls) == 1


def test_verdict_is_saved_and_trusted_across_processes(tmp_path, monkeypatch):
    from symlearn.calculus import matrix

    monkeypatch.setenv("SYMLEARN_CACHE_DIR", str(tmp_path))
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, r = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("r_disk", d, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((L, MatSum(elementwise(sigmoid, X * r))),))
    compile_graph(g, [X, r], [r])
    assert len(list((tmp_path / "matrix-checks").glob("*.ok"))) == 1
    monkeypatch.setattr(matrix, "_CHECKED", set())  # a new process: only the disk knows
    monkeypatch.setattr(matrix.MatrixGraph, "check", lambda *a, **k: pytest.fail("checked again"))
    compile_graph(g, [X, r], [r])


@pytest.mark.parametrize("damage", ["flip", "truncate", "old format", "other key", "directory"])
def test_a_damaged_verdict_file_is_ignored_and_the_check_runs(tmp_path, monkeypatch, damage):
    """A verdict file is trusted only if it matches its SHA-256 and names its own key (as the
    parser's DFA cache is): anything else reads as no verdict, and the gradients are checked."""
    from symlearn.calculus import matrix

    monkeypatch.setenv("SYMLEARN_CACHE_DIR", str(tmp_path))
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, r = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("r_damaged", d, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((L, MatSum(elementwise(sp.tanh, X * r))),))
    monkeypatch.setattr(matrix, "_CHECKED", set())  # checked and saved here, whatever ran before
    compile_graph(g, [X, r], [r])
    (path,) = (tmp_path / "matrix-checks").glob("*.ok")
    data = path.read_bytes()
    if damage == "flip":
        path.write_bytes(data[:-2] + bytes([data[-2] ^ 1]) + data[-1:])
    elif damage == "truncate":
        path.write_bytes(data[:-3])
    elif damage == "old format":
        path.write_text("checked\n")
    elif damage == "other key":  # a whole, valid file that vouches for another graph
        body = b"checked 0123456789abcdef0123456789abcdef\n"
        path.write_bytes(data[: len(matrix._VERDICT_MAGIC)] + __import__("hashlib").sha256(
            body).digest() + body)
    else:
        path.unlink()
        path.mkdir()
    calls = []
    original = matrix.MatrixGraph.check
    monkeypatch.setattr(matrix, "_CHECKED", set())  # a new process
    monkeypatch.setattr(matrix.MatrixGraph, "check",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    compile_graph(g, [X, r], [r])
    assert calls == [1]


def test_inverses_print_as_solves_and_log_det_as_slogdet():
    n = sp.Symbol("n", integer=True, positive=True)
    X, A_, B_ = (sp.MatrixSymbol(s, n, n) for s in "XAB")
    L = sp.MatrixSymbol("L", 1, 1)
    g = MatrixGraph(((L, sp.Trace(A_ * X.I * B_) + sp.log(sp.Determinant(X))),))
    f = compile_graph(g, [X, A_, B_], [X])
    gradient_line = next(line for line in f.source.splitlines() if line.strip().startswith("dX"))
    # A^-1 inside a product is a solve; only the gradient X^-T of log det is an inverse itself.
    assert "linalg.solve(X, (B @ A))" in gradient_line
    assert gradient_line.count("linalg.inv") == 1 and "linalg.inv((X).T)" in gradient_line
    assert "_logdet(X)" in f.source
    rng = np.random.default_rng(11)
    M = rng.standard_normal((4, 4))
    Xn = M @ M.T + 4 * np.eye(4)  # positive definite: log det is defined
    An, Bn = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    loss, grads = f(Xn, An, Bn)
    Xi = np.linalg.inv(Xn)
    assert loss == pytest.approx(np.trace(An @ Xi @ Bn) + np.log(np.linalg.det(Xn)), rel=1e-12)
    # Matrix Cookbook (2012) eq. (63) and (57): -(X^-1 B A X^-1)^T + X^-T.
    np.testing.assert_allclose(grads["X"], -(Xi @ Bn @ An @ Xi).T + Xi.T, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# MatrixGraph.check on the defects of issue 13: right where the rules are right, raising where a
# rule is made wrong again (monkeypatched back to the old defect)


def _first_equal_factor_vjp(node, index, G):
    """The old product rule: the factor looked up by equality (``list.index``), so both X of
    A X B X get the first one's gradient."""
    from symlearn.calculus import matrix

    first = node.args.index(node.args[index])
    return matrix._matmul_vjp(node, first, G)


def _defect_graphs():
    m, d = sp.symbols("m d", integer=True, positive=True)
    X, A_, B_ = (sp.MatrixSymbol(s, m, m) for s in "XAB")
    L = sp.MatrixSymbol("L", 1, 1)
    repeated = MatrixGraph(((L, sp.Trace(A_ * X * B_ * X)),))
    scalar = MatrixGraph(((L, sp.Trace(X) * sp.Identity(1)),))
    M, x, b = sp.MatrixSymbol("M", m, d), sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("b", m, 1)
    u = sp.Dummy("u")
    scaled = MatrixGraph(((L, sp.Rational(1, 2) * MatSum(elementwise(sp.Lambda(u, u**2), M * x - b))),))
    return {"repeated-factor": (repeated, X), "scalar-factor": (scalar, X), "scaled-sum": (scaled, x)}


@pytest.mark.parametrize("name", ["repeated-factor", "scalar-factor", "scaled-sum"])
def test_check_passes_the_three_defects_of_issue_13_now_fixed(name):
    graph, variable = _defect_graphs()[name]
    assert graph.check([variable])
    # a non-square instance where the graph has two dimensions (M is 3 x 2)
    assert graph.check([variable], {s: 2 + i for i, s in enumerate(sorted(graph.small_sizes(), key=str))})


@pytest.mark.parametrize("name, wrong", [
    ("repeated-factor", "first equal factor"),  # 2 A^T G X^T B^T instead of the sum of two terms
    ("scalar-factor", "constant scalar"),  # Trace(X) * I treated as a constant: gradient 0
    ("scaled-sum", "coefficient dropped"),  # 1/2 * sum(...): the 1/2 left out of the product rule
])
def test_check_raises_on_each_defect_of_issue_13(monkeypatch, name, wrong):
    from symlearn.calculus import matrix

    graph, variable = _defect_graphs()[name]
    if wrong == "first equal factor":
        monkeypatch.setitem(matrix.RULES, sp.MatMul, matrix.Rule(_first_equal_factor_vjp, "old"))
    elif wrong == "constant scalar":
        monkeypatch.setattr(matrix, "_matmul_scalar_vjp", lambda node, index, G: sp.Integer(0))
    else:
        def no_coefficient(node, index, G):
            matrices = [a for a in node.args if getattr(a, "is_Matrix", False)]
            position = sum(1 for a in node.args[:index] if getattr(a, "is_Matrix", False))
            return matrix._matmul_vjp(sp.MatMul(*matrices), position, G)

        monkeypatch.setitem(matrix.RULES, sp.MatMul, matrix.Rule(no_coefficient, "wrong"))
    with pytest.raises(matrix.GradientCheckError) as error:
        graph.check([variable])
    assert error.value.node == variable.name
    assert error.value.max_difference > 1e-3


def test_check_of_a_variable_the_loss_does_not_use():
    """Its gradient is zero, and the check says so instead of failing to look it up."""
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w, v = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("v", d, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    assert MatrixGraph(((L, MatSum(elementwise(sigmoid, X * w))),)).check([w, v])


def _random_entries(symbol, rng):
    rows, cols = (int(s) for s in symbol.shape)
    return sp.ImmutableMatrix(rows, cols, [sp.Float(v, 30) for v in rng.uniform(0.1, 1, rows * cols)])


@pytest.mark.parametrize("name", [
    "matmul", "add-transpose", "hadamard", "elementwise", "sum", "logsumexp", "softmax",
    "log-softmax", "inverse", "matpow", "hadamard-power", "trace", "det", "frobenius", "bias",
])
def test_explicit_matches_sympys_own_algebra(name):
    """The check builds both its sides with ``_explicit`` (bottom up); here each node type it
    builds is compared with SymPy's own explicit form (``as_explicit`` / ``doit``) at a random
    point, so a slip in ``_explicit`` cannot make both sides of the check wrong alike."""
    from symlearn.calculus.matrix import _explicit

    P, Q = sp.MatrixSymbol("P", 3, 2), sp.MatrixSymbol("Q", 2, 3)
    S_ = sp.MatrixSymbol("S", 3, 3)
    b_ = sp.MatrixSymbol("b", 1, 2)
    exprs = {
        "matmul": 2 * P * Q * S_,
        "add-transpose": P + Q.T,
        "hadamard": sp.HadamardProduct(P, Q.T),
        "elementwise": elementwise(sigmoid, P),
        "sum": MatSum(P),
        "logsumexp": LogSumExp(P),
        "softmax": Softmax(P),
        "log-softmax": LogSoftmax(P),
        # 2 x 2: SymPy's symbolic 3 x 3 inverse, the reference, takes a minute
        "inverse": sp.Inverse(sp.MatrixSymbol("V", 2, 2) + 3 * sp.Identity(2)),
        "matpow": S_**3,
        "hadamard-power": HadamardPower(P, 3),
        "trace": sp.Trace(P * Q) * sp.Identity(1),
        "det": sp.Determinant(S_) * sp.Identity(1),
        "frobenius": FrobeniusNorm(P) * sp.Identity(1),
        "bias": sp.OneMatrix(3, 1) * b_ + P,
    }
    expr = exprs[name]
    rng = np.random.default_rng(2)
    env = {s: _random_entries(s, rng) for s in sorted(expr.free_symbols, key=str)
           if isinstance(s, sp.MatrixSymbol)}
    ours = _explicit(expr, env)
    reference = written_out(expr).xreplace(
        {s[i, j]: v[i, j] for s, v in env.items() for i in range(v.rows) for j in range(v.cols)})
    assert ours.shape == reference.shape
    for i in range(ours.rows):
        for j in range(ours.cols):
            assert abs(complex(sp.N(ours[i, j] - reference[i, j], 30))) < 1e-20
