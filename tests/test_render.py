"""Renderers: LaTeX, Markdown, PDF; atomic writes; refusal to render unchecked derivations."""

import math
import shutil
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symlearn import Derivation, Step, sigmoid
from symlearn.derivation import DerivationError
from symlearn.printing.latex import latex, rounded_number
from symlearn.render import tex_engine, to_latex, to_markdown, write_documents
from symlearn.render._io import atomic_produce, atomic_write

x = sp.Symbol("x")
L, w1 = sp.symbols("L w_1")


def small():
    return (
        Derivation("small", "A small derivation", summary="One step and a table.")
        .section("Steps")
        .text("The sigmoid's derivative, with 5% of the work and $x \\in \\mathbb{R}$:")
        .chain(sp.Derivative(sigmoid(x), x), (sigmoid(x) * (1 - sigmoid(x)), "fdiff"))
        .table(("name", "value"), [("half", sp.Rational(1, 2)), ("abs", sp.Abs(x))])
    )


def test_latex_printer_forces_partials():
    assert latex(sp.Derivative(L, w1)) == r"\frac{\partial L}{\partial w_{1}}"
    assert latex(sp.Derivative(x**2, x)).startswith(r"\frac{\partial}{\partial x}")


def test_latex_document_uses_align_and_lists_checks():
    tex = to_latex(small())
    assert r"\begin{align*}" in tex and r"\end{align*}" in tex
    assert r"\frac{\partial}{\partial x}" in tex
    assert r"5\% of the work" in tex  # prose is escaped, math is not
    assert "How each step was checked" in tex and "checked symbolically" in tex


def test_markdown_math_renders_on_github():
    md = to_markdown(small())
    assert "$$\n\\begin{aligned}" in md
    assert "$x \\in \\mathbb{R}$" in md
    assert "\\vert" in md  # |x| escaped inside a table cell
    assert md.startswith("# A small derivation")


def test_unchecked_derivation_is_not_rendered(tmp_path):
    d = Derivation("u", "U").steps(Step(x, x, "no check", check=None))
    with pytest.raises(DerivationError):
        to_latex(d)
    with pytest.raises(DerivationError):
        write_documents(d, tmp_path, ("md",))
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "doc.tex"
    atomic_write(target, "old")

    def explode(tmp: Path):
        tmp.write_text("half a fi")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_produce(target, explode)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.tex"]


def test_write_tex_and_md(tmp_path):
    written = write_documents(small(), tmp_path, ("tex", "md"))
    names = sorted(p.name for p in written.files)
    assert names == ["small.md", "small.tex"]


@pytest.mark.skipif(tex_engine() is None, reason="no TeX engine installed")
def test_pdf_compiles(tmp_path):
    written = write_documents(small(), tmp_path, ("pdf",), pdf_required=True)
    pdf = tmp_path / "small.pdf"
    assert pdf in written.files and pdf.read_bytes().startswith(b"%PDF")


def test_missing_tex_engine_is_a_message_not_a_failure(tmp_path, monkeypatch):
    monkeypatch.setattr("symlearn.render.tex_engine", lambda: None)
    written = write_documents(small(), tmp_path, ("tex", "pdf"))
    assert any("no TeX engine" in s for s in written.skipped)
    assert (tmp_path / "small.tex").exists() and not (tmp_path / "small.pdf").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_graph_figure_is_drawn(tmp_path):
    from symlearn import graph

    q, y, z = sp.symbols("q y z")
    doc = graph(q=x + y, f=q * z).backward(at={x: -2, y: 5, z: -4}, name="g", title="G")
    write_documents(doc, tmp_path, ("md",))
    svg = (tmp_path / "figures" / "g-graph.svg").read_text()
    assert "<svg" in svg and ("grad -4<" in svg or "grad &#45;4<" in svg), svg


@pytest.mark.skipif(tex_engine() is None, reason="no TeX engine installed")
def test_document_without_steps_compiles(tmp_path):
    doc = Derivation("prose", "Only prose").text("Nothing to check here.").table(("a",), [("b",)])
    assert "How each step was checked" not in to_latex(doc)
    write_documents(doc, tmp_path, ("pdf",), pdf_required=True)
    assert (tmp_path / "prose.pdf").read_bytes().startswith(b"%PDF")


def _pdf_text(pdf: Path) -> str:
    import subprocess

    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=False)
    return done.stdout


@pytest.mark.skipif(tex_engine() is None or shutil.which("pdftotext") is None,
                    reason="needs a TeX engine and pdftotext")
