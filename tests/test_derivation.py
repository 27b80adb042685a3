"""The derivation model: steps are checked when added; a wrong step fails naming the step."""

import pytest
import sympy as sp

from symlearn import Custom, Derivation, Numeric, Rounded, Step, StepCheckError, Symbolic, sigmoid
from symlearn.derivation import DerivationError, require_checked

x, y = sp.symbols("x y", real=True)


def test_symbolic_step_passes_and_records_how():
    d = Derivation("t", "T").steps(Step(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1, "Pythagoras"))
    (step,) = d.all_steps()
    assert step.result.passed and step.result.method == "symbolic"


def test_auto_falls_back_to_numeric_and_says_so():
    # simplify does not close sigma(x) = (1 + tanh(x/2)) / 2, the numeric test does.
    d = Derivation("t", "T").steps(Step(sigmoid(x), (1 + sp.tanh(x / 2)) / 2, "tanh form"))
    (step,) = d.all_steps()
    assert step.result.passed
    assert step.result.method in {"symbolic", "numeric"}
    if step.result.method == "numeric":
        assert "50 random points" in step.result.detail


def test_wrong_step_fails_naming_the_step():
    good = Step(sp.diff(x**3, x), 3 * x**2, "power rule")
    wrong = Step(sp.diff(sigmoid(x), x), sigmoid(x) ** 2, "a planted slip")
    with pytest.raises(StepCheckError) as info:
        Derivation("planted", "T").steps(good, wrong)
    message = str(info.value)
    assert "step 2" in message and "'planted'" in message and "a planted slip" in message


def test_numeric_check_uses_declared_domain():
    # sqrt(x^2) = x holds only for x > 0: passes on (0, 5), fails on (-5, 5).
    step = Step(sp.sqrt(x**2), x, "positive domain", check=Numeric())
    Derivation("t", "T", domain={x: (0, 5)}).steps(step)
    with pytest.raises(StepCheckError):
        Derivation("t", "T", domain={x: (-5, 5)}).steps(step)


def test_numeric_check_states_point_count():
    d = Derivation("t", "T").steps(Step(sp.exp(x + y), sp.exp(x) * sp.exp(y), "", check=Numeric(points=64)))
    assert "64 random points" in d.all_steps()[0].result.detail


def test_rounded_check():
    Derivation("t", "T").steps(Step(sp.exp(-1), sp.Float("0.37", 2), "", relation="approx", check=Rounded(2)))
    with pytest.raises(StepCheckError):
        Derivation("t", "T").steps(Step(sp.exp(-1), sp.Float("0.36", 2), "", relation="approx", check=Rounded(2)))


def test_chain_checks_each_line_against_the_previous():
    d = Derivation("t", "T").chain(
        (x + 1) ** 2, (x**2 + 2 * x + 1, "expand"), ((x + 1) * (x + 1), "factor")
    )
    assert [s.continued for s in d.all_steps()] == [False, True]
    with pytest.raises(StepCheckError, match="step 2"):
        Derivation("t", "T").chain((x + 1) ** 2, (x**2 + 2 * x + 1, "expand"), (x**2 + 1, "slip"))


def test_definitions_are_substituted_in_checks():
    f = sp.Symbol("f")
    d = Derivation("t", "T", definitions={f: x**2 * y})
    d.steps(Step(sp.Derivative(f, x), 2 * x * y, "power rule"))
    with pytest.raises(StepCheckError):
        d.steps(Step(sp.Derivative(f, x), x * y, "slip"))


def test_unchecked_step_cannot_be_rendered():
    d = Derivation("t", "T").steps(Step(x, x + 0, "no check", check=None))
    with pytest.raises(DerivationError, match="unchecked"):
        require_checked(d)


def test_custom_check_failing_raises():
    with pytest.raises(StepCheckError):
        Derivation("t", "T").steps(Step(x, y, "", check=Custom(lambda a, b, c: False, "never")))


def test_builders_return_new_objects():
    d0 = Derivation("t", "T")
    d1 = d0.text("hello")
    assert d0.blocks == () and len(d1.blocks) == 1


def test_symbolic_check_rejects_non_equalities():
    with pytest.raises(StepCheckError):
        Derivation("t", "T").steps(Step(x**2, 0, "", relation=">=", check=Symbolic()))


def test_inequality_checked_numerically():
    Derivation("t", "T").steps(Step(x**2 + 1, 0, "", relation=">", check=Numeric()))
    with pytest.raises(StepCheckError):
        Derivation("t", "T").steps(Step(x, 0, "", relation=">", check=Numeric()))


def test_matrix_identity_checked_on_instance():
    n, d = sp.symbols("n d", integer=True, positive=True)
    A = sp.MatrixSymbol("A", n, d)
    B = sp.MatrixSymbol("B", n, d)
    doc = Derivation("t", "T", sizes={n: 3, d: 2})
    doc.steps(Step((A + B).T, A.T + B.T, "transpose of a sum"))
    with pytest.raises(StepCheckError):
        doc.steps(Step((A.T * B).T, A.T * B, "slip: transpose dropped"))


