"""Chain-rule graphs: every number against seed 003 and against sympy.diff of the whole expression."""

import pytest
import sympy as sp

from symlearn import graph, sigmoid

x, y, z, q, f = sp.symbols("x y z q f")
w1, x1, w2, x2, b = sp.symbols("w_1 x_1 w_2 x_2 b")
SEED_POINT = {w1: 2, x1: -1, w2: -3, x2: -2, b: -3}
# Seed 003, 'Another Example': the printed partials.
SEED_PARTIALS = {w1: -0.1966, x1: 0.3932, w2: -0.3932, x2: -0.5898, b: 0.1966}


def gates():
    m1, m2, s, zz, u, v, d, ff = sp.symbols("m_1 m_2 s z u v d f")
    return graph(
        (m1, w1 * x1), (m2, w2 * x2), (s, m1 + m2), (zz, s + b), (u, -zz), (v, sp.exp(u)),
        (d, 1 + v), (ff, 1 / d),
    )


def test_simple_example_grads_equal_sympy_diff():
    g = graph(q=x + y, f=q * z)
    point = {x: -2, y: 5, z: -4}
    numbers = g.evaluate(point)
    full = (x + y) * z
    for v in (x, y, z):
        assert numbers.grads[v] == sp.diff(full, v).subs(point)
    assert numbers.values[f] == -12


@pytest.mark.parametrize("g", [gates(), graph(z=w1 * x1 + w2 * x2 + b, f=sigmoid(sp.Symbol("z")))],
                         ids=["gates", "sigmoid-node"])
def test_sigmoid_neuron_matches_seed(g):
    numbers = g.evaluate(SEED_POINT)
    for v, seed in SEED_PARTIALS.items():
        assert float(numbers.grads[v]) == pytest.approx(seed, abs=5e-5)


def test_seed_local_step_at_exponential_gate():
    numbers = gates().evaluate(SEED_POINT)
    edge = next(e for e in numbers.edges if str(e.child) == "v")  # v = exp(u)
    assert round(float(edge.local), 2) == 0.37  # e^{-1}
    assert round(float(edge.upstream), 2) == -0.53  # -1 / 1.37^2
    assert round(float(edge.product), 2) == -0.20


def test_backward_equals_central_differences():
    g = gates()
    full = g.expression()
    h = sp.Rational(1, 10**8)
    numbers = g.evaluate(SEED_POINT)
    for v in SEED_POINT:
        plus = {**SEED_POINT, v: SEED_POINT[v] + h}
        minus = {**SEED_POINT, v: SEED_POINT[v] - h}
        fd = (full.subs(plus) - full.subs(minus)) / (2 * h)
        assert float(numbers.grads[v]) == pytest.approx(float(fd.evalf(30)), rel=1e-9)


def test_node_used_twice_accumulates():
    a, c = sp.symbols("a c")
    g = graph((a, x * y), (c, a + a * x))  # x reaches c directly and through a
    numbers = g.evaluate({x: 3, y: 2})
    assert numbers.grads[x] == sp.diff(x * y + x * y * x, x).subs({x: 3, y: 2})


def test_graph_rejects_use_before_definition():
    a, c = sp.symbols("a c")
    with pytest.raises(ValueError, match="before it is defined"):
        graph((a, c + 1), (c, x))


def test_backward_document_has_checked_steps_and_figure():
    g = graph(q=x + y, f=q * z)
    doc = g.backward(at={x: -2, y: 5, z: -4}, name="t", title="T")
    assert all(s.result.passed for s in doc.all_steps())
    assert len(doc.figures()) == 1
    # CS231n's circuit f = (x + y) z at (-2, 5, -4): exact integers are labelled exactly.
    dot = g.to_dot({x: -2, y: 5, z: -4})
    assert "x | value -2 | grad -4\"" in dot and "z | value -4 | grad 3\"" in dot
    assert "f = q*z | value -12 | grad 1\"" in dot and ".00" not in dot
