r"""symlearn verify in matrix form (issue 13 items 3 and 4), from LaTeX.

Every correct claim below is a textbook formula, written here by hand, never symlearn's output:
the Matrix Cookbook (Petersen & Pedersen, Nov. 15 2012 edition; equation numbers checked against
that edition's text): sec. 2.1.2 (det: eq. 49), 2.1.4 (log det: eqs. 55, 57), sec. 2.2 (inverses:
eqs. 61, 62, 64), sec. 2.4.1 (eq. 70), sec. 2.4.2 (quadratic forms: eqs. 77, 78, 81, and the
weighted least-squares forms eqs. 84 and 86, W symmetric), sec. 2.5.1-2.5.4 (traces: eqs. 100,
101, 106, 108, 117, 124), sec. 2.6-2.7 (norms: eqs. 129, 131, 132); CS231n's notes on linear
classification (softmax: dL/dW = X^T (P - Y) / n, + lambda W with the penalty lambda/2 ||W||^2) and
on backpropagation (two-layer network: dW2 = H^T (P - Y) / n, dW1 = X^T ((dZ2 W2^T) \odot
1[X W1 > 0])); PRML sec. 4.3.2 (logistic regression: X^T (sigma(Xw) - y), sigma' = sigma (1 -
sigma)), sec. 3.1.4 (regularized least squares, whose normal equations have X^T X + lambda I) and
sec. 2.3.4 (the Gaussian's likelihood in the mean, the precision and the covariance); the scalar
derivatives of tanh, exp and sin with the chain rule (Goodfellow et al. sec. 6.3). Each slip is
the typical one: a missing 2 or 1/n, a transposed result, a product in the wrong order, A where
A + A^T is needed, a sign, a dropped inner factor or penalty, the inverse left out. The verifier
must say "correct" for each correct claim and "wrong" for each slip: 0 false "correct", 0 false
"wrong". Relu (the two-layer network) is the one piecewise function: its claims are "correct"
only because every instance puts relu's arguments on both sides of the kink (the issue's coverage
rule; test_relu_without_coverage_is_undetermined shows the "undetermined" side).

Most cases run through the Python API (each check in this process); a batch of them, the JSON
schema and the bad-input sentences run through the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from symlearn.verify import verify_gradient

REG = {"X": "n,d", "w": "d", "y": "n"}
SOFT = {"X": "n,d", "W": "d,k", "Y": "n,k"}
NET = {"X": "n,d", "W_1": "d,h", "W_2": "h,k", "Y": "n,k"}
SQ = {"A": "d,d", "B": "d,d", "X": "d,d"}
GAUSS = {"x": "d", r"\mu": "d", r"\Lambda": "d,d,spd", r"\Sigma": "d,d,spd"}
LIN = r"\frac{1}{n}\|Xw-y\|^2"
RIDGE = LIN + r" + \lambda\|w\|^2"
LOGISTIC = r"\frac{1}{n}\left(\mathbf{1}^T\operatorname{softplus}(Xw) - y^TXw\right)"
XENT = (r"-\frac{1}{n}\left(y^T\log\sigma(Xw) + (\mathbf{1}-y)^T\log(1-\sigma(Xw))\right)")
SOFTMAX = (r"\frac{1}{n}\left(\mathbf{1}^T\operatorname{logsumexp}(XW) - "
           r"\operatorname{tr}(Y^TXW)\right)")
NET_LOSS = (r"\frac{1}{n}\left(\mathbf{1}^T\operatorname{logsumexp}(\operatorname{relu}(XW_1)W_2)"
            r" - \operatorname{tr}(Y^T\operatorname{relu}(XW_1)W_2)\right)")
P = r"\operatorname{softmax}(XW)"
P2 = r"\operatorname{softmax}(\operatorname{relu}(XW_1)W_2)"
H1 = r"\operatorname{relu}(XW_1)"
SIG = r"\sigma(Xw)"

# name: (loss, wrt, shapes, correct claim, [slips], source)
CASES = {
    # -- linear and ridge regression ----------------------------------------------------------
    "linear-regression": (LIN, "w", REG, r"\frac{2}{n}X^T(Xw-y)",
                          [r"\frac{1}{n}X^T(Xw-y)", r"2X^T(Xw-y)", r"\frac{2}{n}X^T(y-Xw)"],
                          "Cookbook (84) with W = I/n"),
    "linear-regression-bold": (r"\frac{1}{2n}\|\mathbf{X}\mathbf{w}-\mathbf{y}\|^2", "w", REG,
                               r"\frac{1}{n}\mathbf{X}^\top(\mathbf{X}\mathbf{w}-\mathbf{y})",
                               [r"\mathbf{X}^\top(\mathbf{X}\mathbf{w}-\mathbf{y})"],
                               "Cookbook (84)"),
    "least-squares-unscaled": (r"\|Ax-b\|^2", "x", {"A": "m,d", "x": "d", "b": "m"},
                               r"2A^T(Ax-b)", [r"A^T(Ax-b)", r"2(Ax-b)^TA"],
                               "Cookbook (84) with W = I"),
    "weighted-least-squares": (r"(Xw-y)^TW(Xw-y)", "w", {**REG, "W": "n,n,symmetric"},
                               r"2X^TW(Xw-y)", [r"X^TW(Xw-y)", r"2X^TW(y-Xw)"],
                               "Cookbook (84), W symmetric"),
    "weighted-least-squares-nonsymmetric": (r"(Xw-y)^TW(Xw-y)", "w", {**REG, "W": "n,n"},
                                            r"X^T(W+W^T)(Xw-y)", [r"2X^TW(Xw-y)"],
                                            "Cookbook (78) with B = D = X, C = W"),
    "ridge": (RIDGE, "w", REG, r"\frac{2}{n}X^T(Xw-y) + 2\lambda w",
              [r"\frac{2}{n}X^T(Xw-y) + \lambda w"], "Cookbook (84) and (131)"),
    "ridge-normal-form": (RIDGE, "w", REG, r"\frac{2}{n}(X^TXw - X^Ty) + 2\lambda w",
                          [r"\frac{2}{n}(X^TXw - X^Ty) + 2w"], "Cookbook (84) expanded"),
    "ridge-normal-equations": (r"\|Xw-y\|^2 + \lambda\|w\|^2", "w", REG,
                               r"2(X^TX+\lambda I)w - 2X^Ty",
                               [r"2(X^TX+I)w - 2X^Ty", r"(X^TX+\lambda I)w - X^Ty"],
                               "PRML sec. 3.1.4: zero at w = (X^TX + lambda I)^{-1} X^T y"),
    # -- logistic and softmax regression ------------------------------------------------------
    "logistic-softplus": (LOGISTIC, "w", REG, r"\frac{1}{n}X^T(\sigma(Xw)-y)",
                          [r"X^T(\sigma(Xw)-y)", r"\frac{1}{n}X^T(y-\sigma(Xw))"],
                          "PRML (4.91)"),
    "logistic-cross-entropy": (XENT, "w", REG, r"\frac{1}{n}X^T(\sigma(Xw)-y)",
                               [r"\frac{1}{n}X^T\sigma(Xw)"], "PRML (4.91)"),
    "logistic-l2": (LOGISTIC + r" + \frac{\lambda}{2}\|w\|^2", "w", REG,
                    r"\frac{1}{n}X^T(\sigma(Xw)-y) + \lambda w",
                    [r"\frac{1}{n}X^T(\sigma(Xw)-y) + 2\lambda w", r"\frac{1}{n}X^T(\sigma(Xw)-y)"],
                    "PRML (4.91) and Cookbook (131)"),
    "sigmoid-squared-error": (r"\frac{1}{2}\|\sigma(Xw)-y\|^2", "w", REG,
                              rf"X^T(({SIG}-y)\odot{SIG}\odot(\mathbf{{1}}-{SIG}))",
                              [rf"X^T({SIG}-y)"], "PRML sec. 4.3.2: sigma' = sigma (1 - sigma)"),
    "softmax-regression": (SOFTMAX, "W", SOFT, rf"\frac{{1}}{{n}}X^T({P}-Y)",
                           [rf"\frac{{1}}{{n}}X^T{P}", rf"X^T({P}-Y)"], "CS231n softmax"),
    "softmax-l2": (SOFTMAX + r" + \frac{\lambda}{2}\|W\|_F^2", "W", SOFT,
                   rf"\frac{{1}}{{n}}X^T({P}-Y) + \lambda W",
                   [rf"\frac{{1}}{{n}}({P}-Y)^TX + \lambda W^T", rf"\frac{{1}}{{n}}X^T({P}-Y)"],
                   "CS231n softmax with regularization, Cookbook (132)"),
    # -- a two-layer network (relu: coverage of both sides of the kink is required) ----------
    "two-layer-dW1": (NET_LOSS, "W_1", NET,
                      (rf"X^T\left(\left(\frac{{1}}{{n}}({P2}-Y)W_2^T\right)\odot"
                       rf"\operatorname{{step}}(XW_1)\right)"),
                      [rf"\frac{{1}}{{n}}X^T({P2}-Y)W_2^T"], "CS231n backprop notes"),
    "two-layer-dW2": (NET_LOSS, "W_2", NET, rf"\frac{{1}}{{n}}{H1}^T({P2}-Y)",
                      [rf"{H1}^T({P2}-Y)", rf"\frac{{1}}{{n}}({P2}-Y)^T{H1}"],
                      "CS231n backprop notes"),
    # -- quadratic and bilinear forms ---------------------------------------------------------
    "quadratic-form": (r"x^TAx", "x", {"A": "d,d", "x": "d"}, r"(A+A^T)x", [r"2Ax", r"Ax"],
                       "Cookbook (81)"),
    "quadratic-form-symmetric": (r"x^TAx", "x", {"A": "d,d,symmetric", "x": "d"}, r"2Ax",
                                 [r"Ax", r"2A^2x"], "Cookbook (81), A = A^T"),
    "inner-product": (r"x^Tx", "x", {"x": "d"}, r"2x", [r"x", r"2x^T"], "Cookbook (131)"),
    "bilinear": (r"a^TXb", "X", {"a": "n", "b": "d", "X": "n,d"}, r"ab^T", [r"ba^T"],
                 "Cookbook (70)"),
    "bilinear-gram": (r"a^TX^TXb", "X", {"a": "d", "b": "d", "X": "n,d"}, r"X(ab^T+ba^T)",
                      [r"2Xab^T", r"X(ab^T+ba^T)^T+X"], "Cookbook (77)"),
    "hadamard-sum-of-squares": (r"\mathbf{1}^T(x\odot x)", "x", {"x": "d"}, r"2x", [r"x"],
                                "Cookbook (131)"),
    "hadamard-bilinear": (r"a^T(x\odot (Bx))", "x", {"a": "d", "x": "d", "B": "d,d"},
                          r"a\odot(Bx) + B^T(a\odot x)", [r"a\odot(Bx) + B(a\odot x)"],
                          "Cookbook (38), the product rule for the Hadamard product"),
    # -- traces --------------------------------------------------------------------------------
    "trace-AX": (r"\operatorname{tr}(AX)", "X", {"A": "d,n", "X": "n,d"}, r"A^T", [r"A"],
                 "Cookbook (100)"),
    "trace-AXB": (r"\operatorname{tr}(AXB)", "X", SQ, r"A^TB^T", [r"B^TA^T", r"AB"],
                  "Cookbook (101)"),
    "trace-square": (r"\operatorname{tr}(X^2)", "X", {"X": "d,d"}, r"2X^T", [r"2X", r"X^T"],
                     "Cookbook (106)"),
    "trace-XTBX": (r"\operatorname{tr}(X^TBX)", "X", SQ, r"(B+B^T)X", [r"2BX"],
                   "Cookbook (108)"),
    "trace-XTX": (r"\operatorname{tr}(X^TX)", "X", {"X": "n,d"}, r"2X", [r"X", r"2X^T"],
                  "Cookbook (108) with B = I"),
    "trace-XTAXB": (r"\operatorname{tr}(X^TAXB)", "X", {"X": "n,d", "A": "n,n", "B": "d,d"},
                    r"AXB + A^TXB^T", [r"2AXB", r"(A+A^T)XB"], "Cookbook (117)"),
    "trace-inverse-AXB": (r"\operatorname{tr}(AX^{-1}B)", "X", {"A": "k,d", "X": "d,d", "B": "d,k"},
                          r"-X^{-T}A^TB^TX^{-T}", [r"-X^{-1}BAX^{-1}", r"X^{-T}A^TB^TX^{-T}"],
                          "Cookbook (124)"),
    "trace-inverse": (r"\operatorname{tr}(X^{-1})", "X", {"X": "d,d"}, r"-X^{-T}X^{-T}",
                      [r"-X^{-1}X^{-1}", r"X^{-T}"], "Cookbook (64) with A = 0"),
    # -- determinants and log-determinants ----------------------------------------------------
    "log-det-spd": (r"\log\det S", "S", {"S": "d,d,spd"}, r"S^{-1}", [r"S", r"-S^{-1}"],
                    "Cookbook (57), S symmetric"),
    "log-det-spd-T": (r"\log\det S", "S", {"S": "d,d,spd"}, r"S^{-T}", [r"\frac{1}{2}S^{-T}"],
                      "Cookbook (57)"),
    "log-det": (r"\log\det X", "X", {"X": "d,d"}, r"X^{-T}", [r"X^{-1}"], "Cookbook (57)"),
    "log-det-gram": (r"\log\det(X^TX)", "X", {"X": "n,2"}, r"2X(X^TX)^{-1}",
                     [r"X(X^TX)^{-1}", r"2X^T"],
                     "Cookbook (55): 2 (X^+)^T, X^+ = (X^TX)^{-1} X^T; n >= 2 = rank"),
    "det": (r"\det(X)", "X", {"X": "d,d"}, r"\det(X)X^{-T}", [r"\det(X)X^{-1}"],
            "Cookbook (49)"),
    "det-inverse": (r"\det(X^{-1})", "X", {"X": "d,d"}, r"-\det(X^{-1})X^{-T}",
                    [r"\det(X^{-1})X^{-T}", r"-\det(X^{-1})X^{-1}"], "Cookbook (62)"),
    "inverse-bilinear": (r"a^TX^{-1}b", "X", {"a": "d", "b": "d", "X": "d,d"},
                         r"-X^{-T}ab^TX^{-T}", [r"-X^{-1}ab^TX^{-1}", r"X^{-T}ab^TX^{-T}"],
                         "Cookbook (61)"),
    # -- the Gaussian's negative log-likelihood -----------------------------------------------
    "gaussian-mean": (r"\frac{1}{2}(x-\mu)^T\Lambda(x-\mu)", r"\mu", GAUSS, r"-\Lambda(x-\mu)",
                      [r"\Lambda(x-\mu)", r"-2\Lambda(x-\mu)"],
                      "Cookbook (86) with W = Lambda / 2 symmetric"),
    "gaussian-precision": (r"-\frac{1}{2}\log\det\Lambda + \frac{1}{2}(x-\mu)^T\Lambda(x-\mu)",
                           r"\Lambda", GAUSS,
                           r"-\frac{1}{2}\Lambda^{-1} + \frac{1}{2}(x-\mu)(x-\mu)^T",
                           [r"-\frac{1}{2}\Lambda + \frac{1}{2}(x-\mu)(x-\mu)^T",
                            r"\frac{1}{2}\Lambda^{-1} + \frac{1}{2}(x-\mu)(x-\mu)^T"],
                           "Cookbook (57) and (72), Lambda symmetric"),
    "gaussian-covariance": (r"\frac{1}{2}\log\det\Sigma + \frac{1}{2}(x-\mu)^T\Sigma^{-1}(x-\mu)",
                            r"\Sigma", GAUSS,
                            (r"\frac{1}{2}\Sigma^{-1} - \frac{1}{2}\Sigma^{-1}(x-\mu)(x-\mu)^T"
                             r"\Sigma^{-1}"),
                            [r"\frac{1}{2}\Sigma^{-1} - \frac{1}{2}(x-\mu)(x-\mu)^T"],
                            "Cookbook (57) and (61), Sigma symmetric"),
    # -- norms and elementwise functions inside a sum -----------------------------------------
    "frobenius-squared": (r"\|W\|_F^2", "W", {"W": "d,k"}, r"2W", [r"W"], "Cookbook (132)"),
    "norm": (r"\|x-a\|", "x", {"x": "d", "a": "d"}, r"\frac{x-a}{\|x-a\|}", [r"x-a"],
             "Cookbook (129)"),
    "sum-tanh": (r"\mathbf{1}^T\tanh(Xw)", "w", {"X": "n,d", "w": "d"},
                 r"X^T(\mathbf{1}-\tanh(Xw)\odot\tanh(Xw))", [r"X^T(\mathbf{1}-\tanh(Xw))"],
                 "tanh' = 1 - tanh^2, chain rule"),
    "sum-exp": (r"\operatorname{sum}(\exp(Xw))", "w", {"X": "n,d", "w": "d"}, r"X^T\exp(Xw)",
                [r"\exp(Xw)^TX", r"\exp(Xw)"], "exp' = exp, chain rule"),
    "sum-sin": (r"\mathbf{1}^T\sin(Ax)", "x", {"A": "m,d", "x": "d"}, r"A^T\cos(Ax)",
                [r"-A^T\cos(Ax)"], "sin' = cos, chain rule"),
}


def _check(loss, wrt, shapes, claim):
    return verify_gradient(loss, wrt, claim, shapes=shapes, timeout=None)


CHECKS = [(name, "correct", case[3]) for name, case in CASES.items()] + [
    (name, "wrong", slip) for name, case in CASES.items() for slip in case[4]]


def test_at_least_thirty_cases_each_with_its_slip():
    # The issue: at least 30 matrix-form cases, each with its correct claim and a typical slip.
    assert len(CASES) >= 30
    assert all(case[3] and case[4] and case[5] for case in CASES.values())
    assert len(CHECKS) == len(CASES) + sum(len(case[4]) for case in CASES.values())


@pytest.mark.parametrize(("name", "truth", "claim"), CHECKS,
                         ids=[f"{n}-{t}-{i}" for i, (n, t, _) in enumerate(CHECKS)])
def test_python_api(name, truth, claim):
    loss, wrt, shapes, _, _, _ = CASES[name]
    verdict = _check(loss, wrt, shapes, claim)
    assert verdict.verdict == truth, (name, claim, verdict.hint, verdict.reason)
    if truth == "correct" and name.startswith("two-layer"):
        assert "kink" in verdict.reason  # relu's arguments on both sides at the instances


def test_relu_without_coverage_is_undetermined():
    # relu(x o x): its arguments are never negative, so no instance can show the other side of
    # the kink; the claim 2x agrees everywhere drawn, and the rule says "undetermined".
    result = _check(r"\mathbf{1}^T\operatorname{relu}(x\odot x)", "x", {"x": "d"}, "2x")
    assert result.verdict == "undetermined" and "kink" in result.reason
    assert _check(r"\mathbf{1}^T\operatorname{relu}(x\odot x)", "x", {"x": "d"},
                  "x").verdict == "wrong"


def test_hints_name_the_usual_slips():
    assert "factor 2" in _check(LIN, "w", REG, r"\frac{1}{n}X^T(Xw-y)").hint
    assert "1/n" in _check(LIN, "w", REG, r"2X^T(Xw-y)").hint
    assert "A + A^T" in _check("x^TAx", "x", {"A": "d,d", "x": "d"}, "2Ax").hint
    assert "transpose" in _check(r"\log\det X", "X", {"X": "d,d"}, "X^{-1}").hint
    assert "wrong order" in _check(r"\operatorname{tr}(AXB)", "X", SQ, "B^TA^T").hint
    # Two square constants: the hint names the one whose transpose is missing, or both.
    shapes = {"X": "n,d", "A": "n,n", "B": "d,d"}
    one = _check(r"\operatorname{tr}(X^TAXB)", "X", shapes, "(A+A^T)XB").hint
    assert "symmetric B" in one and "B + B^T" in one and "symmetric A" not in one
    both = _check(r"\operatorname{tr}(X^TAXB)", "X", shapes, "2AXB").hint
    assert "A and B are symmetric" in both
    shape = _check(LIN, "w", REG, r"\frac{2}{n}(Xw-y)^TX")
    assert shape.verdict == "wrong" and "1 x d" in shape.hint and "d x 1" in shape.hint


def test_json_schema_extension():
    result = _check(LIN, "w", REG, r"\frac{1}{n}X^T(Xw-y)").to_json()
    assert list(result) == ["verdict", "counterexample", "expected", "claimed", "hint",
                            "derivative", "warnings", "sizes"]
    sizes = result["sizes"]
    assert set(sizes) == {"n", "d"} and sizes["n"] != sizes["d"]
    X, w, y = (result["counterexample"][k] for k in "Xwy")
    assert len(X) == sizes["n"] and all(len(row) == sizes["d"] for row in X)
    assert len(w) == sizes["d"] and len(y) == sizes["n"]
    # The expected gradient, recomputed here from the counterexample: 2 X^T (X w - y) / n.
    import numpy as np

    Xa, wa, ya = np.array(X), np.array(w), np.array(y)
    truth = 2 * Xa.T @ (Xa @ wa - ya) / sizes["n"]
    np.testing.assert_allclose(result["expected"], truth, rtol=1e-12)
    np.testing.assert_allclose(result["claimed"], truth / 2, rtol=1e-12)
    scalar = _check(RIDGE, "w", REG, r"\frac{2}{n}X^T(Xw-y) + \lambda w").to_json()
    assert isinstance(scalar["counterexample"]["lambda"], float)


@pytest.mark.parametrize(("loss", "wrt", "shapes", "claim", "words"), [
    ("a^Tb", "b", {"b": "d"}, "a", ["a is a scalar", "^T"]),
    (r"\mathbf{z}^Tw", "w", {"w": "d"}, "w", ["\\mathbf{z}", "not declared"]),
    ("Xw", "w", {"X": "n,d", "w": "d"}, "X", ["scalar", "n x 1"]),
    ("w^Tw", "w", {"w": "d,q,r"}, "w", ["two dimensions"]),
    ("w^Tw", "w", {"w": "d,e,spd"}, "w", ["square"]),
    ("w^Tw", "v", {"w": "d"}, "w", ["v has no shape"]),
    ("Xy", "w", {"X": "n,d", "y": "n", "w": "d"}, "w", ["product", "not defined"]),
    (r"\input{x}", "w", {"w": "d"}, "w", ["not allowed"]),
])
def test_bad_input_is_one_sentence(loss, wrt, shapes, claim, words):
    with pytest.raises(ValueError) as error:
        _check(loss, wrt, shapes, claim)
    message = str(error.value)
    assert "\n" not in message and "column" in message
    assert all(w in message for w in words), message


# -- through the command line -------------------------------------------------------------------

def _cli(*args, stdin=None):
    """``python -m symlearn verify ARGS``; verdict checks pass ``--timeout`` (see _VERDICT)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
         os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "symlearn", "verify", *args], input=stdin, check=False,
                          capture_output=True, text=True, env=env, timeout=300)