def test_pdf_prints_arrows_and_comparisons_as_typed(tmp_path):
    # Under OT1 (LaTeX's default) '>' in text prints as an inverted question mark: "->" read "-¿".
    doc = (Derivation("glyphs", "Glyphs: a -> b, c > d, e < f, g | h")
           .text("Domain: x -> sigmoid(x) maps R -> (0, 1); 2 > 1 and 1 < 2; a | b.")
           .steps(Step(x + x, 2 * x, "x -> 2x since 2 > 1")))
    written = write_documents(doc, tmp_path, ("pdf",), pdf_required=True)
    text = _pdf_text(tmp_path / "glyphs.pdf")
    assert "¿" not in text and "¡" not in text
    assert "x -> sigmoid(x)" in text and "2 > 1" in text and "1 < 2" in text and "a | b" in text
    assert written.problems == []


def test_log_problems_counts_overfull_boxes_over_one_point_and_missing_glyphs():
    from symlearn.render.pdf import log_problems

    log = (
        "Overfull \\hbox (111.2pt too wide) detected at line 40\n"
        "Overfull \\hbox (0.4pt too wide) in paragraph at lines 3--4\n"
        "Underfull \\hbox (badness 10000) in paragraph at lines 5--6\n"
        "Missing character: There is no ¿ in font cmr10!\n"
    )
    problems = log_problems(log)
    assert len(problems) == 2
    assert problems[0].startswith("overfull box by 111.2 pt") and "no ¿" in problems[1]


def test_markdown_maths_survives_githubs_backslash_escapes():
    # GitHub unescapes \{ \| \: before MathJax runs (github/markup#1577), and does not read
    # "$x = $" (space before the closing dollar) as maths.
    from symlearn.render._text import github_math

    doc = (Derivation("md", "Sets $\\{0, 1\\}$ and norms $\\|w\\|$")
           .text("The loss $\\mathcal{L} = $ the mean; labels $ y \\in \\{0, 1\\} $; "
                 "a thin space $a \\, b \\: c$; a price of \\$5.")
           .chain(sp.Abs(x), (sp.Piecewise((x, x >= 0), (-x, True)), "cases {x >= 0}", )))
    md = to_markdown(doc)
    inline = [m for line in md.splitlines() if not line.startswith("$$")
              for m in __import__("re").findall(r"(?<!\\)\$([^$]+)\$", line)]
    assert inline, md
    for formula in inline:
        assert formula == formula.strip(), formula  # no space just inside the dollars
        for bad in ("\\{", "\\}", "\\|", "\\:", "\\,"):
            assert bad not in formula, (bad, formula)
    assert "$\\mathcal{L} =$" in md and "$y \\in \\lbrace0, 1\\rbrace$" in md
    assert "\\$5" in md  # a literal dollar stays escaped
    display = md.split("$$\n\\begin{aligned}")[1].split("\\end{aligned}")[0]
    assert "\\{" not in display and "\\lbrace" in display  # the Piecewise brace and the reason's
    assert github_math(r"a \\ b") == r"a \\ b"  # the aligned line break is left alone
    assert github_math(r"\{x\}") == r"\lbrace x\rbrace"


def _long_document():
    ps = sp.symbols("p1:9", positive=True)
    qs = sp.symbols("q1:9", positive=True)
    kl = sum(p * sp.log(p / q) for p, q in zip(ps, qs))
    expanded = sum(p * sp.log(p) - p * sp.log(q) for p, q in zip(ps, qs))
    frac = sp.Add(*[sp.exp(q) / sum(sp.exp(v) for v in qs) for q in qs[:4]], evaluate=False)
    return (
        Derivation("long", "Long lines")
        .text("At `log_probs = [[[-1.3862943611198906, -0.2876820724517809]], "
              "[[-0.6931471805599453, -0.6931471805599453]]]` and "
              "`torch.nn.functional.binary_cross_entropy_with_logits_and_a_very_long_name`.")
        .steps(Step(kl, expanded, "$\\log(a/b) = \\log a - \\log b$"))
        .steps(Step(sp.Derivative(frac, qs[0]), sp.diff(frac, qs[0]), "differentiate"))
    )


def test_long_steps_are_broken_over_lines_in_latex_not_in_markdown():
    tex = to_latex(_long_document())
    block = tex.split("\\begin{align*}")[1].split("\\end{align*}")[0]
    assert block.count("\\\\\n") >= 2  # the one step takes several lines
    assert "\\qquad =" in block
    md = to_markdown(_long_document())
    assert md.split("\\begin{aligned}")[1].count("\\\\\n") == 0  # one row per step


