"""The step-by-step derivative generator (``symlearn.calculus.steps``) and ``symlearn derive
--expr``.

Every result is compared with ``sympy.diff`` of the scalar expression (the independent reference),
evaluated at random points by ``evalf`` (not by symlearn's own checker), away from kinks; the
expressions come from outside references: CS231n (softmax, multiclass SVM, the staged backprop
examples), Goodfellow et al. ch. 6 (sigmoid, softplus, log-sigmoid, rectifiers, tanh, the
Gaussian output), PRML (logistic regression eq. 4.91, sum-of-squares error eq. 3.12) and the
loss catalog's elementwise rows.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from symlearn.calculus import steps as steps_module
from symlearn.calculus.steps import gradient_steps, name_intermediates
from symlearn.derivation import StepCheckError
from symlearn.functions import log_sigmoid, relu, sigmoid, softplus
from symlearn.printing.latex import latex

ROOT = Path(__file__).resolve().parent.parent

x, y, w, b, z, t, m = sp.symbols("x y w b z t m", real=True)
s1, s2, s3 = sp.symbols("s_1 s_2 s_3", real=True)
w0, w1, w2, x0, x1 = sp.symbols("w_0 w_1 w_2 x_0 x_1", real=True)
mu = sp.Symbol("mu", real=True)
sigma_ = sp.Symbol("sigma", positive=True)
n = sp.Symbol("n", integer=True, positive=True)
i = sp.Symbol("i", integer=True)
X, T = sp.IndexedBase("x"), sp.IndexedBase("t")


def _reference_cases():
    """(id, expression, variable) from the references named in the module docstring."""
    cases = [
        # CS231n, "Softmax classifier": L_i = -s_y + log sum_j e^{s_j}; dL/ds_y = p_y - 1.
        ("cs231n-softmax-target", sp.log(sp.exp(s1) + sp.exp(s2) + sp.exp(s3)) - s1, s1),
        ("cs231n-softmax-other", sp.log(sp.exp(s1) + sp.exp(s2) + sp.exp(s3)) - s1, s2),
        # CS231n, "Multiclass SVM loss": sum_{j != y} max(0, s_j - s_y + 1), target class 1.
        ("cs231n-svm-target", sp.Max(0, s2 - s1 + 1) + sp.Max(0, s3 - s1 + 1), s1),
        ("cs231n-svm-other", sp.Max(0, s2 - s1 + 1) + sp.Max(0, s3 - s1 + 1), s2),
        # CS231n backprop notes: the 2-D neuron and the staged example f = (x + σ(y))/(σ(x) + (x+y)^2).
        ("cs231n-neuron", 1 / (1 + sp.exp(-(w0 * x0 + w1 * x1 + w2))), w0),
        ("cs231n-staged-x", (x + sigmoid(y)) / (sigmoid(x) + (x + y) ** 2), x),
        ("cs231n-staged-y", (x + sigmoid(y)) / (sigmoid(x) + (x + y) ** 2), y),
        ("cs231n-multiply-gate", (x + y) * z, x),
        # Goodfellow et al. ch. 6: softplus' = σ (eq. 3.40), the BCE-on-logits form ζ((1 - 2y) z)
        # (eq. 6.22), σ and log σ, rectifiers (ReLU, absolute value), tanh units, Gaussian NLL.
        ("goodfellow-softplus", softplus(z), z),
        ("goodfellow-bce-logit", softplus((1 - 2 * y) * z), z),
        ("goodfellow-sigmoid", sigmoid(w * x + b), w),
        ("goodfellow-log-sigmoid", log_sigmoid(w * x + b), b),
        ("goodfellow-relu", relu(w * x + b), w),
        ("goodfellow-abs-rectifier", sp.Abs(w * x + b), w),
        ("goodfellow-tanh", sp.tanh(w * x + b) ** 2, w),
        ("goodfellow-gaussian-mean",
         sp.log(2 * sp.pi * sigma_**2) / 2 + (y - mu) ** 2 / (2 * sigma_**2), mu),
        ("goodfellow-gaussian-scale",
         sp.log(2 * sp.pi * sigma_**2) / 2 + (y - mu) ** 2 / (2 * sigma_**2), sigma_),
        # PRML eq. 4.90-4.91: E = -(t ln y + (1 - t) ln(1 - y)), y = σ(w x); dE/dw = (y - t) x.
        ("prml-logistic",
         -(t * sp.log(sigmoid(w * x)) + (1 - t) * sp.log(1 - sigmoid(w * x))), w),
        # PRML eq. 3.12: E = 1/2 sum_n (t_n - w x_n)^2, and its mean.
        ("prml-sum-of-squares", sp.Sum((T[i] - w * X[i]) ** 2, (i, 1, n)) / 2, w),
        ("prml-mean-squares", sp.Sum((w * X[i] - T[i]) ** 2, (i, 1, n)) / n, w),
        # Calculus-textbook rules: product, quotient, power of a sum, e^u, square root.
        ("product", x * sp.exp(-x), x),
        ("quotient", x / (1 + x**2), x),
        ("square-root", sp.sqrt(x**2 + y**2), x),
        ("margin-ranking", sp.Max(0, m - y * (x - w)), x),
    ]
    from symlearn.losses import catalog

    for name, loss in catalog.items():
        spec = loss.spec
        if spec.structured is None:
            cases.append((f"catalog-{name}", spec.expr, spec.symbols[0]))
    return cases


CASES = _reference_cases()


def _point(expr, rng: random.Random) -> dict:
    """Random values for every free symbol: positive where the symbol is positive, and in
    (0.05, 0.95) for a probability-like argument of a logarithm (the catalog's BCE)."""
    point = {}
    for symbol in expr.free_symbols:
        if isinstance(symbol, sp.Indexed) or symbol == n:
            continue
        if symbol.is_positive:
            point[symbol] = sp.Rational(rng.randint(5, 300), 100)
        else:
            point[symbol] = sp.Rational(rng.randint(-300, 300), 100)
    return point


def _scalar(expr):
    """The sum with three terms and the indexed entries as symbols: the expanded scalar form."""
    expr = expr.xreplace({n: sp.Integer(3)}).doit()
    return expr.xreplace({e: sp.Symbol(f"{e.base}_{e.indices[0]}", real=True)
                          for e in expr.atoms(sp.Indexed)})


def _elementary(expr):
    expr = expr.replace(lambda e: isinstance(e, (sigmoid, softplus, log_sigmoid)),
                        lambda e: e.rewrite(sp.exp))
    return expr.replace(lambda e: isinstance(e, relu), lambda e: sp.Max(0, e.args[0]))


def _agree(a, b, points: int = 8, seed: int = 0) -> bool:
    """``a == b`` at random points where both are finite real numbers (kinks are missed)."""
    a, b = _elementary(_scalar(sp.sympify(a))), _elementary(_scalar(sp.sympify(b)))
    a = a.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
    rng = random.Random(seed)
    used = 0
    for _ in range(10 * points):
        point = _point(a + b, rng)
        va, vb = (complex(sp.N(e.xreplace(point), 30)) for e in (a, b))
        if any(math.isnan(abs(v)) or abs(v.imag) > 1e-20 or math.isinf(abs(v)) for v in (va, vb)):
            continue
        used += 1
        if abs(va - vb) > 1e-9 * max(1.0, abs(va)):
            return False
        if used >= points:
            return True
    return False


def _substituted(expr, order):
    for symbol, definition in reversed(order):
        expr = expr.xreplace({symbol: definition})
    return expr


@pytest.mark.parametrize("name, expr, var", CASES, ids=[c[0] for c in CASES])
def test_the_steps_end_at_sympy_diff(name, expr, var):
    found = gradient_steps(expr, var, domain={m: (0.5, 2.0)})
    assert found, "no step"
    _, order = name_intermediates(expr, var)
    assert _agree(_substituted(found[-1].rhs, order).doit(), sp.diff(expr, var))
    for step in found:
        assert step.rule, "a step that names no rule"
        assert step.check is not None and step.check.passed
        assert step.check.method in {"symbolic", "numeric"}
    previous = None
    for step in found:  # the left side of a continued line is the previous right side
        lhs = step.lhs if previous is None else previous
        assert latex(lhs) != latex(step.rhs), f"{step.rule}: both sides print the same"
        previous = step.rhs


def test_there_are_at_least_twenty_reference_expressions():
    outside = [c for c in CASES if not c[0].startswith(("catalog-", "product", "quotient",
                                                        "square-root", "margin"))]
    assert len(outside) >= 20


#: One expression per rule: (expression, variable, words the first step's rule must contain).
RULE_CASES = [
    ((x - y) ** 2, x, "power rule"),
    (x, x, "x' = 1"),  # a loss that is its input (hinge-embedding at y = 1): not SymPy's fallback
    (1 / (1 + x**2), x, "(1/u)' = -u'/u^2"),
    (sp.sqrt(1 + x**2), x, r"\sqrt{u}"),
    (3 * x**2 + sp.exp(y), x, "linearity"),
    (y * sp.exp(x) * sp.sin(x), x, "constant factor"),
    (sp.exp(x) * sp.sin(x), x, "product rule"),
    (sp.sin(x) / (1 + x**2), x, "quotient rule"),
    (sp.exp(x**2), x, "(e^u)' = e^u u'"),
    (2**x, x, r"(b^u)' = b^u \log b"),
    (sp.log(1 + x**2), x, r"(\log u)' = u'/u"),
    (sigmoid(x**2), x, r"\sigma' = \sigma (1 - \sigma)"),
    (softplus(x**2), x, r"\operatorname{softplus}' = \sigma"),
    (log_sigmoid(x**2), x, r"(\log \sigma)' = 1 - \sigma"),
    (relu(x**2 - 1), x, r"\operatorname{relu}'(u) = \mathbf{1}[u > 0]"),
    (sp.Abs(x**2 - 1), x, r"|u|' = \operatorname{sign}(u)"),
    (sp.Max(x, y**2), x, r"$\max$: the larger argument's slope"),
    (sp.Min(x, y**2), x, r"$\min$: the smaller argument's slope"),
    (sp.Piecewise((x**2, x > 0), (-x, True)), x, "branch by branch"),
    (sp.Sum(w * X[i] ** 2, (i, 1, n)), w, "term by term"),
    (sp.tanh(x**2), x, r"\tanh"),
    (x**x, x, r"(f^g)' = f^g"),
]


@pytest.mark.parametrize("expr, var, rule", RULE_CASES, ids=[c[2] for c in RULE_CASES])
def test_each_rule_names_itself_and_agrees_with_sympy_diff(expr, var, rule):
    first = gradient_steps(expr, var)[0]
    assert rule in first.rule
    _, order = name_intermediates(expr, var)
    # The first line is d/dx of the whole expression: its right side, with the derivatives it
    # leaves for later evaluated, is the derivative.
    assert _agree(_substituted(first.rhs, order).doit(), sp.diff(expr, var))


def test_a_broken_rule_fails_its_check_and_shows_nothing(monkeypatch):
    def wrong_power(expr, ctx):  # n u^n u' instead of n u^(n-1) u'
        return expr.exp * expr * steps_module._d(expr.base, ctx)

    monkeypatch.setitem(steps_module.RULES, sp.Pow, wrong_power)
    with pytest.raises(StepCheckError, match="failed its"):
        gradient_steps((x - y) ** 2, x)


def test_a_broken_activation_derivative_fails_its_check(monkeypatch):
    _, rule, why = steps_module._ACTIVATIONS[sigmoid]
    monkeypatch.setitem(steps_module._ACTIVATIONS, sigmoid,
                        (lambda a: sigmoid(a) * (1 + sigmoid(a)), rule, why))
    with pytest.raises(StepCheckError):
        gradient_steps(sigmoid(w * x + b), w)


def test_a_broken_rule_cannot_enter_a_document(monkeypatch):
    from symlearn.calculus.steps import add_gradient_steps
    from symlearn.derivation import Derivation

    monkeypatch.setitem(steps_module.RULES, sp.log,
                        lambda expr, ctx: steps_module._d(expr.args[0], ctx) * expr.args[0])
    with pytest.raises(StepCheckError):
        add_gradient_steps(Derivation(name="t", title="t"), sp.log(1 + x**2), x)


def test_kinks_are_checked_numerically_and_said_so():
    found = gradient_steps(sp.Max(0, m - y * (x - w)), x)
    methods = {s.check.method for s in found}
    assert "numeric" in methods
    numeric = next(s for s in found if s.check.method == "numeric")
    assert "random points" in numeric.check.detail


def test_intermediates_are_named_innermost_first():
    outer, order = name_intermediates(
        -(t * sp.log(sigmoid(w * x + b)) + (1 - t) * sp.log(1 - sigmoid(w * x + b))), w)
    assert [str(s) for s, _ in order] == ["z", "p"]  # z = w x + b, p = sigma(z)
    assert order[0][1] == w * x + b and order[1][1] == sigmoid(sp.Symbol("z", real=True))
    assert outer.has(sp.log(1 - order[1][0]))


def test_a_symbolic_sum_says_it_was_checked_on_an_instance():
    found = gradient_steps(sp.Sum((w * X[i] - T[i]) ** 2, (i, 1, n)) / n, w)
    assert all("checked with 3 terms" in s.rule for s in found)
    assert any("1/n" in s.why for s in found)


def test_the_softmax_cross_entropy_ends_at_softmax_minus_one():
    ell = sp.log(sp.exp(s1) + sp.exp(s2) + sp.exp(s3)) - s1
    found = gradient_steps(ell, s1, textbook=sp.exp(s1) / (sp.exp(s1) + sp.exp(s2) + sp.exp(s3))
                           - 1)
    p1 = sp.exp(s1) / (sp.exp(s1) + sp.exp(s2) + sp.exp(s3))
    assert _agree(found[-1].rhs, p1 - 1)


def test_a_wrong_textbook_form_is_refused():
    with pytest.raises(StepCheckError):
        gradient_steps((x - y) ** 2, x, textbook=x - y)  # the factor 2 is missing


# --------------------------------------------------------------------------------------------------
# The loss documents use the generator, and the library no longer holds them


def test_the_library_holds_no_loss_documents():
    assert not (ROOT / "symlearn" / "losses" / "_documents.py").exists()
    assert (ROOT / "derivations" / "_loss_documents.py").exists()
    for path in (ROOT / "symlearn").rglob("*.py"):
        assert "losses._documents" not in path.read_text() or path.name == "_structured.py", path


@pytest.mark.parametrize("name", ["mse_loss", "binary_cross_entropy_with_logits", "huber_loss",
                                  "cross_entropy"])
def test_loss_documents_derive_the_gradient_rule_by_rule(name):
    from symlearn.losses import catalog

    document = catalog[name].derivation()
    reasons = [s.reason for s in document.all_steps()]
    assert not any("SymPy applies the chain rule" in r for r in reasons)
    assert sum("rule" in r or "'" in r or "linearity" in r for r in reasons) >= 2


@pytest.mark.parametrize("name", ["losses-overview", "hinge-embedding-loss", "ctc-loss",
                                  "nll-loss", "saddle-point", "mse-loss"])
def test_document_derivatives_are_rule_by_rule_and_every_step_names_its_reason(name):
    """The documents whose one-step derivatives ("BCE with logits", "gradient", "at y = 1,
    PyTorch's form") were converted: every step says why (the worked example's numbers too), no
    step fell back to SymPy's diff, and each has a derivative from the generator."""
    from symlearn.calculus.steps import StepCheck
    from symlearn.derivation import Steps
    from symlearn.registry import discover

    document = discover(ROOT / "derivations")[name].builder()
    reasons = [s.reason for s in document.all_steps()]
    assert all(r.strip() for r in reasons), reasons
    assert not any("differentiated by SymPy" in r for r in reasons)
    generated = [b.steps for b in document.blocks
                 if isinstance(b, Steps) and all(isinstance(s.check, StepCheck) for s in b.steps)]
    assert generated


def test_the_saddle_gradient_is_derived_per_coordinate_and_equals_sympy_diff():
    from symlearn.calculus.steps import StepCheck
    from symlearn.derivation import Steps
    from symlearn.registry import discover

    document = discover(ROOT / "derivations")["saddle-point"].builder()
    generated = [b.steps for b in document.blocks
                 if isinstance(b, Steps) and all(isinstance(s.check, StepCheck) for s in b.steps)]
    sx, sy = sp.symbols("x y", real=True)
    saddle = sx**2 - sy**2  # seed 003's saddle, written out here
    assert [block[-1].rhs for block in generated] == [sp.diff(saddle, sx), sp.diff(saddle, sy)]
    assert all(any("power rule" in s.reason for s in block) for block in generated)


def test_loss_derivation_finds_its_builder_from_a_foreign_derivations_folder(tmp_path, monkeypatch):
    from symlearn.losses import catalog

    (tmp_path / "mine.py").write_text("def build():\n    raise RuntimeError\n")
    monkeypatch.setenv("SYMLEARN_DERIVATIONS", str(tmp_path))
    loss = catalog["l1_loss"]
    monkeypatch.delitem(loss._kernels, "derivation", raising=False)
    assert loss.derivation().name == "l1-loss"


# --------------------------------------------------------------------------------------------------
# symlearn derive --expr


def run(*args, cwd=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "symlearn", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=cwd or ROOT, check=False)


def test_derive_expr_prints_the_steps_as_markdown():
    done = run("derive", "--expr", r"\log(1 + e^{-y(w x + b)})", "--wrt", "w")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# The derivative in $w$")
    assert r"(\log u)' = u'/u" in done.stdout and "chain rule" in done.stdout
    assert "How each step was checked" in done.stdout


def test_derive_expr_writes_documents(tmp_path):
    done = run("derive", "--expr", r"\sigma(w x + b)", "--wrt", "w", "-o", str(tmp_path),
               "--format", "md", "--format", "tex")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "derivative.md").exists() and (tmp_path / "derivative.tex").exists()
    assert r"\sigma' = \sigma (1 - \sigma)" in (tmp_path / "derivative.md").read_text()


