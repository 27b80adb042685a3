"""Partials of a sigmoid neuron at the course's point, by hand, node by node, and by the shortcut."""

import sympy as sp

from symlearn import Derivation, Rounded, Step, graph, sigmoid
from symlearn._course_sources import course_source
from symlearn.calculus.chain import add_backward

NAME = "sigmoid-neuron"

w1, x1, w2, x2, b = sp.symbols("w_1 x_1 w_2 x_2 b")
m1, m2, s, z, u, v, d, f = sp.symbols("m_1 m_2 s z u v d f")
POINT = {w1: 2, x1: -1, w2: -3, x2: -2, b: -3}

# The lecture slides, 'Another Example': the gates of the slide's graph, one node each.
GATES = graph(
    (m1, w1 * x1), (m2, w2 * x2), (s, m1 + m2), (z, s + b), (u, -z), (v, sp.exp(u)),
    (d, 1 + v), (f, 1 / d),
)
# The same neuron with the sigmoid as one node: sigma'(z) = sigma(z) (1 - sigma(z)).
NEURON = graph((z, w1 * x1 + w2 * x2 + b), (f, sigmoid(z)))

# The slides' printed values for the five partials.
SEED_PARTIALS = {w1: "-0.1966", x1: "0.3932", w2: "-0.3932", x2: "-0.5898", b: "0.1966"}


def _by_hand(doc: Derivation) -> Derivation:
    """The slide's derivation of df/dw_1 with the cheat sheet's two rules."""
    zz = w1 * x1 + w2 * x2 + b
    E = sp.exp(-zz)
    F = sp.Symbol("f")
    at = {k: sp.Integer(val) for k, val in POINT.items()}
    doc = doc.section("By hand, as on the slide")
    doc = doc.text(
        "With the cheat sheet's $\\frac{\\partial}{\\partial x}\\{1/x\\} = -1/x^2$ and "
        "$\\frac{\\partial}{\\partial x} e^x = e^x$:"
    )
    doc = doc.chain(
        sp.Derivative(F, w1),
        (sp.Derivative(1 / (1 + E), w1), "definition of $f$"),
        (
            sp.Mul(-1 / (1 + E) ** 2, sp.Derivative(1 + E, w1), evaluate=False),
            "$d(1/x) = -dx/x^2$",
        ),
        (
            sp.Mul(-1 / (1 + E) ** 2, E, sp.Derivative(-zz, w1), evaluate=False),
            "$d e^x = e^x\\, dx$",
        ),
        (x1 * E / (1 + E) ** 2, "$\\partial(-z)/\\partial w_1 = -x_1$"),
    )
    value = (x1 * E / (1 + E) ** 2).xreplace(at)
    doc = doc.steps(
        Step(
            sp.Derivative(F, w1),
            sp.Mul(sp.Integer(-1), sp.exp(-1), sp.Pow((1 + sp.exp(-1)), -2), evaluate=False),
            "at the point, $z = -2 + 6 - 3 = 1$",
            claim=(value, -sp.exp(-1) / (1 + sp.exp(-1)) ** 2),
        ),
        Step(
            sp.Derivative(F, w1), sp.Float("-0.1966", 4), "the lecture slides' value",
            relation="approx",
            check=Rounded(4), claim=(value, sp.Float("-0.1966", 4)),
        ),
    )
    doc = doc.text(
        "The other four partials follow the same way, with $x_1$ replaced by the derivative of "
        "$z$ with respect to the variable: $\\partial z/\\partial x_1 = w_1$, "
        "$\\partial z/\\partial w_2 = x_2$, $\\partial z/\\partial x_2 = w_2$, "
        "$\\partial z/\\partial b = 1$. All five, against the lecture slides' values:"
    )
    steps = []
    for var, seed in SEED_PARTIALS.items():
        exact = sp.diff(1 / (1 + E), var).xreplace(at)
        steps.append(
            Step(
                sp.Derivative(F, var), sp.Float(seed, len(seed.strip("-").replace(".", "").lstrip("0"))),
                "the lecture slides' value", relation="approx", check=Rounded(4),
                claim=(exact, sp.Float(seed)),
            )
        )
    return doc.steps(*steps)