@pytest.mark.skipif(tex_engine() is None, reason="no TeX engine installed")
def test_long_steps_and_code_stay_on_the_page(tmp_path):
    written = write_documents(_long_document(), tmp_path, ("pdf",), pdf_required=True)
    assert written.problems == []  # no overfull box wider than 1 pt, no missing glyph


def test_width_estimate_and_top_level_split():
    from symlearn.render._width import estimate_em, split_top_level

    assert split_top_level(r"- a + \left(b - c\right) - \frac{d + e}{f}") == [
        "- a", r"+ \left(b - c\right)", r"- \frac{d + e}{f}"]
    assert split_top_level(r"x \leq - y") == [r"x \leq - y"]  # a unary minus stays
    # a fraction is as wide as its wider part; a script is smaller than the base
    assert estimate_em(r"\frac{a + b + c}{d}") < estimate_em("a + b + c + d")
    assert estimate_em("x^{abc}") < estimate_em("xabc")
    cases = r"\begin{cases} x & \text{for}\: x > 0 \\ 0 & \text{otherwise} \end{cases}"
    assert estimate_em(cases) < estimate_em(r"x \text{for}\: x > 0 0 \text{otherwise}")


def test_heaviside_prints_as_the_indicator_it_is():
    # SymPy prints theta(u, 0); the value at 0 decides which indicator it is.
    assert latex(sp.Heaviside(x, 0)) == r"\mathbf{1}\left[x > 0\right]"
    assert latex(sp.Heaviside(x, 1)) == r"\mathbf{1}\left[x \geq 0\right]"
    assert latex(sp.Heaviside(x)) == r"H\left(x\right)"
    for value in (-1, 0, 1):  # the printed condition holds exactly where the function is 1
        assert sp.Heaviside(value, 0) == (1 if value > 0 else 0)
        assert sp.Heaviside(value, 1) == (1 if value >= 0 else 0)


# --------------------------------------------------------------------------------------------------
# Numbers as a reader should see them (issue 15: "0.9000000", "= -4.00" for an exact -4,
# "≈ 0.0" for an exact 0, (24/25)^psi(t+1)): one test per cause in the printer.


def _as_float(tex: str) -> float:
    """Python's own reading of a printed number (``1.5 \\cdot 10^{-7}``, ``10^{-8}``)."""
    mantissa, _, exponent = tex.replace(r" \cdot ", "*").partition("10^{")
    mantissa = mantissa.rstrip("*") or "1"
    if mantissa == "-":
        mantissa = "-1"
    power = int(exponent.rstrip("}")) if exponent else 0
    return float(f"{mantissa}e{power}")


def test_exact_integers_print_without_decimals():
    assert latex(sp.Integer(-4)) == "-4"
    assert latex(sp.Integer(0)) == "0"
    # A whole number carried as a displayed Float (the backward table's -4.00 for an exact -4,
    # a rounded -0.00) states no decimals: "-4" and "0", never "-4.00" or "0.0".
    assert latex(sp.Float("-4.00", 3)) == "-4"
    assert latex(sp.Float("-0.00", 2)) == "0"
    assert latex(sp.Float(0.0)) == "0"


def test_a_double_prints_its_shortest_round_trip_form():
    assert latex(sp.Float(0.9)) == "0.9"
    assert latex(sp.Float(0.1 + 0.2)) == "0.30000000000000004"  # Python's repr of that double
    assert latex(sp.Float(1.5e-7)) == r"1.5 \cdot 10^{-7}"


def test_a_double_close_to_an_integer_is_not_printed_as_the_integer():
    near = math.nextafter(4.0, 0.0)  # 3.9999999999999996, the double just below 4
    tex = latex(sp.Float(near))
    assert tex != "4" and _as_float(tex) == near
    # SymPy's default printer rounds it to 15 digits and prints "4.0"
    assert sp.latex(sp.Float(near)) == "4.0"


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_every_double_prints_a_number_that_reads_back_as_it(x):
    assert _as_float(latex(sp.Float(x))) == x


def test_stated_digits_of_a_rounded_value_are_kept():
    # A rounded value states its digits, as the course writes 0.37 * (-0.53) = -0.20.
    assert latex(sp.Float("-0.20", 2)) == "-0.20"
    assert latex(sp.Float("0.1966", 4)) == "0.1966"
    assert latex(sp.Float("470", 3)) == "470"  # not "470."