# The default deadline (10 s) is the user's budget; on a loaded test machine a correct claim could
# then be "undetermined" by the deadline, which is not what these tests are about.
_VERDICT = ("--timeout", "120")


def _shape_args(shapes):
    return [a for name, dims in shapes.items() for a in ("--shape", f"{name}={dims}")]


def test_cli_json_counterexample():
    out = _cli(LIN, "--wrt", "w", "--claim", r"\frac{2}{n}(X^TX w - X^Ty)", "--json", *_VERDICT,
               *_shape_args(REG))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["verdict"] == "correct"
    out = _cli(LIN, "--wrt", r"\mathbf{w}", "--claim", r"\frac{2}{n}X^T(Xw-y)^T", "--json",
               *_shape_args(REG))
    assert out.returncode == 2 and "not defined" in out.stderr  # (n x 1)^T: X^T times a row
    out = _cli(LIN, "--wrt", "w", "--claim", r"\frac{2}{n}(Xw-y)^TX", "--json", *_VERDICT,
               *_shape_args(REG))
    result = json.loads(out.stdout)
    assert out.returncode == 1 and result["verdict"] == "wrong"
    assert "1 x d" in result["hint"] and "d x 1" in result["hint"]


# Fourteen checks (the correct claim and a slip of each of seven cases) in one batch process: the
# identity I and Greek names (--shape \mu=d) go through the command line too.
BATCH = ["linear-regression", "ridge", "softmax-regression", "quadratic-form", "log-det-spd",
         "ridge-normal-equations", "gaussian-mean"]


