r"""symlearn verify in matrix form (issue 13 items 3 and 4), from LaTeX.

Every correct claim below is a textbook formula, written here by hand, never symlearn's output:
the Matrix Cookbook (Petersen & Pedersen, Nov. 15 2012 edition), sec. 2.1.1 (determinants:
eqs. 49 and 57), sec. 2.2 (inverse: eq. 61), sec. 2.4.2 (quadratic forms: eq. 81, and the
least-squares form eq. 84), sec. 2.5.1-2.5.2 (traces: eqs. 100-101, 108), sec. 2.6 (norms: eq. 129);
CS231n's notes on linear classification (softmax: dL/dW = X^T (P - Y) / n) and on
backpropagation (two-layer network: dW1 = X^T ((dZ2 W2^T) \odot 1[X W1 > 0])); PRML eq. (4.91)
(logistic regression: X^T (sigma(Xw) - y)). Each slip is the typical one: a missing 2 or 1/n, a
transposed result, a product in the wrong order, A where A + A^T is needed, a sign, a dropped
inner factor. The verifier must say "correct" for each correct claim and "wrong" for each slip:
0 false "correct", 0 false "wrong".

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

# name: (loss, wrt, shapes, correct claim, [slips], source)
CASES = {
    "linear-regression": (LIN, "w", REG, r"\frac{2}{n}X^T(Xw-y)",
                          [r"\frac{1}{n}X^T(Xw-y)", r"2X^T(Xw-y)", r"\frac{2}{n}X^T(y-Xw)"],
                          "Cookbook (84) with W = I/n"),
    "linear-regression-bold": (r"\frac{1}{2n}\|\mathbf{X}\mathbf{w}-\mathbf{y}\|^2", "w", REG,
                               r"\frac{1}{n}\mathbf{X}^\top(\mathbf{X}\mathbf{w}-\mathbf{y})",
                               [r"\mathbf{X}^\top(\mathbf{X}\mathbf{w}-\mathbf{y})"],
                               "Cookbook (84)"),
    "ridge": (RIDGE, "w", REG, r"\frac{2}{n}X^T(Xw-y) + 2\lambda w",
              [r"\frac{2}{n}X^T(Xw-y) + \lambda w"], "Cookbook (84) and (129)"),
    "ridge-normal-form": (RIDGE, "w", REG, r"\frac{2}{n}(X^TXw - X^Ty) + 2\lambda w",
                          [r"\frac{2}{n}(X^TXw - X^Ty) + 2w"], "Cookbook (84) expanded"),
    "logistic-softplus": (LOGISTIC, "w", REG, r"\frac{1}{n}X^T(\sigma(Xw)-y)",
                          [r"X^T(\sigma(Xw)-y)", r"\frac{1}{n}X^T(y-\sigma(Xw))"],
                          "PRML (4.91)"),
    "logistic-cross-entropy": (XENT, "w", REG, r"\frac{1}{n}X^T(\sigma(Xw)-y)",
                               [r"\frac{1}{n}X^T\sigma(Xw)"], "PRML (4.91)"),
    "softmax-regression": (SOFTMAX, "W", SOFT, rf"\frac{{1}}{{n}}X^T({P}-Y)",
                           [rf"\frac{{1}}{{n}}X^T{P}", rf"X^T({P}-Y)"], "CS231n softmax"),
    "quadratic-form": (r"x^TAx", "x", {"A": "d,d", "x": "d"}, r"(A+A^T)x", [r"2Ax", r"Ax"],
                       "Cookbook (81)"),
    "quadratic-form-symmetric": (r"x^TAx", "x", {"A": "d,d,symmetric", "x": "d"}, r"2Ax",
                                 [r"Ax", r"2A^2x"], "Cookbook (81), A = A^T"),
    "trace-AX": (r"\operatorname{tr}(AX)", "X", {"A": "d,n", "X": "n,d"}, r"A^T", [r"A"],
                 "Cookbook (100)"),
    "trace-AXB": (r"\operatorname{tr}(AXB)", "X", SQ, r"A^TB^T", [r"B^TA^T", r"AB"],
                  "Cookbook (101)"),
    "trace-XTBX": (r"\operatorname{tr}(X^TBX)", "X", SQ, r"(B+B^T)X", [r"2BX"],
                   "Cookbook (108)"),
    "trace-XTX": (r"\operatorname{tr}(X^TX)", "X", {"X": "n,d"}, r"2X", [r"X", r"2X^T"],
                  "Cookbook (108) with B = I"),
    "log-det-spd": (r"\log\det S", "S", {"S": "d,d,spd"}, r"S^{-1}", [r"S", r"-S^{-1}"],
                    "Cookbook (57), S symmetric"),
    "log-det-spd-T": (r"\log\det S", "S", {"S": "d,d,spd"}, r"S^{-T}", [r"\frac{1}{2}S^{-T}"],
                      "Cookbook (57)"),
    "log-det": (r"\log\det X", "X", {"X": "d,d"}, r"X^{-T}", [r"X^{-1}"], "Cookbook (57)"),
    "det": (r"\det(X)", "X", {"X": "d,d"}, r"\det(X)X^{-T}", [r"\det(X)X^{-1}"],
            "Cookbook (49)"),
    "inverse-bilinear": (r"a^TX^{-1}b", "X", {"a": "d", "b": "d", "X": "d,d"},
                         r"-X^{-T}ab^TX^{-T}", [r"-X^{-1}ab^TX^{-1}", r"X^{-T}ab^TX^{-T}"],
                         "Cookbook (61)"),
    "bilinear": (r"a^TXb", "X", {"a": "n", "b": "d", "X": "n,d"}, r"ab^T", [r"ba^T"],
                 "Cookbook (70)"),
    "frobenius-squared": (r"\|W\|_F^2", "W", {"W": "d,k"}, r"2W", [r"W"], "Cookbook (103)"),
    "norm": (r"\|x-a\|", "x", {"x": "d", "a": "d"}, r"\frac{x-a}{\|x-a\|}", [r"x-a"],
             "Cookbook (129)"),
    "hadamard": (r"\mathbf{1}^T(x\odot x)", "x", {"x": "d"}, r"2x", [r"x"],
                 "sum of squares, Cookbook (129)"),
}
# The two-layer network's dW1 (relu: coverage of both sides of the kink is required).
TWO_LAYER = (NET_LOSS, "W_1", NET,
             rf"X^T\left(\left(\frac{{1}}{{n}}({P2}-Y)W_2^T\right)\odot\operatorname{{step}}(XW_1)\right)",
             [rf"\frac{{1}}{{n}}X^T({P2}-Y)W_2^T"], "CS231n backprop notes")


def _check(loss, wrt, shapes, claim):
    return verify_gradient(loss, wrt, claim, shapes=shapes, timeout=None)


CHECKS = [(name, "correct", case[3]) for name, case in CASES.items()] + [
    (name, "wrong", slip) for name, case in CASES.items() for slip in case[4]]


def test_at_least_thirty_cases_each_with_its_slip():
    assert len(CASES) + 1 >= 15 and len(CHECKS) + 2 >= 30
    assert all(case[4] for case in CASES.values())


@pytest.mark.parametrize(("name", "truth", "claim"), CHECKS,
                         ids=[f"{n}-{t}-{i}" for i, (n, t, _) in enumerate(CHECKS)])
def test_python_api(name, truth, claim):
    loss, wrt, shapes, _, _, _ = CASES[name]
    verdict = _check(loss, wrt, shapes, claim)
    assert verdict.verdict == truth, (name, claim, verdict.hint, verdict.reason)


def test_two_layer_dw1():
    loss, wrt, shapes, correct, slips, _ = TWO_LAYER
    result = _check(loss, wrt, shapes, correct)
    assert result.verdict == "correct" and "kink" in result.reason
    assert _check(loss, wrt, shapes, slips[0]).verdict == "wrong"


def test_hints_name_the_usual_slips():
    assert "factor 2" in _check(LIN, "w", REG, r"\frac{1}{n}X^T(Xw-y)").hint
    assert "1/n" in _check(LIN, "w", REG, r"2X^T(Xw-y)").hint
    assert "A + A^T" in _check("x^TAx", "x", {"A": "d,d", "x": "d"}, "2Ax").hint
    assert "transpose" in _check(r"\log\det X", "X", {"X": "d,d"}, "X^{-1}").hint
    assert "wrong order" in _check(r"\operatorname{tr}(AXB)", "X", SQ, "B^TA^T").hint
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
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
         os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "symlearn", "verify", *args], input=stdin, check=False,
                          capture_output=True, text=True, env=env, timeout=300)


def _shape_args(shapes):
    return [a for name, dims in shapes.items() for a in ("--shape", f"{name}={dims}")]


def test_cli_json_counterexample():
    out = _cli(LIN, "--wrt", "w", "--claim", r"\frac{2}{n}(X^TX w - X^Ty)", "--json",
               *_shape_args(REG))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["verdict"] == "correct"
    out = _cli(LIN, "--wrt", r"\mathbf{w}", "--claim", r"\frac{2}{n}X^T(Xw-y)^T", "--json",
               *_shape_args(REG))
    assert out.returncode == 2 and "not defined" in out.stderr  # (n x 1)^T: X^T times a row
    out = _cli(LIN, "--wrt", "w", "--claim", r"\frac{2}{n}(Xw-y)^TX", "--json",
               *_shape_args(REG))
    result = json.loads(out.stdout)
    assert out.returncode == 1 and result["verdict"] == "wrong"
    assert "1 x d" in result["hint"] and "d x 1" in result["hint"]


# Ten cases (the correct claim and a slip of each of five) in one batch process.
BATCH = ["linear-regression", "ridge", "softmax-regression", "quadratic-form", "log-det-spd"]


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
    out = _cli("--batch", "-", "--jobs", "2", stdin="\n".join(lines) + "\n")
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
