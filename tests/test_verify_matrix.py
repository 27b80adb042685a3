r"""verify_matrix_gradient on the course's matrix-form gradients: each with its correct claim and a
typical slip. The truth of every line is a textbook result (CS231n's softmax and backprop notes,
PRML 4.3.2 and 4.3.4 for logistic and softmax regression, the Matrix Cookbook (2012) for quadratic
forms, traces and determinants), written here by hand; the verifier must call every correct claim
"correct" and every slip "wrong" (0 false "correct", 0 false "wrong").

The second part reviews the matrix-form LaTeX reader (``parse_matrix_latex``): random well-shaped
formulas and their trivially equivalent rewrites (^T or ^\top, \mathbf{x} or x, extra braces and
parentheses, \cdot, \circ, other spellings of tr and of the norm) read to the same value; random
corruptions of them read or are a ParseError naming their own column; and the silent misreadings
the review found stay fixed (Greek names, W1, ambiguous products), with the identity I."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction as EF

from symlearn.calculus.matrix import FrobeniusNorm, LogSumExp, MatSum, Softmax, _explicit
from symlearn.functions import relu, sigmoid, softplus
from symlearn.parse import ParseError, matrix_name, matrix_symbols, parse_matrix_latex
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


# -- the matrix-form LaTeX reader: trivially equivalent rewrites read alike, malformed input is a
# ParseError naming its column, and the silent misreadings found in review stay fixed ----------

READER_SHAPES = {"X": "n,d", "A": "d,d", "B": "d,d", "M": "n,n", "w": "d", "u": "d", "y": "n"}
_LEAVES = {"X": ("n", "d"), "A": ("d", "d"), "B": ("d", "d"), "M": ("n", "n"), "w": ("d", 1),
           "u": ("d", 1), "y": ("n", 1)}
_TARGETS = [(r, c) for r in ("n", "d") for c in ("n", "d", 1)] + [(1, 1)]


def _trees(shape, depth):
    """Well-shaped formula trees of the given shape: leaves (a name or its transpose), sums,
    products, transposes, scalar multiples, Hadamard products, elementwise functions, inverses of
    square ones, and traces and norms for 1 x 1."""
    leaves = [("leaf", s, False) for s, sh in _LEAVES.items() if sh == shape] + [
        ("leaf", s, True) for s, sh in _LEAVES.items() if (sh[1], sh[0]) == shape]
    leaf = st.sampled_from(leaves) if leaves else st.nothing()
    if depth == 0:
        return leaf

    def sub(sh):
        return _trees(sh, depth - 1)

    options = [leaf,
               st.tuples(st.just("sum"), sub(shape), sub(shape)),
               st.tuples(st.just("T"), sub((shape[1], shape[0]))),
               st.tuples(st.just("scale"), st.sampled_from(["2", r"\frac{1}{2}", "3"]), sub(shape)),
               st.tuples(st.just("had"), sub(shape), sub(shape)),
               st.tuples(st.just("fn"), st.sampled_from(["tanh", "exp", "sigma"]), sub(shape))]
    options += [st.tuples(st.just("prod"), sub((shape[0], k)), sub((k, shape[1])))
                for k in ("n", "d", 1)]
    if shape == ("d", "d"):
        options.append(st.tuples(st.just("inv"), st.just("A")))  # A + 3 I: invertible
    if shape == (1, 1):
        options += [st.tuples(st.just("tr"), sub(("d", "d"))),
                    st.tuples(st.just("norm"), sub(("n", 1)))]
    return st.one_of(options)


def _render(tree, draw=None):
    """The canonical LaTeX of a tree (``draw`` None), or a trivially equivalent rewrite chosen with
    ``draw``: \\mathbf{x} for x, ^\\top (^{T}, ^\\intercal...) for ^T, extra braces and parentheses,
    \\left( \\right), thin spaces, \\cdot for a product, \\circ for \\odot, tr spelled otherwise."""
    def pick(options):
        return options[0] if draw is None else draw(st.sampled_from(options))

    def wrap(text):
        if draw is None or not draw(st.booleans()):
            return text
        return pick([f"({text})", f"{{{text}}}", rf"\left({text}\right)", rf"\left[{text}\right]",
                     f"[{text}]", rf"\, {text} "])

    def transpose():
        return pick(["^T", r"^\top", "^{T}", r"^{\top}", r"^\intercal", r"^{\mathsf{T}}", "^{ T }"])

    kind = tree[0]
    if kind == "leaf":
        name = pick([tree[1], rf"\mathbf{{{tree[1]}}}", rf"\boldsymbol{{{tree[1]}}}",
                     rf"\mathbf {tree[1]}"])
        return wrap(name + (transpose() if tree[2] else ""))
    if kind == "sum":
        return wrap(_render(tree[1], draw) + pick([" + ", "+"]) + _render(tree[2], draw))
    if kind == "T":
        return wrap(f"({_render(tree[1], draw)})" + transpose())
    if kind == "scale":
        return wrap(tree[1] + pick(["", " ", r"\cdot "]) + f"({_render(tree[2], draw)})")
    if kind == "had":
        return wrap(f"({_render(tree[1], draw)})" + pick([r"\odot", r" \odot ", r"\circ"])
                    + f"({_render(tree[2], draw)})")
    if kind == "fn":
        name = pick({"tanh": [r"\tanh"], "exp": [r"\exp", r"\operatorname{exp}"],
                     "sigma": [r"\sigma", r"\operatorname{sigmoid}"]}[tree[1]])
        return wrap(name + pick([f"({_render(tree[2], draw)})",
                                 rf"\left({_render(tree[2], draw)}\right)"]))
    if kind == "prod":
        return wrap(f"({_render(tree[1], draw)})" + pick(["", " ", r"\cdot ", r"\,"])
                    + f"({_render(tree[2], draw)})")
    if kind == "inv":
        name = pick(["A", "{A}", r"\mathbf{A}"])
        return wrap(f"({name} + 3I)" + pick(["^{-1}", "^{- 1}"]))
    if kind == "tr":
        return wrap(pick([r"\operatorname{tr}", r"\operatorname{Tr}", r"\mathrm{tr}",
                          r"\operatorname{trace}"]) + f"({_render(tree[1], draw)})")
    if kind == "norm":
        inner = _render(tree[1], draw)
        return wrap(pick([rf"\|{inner}\|", rf"\lVert {inner} \rVert", rf"\Vert{inner}\Vert",
                          rf"\left\|{inner}\right\|", rf"\|{inner}\|_2"]))
    raise AssertionError(kind)


@st.composite
def _rewrites(draw):
    tree = draw(_trees(draw(st.sampled_from(_TARGETS)), 2))
    return _render(tree), _render(tree, draw)


def _value(expr) -> np.ndarray:
    """The formula at one fixed instance (n = 3, d = 2), entries from one seeded draw."""
    n, d = (sp.Symbol(s, integer=True, positive=True) for s in "nd")
    sizes = {n: 3, d: 2}
    rng = np.random.default_rng(0)
    env = {}
    for s in sorted(matrix_symbols(READER_SHAPES)[0].values(), key=str):
        sized = s.xreplace(sizes)
        env[sized] = sp.ImmutableMatrix(rng.standard_normal(tuple(int(k) for k in sized.shape)))
    expr = expr.xreplace(sizes)
    matrix = expr if getattr(expr, "is_Matrix", False) else expr * sp.Identity(1)
    return np.array(sp.N(_explicit(matrix, env), 20).tolist(), dtype=float)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rewrites())
def test_reader_reads_trivially_equivalent_rewrites_alike(pair):
    canonical, variant = pair
    a = parse_matrix_latex(canonical, READER_SHAPES)
    b = parse_matrix_latex(variant, READER_SHAPES)
    assert getattr(a, "shape", None) == getattr(b, "shape", None), (canonical, variant)
    # The same tree up to the dummy of each elementwise function's Lambda: compared by value.
    np.testing.assert_allclose(_value(b), _value(a), rtol=1e-12, atol=1e-12,
                               err_msg=f"{canonical!r} vs {variant!r}")


_MUTANTS = list("(){}[]^_\\|+-*/., T1") + [r"\odot", r"\|", r"^{-1}", r"\frac", r"\left(",
                                            r"\right)", r"\mathbf{", r"\operatorname{tr}", "^T"]


@st.composite
def _malformed(draw):
    text = _render(draw(_trees(draw(st.sampled_from(_TARGETS)), 2)), draw)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["delete", "insert", "truncate", "swap"]))
        if how == "delete" and text:
            i = min(i, len(text) - 1)
            text = text[:i] + text[i + 1:]
        elif how == "insert":
            text = text[:i] + draw(st.sampled_from(_MUTANTS)) + text[i:]
        elif how == "truncate":
            text = text[:i]
        elif how == "swap" and len(text) > 1:
            i = min(i, len(text) - 2)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_malformed())
def test_reader_malformed_input_is_a_parse_error_naming_its_column(text):
    try:
        parse_matrix_latex(text, READER_SHAPES)
    except ParseError as error:
        message = str(error)
        columns = re.findall(r"column (\d+)", message)
        assert columns and "\n" not in message, message
        # The last column named is the error's own position, inside the text.
        assert int(columns[-1]) == error.position + 1, (text, message, error.position)
        assert 0 <= error.position <= len(text), (text, message)


def _read(text, shapes):
    return parse_matrix_latex(text, shapes)


def test_reader_greek_names_are_read_whole():
    # Found in review: --shape \mu=d declared the name m_u (and \Lambda L_ambda), so \mu in the
    # formula was an undeclared scalar, broadcast over x - \mu: a silent misreading.
    shapes = {"x": "d", r"\mu": "d", r"\Lambda": "d,d,spd"}
    symbols = matrix_symbols(shapes)[0]
    assert set(symbols) == {"x", "mu", "Lambda"}
    x, mu, Lam = symbols["x"], symbols["mu"], symbols["Lambda"]
    assert _read(r"(x-\mu)^T\Lambda(x-\mu)", shapes) == (x - mu).T * Lam * (x - mu)
    assert _read(r"\boldsymbol{\mu}", shapes) == mu
    for text, name in [(r"\mu", "mu"), ("mu", "mu"), (r"\Sigma_{1}", "Sigma_1"), ("W1", "W_1"),
                       ("W12", "W_12"), (r"\mathbf{W}_1", "W_1"), (r"\mathbf{W_{2}}", "W_2")]:
        assert matrix_name(text) == name, text
    for text in ("Wx", "xy", "W_12", "W_{1"):  # two letters are not one name; W_12 is W_1 2
        with pytest.raises(ParseError, match="column 1"):
            matrix_name(text)


def test_reader_w1_is_the_declared_w_1_never_w_times_1():
    # Found in review: with --shape W1=d,h, the formula XW1 read as the scalar W times X.
    shapes = {"X": "n,d", "W1": "d,h"}
    Xs, W_1 = (matrix_symbols(shapes)[0][k] for k in ("X", "W_1"))
    for text in ("XW1", "XW_1", "XW_{1}", r"X\mathbf{W}_1", r"X\mathbf{W_1}"):
        assert _read(text, shapes) == Xs * W_1, text
    with pytest.raises(ParseError, match="ambiguous"):
        _read("X2", {"X": "n,d"})  # X_2 or 2X: not guessed
    with pytest.raises(ParseError, match=r"W_\{12\}"):
        _read("W_12", {"W_{12}": "d,d", "W_1": "d,d"})  # LaTeX: W_1 times 2


def test_reader_refuses_ambiguous_products_after_odot_and_bare_arguments():
    shapes = {"A": "d,d", "B": "d,d", "C": "d,d", "x": "d", "X": "n,d", "w": "d"}
    A_, B_, C_ = (matrix_symbols(shapes)[0][k] for k in "ABC")
    for text in (r"A \odot B C", r"A\odot B\cdot C", r"\tanh Xw", r"\det A \det B",
                 r"\operatorname{tr} AB"):
        with pytest.raises(ParseError, match="ambiguous"):
            _read(text, shapes)
    assert _read(r"A \odot (B C)", shapes) == sp.HadamardProduct(A_, B_ * C_)
    assert _read(r"(A \odot B) C", shapes) == sp.HadamardProduct(A_, B_) * C_
    assert _read(r"A B \odot C", shapes) == sp.HadamardProduct(A_ * B_, C_)
    assert _read(r"2 A \odot B", shapes) == sp.HadamardProduct(2 * A_, B_)
    assert _read(r"\log\det A", shapes) == sp.log(sp.Determinant(A_))
    assert _read(r"\det A^{-1}", shapes) == sp.Determinant(A_.I)


def test_reader_identity_takes_its_size_from_the_context():
    shapes = {"X": "n,d", "w": "d", "y": "n", "A": "d,d"}
    Xs, ws, ys, A_ = (matrix_symbols(shapes)[0][k] for k in "XwyA")
    lam = sp.Symbol("lambda", real=True)
    d_ = sp.Symbol("d", integer=True, positive=True)
    n_ = sp.Symbol("n", integer=True, positive=True)
    eye = sp.Identity(d_)
    assert _read(r"(X^TX+\lambda I)^{-1}X^Ty", shapes) == (Xs.T * Xs + lam * eye).I * Xs.T * ys
    assert _read(r"(X^TX+\lambda\mathbf{I})w", shapes) == (Xs.T * Xs + lam * eye) * ws
    assert _read(r"A - I_d", shapes) == A_ - eye
    assert _read(r"I_n y", shapes) == sp.Identity(n_) * ys
    assert _read(r"\frac{1}{2}I + A", shapes) == eye / 2 + A_
    assert _read(r"w^TIw", shapes) == ws.T * ws
    for text, words in [("I", "size of the identity"), (r"I + 1", "size of the identity"),
                        (r"X + I", "not be added to a n x d"), (r"\operatorname{tr}(I)", "I_d"),
                        (r"I_n + A", "cannot be added"), (r"I^{1/2}A", "power")]:
        with pytest.raises(ParseError, match=words):
            _read(text, shapes)
    # A declared I is that matrix, not the identity.
    I_decl = matrix_symbols({"I": "d,d", "A": "d,d"})[0]["I"]
    assert _read("A + I", {"I": "d,d", "A": "d,d"}).has(I_decl)


def test_a_declared_name_used_nowhere_is_a_warning():
    """A --shape the formulas never use is most often a name the reader did not match (the
    review found ``\\mu`` declared as another name): the verdict says which names."""
    from symlearn import verify_gradient

    shapes = {"X": ("n", "d"), "w": ("d",), "y": ("n",)}
    loss, claim = r"\frac{1}{n}\|Xw-y\|^2", r"\frac{2}{n}X^T(Xw-y)"
    assert verify_gradient(loss, "w", claim, shapes=shapes).warnings == ()
    extra = verify_gradient(loss, "w", claim, shapes={**shapes, "A": ("d", "d")})
    assert extra.verdict == "correct"
    assert any("neither the loss nor the claim: A" in w for w in extra.warnings)