def test_cli_batch_verdicts():
    lines, truths = [], []
    for name in BATCH:
        loss, wrt, shapes, correct, slips, _ = CASES[name]
        shape = [f"{k}={v}" for k, v in shapes.items()]
        for truth, claim in (("correct", correct), ("wrong", slips[0])):
            lines.append(json.dumps({"id": f"{name}-{truth}", "loss": loss, "wrt": wrt,
                                     "claim": claim, "shape": shape}))
            truths.append(truth)
    lines.append(json.dumps({"id": "bad", "loss": "a^Tb", "wrt": "b", "claim": "a",
                             "shape": ["b=d"]}))
    out = _cli("--batch", "-", "--jobs", "2", *_VERDICT, stdin="\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["verdict"] for r in results] == [*truths, "bad_input"], results
    wrong = [r for r in results if r["verdict"] == "wrong"]
    assert all(r["sizes"] and r["counterexample"] for r in wrong)
    assert "a is a scalar" in results[-1]["error"]


@pytest.mark.parametrize(("args", "words"), [
    (["a^Tb", "--wrt", "b", "--claim", "a", "--shape", "b=d"], ["a is a scalar", "^T"]),
    (["w^Tw", "--wrt", "w", "--claim", "2w", "--shape", "w=d;e"], ["--shape", "d;e", "not a dimension"]),
    (["w^Tw", "--wrt", "w", "--claim", "2w", "--shape", "w"], ["--shape", "NAME=DIMS"]),
    ([r"\mathbf{z}^Tw", "--wrt", "w", "--claim", "z", "--shape", "w=d"], ["not declared"]),
])
def test_cli_bad_input_exit_2(args, words):
    out = _cli(*args)
    assert out.returncode == 2 and out.stdout == ""
    message = out.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert all(w in message for w in words), message


def test_cli_help_names_the_matrix_options():
    out = _cli("--help")
    assert out.returncode == 0
    for words in ("--shape", "NAME=DIMS", "spd", "\\operatorname{tr}", "sizes"):
        assert words in out.stdout, words


def test_derivative_of_a_wrong_claim_is_shown_only_when_confirmed():
    result = _check(LIN, "w", REG, r"\frac{1}{n}X^T(Xw-y)").to_json()
    assert result["derivative"] and "X^{T}" in result["derivative"]
    shape = _check(LIN, "w", REG, r"\frac{2}{n}(Xw-y)^TX").to_json()
    assert shape["derivative"] is None and shape["sizes"] is None
