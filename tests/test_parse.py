r"""Guarded LaTeX parsing: every trap of latex2sympy2_extended 1.11 named in issue 6, the guards,
and a fuzz test. Expected values are SymPy expressions written by hand here."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from symlearn.functions import relu, sigmoid, softplus
from symlearn.parse import (
    MAX_LENGTH,
    ParseError,
    parse_condition,
    parse_definition,
    parse_latex,
    parse_symbol,
)

R = dict(real=True)
w, b, x, y, z, p, W = sp.symbols("w b x y z p W", **R)
w1, x1, w2, x2 = sp.symbols("w_1 x_1 w_2 x_2", **R)
gamma, theta, sigma, yhat, I_, E_ = sp.symbols("gamma theta sigma yhat I E", **R)


def same(a: sp.Expr, b_: sp.Expr) -> bool:
    return sp.simplify(a - b_) == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        # symbols keep their case (the parser lowercases by default: W would become w)
        ("W x", W * x),
        # \log is natural, not base 10; \ln too; \log_2 takes its base
        (r"\log x", sp.log(x)),
        (r"\ln x", sp.log(x)),
        (r"\log_2 x", sp.log(x) / sp.log(2)),
        (r"\log_{10}(x)", sp.log(x) / sp.log(10)),
        # \gamma is a variable, not Euler's constant
        (r"\gamma x", gamma * x),
        # \sigma(z) and \sigma(w x + b) are both the sigmoid (not an unknown function, not a product)
        (r"\sigma(z)", sigmoid(z)),
        (r"\sigma(w x + b)", sigmoid(w * x + b)),
        (r"\sigma\left(w x + b\right)^2", sigmoid(w * x + b) ** 2),
        (r"\sigma", sigma),
        # \hat{y} is the variable yhat (SymPy prints it back as \hat{y})
        (r"\hat{y}", yhat),
        (r"\hat y", yhat),
        # \frac{\partial}{\partial w_1}(...) is the derivative, evaluated
        (r"\frac{\partial}{\partial w_1}(w_1^2 x_1)", 2 * w1 * x1),
        (r"\frac{d}{dx}\left(x^3\right)", 3 * x**2),
        (r"\operatorname{softplus}(z)", softplus(z)),
        (r"\operatorname{relu}(z)", relu(z)),
        # adjacent letters multiply; braced and plain subscripts are the same variable
        ("w_1x_1", w1 * x1),
        ("w_{1}x_{1}+w_2x_2", w1 * x1 + w2 * x2),
        (r"e^{-(w_1x_1+b)}", sp.exp(-(w1 * x1 + b))),
        (r"\exp(x)", sp.exp(x)),
        ("e", sp.E),
        (r"\mathrm{e}^x", sp.exp(x)),
        # I and E are variables, not the imaginary unit and Euler's number
        ("I x", I_ * x),
        ("E", E_),
        # the parser's mixed-number reading of 2\frac{1}{2} (= 5/2) is a product here
        (r"2\frac{1}{2}", sp.Integer(1)),
        (r"2\frac{x}{y}", 2 * x / y),
        ("0.1x", x / 10),
        ("x^23", 3 * x**2),  # LaTeX: one token in the exponent
        (r"|x|", sp.Abs(x)),
        (r"\left| x \right|", sp.Abs(x)),
        (r"\sqrt{x}", sp.sqrt(x)),
        (r"x\cdot y \times z", x * y * z),
        (r"\frac{1}{1+e^{-(w x+b)}}", 1 / (1 + sp.exp(-(w * x + b)))),
        (r"-y\log(\sigma(z)) - (1-y)\log(1-\sigma(z))",
         -y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z))),
        (r"\tanh^2(x)", sp.tanh(x) ** 2),
        (r"\max(0, x)", sp.Max(0, x)),
        ("$x^2$", x**2),
        (r"\theta_1", sp.Symbol("theta_1", **R)),
        (r"y_{\text{true}}", sp.Symbol("y_true", **R)),
        ("x_{10}", sp.Symbol("x_10", **R)),
    ],
)
def test_conventions(text, expected):
    assert parse_latex(text) == expected or same(parse_latex(text), expected)


def test_all_variables_are_real():
    expr = parse_latex(r"w_1x_1 + \theta + \hat{y}")
    assert all(s.is_real for s in expr.free_symbols)


def test_sum_limits_and_indexed_entries():
    expr = parse_latex(r"\sum_{i=1}^{3} x_i")
    X = sp.IndexedBase("x", real=True)
    assert sp.simplify(expr.doit() - (X[1] + X[2] + X[3])) == 0
    # \sum_i runs from 1 to an implicit positive integer bound n_i (issue 12).
    implicit = parse_latex(r"\sum_i x_i")
    ((_index, lower, upper),) = implicit.limits
    assert lower == 1 and upper.name == "n_i" and upper.is_integer and upper.is_positive
    assert sp.simplify(implicit.subs(upper, 3).doit() - (X[1] + X[2] + X[3])) == 0
    with pytest.raises(ParseError, match="needs its index"):
        parse_latex(r"\sum_{i=1} x_i")


def test_product_with_limits():
    X = sp.IndexedBase("x", real=True)
    expr = parse_latex(r"\prod_{i=1}^{3} x_i")
    assert sp.expand(expr.doit() - X[1] * X[2] * X[3]) == 0


@pytest.mark.parametrize(
    "text, words",
    [
        ("1e-8", "10^{-8}"),  # not e - 8 (issue 11)
        ("3E5x", "10^{5}"),
        (r"\sum_{e=1}^{n} e", "summation index 'e'"),  # not n times Euler's number
        (r"\sum_{\pi=1}^{n} x", "summation index"),
        ("0^{-1}", "division by zero"),  # refused like \frac{1}{0}, not complex infinity
        (r"\frac{1}{0}", "zoo"),
        (r"\log 0", "division by zero or an infinite value"),
        (r"\begin{cases} 1 & x > 0 \end{cases", r"\end{cases}"),
        (r"\begin{matrix} 1 \end{matrix}", r"\begin{cases}"),
        # 16 nested derivative operators ran for 40 s (issue 11): bounded before the work.
        (r"\frac{d}{dx}(" * 16 + r"\sigma(x^2)" + ")" * 16, "more than 4 derivative operators"),
    ],
)
def test_parse_traps_are_refused_with_one_sentence(text, words):
    with pytest.raises(ParseError) as info:
        parse_latex(text)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_nested_max_min_and_sign_spellings():
    a, b, c = sp.symbols("a b c", real=True)
    assert parse_latex(r"\max(a,\min(b,c))") == sp.Max(a, sp.Min(b, c))
    assert parse_latex(r"\min\left(\max(0, x), 6\right)") == sp.Min(sp.Max(0, x), 6)
    for spelling in (r"\operatorname{sign}(x)", r"\mathrm{sgn}(x)", r"\operatorname{sgn}(x)"):
        assert parse_latex(spelling) == sp.sign(x)


def test_cases_is_a_piecewise():
    d = sp.Symbol("delta", real=True)
    huber = parse_latex(r"\begin{cases} \frac{1}{2}x^2 & |x| \le \delta \\ "
                        r"\delta(|x| - \frac{1}{2}\delta) & \text{otherwise} \end{cases}")
    twin = sp.Piecewise((x**2 / 2, sp.Abs(x) <= d), (d * (sp.Abs(x) - d / 2), True))
    for xv, dv in ((0.5, 1), (3, 1), (-7, 5), (-2, 5)):
        point = {x: sp.Rational(xv), d: sp.Rational(dv)}
        assert huber.subs(point) == twin.subs(point)
    step = parse_latex(r"\begin{cases} 1 & \text{if } 0 < x < 6 \\ 0 & \text{otherwise}"
                       r"\end{cases}")
    assert [step.subs(x, v) for v in (-1, 3, 7)] == [0, 1, 0]


def test_conditions_and_definitions():
    t1, t2, z = sp.symbols("t_1 t_2 z", real=True)
    assert parse_condition("t_1+t_2=1") == [sp.Eq(t1 + t2, 1)]
    assert parse_condition(r"0 < x \le 1") == [sp.Lt(0, x), sp.Le(x, 1)]
    assert parse_condition(r"\left(x\right) \ge 2") == [sp.Ge(x, 2)]
    assert parse_condition(r"x \in (0, 1]") == [sp.Lt(0, x), sp.Le(x, 1)]
    assert parse_condition(r"p \in \left[-2, 3\right)") == [sp.Le(-2, p), sp.Lt(p, 3)]
    symbol, expr = parse_definition("z=w_1x_1+b")
    w1, x1, b = sp.symbols("w_1 x_1 b", real=True)
    assert symbol == z and expr == w1 * x1 + b
    with pytest.raises(ParseError, match="let"):
        parse_definition("w_1x_1+b")


@pytest.mark.parametrize(
    "text, column",
    [
        (r"\input{/etc/passwd}", 1),
        (r"x + \include{a}", 5),
        (r"\def\x{1}", 1),
        (r"\catcode`\^=7", 1),
        (r"x + \foo", 5),
        (r"\frac12", 6),
        ("x_", 3),
        ("(x", 3),
        ("__import__('os')", 1),
        (r"\sigma'(z)", 7),
        ("x = 1", 3),
        ("x + y; z", 6),
        ("a,b", 1),
        (r"f(x) \newcommand", 6),
        (r"\frac{\partial L}{\partial w}", 1),
    ],
)
def test_refused_input_names_the_column(text, column):
    with pytest.raises(ParseError) as info:
        parse_latex(text)
    message = str(info.value)
    assert f"column {column}" in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", ["", "   ", "x" * (MAX_LENGTH + 1), r"9^{9^{9}}", "x^{10^{6}}"])
def test_empty_long_and_explosive_input_is_refused(text):
    with pytest.raises(ParseError):
        parse_latex(text)


def test_no_user_invented_functions():
    # f(x) is f times x: only symlearn's named functions exist.
    assert parse_latex("f(x)") == sp.Symbol("f", **R) * x
    assert not parse_latex("f(x)").atoms(sp.core.function.AppliedUndef)
    with pytest.raises(ParseError, match="unknown function"):
        parse_latex(r"\operatorname{evil}(x)")


@pytest.mark.parametrize(
    "text, name",
    [("w_1", "w_1"), ("w_{1}", "w_1"), (r"\theta", "theta"), ("theta", "theta"),
     (r"\hat{y}", "yhat"), ("yhat", "yhat"), ("b", "b"), (r"\lambda", "lambda")],
)
def test_parse_symbol(text, name):
    assert parse_symbol(text) == sp.Symbol(name, **R)


@pytest.mark.parametrize("text", ["1x", "xy", "x+1", "__import__('os')", "", "e", r"\frac{1}{2}"])
def test_parse_symbol_refuses_non_variables(text):
    with pytest.raises(ParseError):
        parse_symbol(text)


def test_parse_condition():
    assert parse_condition("x>0") == [sp.Gt(x, 0)]
    assert parse_condition("0<p<1") == [sp.Lt(0, p), sp.Lt(p, 1)]
    assert parse_condition(r"\lambda \ge 0") == [sp.Ge(sp.Symbol("lambda", **R), 0)]
    with pytest.raises(ParseError):
        parse_condition("x")


ADVERSARIAL = [
    r"\input{/etc/passwd}", r"\csname x\endcsname", r"\write18{rm -rf /}", "__import__('os').system('id')",
    "lambda: 0", "exec('1')", r"\frac{", r"\left(", "}}}{{{", "^^^", "__", r"\\\\", "((((((((((",
    "1e999999", "9" * 40, r"\sum_{i=1}^{99} x_i", r"\sigma(\sigma(\sigma(\sigma(x))))",
    "x" + "^{2}" * 50, "(" * 60 + "x" + ")" * 60, "\x00", "é", r"\operatorname{eye}(100000)",
]

LATEXISH = st.lists(
    st.sampled_from(list("xyzwbe12^_{}()[]+-*/|., ") + [
        r"\frac", r"\sigma", r"\log", r"\ln", r"\exp", r"\sum", r"\partial", r"\input", r"\def",
        r"\left(", r"\right)", r"\hat", r"\gamma", r"\operatorname{softplus}", r"\cdot", r"\sqrt",
        "__import__", "eval", "'", "\\",
    ]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
@given(st.one_of(LATEXISH, st.text(max_size=40), st.sampled_from(ADVERSARIAL)))
def test_fuzz_parse_gives_an_expression_or_a_parse_error(text):
    try:
        result = parse_latex(text)
    except ParseError as error:
        assert "column" in str(error) and "\n" not in str(error)
    else:
        assert isinstance(result, sp.Expr)
        assert not result.atoms(sp.core.function.AppliedUndef)


# -- matrix form (issue 13) ---------------------------------------------------------------------

MATRIX_LATEXISH = st.lists(
    st.sampled_from(list("XwyAxn2^_{}()[]+-*/|., T") + [
        r"\frac", r"\sigma", r"\log", r"\det", r"\|", r"^T", r"^{-1}", r"^{-T}", r"^\top",
        r"\operatorname{tr}", r"\operatorname{softmax}", r"\mathbf{1}", r"\mathbf{x}", r"\odot",
        r"\left(", r"\right)", r"_F", r"\cdot", r"\input", "__import__", "'", "\\",
    ]),
    max_size=30,
).map("".join)
MATRIX_SHAPES = {"X": "n,d", "w": "d", "y": "n", "A": "d,d", "x": "d"}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
@given(st.one_of(MATRIX_LATEXISH, st.text(max_size=30), st.sampled_from(ADVERSARIAL)))
@example(r"\mathbf{1}^{-1}")  # found by this test: an AttributeError, not a ParseError
@example(r"\mathbf{1}^{-T}")
@example(r"\mathbf{1}^{2}")
def test_fuzz_parse_matrix_gives_an_expression_or_a_parse_error(text):
    from symlearn.parse import parse_matrix_latex

    try:
        result = parse_matrix_latex(text, MATRIX_SHAPES)
    except ParseError as error:
        assert "column" in str(error) and "\n" not in str(error)
    else:
        assert isinstance(result, sp.Basic)
        assert not result.atoms(sp.core.function.AppliedUndef)


def test_matrix_form_keeps_the_order_of_products():
    from symlearn.parse import matrix_symbols, parse_matrix_latex

    symbols = matrix_symbols({"X": "n,d", "w": "d", "A": "d,d", "B": "d,d"})[0]
    X, w, A, B = (symbols[k] for k in "XwAB")
    assert parse_matrix_latex("AB", {"A": "d,d", "B": "d,d"}) == A * B
    assert parse_matrix_latex("BA", {"A": "d,d", "B": "d,d"}) == B * A
    assert parse_matrix_latex(r"\mathbf{X}^\top X w", {"X": "n,d", "w": "d"}) == X.T * X * w
    assert parse_matrix_latex("A^{-T}", {"A": "d,d"}) == A.I.T
    assert parse_matrix_latex(r"\operatorname{tr}(AB)", {"A": "d,d", "B": "d,d"}) == sp.Trace(A * B)
    n = sp.Symbol("n", integer=True, positive=True)
    assert parse_matrix_latex(r"\frac{1}{n}", {"X": "n,d"}) == 1 / n  # the dimension n


@pytest.mark.parametrize(("spec", "expected"), [
    ("X=n,d", ("X", ("n", "d"), None)), ("w=d", ("w", ("d", 1), None)),
    ("S=d,d,spd", ("S", ("d", "d"), "spd")), ("A=3,3,symmetric", ("A", (3, 3), "symmetric")),
    (r"W_{1}=d,h", ("W_1", ("d", "h"), None)), (r"\mathbf{x}=d", ("x", ("d", 1), None)),
])
def test_parse_shape(spec, expected):
    from symlearn.parse import parse_shape

    name, shape, kind = parse_shape(spec)
    assert (name, tuple(str(s) for s in shape), kind) == (
        expected[0], tuple(str(s) for s in expected[1]), expected[2])


@pytest.mark.parametrize("spec", ["X", "X=", "=n,d", "X=n,d,e", "X=n,d,spd", "X=0,d", "X=n;d",
                                  "1X=n", "X=n,,d"])
def test_parse_shape_refuses(spec):
    from symlearn.parse import parse_shape

    with pytest.raises(ParseError, match="column"):
        parse_shape(spec)


def test_matrix_form_ones_and_e():
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    from symlearn.parse import matrix_symbols, parse_matrix_latex

    shapes = {"X": "n,d", "w": "d"}
    X, w = (matrix_symbols(shapes)[0][k] for k in "Xw")
    assert parse_matrix_latex(r"\mathbf{1}^TX", shapes).shape == (1, X.shape[1])
    assert parse_matrix_latex(r"X\mathbf{1}", shapes).shape == (X.shape[0], 1)
    for unknowable in (r"\mathbf{1}w^T", r"w\mathbf{1}^T", r"\mathbf{1}", r"\mathbf{1}+2"):
        with pytest.raises(ParseError, match="mathbf"):
            parse_matrix_latex(unknowable, shapes)
    exp_xw = parse_matrix_latex(r"e^{Xw}", shapes)
    t = sp.Symbol("t")
    assert isinstance(exp_xw, ElementwiseApplyFunction) and exp_xw.expr == X * w
    assert exp_xw.function(t) == sp.exp(t)
    assert parse_matrix_latex(r"e^{2}", shapes) == sp.exp(2)


def test_a_sum_index_used_in_its_terms_is_the_index():
    r"""``\sum_{i=1}^{3} i x`` is 1x + 2x + 3x = 6x (the scanner names each occurrence of a letter
    apart; the i in the terms once read as a free variable, 3 i x). Found by the derive review."""
    import sympy as sp

    from symlearn import verify_gradient
    from symlearn.parse import parse_latex

    x = sp.Symbol("x", real=True)
    assert sp.simplify(parse_latex(r"\sum_{i=1}^{3} i x").doit() - 6 * x) == 0
    assert parse_latex(r"\prod_{j=1}^{3} j").doit() == 6
    assert verify_gradient(r"\sum_{i=1}^{3} i x^2", "x", "12x").verdict == "correct"
    assert verify_gradient(r"\sum_{i=1}^{3} i x^2", "x", "6ix").verdict != "correct"
