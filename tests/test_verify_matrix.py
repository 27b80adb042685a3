"""verify_matrix_gradient on the course's matrix-form gradients: each with its correct claim and a
typical slip. The truth of every line is a textbook result (CS231n's softmax and backprop notes,
PRML 4.3.2 and 4.3.4 for logistic and softmax regression, the Matrix Cookbook (2012) for quadratic
forms, traces and determinants), written here by hand; the verifier must call every correct claim
"correct" and every slip "wrong" (0 false "correct", 0 false "wrong")."""

from __future__ import annotations

import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction as EF

from symlearn.calculus.matrix import FrobeniusNorm, LogSumExp, MatSum, Softmax
from symlearn.functions import relu, sigmoid, softplus
from symlearn.verify_matrix import verify_matrix_gradient

n, d, k, h = sp.symbols("n d k h", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
w = sp.MatrixSymbol("w", d, 1)
W = sp.MatrixSymbol("W", d, k)
Y = sp.MatrixSymbol("Y", n, k)
A = sp.MatrixSymbol("A", d, d)
a = sp.MatrixSymbol("a", n, 1)
b = sp.MatrixSymbol("b", d, 1)
M = sp.MatrixSymbol("M", n, d)  # a variable matrix
S = sp.MatrixSymbol("S", d, d)  # a square variable
B = sp.MatrixSymbol("B", d, n)
C = sp.MatrixSymbol("C", d, n)
W1 = sp.MatrixSymbol("W1", d, h)
W2 = sp.MatrixSymbol("W2", h, k)
lam = sp.Rational(3, 10)
D = sp.MatrixSymbol("D", n, n)
A2 = sp.MatrixSymbol("A2", d, d)
c = sp.MatrixSymbol("c", d, 1)

residual = X * w - y
sq = FrobeniusNorm(residual) ** 2
p = EF(sigmoid, X * w)
Z1 = X * W1
H1 = EF(relu, Z1)
Z2 = H1 * W2
two_layer = (MatSum(LogSumExp(Z2)) - MatSum(sp.HadamardProduct(Y, Z2))) / n
dZ2 = (Softmax(Z2) - Y) / n
_u = sp.Dummy("u")
step = EF(sp.Lambda(_u, sp.Heaviside(_u, 0)), Z1)

# name: (loss, variable, correct claim, slip, kwargs)
CASES = {
    "linear-regression": (sq / n, w, 2 * X.T * residual / n, X.T * residual / n, {}),
    "linear-regression-no-n": (sq, w, 2 * X.T * residual, 2 * residual.T * X, {"shape": True}),
    "linear-order": (sq / n, w, 2 * X.T * residual / n, 2 * X.T * residual / 3, {}),
    "ridge": (sq / n + lam * FrobeniusNorm(w) ** 2, w, 2 * X.T * residual / n + 2 * lam * w,
              2 * X.T * residual / n + lam * w, {}),
    "logistic": ((MatSum(EF(softplus, X * w)) - y.T * X * w) / n, w,
                 X.T * (p - y) / n, X.T * (p - y), {}),
    "logistic-sign": ((MatSum(EF(softplus, X * w)) - y.T * X * w) / n, w,
                      X.T * (p - y) / n, X.T * (y - p) / n, {}),
    "softmax-regression": ((MatSum(LogSumExp(X * W)) - MatSum(sp.HadamardProduct(Y, X * W))) / n,
                           W, X.T * (Softmax(X * W) - Y) / n, (Softmax(X * W) - Y).T * X / n,
                           {"shape": True}),
    "softmax-no-minus-Y": ((MatSum(LogSumExp(X * W)) - MatSum(sp.HadamardProduct(Y, X * W))) / n,
                           W, X.T * (Softmax(X * W) - Y) / n, X.T * Softmax(X * W) / n, {}),
    "two-layer-dW1": (two_layer, W1, X.T * sp.HadamardProduct(dZ2 * W2.T, step),
                      X.T * (dZ2 * W2.T), {}),
    "two-layer-dW2": (two_layer, W2, H1.T * dZ2, H1.T * dZ2 * n, {}),
    "quadratic-form": (b.T * A * b, b, (A + A.T) * b, 2 * A * b, {}),
    "quadratic-form-symmetric": (b.T * A * b, b, 2 * A * b, A * b, {"symmetric": ["A"]}),
    "bilinear": (a.T * M * b, M, a * b.T, b * a.T, {"shape": True}),
    "trace-AXB": (sp.Trace(B * M * A), M, B.T * A.T, A * B, {"shape": True}),
    "trace-XTX": (sp.Trace(M.T * M), M, 2 * M, M, {}),
    "trace-square": (sp.Trace(S * S), S, 2 * S.T, 2 * S, {}),
    "trace-inverse": (sp.Trace(A * S.I), S, -(S.I * A * S.I).T, -S.I * A * S.I, {}),
    "log-det": (sp.log(sp.Determinant(S)), S, S.I.T, S.I, {}),
    "det": (sp.Determinant(S), S, sp.Determinant(S) * S.I.T, sp.Determinant(S) * S, {}),
    "frobenius": (FrobeniusNorm(M - X), M, (M - X) / FrobeniusNorm(M - X), M - X, {}),
    "ridge-halves": (sq / (2 * n) + lam / 2 * FrobeniusNorm(w) ** 2, w,
                     X.T * residual / n + lam * w, X.T * residual / n + lam / 2 * w, {}),
    "softmax-missing-n": ((MatSum(LogSumExp(X * W)) - MatSum(sp.HadamardProduct(Y, X * W))) / n,
                          W, X.T * (Softmax(X * W) - Y) / n, X.T * (Softmax(X * W) - Y), {}),
    "cookbook-83": ((M * b + a).T * D * (M * b + a), M, (D + D.T) * (M * b + a) * b.T,
                    2 * D * (M * b + a) * b.T, {}),
    "cookbook-108": (sp.Trace(M.T * D * M), M, (D + D.T) * M, 2 * D * M, {}),
    "cookbook-114": (sp.Trace(A * S * A2 * S), S, A.T * S.T * A2.T + A2.T * S.T * A.T,
                     2 * A.T * S.T * A2.T, {}),
    "cookbook-51": (sp.Determinant(A * S * A2), S, sp.Determinant(A * S * A2) * S.I.T,
                    sp.Determinant(A * S * A2) * S.I, {}),
    "cookbook-61": (b.T * S.I * c, S, -S.I.T * b * c.T * S.I.T, -S.I * b * c.T * S.I, {}),
    "cookbook-129": (FrobeniusNorm(b - c), b, (b - c) / FrobeniusNorm(b - c), b - c, {}),
    "cookbook-121": (sp.Trace(S**3), S, 3 * (S**2).T, 3 * S**2, {}),
    "row-vs-column": (sq / n, w, 2 * X.T * residual / n, 2 * residual.T * X / n, {"shape": True}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_correct_claim_is_correct(name):
    loss, variable, correct, _, options = CASES[name]
    options = {k: v for k, v in options.items() if k != "shape"}
    verdict = verify_matrix_gradient(loss, variable, correct, **options)
    assert verdict["verdict"] == "correct", (name, verdict)


@pytest.mark.parametrize("name", sorted(CASES))
def test_slip_is_wrong(name):
    loss, variable, _, slip, options = CASES[name]
    by_shape = options.get("shape", False)
    options = {k: v for k, v in options.items() if k != "shape"}
    verdict = verify_matrix_gradient(loss, variable, slip, **options)
    assert verdict["verdict"] == "wrong", (name, verdict)
    if by_shape:
        assert verdict["method"] == "shape" and "shape" in verdict["reason"]
    else:
        assert verdict["counterexample"] and verdict["sizes"]
        assert verdict["expected"] != verdict["claimed"]


def test_at_least_thirty_cases():
    assert 2 * len(CASES) >= 30


def test_hints_name_the_usual_slips():
    hint = verify_matrix_gradient(b.T * A * b, b, 2 * A * b)["hints"]
    assert any("A + A^T" in h for h in hint)
    hint = verify_matrix_gradient(sq / n, w, X.T * residual / n)["hints"]
    assert any("factor 2" in h for h in hint)
    hint = verify_matrix_gradient(sq / n, w, 2 * X.T * residual)["hints"]
    assert any("1/n" in h for h in hint)
    hint = verify_matrix_gradient(sp.log(sp.Determinant(S)), S, S.I)["hints"]
    assert any("transpose" in h for h in hint)
    loss, variable, _, slip, _ = CASES["two-layer-dW2"]  # n * the gradient: "1/n", not "1/d"
    assert verify_matrix_gradient(loss, variable, slip)["hints"] == ["a factor 1/n is missing"]
    result = verify_matrix_gradient(sq / n, w, 2 * residual.T * X / n)
    assert "1 x d" in result["reason"] and "d x 1" in result["reason"]


def test_relu_needs_both_sides_of_the_kink():
    # Every instance draws entries of both signs, so the coverage rule is met here.
    loss, variable, correct, _, _ = CASES["two-layer-dW1"]
    assert verify_matrix_gradient(loss, variable, correct)["reason"].endswith("kink")


def test_counterexample_has_the_json_shape():
    result = verify_matrix_gradient(sq / n, w, X.T * residual / n)
    sizes = result["sizes"]
    assert set(sizes) == {"n", "d"}
    Xv = result["counterexample"]["X"]
    assert len(Xv) == sizes["n"] and len(Xv[0]) == sizes["d"]
    assert len(result["expected"]) == sizes["d"] and len(result["claimed"]) == sizes["d"]


def test_scalar_symbols_are_drawn_and_reported():
    penalty = sp.Symbol("lambda", positive=True)
    loss = sq / n + penalty * FrobeniusNorm(w) ** 2
    assert verify_matrix_gradient(loss, w, 2 * X.T * residual / n + 2 * penalty * w)[
        "verdict"] == "correct"
    result = verify_matrix_gradient(loss, w, 2 * X.T * residual / n + penalty * w)
    assert result["verdict"] == "wrong"
    assert isinstance(result["counterexample"]["lambda"], float)


def test_a_faulty_rule_table_cannot_make_a_slip_correct(monkeypatch):
    import symlearn.verify_matrix as vm

    slip = X.T * residual / n  # the factor 2 missing
    monkeypatch.setattr(vm, "vjp", lambda loss, G, wrt: {wrt[0]: slip})  # a rule table at fault
    result = vm.verify_matrix_gradient(sq / n, w, slip)
    assert result["verdict"] == "undetermined" and "rule table" in result["reason"]