# --------------------------------------------------------------------------------------------------
# Every symbol a formula shows is defined for the reader (issue 15: "lr-schedules uses s, k, a, b,
# N, d, d_f, p undefined")


def test_latex_symbols_reads_symbols_as_a_reader_does():
    from symlearn.derivation import latex_symbols

    assert latex_symbols(r"\frac{\partial L}{\partial w_{1}}") == {"L", "w_1"}
    assert latex_symbols(r"\mathbf{X}^{T} \boldsymbol{\theta} + \hat{y}_i") == {"X", r"\theta", r"\hat y_i"}
    assert latex_symbols(r"\operatorname{softplus}(z)\ \text{for all reals}") == {"z"}
    assert latex_symbols(r"\begin{cases} r & |r| \le \delta \end{cases}") == {"r", r"\delta"}
    assert latex_symbols(r"\sum_{k \le 3} g_k^2 + \min_t E(t)") == {"g_k", "E"}  # bound: k, t
    assert latex_symbols(r"\mathcal{L} + 0.96^{t\psi}") == {r"\mathcal L", "t", r"\psi"}


def test_undefined_symbol_in_a_step_is_reported_with_its_step():
    from symlearn.derivation import undefined_symbols

    a, b, c = sp.symbols("a b c")
    doc = Derivation("t", "T").text("For a number $a$:").steps(
        Step((a + b) ** 2, a**2 + 2 * a * b + b**2, "expand", check=Symbolic()),
        Step(c * a, a * c, "commute", check=Symbolic()),
    )
    found = [(u.where, u.symbol) for u in undefined_symbols(doc)]
    assert found == [("step 1", "b"), ("step 2", "c")]


def test_definitions_count_from_prose_where_clause_tables_and_given_steps():
    from symlearn.derivation import undefined_symbols

    a, b, q, f, z = sp.symbols("a b q f z")
    p = sp.symbols("p_1:4")
    doc = (
        Derivation("t", "T", summary="The product $f$ of two numbers.", definitions={q: a + b})
        .table(("node", "value"), [(a, 1), (b, 2)])          # a notation table defines a, b
        .steps(Step(q, a + b, "definition", check=Symbolic()))  # a given step defines q
        .steps(Step(z * q, q * z, "commute", check=Symbolic()))
        .text("where $z$ is any number.")                     # a where clause after the formula
        .text("A distribution $p_i$ over three outcomes:")   # defines p_1, p_2, p_3
        .steps(Step(p[0] + p[1] + p[2] - f, p[2] + p[1] + p[0] - f, "", check=Symbolic()))
        .steps(Step(sp.Sum(sp.exp(sp.Symbol("k")) * sp.pi, (sp.Symbol("k"), 1, 3)),
                    sp.Sum(sp.pi * sp.exp(sp.Symbol("k")), (sp.Symbol("k"), 1, 3)), "",
                    check=Symbolic()))  # k is bound by the sum; e and pi are standard
    )
    assert undefined_symbols(doc) == []


def test_a_definition_later_in_the_document_does_not_count():
    from symlearn.derivation import undefined_symbols

    doc = (
        Derivation("t", "T")
        .steps(Step(x + y, y + x, "", check=Symbolic()))
        .text("Nothing here.")
        .text("Here $x$ and $y$ are real numbers.")
    )
    assert {u.symbol for u in undefined_symbols(doc)} == {"x", "y"}


def test_accented_and_calligraphic_symbols_are_other_symbols():
    from symlearn.derivation import undefined_symbols

    y_hat, loss = sp.Symbol(r"\hat{y}"), sp.Symbol(r"\mathcal{L}")
    doc = Derivation("t", "T").text("Labels $y$, a loss $L$.").steps(
        Step(loss + y_hat, y_hat + loss, "", check=Symbolic()))
    assert {u.symbol for u in undefined_symbols(doc)} == {r"\hat y", r"\mathcal L"}


def test_notation_table_and_where_clause_define_and_render():
    from symlearn.derivation import undefined_symbols
    from symlearn.render import to_markdown

    eta, g, theta = sp.symbols("eta g_t theta_t")
    step = Step(theta - eta * g, -(eta * g) + theta, "", check=Symbolic())
    bare = Derivation("t", "T").steps(step)
    assert {u.symbol for u in undefined_symbols(bare)} == {r"\eta", "g_t", r"\theta_t"}
    where = bare.where({eta: "the learning rate", g: "the gradient", "\\theta_t": "the weights"})
    assert undefined_symbols(where) == []
    md = to_markdown(where)
    assert ("where $\\eta$ is the learning rate, $g_{t}$ the gradient and $\\theta_t$ the "
            "weights.") in md
    table = Derivation("t", "T").notation({eta: "learning rate", g: "gradient", theta: "weights"})
    assert undefined_symbols(table.steps(step)) == []
    assert "| $\\eta$ | learning rate |" in to_markdown(table)
    with pytest.raises(ValueError, match="where"):
        bare.where({})