def test_rationals_print_exactly_as_the_shorter_exact_form():
    assert latex(sp.Rational(24, 25)) == "0.96"
    psi, t = sp.symbols("psi t")
    assert latex(sp.Rational(24, 25) ** (psi * (t + 1))) == r"0.96^{\psi \left(t + 1\right)}"
    assert latex(sp.Rational(1, 100000000)) == "10^{-8}"
    assert latex(sp.Rational(1, 2)) == r"\frac{1}{2}"
    assert latex(sp.Rational(1, 3)) == r"\frac{1}{3}"
    assert latex(sp.Rational(-3, 10)) == "-0.3"
    assert sp.Rational(latex(sp.Rational(24, 25))) == sp.Rational(24, 25)  # exact, not rounded


def test_rounded_number_is_exact_when_it_can_be():
    assert latex(rounded_number(-4, 2)) == "-4"
    assert latex(rounded_number(sp.Integer(0), 2)) == "0"
    assert latex(rounded_number(0.9, 6)) == "0.9"
    assert latex(rounded_number(sp.Rational(24, 25), 2)) == "0.96"
    assert latex(rounded_number(sp.Rational(2, 3), 2)) == "0.67"
    assert latex(rounded_number(0.196, 2)) == "0.20"
    assert latex(rounded_number(0.021246, 6)) == "0.021246"


def test_rounded_step_relation_follows_exactness():
    from symlearn import Rounded, StepCheckError

    exact = Derivation("t", "T").steps(
        Step(sp.Integer(2) * 2, sp.Float("4.00", 3), relation="approx", check=Rounded(2)))
    assert exact.all_steps()[0].relation == "="
    assert exact.all_steps()[0].result.detail == "checked exactly: the value is the number shown"
    assert "&= 4" in to_markdown(exact)
    with pytest.raises(StepCheckError, match="approx"):
        Derivation("t", "T").steps(Step(sp.exp(-1), sp.Float("0.37", 2), check=Rounded(2)))


def test_backward_table_prints_exact_gradients_exactly():
    from symlearn import graph

    q, y, z = sp.symbols("q y z")
    doc = graph(q=x + y, f=q * z).backward(at={x: -2, y: 5, z: -4}, name="g", title="G")
    md = to_markdown(doc)
    assert "-4.00" not in md and ".00$" not in md
    assert r"\frac{\partial f}{\partial x} &= -4 " in md  # CS231n's df/dx = -4, exactly


def test_matrix_symbols_with_superscripts_are_bold_letters_with_labels():
    assert latex(sp.MatrixSymbol("W^{(2)}", 2, 3)) == r"\mathbf{W}^{(2)}"
    assert latex(sp.MatrixSymbol(r"\delta^{(2)}", 2, 3)) == r"\boldsymbol{\delta}^{(2)}"
    assert latex(sp.MatrixSymbol("theta_1", 2, 1)) == r"\boldsymbol{\theta}_{1}"
    assert latex(sp.MatrixSymbol(r"\mathcal{L}", 1, 1)) == r"\mathcal{L}"  # a scalar loss


def test_function_applied_entrywise_prints_as_applied_to_the_matrix():
    from symlearn.calculus.matrix import elementwise

    X, w = sp.MatrixSymbol("X", 3, 2), sp.MatrixSymbol("w", 2, 1)
    assert latex(elementwise(sigmoid, X * w)) == r"\sigma\left(\mathbf{X} \mathbf{w}\right)"
    u = sp.Dummy("u")
    assert r"\mapsto" in latex(elementwise(sp.Lambda(u, u**2), X * w))  # not a matrix power


def test_quotations_in_prose_get_tex_quotes():
    """ASCII quotes in prose: TeX prints 'Hinge Loss' with two closing quotes and " straight,
    so an opening quote becomes ` (``), a closing " becomes ''; apostrophes stay."""
    from symlearn.render._text import prose_to_latex

    assert prose_to_latex("the slide 'Hinge Loss' says") == "the slide `Hinge Loss' says"
    assert prose_to_latex('he said "go" now') == "he said ``go'' now"
    assert prose_to_latex("the seeds' notes don't") == "the seeds' notes don't"
    assert prose_to_latex("('Cross Entropy')") == "(`Cross Entropy')"
    assert prose_to_latex("'$x$' is") == "`$x$' is"
    assert prose_to_latex("`it's`") == r"\texttt{it's}"  # code is left as typed
