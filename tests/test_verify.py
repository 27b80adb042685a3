r"""The verify_gradient corpus (issue 6): course derivations, half correct, half with one slip.

Truth is decided here by an independent, hand-written SymPy twin of every case (the sigmoid is
written as ``1/(1+exp(-t))``, sums as explicit ``Indexed`` sums), differentiated with
``sympy.diff`` and compared at random points in this file's own way; the verifier's answers are
then checked against the twin, never the other way round.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
import sympy as sp
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from symlearn.parse import ParseError
from symlearn.verify import Verdict, verify_gradient

R = dict(real=True)
w, b, x, y, p, z, a, c = sp.symbols("w b x y p z a c", **R)
w1, w2, x1, x2 = sp.symbols("w_1 w_2 x_1 x_2", **R)
lam, theta, mu, sigma_var, yhat = sp.symbols("lambda theta mu sigma yhat", **R)
n = sp.Symbol("n", **R)
i = sp.Symbol("i", integer=True)
X, Y = sp.IndexedBase("x"), sp.IndexedBase("y")


def sig(t):
    return 1 / (1 + sp.exp(-t))


def mse_sum(body):
    return sp.Sum(body, (i, 1, n))


@dataclass
class Case:
    name: str
    loss: str
    wrt: str
    claim: str
    twin_wrt: sp.Symbol
    twin_loss: sp.Expr
    twin_claim: sp.Expr
    slip: str | None = None  # the planted slip; None for a correct claim
    domain: dict = field(default_factory=dict)  # symbol -> (lo, hi) for this file's sampling


ZN = w1 * x1 + w2 * x2 + b
ZL = w * x + b
BCE = -y * sp.log(sig(ZL)) - (1 - y) * sp.log(1 - sig(ZL))
MSE = (y - w * x - b) ** 2
SUM_MSE = mse_sum((Y[i] - w * X[i]) ** 2) / n
RIDGE = (y - w * x) ** 2 + lam * w**2
PROB = {p: (0.05, 0.95)}

S_N = r"\sigma(w_1x_1+w_2x_2+b)"
BCE_TEX = r"-y\log(\sigma(w x + b)) - (1-y)\log(1-\sigma(w x+b))"

CORRECT = [
    Case("neuron_w1_quotient", r"\frac{1}{1+e^{-(w_1x_1+w_2x_2+b)}}", "w_1",
         r"\frac{x_1 e^{-(w_1x_1+w_2x_2+b)}}{(1+e^{-(w_1x_1+w_2x_2+b)})^2}",
         w1, sig(ZN), x1 * sp.exp(-ZN) / (1 + sp.exp(-ZN)) ** 2),
    Case("neuron_b_sigma_form", r"\frac{1}{1+e^{-(w_1x_1+w_2x_2+b)}}", "b",
         S_N + r"(1-" + S_N + ")", b, sig(ZN), sig(ZN) * (1 - sig(ZN))),
    Case("sigmoid_w_two_exps", r"\sigma(wx+b)", "w", r"\frac{x}{(1+e^{-(wx+b)})(1+e^{wx+b})}",
         w, sig(ZL), x / ((1 + sp.exp(-ZL)) * (1 + sp.exp(ZL)))),
    Case("bce_w_expanded", BCE_TEX, "w", r"x\sigma(wx+b) - xy", w, BCE, x * sig(ZL) - x * y),
    Case("bce_b_exp_form", BCE_TEX, "b", r"\frac{1}{1+e^{-(wx+b)}} - y", b, BCE, sig(ZL) - y),
    Case("bce_p_one_fraction", r"-y\ln p - (1-y)\ln(1-p)", "p", r"\frac{p-y}{p(1-p)}",
         p, -y * sp.log(p) - (1 - y) * sp.log(1 - p), (p - y) / (p * (1 - p)), domain=PROB),
    Case("nll_leading_minus", r"-y\ln p", "p", r"-\frac{y}{p}", p, -y * sp.log(p), -y / p,
         domain=PROB),
    Case("mse_w_expanded", r"(y - wx - b)^2", "w", r"2wx^2 + 2bx - 2xy", w, MSE,
         2 * w * x**2 + 2 * b * x - 2 * x * y),
    Case("mse_b_flipped", r"(y - wx - b)^2", "b", r"2(wx + b - y)", b, MSE, 2 * (w * x + b - y)),
    Case("half_mse_w", r"\frac{1}{2}(wx+b-y)^2", "w", r"x(wx+b) - xy", w,
         (w * x + b - y) ** 2 / 2, x * (w * x + b) - x * y),
    Case("sum_mse_w", r"\frac{1}{n}\sum_{i=1}^{n}(y_i - w x_i)^2", "w",
         r"\frac{2}{n}\sum_{i=1}^{n}(w x_i^2 - x_i y_i)", w, SUM_MSE,
         2 * mse_sum(w * X[i] ** 2 - X[i] * Y[i]) / n),
    Case("softplus_w_exp_form", r"\operatorname{softplus}(wx+b)", "w",
         r"\frac{x e^{wx+b}}{1+e^{wx+b}}", w, sp.log(1 + sp.exp(ZL)),
         x * sp.exp(ZL) / (1 + sp.exp(ZL))),
    Case("logistic_loss_w_sigma", r"\ln(1+e^{-y(wx+b)})", "w", r"-yx\sigma(-y(wx+b))", w,
         sp.log(1 + sp.exp(-y * ZL)), -y * x * sig(-y * ZL)),
    Case("ridge_w_grouped", r"(y-wx)^2 + \lambda w^2", "w", r"2w(x^2+\lambda) - 2xy", w, RIDGE,
         2 * w * (x**2 + lam) - 2 * x * y),
    Case("ridge_two_features_w2", r"(y - w_1x_1 - w_2x_2)^2 + \lambda(w_1^2+w_2^2)", "w_{2}",
         r"2(\lambda w_2 - x_2(y - w_1x_1 - w_2x_2))", w2,
         (y - w1 * x1 - w2 * x2) ** 2 + lam * (w1**2 + w2**2),
         2 * (lam * w2 - x2 * (y - w1 * x1 - w2 * x2))),
    Case("entropy_term_log_ep", r"-p\log p", "p", r"-\ln(e p)", p, -p * sp.log(p),
         -sp.log(sp.E * p), domain=PROB),
    Case("binary_entropy_log_ratio", r"-p\log p - (1-p)\log(1-p)", "p", r"\ln\frac{1-p}{p}", p,
         -p * sp.log(p) - (1 - p) * sp.log(1 - p), sp.log((1 - p) / p), domain=PROB),
    Case("log_abs_claim", r"\ln x", "x", r"\frac{1}{|x|}", x, sp.log(x), 1 / x,
         domain={x: (0.1, 3)}),
    Case("tanh_neuron_exp_form", r"\tanh(wx+b)", "w",
         r"\frac{4x}{(e^{wx+b}+e^{-(wx+b)})^2}", w, sp.tanh(ZL),
         4 * x / (sp.exp(ZL) + sp.exp(-ZL)) ** 2),
    Case("log2_quotient", r"\log_2(1+x^2)", "x", r"\frac{2x}{(1+x^2)\ln 2}", x,
         sp.log(1 + x**2) / sp.log(2), 2 * x / ((1 + x**2) * sp.log(2))),
    Case("softmax_ce_as_sigma", r"-\ln\frac{e^{a}}{e^{a}+e^{c}}", "a", r"-\sigma(c-a)", a,
         -sp.log(sp.exp(a) / (sp.exp(a) + sp.exp(c))), -sig(c - a)),
    Case("gaussian_nll_sigma", r"\frac{(y-\mu)^2}{2\sigma^2} + \ln \sigma", r"\sigma",
         r"\frac{\sigma^2 - (y-\mu)^2}{\sigma^3}", sigma_var,
         (y - mu) ** 2 / (2 * sigma_var**2) + sp.log(sigma_var),
         (sigma_var**2 - (y - mu) ** 2) / sigma_var**3, domain={sigma_var: (0.2, 3)}),
    Case("hat_y_squared", r"(\hat{y} - y)^2", r"\hat{y}", r"2\hat{y} - 2y", yhat,
         (yhat - y) ** 2, 2 * yhat - 2 * y),
    Case("theta_plain_name", r"\frac{1}{2}\theta^2 x^2 - \theta x y", "theta", r"x(\theta x - y)",
         theta, theta**2 * x**2 / 2 - theta * x * y, x * (theta * x - y)),
]

WRONG = [
    Case("neuron_w1_dropped_x1", r"\frac{1}{1+e^{-(w_1x_1+w_2x_2+b)}}", "w_1",
         S_N + r"(1-" + S_N + ")", w1, sig(ZN), sig(ZN) * (1 - sig(ZN)), slip="inner"),
    Case("bce_w_dropped_x", BCE_TEX, "w", r"\sigma(wx+b) - y", w, BCE, sig(ZL) - y, slip="inner"),
    Case("bce_w_sign", BCE_TEX, "w", r"x(y - \sigma(wx+b))", w, BCE, x * (y - sig(ZL)),
         slip="sign"),
    Case("mse_w_dropped_minus_x", r"(y - wx - b)^2", "w", r"2(y - wx - b)", w, MSE,
         2 * (y - w * x - b), slip="inner"),
    Case("mse_w_missing_2", r"(y - wx - b)^2", "w", r"-x(y - wx - b)", w, MSE,
         -x * (y - w * x - b), slip="factor"),
    Case("mse_w_b_sign", r"(y - wx - b)^2", "w", r"-2x(y - wx + b)", w, MSE,
         -2 * x * (y - w * x + b), slip="term"),
    Case("mse_w_eighth_digit", r"(y - wx - b)^2", "w", r"-2.0000001x(y - wx - b)", w, MSE,
         -sp.Rational("2.0000001") * x * (y - w * x - b), slip="factor"),
    Case("sum_mse_missing_1_over_n", r"\frac{1}{n}\sum_{i=1}^{n}(y_i - w x_i)^2", "w",
         r"-2\sum_{i=1}^{n} x_i(y_i - w x_i)", w, SUM_MSE,
         -2 * mse_sum(X[i] * (Y[i] - w * X[i])), slip="1/n"),
    Case("sum_mse_missing_2", r"\frac{1}{n}\sum_{i=1}^{n}(y_i - w x_i)^2", "w",
         r"-\frac{1}{n}\sum_{i=1}^{n} x_i(y_i - w x_i)", w, SUM_MSE,
         -mse_sum(X[i] * (Y[i] - w * X[i])) / n, slip="factor"),
    Case("ridge_w_missing_regularizer", r"(y-wx)^2 + \lambda w^2", "w", r"-2x(y-wx)", w, RIDGE,
         -2 * x * (y - w * x), slip="term"),
    Case("ridge_w_regularizer_halved", r"(y-wx)^2 + \lambda w^2", "w", r"-2x(y-wx) + \lambda w",
         w, RIDGE, -2 * x * (y - w * x) + lam * w, slip="term"),
    Case("ridge_w_wrt_lambda", r"(y-wx)^2 + \lambda w^2", "w", r"w^2", w, RIDGE, w**2,
         slip="variable"),
    Case("softplus_w_dropped_x", r"\operatorname{softplus}(wx+b)", "w", r"\sigma(wx+b)", w,
         sp.log(1 + sp.exp(ZL)), sig(ZL), slip="inner"),
    Case("softplus_b_sign", r"\operatorname{softplus}(wx+b)", "b", r"-\sigma(wx+b)", b,
         sp.log(1 + sp.exp(ZL)), -sig(ZL), slip="sign"),
    Case("entropy_missing_product_rule_term", r"-p\log p", "p", r"-\ln p", p, -p * sp.log(p),
         -sp.log(p), slip="term", domain=PROB),
    Case("binary_entropy_sign", r"-p\log p - (1-p)\log(1-p)", "p", r"\ln\frac{p}{1-p}", p,
         -p * sp.log(p) - (1 - p) * sp.log(1 - p), sp.log(p / (1 - p)), slip="sign",
         domain=PROB),
    Case("log2_missing_ln2", r"\log_2 x", "x", r"\frac{1}{x}", x, sp.log(x) / sp.log(2), 1 / x,
         slip="factor", domain={x: (0.1, 3)}),
    Case("tanh_dropped_x", r"\tanh(wx+b)", "w", r"1-\tanh^2(wx+b)", w, sp.tanh(ZL),
         1 - sp.tanh(ZL) ** 2, slip="inner"),
    Case("tanh_term_sign", r"\tanh(wx+b)", "w", r"x(1+\tanh^2(wx+b))", w, sp.tanh(ZL),
         x * (1 + sp.tanh(ZL) ** 2), slip="term"),
    Case("gaussian_nll_term_sign", r"\frac{(y-\mu)^2}{2\sigma^2} + \ln \sigma", "sigma",
         r"\frac{(y-\mu)^2}{\sigma^3} + \frac{1}{\sigma}", sigma_var,
         (y - mu) ** 2 / (2 * sigma_var**2) + sp.log(sigma_var),
         (y - mu) ** 2 / sigma_var**3 + 1 / sigma_var, slip="term",
         domain={sigma_var: (0.2, 3)}),
    Case("logistic_loss_wrt_b", r"\ln(1+e^{-y(wx+b)})", "w", r"-y\sigma(-y(wx+b))", w,
         sp.log(1 + sp.exp(-y * ZL)), -y * sig(-y * ZL), slip="variable"),
    Case("theta_term_sign", r"\frac{1}{2}\theta^2 x^2 - \theta x y", r"\theta",
         r"\theta x^2 + xy", theta, theta**2 * x**2 / 2 - theta * x * y, theta * x**2 + x * y,
         slip="term"),
    Case("hat_y_sign", r"(\hat{y} - y)^2", "yhat", r"2(y - \hat{y})", yhat, (yhat - y) ** 2,
         2 * (y - yhat), slip="sign"),
    Case("neuron_b_gets_w1_partial", r"\frac{1}{1+e^{-(w_1x_1+w_2x_2+b)}}", "b",
         r"x_1" + S_N + r"(1-" + S_N + ")", b, sig(ZN), x1 * sig(ZN) * (1 - sig(ZN)),
         slip="variable"),
]

CORPUS = CORRECT + WRONG

#: How a hint names each planted slip.
SLIP_WORDS = {
    "inner": "inner derivative",
    "sign": "sign error",
    "factor": "factor",
    "variable": "wrong variable",
    "1/n": "1/n",
    "term": "term is off",
}


# ------------------------------------------------------------------------------------------------
# the twin: this file's own evaluation, independent of symlearn


def _twin_instance(expr: sp.Expr, size: int) -> sp.Expr:
    return expr.subs(n, size).doit() if expr.has(sp.Sum) else expr


def _twin_points(case: Case, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    expr = _twin_instance(case.twin_loss + case.twin_claim, 3)
    symbols = sorted(expr.free_symbols | expr.atoms(sp.Indexed), key=str)
    symbols = [s for s in symbols if s not in (X.label, Y.label)]
    points = []
    for _ in range(count):
        point = {}
        for s in symbols:
            lo, hi = case.domain.get(s, (-2.0, 2.0))
            point[s] = sp.Rational(round(rng.uniform(lo, hi), 3)).limit_denominator(1000) or sp.S(1) / 7
        points.append(point)
    return points


def _twin_values(case: Case, point: dict, size: int = 3):
    truth = _twin_instance(sp.diff(case.twin_loss, case.twin_wrt), size)
    claim = _twin_instance(case.twin_claim, size)
    return truth.xreplace(point).evalf(40), claim.xreplace(point).evalf(40)


def _twin_says_correct(case: Case) -> bool:
    for point in _twin_points(case, 6, seed=7):
        t, c_ = _twin_values(case, point)
        if abs(t - c_) > 1e-20 * max(1, abs(t), abs(c_)):
            return False
    return True


@pytest.fixture(scope="module")
def verdicts() -> dict[str, Verdict]:
    return {case.name: verify_gradient(case.loss, case.wrt, case.claim) for case in CORPUS}


def test_corpus_is_large_and_balanced():
    assert len(CORPUS) >= 40
    assert len(CORRECT) >= 20 and len(WRONG) >= 20
    assert abs(len(CORRECT) - len(WRONG)) <= 2
    assert len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_twin_agrees_with_the_planted_label(case):
    # The corpus itself is right: the twin says correct exactly when no slip was planted.
    assert _twin_says_correct(case) is (case.slip is None)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_verdict_matches_the_twin(case, verdicts):
    expected = "correct" if _twin_says_correct(case) else "wrong"
    assert verdicts[case.name].verdict == expected


@pytest.mark.parametrize("case", WRONG, ids=lambda case: case.name)
def test_counterexample_is_a_true_counterexample(case, verdicts):
    verdict = verdicts[case.name]
    assert verdict.counterexample
    size = int(verdict.counterexample.get("n", 3))
    # Map the plain names back to this file's own symbols (x[2] -> X[2]).
    names = {}
    for s in _twin_instance(case.twin_loss + case.twin_claim, size).atoms(sp.Symbol, sp.Indexed):
        names[str(s) if not isinstance(s, sp.Indexed) else f"{s.base}[{s.indices[0]}]"] = s
    point = {names[k]: sp.Rational(str(v)) for k, v in verdict.counterexample.items()
             if k in names and k != "n"}
    t, c_ = _twin_values(case, point, size)
    assert abs(t - c_) > 1e-12 * max(1, abs(t))
    assert float(t) == pytest.approx(verdict.expected, rel=1e-9, abs=1e-12)
    assert float(c_) == pytest.approx(verdict.claimed, rel=1e-9, abs=1e-12)


def test_hint_names_the_planted_slip_on_at_least_80_percent(verdicts):
    hits = [case.name for case in WRONG
            if verdicts[case.name].hint and SLIP_WORDS[case.slip] in verdicts[case.name].hint]
    misses = sorted({case.name for case in WRONG} - set(hits))
    assert len(hits) >= 0.8 * len(WRONG), misses


def test_correct_verdicts_carry_no_counterexample(verdicts):
    for case in CORRECT:
        verdict = verdicts[case.name]
        assert verdict.counterexample is None and verdict.expected is None
        assert verdict.derivative_latex


CONTRACT = {"verdict", "counterexample", "expected", "claimed", "hint", "derivative", "warnings"}


def test_json_object_has_exactly_the_contract_fields(verdicts):
    # Issue 12: seven keys (derivative and warnings are new), the same for every verdict.
    obj = verdicts["mse_w_missing_2"].to_json()
    assert set(obj) == CONTRACT
    assert obj["verdict"] == "wrong" and obj["warnings"] == []
    assert obj["derivative"] == verdicts["mse_w_missing_2"].derivative_latex
    correct = verdicts["mse_w_expanded"].to_json()
    assert set(correct) == CONTRACT and correct["counterexample"] is None
    assert correct["hint"]  # what the "correct" rests on


def test_an_eighth_digit_slip_is_caught_and_round_off_is_not_a_slip():
    # 0.1 + 0.2 style round-off must not refute; a relative 5e-8 change must be caught.
    assert verify_gradient(r"0.1x + 0.2x", "x", r"0.3").verdict == "correct"
    verdict = verify_gradient(r"x^3", "x", r"3.00000015x^2")
    assert verdict.verdict == "wrong"
    assert verdict.expected != verdict.claimed


def test_assume_restricts_the_domain():
    # sqrt(x^2) = |x|: its derivative is sign(x); the claim 1 is right only for x > 0.
    assert verify_gradient(r"\sqrt{x^2}", "x", "1").verdict == "wrong"
    assert verify_gradient(r"\sqrt{x^2}", "x", "1", assume=("x>0",)).verdict == "correct"


def test_undetermined_when_the_claim_is_nowhere_defined():
    verdict = verify_gradient(r"\sqrt{x}", "x", r"\frac{1}{\sqrt{-x}}")
    assert verdict.verdict == "undetermined"
    assert verdict.hint and "claim" in verdict.hint


def test_derivative_operator_in_the_claim():
    # The claim may use \frac{\partial}{\partial z}(...) of a known function.
    verdict = verify_gradient(r"\sigma(wx+b)", "w",
                              r"x\frac{\partial}{\partial b}(\sigma(wx+b))")
    assert verdict.verdict == "correct"


@pytest.mark.parametrize(
    "loss, wrt, claim",
    [("x^2", "1x", "2x"), ("x^2", "x", ""), ("", "x", "2x"),
     ("x^2", "x", r"\input{secret}"), ("x^2", "x", "__import__('os')")],
)
def test_bad_input_raises_parse_error(loss, wrt, claim):
    with pytest.raises(ParseError):
        verify_gradient(loss, wrt, claim)


def test_wrt_accepts_plain_and_braced_names():
    for wrt in ("w_1", "w_{1}"):
        assert verify_gradient(r"w_1^2", wrt, r"2w_{1}").verdict == "correct"
    for wrt in (r"\theta", "theta"):
        assert verify_gradient(r"\theta^2", wrt, r"2\theta").verdict == "correct"


# ------------------------------------------------------------------------------------------------
# issue 12: whole domains, piecewise functions, sums, definitions; issue 11: size bounds


def test_relu6_without_the_cap_is_wrong():
    # Issue 12's false "correct": points from |v| <= 4 never see the cap at 6.
    verdict = verify_gradient(r"\operatorname{relu}(x)-\operatorname{relu}(x-6)", "x",
                              r"\frac{1}{2}(1+\frac{x}{|x|})")
    assert verdict.verdict == "wrong"
    assert verdict.counterexample["x"] > 6  # the truth there is 0, the claim 1
    assert (verdict.expected, verdict.claimed) == (0.0, 1.0)


HUBER5 = (r"\begin{cases} \frac{1}{2}x^2 & |x| \le 5 \\ 5(|x| - \frac{5}{2}) & "
          r"\text{otherwise} \end{cases}")


def test_huber_with_delta_5_unclipped_claim_is_wrong_and_clipped_is_correct():
    wrong = verify_gradient(HUBER5, "x", "x")
    assert wrong.verdict == "wrong" and abs(wrong.counterexample["x"]) > 5
    assert verify_gradient(HUBER5, "x", r"\max(-5, \min(5, x))").verdict == "correct"
    # A breakpoint moved far outside [-4, 4] is found.
    moved = verify_gradient(HUBER5, "x", r"\max(-5, \min(37, x))")
    assert moved.verdict == "wrong"


def test_correct_says_what_it_rests_on():
    verdict = verify_gradient(r"\min(\max(0,x),6)", "x",
                              r"\begin{cases} 1 & 0 < x < 6 \\ 0 & \text{otherwise}\end{cases}")
    assert verdict.verdict == "correct"
    assert "regions" in verdict.reason and "1e-3 to 1e3" in verdict.reason
    assert verdict.to_json()["hint"] == verdict.reason


def test_breakpoints_that_cannot_be_found_give_undetermined():
    verdict = verify_gradient(r"\operatorname{relu}(\sin(x))", "x",
                              r"\cos(x)\frac{1}{2}(1+\operatorname{sign}(\sin(x)))")
    assert verdict.verdict == "undetermined"
    assert "cannot be found" in verdict.hint


SOFTMAX_1 = r"\frac{e^{z_1}}{\sum_{j=1}^{K} e^{z_j}}"


def test_softmax_derivative_with_the_indexed_term():
    assert verify_gradient(SOFTMAX_1, "z_1", SOFTMAX_1 + "(1-" + SOFTMAX_1 + ")").verdict \
        == "correct"
    wrong = verify_gradient(SOFTMAX_1, "z_1", SOFTMAX_1)  # the slip: forgets the -p_1^2
    assert wrong.verdict == "wrong" and wrong.counterexample["K"] >= 1
    assert "z[1]" in wrong.counterexample
    # Another class: d p_1 / d z_2 = -p_1 p_2.
    p2 = r"\frac{e^{z_2}}{\sum_{j=1}^{K} e^{z_j}}"
    assert verify_gradient(SOFTMAX_1, "z_2", "-" + SOFTMAX_1 + p2).verdict == "correct"


def test_cross_entropy_and_log_softmax_and_least_squares_with_sums():
    ce = r"-\sum_{k=1}^{K} y_k\log\frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}"
    assert verify_gradient(ce, "z_1", SOFTMAX_1 + r"\sum_{k=1}^{K} y_k - y_1").verdict \
        == "correct"
    assert verify_gradient(ce, "z_1", SOFTMAX_1 + " - y_1").verdict == "wrong"
    log_softmax = r"z_1 - \log\sum_{j=1}^{K} e^{z_j}"
    assert verify_gradient(log_softmax, "z_1", "1-" + SOFTMAX_1).verdict == "correct"
    assert verify_gradient(log_softmax, "z_1", "-" + SOFTMAX_1).verdict == "wrong"
    lsq = r"\frac{1}{N}\sum_i (y_i - w x_i - b)^2"
    assert verify_gradient(lsq, "w", r"-\frac{2}{N}\sum_i x_i(y_i - w x_i - b)").verdict \
        == "correct"
    slip = verify_gradient(lsq, "w", r"-2\sum_i x_i(y_i - w x_i - b)")
    assert slip.verdict == "wrong" and "1/N" in slip.hint
    # The claim may write the explicit bound where the loss wrote \sum_i.
    assert verify_gradient(r"\sum_i (y_i - w x_i)^2", "w",
                           r"-2\sum_{i=1}^{n} x_i(y_i - w x_i)").verdict == "correct"


def test_an_equality_over_a_sum_restricts_the_domain():
    # The textbook softmax cross-entropy gradient p_1 - y_1 holds where the targets sum to 1.
    ce = r"-\sum_{k=1}^{K} y_k\log\frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}"
    on_simplex = [r"\sum_{k=1}^{K} y_k = 1"]
    verdict = verify_gradient(ce, "z_1", SOFTMAX_1 + " - y_1", assume=on_simplex)
    assert verdict.verdict == "correct" and "--assume domain" in verdict.reason
    wrong = verify_gradient(ce, "z_1", SOFTMAX_1 + " - y_2", assume=on_simplex)
    assert wrong.verdict == "wrong"
    point = wrong.counterexample
    assert sum(v for k, v in point.items() if k.startswith("y[")) == pytest.approx(1)


def test_wrt_a_summation_bound_is_refused():
    with pytest.raises(ParseError, match="upper limit of a sum"):
        verify_gradient(r"\sum_{i=1}^{n} w x_i", "n", "0")


def test_assume_domain_sampled_inside_by_construction():
    assert verify_gradient(r"\log(x-5)", "x", r"\frac{1}{x-5}", assume=["x>5"]).verdict \
        == "correct"
    wrong = verify_gradient(r"\log(x-5)", "x", r"\frac{1}{x}", assume=["x>5"])
    assert wrong.verdict == "wrong" and wrong.counterexample["x"] > 5
    # Several conditions, an interval, a bound far from the origin.
    assert verify_gradient(r"\sqrt{x-300}", "x", r"\frac{1}{2\sqrt{x-300}}",
                           assume=[r"x \ge 300", "x<1000"]).verdict == "correct"
    assert verify_gradient(r"\log(x-300)", "x", r"\frac{1}{x-300}",
                           assume=[r"x \in (300, 10^{4})"]).verdict == "correct"
    empty = verify_gradient("x^2", "x", "2x", assume=["x>3", "x<2"])
    assert empty.verdict == "undetermined" and "empty" in empty.hint


def test_linear_equality_eliminates_a_variable():
    loss = r"t_1 \log t_1 + t_2\log t_2"
    conditions = ["t_1+t_2=1", "t_1>0", "t_2>0"]
    assert verify_gradient(loss, "t_1", r"\log t_1 + 1", assume=conditions).verdict == "correct"
    wrong = verify_gradient(loss, "t_1", r"\log t_1 - \log t_2", assume=conditions)
    assert wrong.verdict == "wrong"
    point = wrong.counterexample
    assert point["t_1"] + point["t_2"] == pytest.approx(1)


def test_let_substitutes_and_a_claim_only_symbol_is_named():
    claim = r"x_1\sigma(z)(1-\sigma(z))"
    loss = r"\sigma(w_1x_1+w_2x_2+b)"
    assert verify_gradient(loss, "w_1", claim, let=["z=w_1x_1+w_2x_2+b"]).verdict == "correct"
    assert verify_gradient(r"\sigma(z)", "w_1", claim, let=["z=w_1x_1+w_2x_2+b"]).verdict \
        == "correct"
    shorthand = verify_gradient(loss, "w_1", claim)
    assert shorthand.verdict == "wrong"
    assert any("z" in w and "--let" in w for w in shorthand.warnings)
    assert "--let" in shorthand.hint
    # Definitions may use one another, in any order; a cycle is refused.
    assert verify_gradient(r"\hat{y}", "w", r"x\hat{y}(1-\hat{y})",
                           let=[r"\hat{y}=\sigma(z)", "z=wx+b"]).verdict == "correct"
    with pytest.raises(ParseError, match="refer to each other"):
        verify_gradient("a", "x", "0", let=["a=b+x", "b=a"])
    with pytest.raises(ParseError, match="defined by --let"):
        verify_gradient("z", "z", "1", let=["z=wx"])


def test_nested_max_min_cases_and_sign():
    a = verify_gradient(r"\max(a,\min(b,c))", "b",
                        r"\begin{cases} 1 & b < c \\ 0 & \text{otherwise}\end{cases}")
    assert a.verdict == "wrong"  # where a > min(b, c) the derivative is 0
    assert verify_gradient(r"|x|", "x", r"\operatorname{sign}(x)").verdict == "correct"
    assert verify_gradient(r"|x|", "x", r"\mathrm{sgn}(x)").verdict == "correct"
    assert verify_gradient(r"x\operatorname{sgn}(x)", "x", r"1").verdict == "wrong"
    assert verify_gradient(r"\max(0.01x, x)", "x",
                           r"\begin{cases} 1 & x > 0 \\ 0.01 & \text{otherwise}\end{cases}"
                           ).verdict == "correct"


def test_wrt_absent_from_the_loss_means_derivative_0():
    zero = verify_gradient("x^2", "b", "0")
    assert zero.verdict == "correct" and "does not contain b" in zero.warnings[0]
    one = verify_gradient("x^2", "b", "1")
    assert one.verdict == "wrong" and one.expected == 0.0 and one.claimed == 1.0


def test_hint_never_says_factor_1():
    # The claim equals the derivative wherever the derivative is not 0 (x > 0) and differs
    # where it is 0: the ratio over the non-zero points is 1, which is no factor at all.
    verdict = verify_gradient(r"\frac{1}{2}\operatorname{relu}(x)^2", "x", "x")
    assert verdict.verdict == "wrong" and verdict.counterexample["x"] < 0
    assert "factor 1" not in (verdict.hint or "")


def test_json_non_finite_numbers_are_null_with_a_warning():
    verdict = Verdict("wrong", {"x": 1.0}, float("inf"), float("nan"), None, derivative_latex="0")
    obj = verdict.to_json()
    assert obj["expected"] is None and obj["claimed"] is None
    assert len(obj["warnings"]) == 2 and "expected" in obj["warnings"][0]
    import json
    json.dumps(obj, allow_nan=False)  # strict JSON


def test_huge_values_stay_json():
    import json
    verdict = verify_gradient(r"e^{1000x}", "x", r"999e^{1000x}")
    assert verdict.verdict == "wrong"
    json.dumps(verdict.to_json(), allow_nan=False)


@pytest.mark.parametrize(
    "loss, wrt, claim, verdict",
    [
        ("(a+b+c+d+f+g+h+k)^{50}", "a", "0", "wrong"),  # the hint search must not expand
        ("(a+b+c+d)^{1000}", "a", "1000(a+b+c+d)^{999}", "correct"),  # nor the symbolic check
        (r"\sigma(" * 10 + "x" + ")" * 10, "x", "0", "wrong"),  # evalf was exponential
        ("x^{x^{x}}", "x", "0", "wrong"),  # 1000^(1000^1000) is not computed
        (r"e^{e^{e^{x}}}", "x", "0", "wrong"),
    ],
)
def test_size_bounds_keep_hostile_inputs_fast(loss, wrt, claim, verdict):
    import time
    start = time.process_time()
    assert verify_gradient(loss, wrt, claim).verdict == verdict
    assert time.process_time() - start < 8


def test_nested_sigmoid_correct_claim_is_fast():
    import time
    nested = r"\sigma(" * 10 + "x" + ")" * 10
    start = time.process_time()
    verdict = verify_gradient(nested, "x", rf"\frac{{\partial}}{{\partial x}}({nested})")
    assert verdict.verdict == "correct"
    assert time.process_time() - start < 8


_PIECES = st.sampled_from([
    "x", "y", "w", "b", "2", "0", "-", "+", "(", ")", "^", "{", "}", r"\frac", r"\sigma", "e",
    r"\max", r"\min", ",", "|", r"\log", r"\operatorname{relu}", r"\sum_{i=1}^{n}", "x_i", "z_1",
    r"\sum_j", "z_j", r"\begin{cases}", r"\end{cases}", "&", r"\\", ">", r"\text{otherwise}",
    r"\sqrt", "1e-3", "0^{-1}", r"\operatorname{sign}", "10^{3}", ".5",
])


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(_PIECES, min_size=1, max_size=12).map("".join),
       st.lists(_PIECES, min_size=1, max_size=8).map("".join),
       st.sampled_from(["x", "w", "z_1", "n", "q"]))
def test_fuzz_verify_answers_or_refuses_with_one_sentence(loss, claim, wrt):
    # Any input: a Verdict whose JSON is strict, or a ParseError (one sentence); nothing else.
    import json
    try:
        verdict = verify_gradient(loss, wrt, claim)
    except ParseError as error:
        assert "\n" not in str(error)
        return
    json.dumps(verdict.to_json(), allow_nan=False)
    assert verdict.verdict in ("correct", "wrong", "undetermined")


def test_a_claim_written_for_one_term_of_a_sum_is_named():
    verdict = verify_gradient(r"\frac{1}{n}\sum_{i=1}^{n}(y_i - w x_i)^2", "w",
                              r"-\frac{2}{n}x_i(y_i - w x_i)")
    assert verdict.verdict == "wrong"
    assert "outside a sum" in verdict.hint and "x_i" in verdict.warnings[0]


def test_a_claim_undefined_on_part_of_the_domain_is_not_correct():
    # 2x + sqrt(x) - sqrt(|x|) is 2x for x > 0 and not real for x < 0, where x^2 has a derivative.
    claim = r"2x + \sqrt{x} - \sqrt{|x|}"
    verdict = verify_gradient("x^2", "x", claim)
    assert verdict.verdict == "undetermined" and "not finite and real" in verdict.hint
    assert verify_gradient("x^2", "x", claim, assume=["x>0"]).verdict == "correct"
    # Undefined on a set of measure zero only (x = 0) is fine.
    assert verify_gradient("|x|", "x", r"\frac{x}{|x|}").verdict == "correct"


def test_python_api_has_a_deadline(monkeypatch):
    """verify_gradient(timeout=...) runs the check in a forked worker: an overrun is
    'undetermined' with the reason, never a hang (issue 11)."""
    import time

    import symlearn.verify as verify_module

    def slow(*args, **kwargs):
        time.sleep(30)

    monkeypatch.setattr(verify_module, "_verify_unbounded", slow)
    start = time.monotonic()
    verdict = verify_module.verify_gradient("x^2", "x", "2x", timeout=0.5)
    assert time.monotonic() - start < 10
    assert verdict.verdict == "undetermined" and "deadline" in verdict.hint


def test_python_api_bounded_and_unbounded_agree():
    from symlearn.verify import verify_gradient as check

    for claim, verdict in ((r"2x", "correct"), (r"x", "wrong")):
        bounded = check("x^2", "x", claim, timeout=20, memory="2G")
        unbounded = check("x^2", "x", claim, timeout=None)
        assert bounded.verdict == unbounded.verdict == verdict
        assert bounded.to_json() == unbounded.to_json()
    with pytest.raises(ValueError):
        check(r"\frac{1}{", "x", "2x")  # bad input is still an error, raised in this process