def build():
    zz = w1 * x1 + w2 * x2 + b
    doc = Derivation(
        name=NAME,
        definitions={sp.Symbol("f"): 1 / (1 + sp.exp(-zz))},
        title="A sigmoid neuron: $f = 1/(1 + e^{-(w_1 x_1 + w_2 x_2 + b)})$",
        summary=(
            f"The 'Another Example' of {course_source('003')}, at "
            "$w_1 = 2$, $x_1 = -1$, $w_2 = -3$, $x_2 = -2$, "
            "$b = -3$: the five partials by hand, then node by node through the graph of gates, "
            "then with the shortcut $\\sigma'(z) = \\sigma(z)(1 - \\sigma(z))$."
        ),
    )
    doc = _by_hand(doc)

    doc = doc.section("Node by node, one gate at a time")
    doc = doc.text(
        "The slide's graph splits $f$ into gates: two products, two sums, a negation, an "
        "exponential, $+1$ and a reciprocal."
    )
    doc = add_backward(doc, GATES, [w1, x1, w2, x2, b], POINT, digits=2, result_digits=4, label="gates")
    values = GATES.evaluate(POINT)
    upstream = values.grads[v]  # df/dv = -1/d^2 at d = 1 + e^{-1}
    local = values.values[v]  # dv/du = e^u = e^{-1}
    doc = doc.section("The slide's local step at the exponential gate")
    doc = doc.text(
        "At the exponential gate the upstream gradient is $-1/(1.37)^2 \\approx -0.53$ and the "
        "local derivative is $e^{u}$ at $u = -1$:"
    )
    doc = doc.steps(
        Step(sp.exp(sp.Integer(-1)), sp.Float("0.37", 2), "local derivative $e^{-1}$",
             relation="approx", check=Rounded(2), claim=(local, sp.Float("0.37", 2))),
        Step(sp.Symbol(r"\frac{\partial f}{\partial v}"), sp.Float("-0.53", 2),
             "upstream: $-1/d^2$ at $d = 1 + e^{-1}$", relation="approx", check=Rounded(2),
             claim=(upstream, sp.Float("-0.53", 2))),
        Step(sp.Mul(sp.Float("0.37", 2), sp.Float("-0.53", 2), evaluate=False), sp.Float("-0.20", 2),
             "the slide's product of the rounded numbers", relation="approx", check=Rounded(2),
             claim=(sp.Rational(37, 100) * sp.Rational(-53, 100), sp.Float("-0.20", 2))),
        Step(sp.Symbol(r"\frac{\partial f}{\partial u}"), sp.Float("-0.20", 2),
             "the exact product rounds the same", relation="approx", check=Rounded(2),
             claim=(upstream * local, sp.Float("-0.20", 2))),
    )

    doc = doc.section("The shortcut: the sigmoid as one node")
    doc = doc.text(
        "Grouping the last four gates into $\\sigma(z) = 1/(1 + e^{-z})$ gives a two-node graph; "
        "its local derivative is $\\sigma(z)(1 - \\sigma(z))$, which at $z = 1$ is "
        "$0.73 \\times 0.27 \\approx 0.20$."
    )
    zs = sp.Symbol("z")
    doc = doc.steps(
        Step(sp.Derivative(sigmoid(zs), zs), sigmoid(zs) * (1 - sigmoid(zs)),
             "$\\sigma' = \\sigma(1 - \\sigma)$, from $\\sigma = 1/(1 + e^{-z})$"),
        Step(sigmoid(zs) * (1 - sigmoid(zs)), sp.exp(-zs) / (1 + sp.exp(-zs)) ** 2,
             "the same as the gates' product"),
    )
    doc = add_backward(doc, NEURON, [w1, x1, w2, x2, b], POINT, digits=2, result_digits=4, label="sigmoid node")
    return doc