@pytest.mark.parametrize("args, words", [
    (("--expr", r"\frac{1}{2", "--wrt", "w"), "--expr"),
    (("--expr", "x^2", "--wrt", "q"), "does not depend on q"),
    (("--expr", "x^2", "--wrt", "1x"), "--wrt"),
    (("--expr", "x^2"), "--wrt is missing"),
    (("--expr", "__import__('os').system('true')", "--wrt", "x"), "--expr"),
    (("sigmoid-neuron", "--expr", "x^2", "--wrt", "x"), "not both"),
])
def test_derive_expr_bad_input_is_one_sentence_and_exit_2(args, words):
    done = run("derive", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert words in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_derive_expr_never_shows_a_step_a_broken_rule_made(monkeypatch, capsys):
    from symlearn.cli import main

    monkeypatch.setitem(steps_module.RULES, sp.Pow,
                        lambda expr, ctx: expr.exp * expr * steps_module._d(expr.base, ctx))
    assert main(["derive", "--expr", "(x - y)^2", "--wrt", "x"]) == 1
    captured = capsys.readouterr()
    assert "could not be checked" in captured.err and "failed its" in captured.err
    assert captured.out == ""


def test_the_module_examples_run():
    import doctest

    result = doctest.testmod(steps_module, extraglobs={"sp": sp})
    assert result.attempted >= 2 and result.failed == 0


def test_the_why_sentence_speaks_of_the_documents_own_symbols():
    """The chain-rule sentence uses the output, the variable and the outermost intermediate the
    reader sees (f, w and v here), not a generic l and x."""
    from symlearn.calculus.steps import add_gradient_steps
    from symlearn.derivation import Derivation, Text

    f = sp.Symbol("f")
    doc = add_gradient_steps(Derivation(name="t", title="t"), sp.log(1 + sp.exp(-y * (w * x + b))),
                             w, output=f)
    whys = [blk.body for blk in doc.blocks if isinstance(blk, Text) and "Why name" in blk.body]
    assert len(whys) == 1
    assert r"\frac{\partial f}{\partial w} = \frac{\partial f}{\partial v}" in whys[0]
    assert r"\partial \ell" not in whys[0]
