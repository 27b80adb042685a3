r"""Property test of verify_gradient (issue 12): never "correct" for a perturbed derivative.

Random expression trees in x and y (sums, products, squares, exp, the sigmoid, relu, max, |.|,
Piecewise with breakpoints anywhere) are differentiated by ``sympy.diff``; the derivative is then
perturbed the way a slip would (a factor, a sign, a dropped term, a changed constant, a breakpoint
moved far outside [-4, 4], e.g. to 37 or -250). Whether a perturbed claim is still an identity
(``-T`` when ``T`` is 0, a term dropped that was 0 ...) is decided here by SymPy, independently of
symlearn: ``simplify`` of the difference, then its value on a grid reaching beyond every constant
of the expression. Only claims shown wrong that way are asserted: verify must never call them
"correct". Correct claims (the derivative itself) must never be called "wrong".
"""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from symlearn.functions import relu, sigmoid
from symlearn.verify import verify_gradient

x, y = sp.symbols("x y", real=True)

CONSTANTS = st.sampled_from(
    [sp.Integer(k) for k in (-3, -1, 2, 3, 5)] + [sp.Rational(1, 2), sp.Rational(-7, 3)]
)
BREAKS = st.sampled_from([sp.Integer(k) for k in (-250, -6, -1, 0, 2, 6, 37)])
LEAVES = st.one_of(st.just(x), st.just(y), CONSTANTS)


def _branches(children):
    pair = st.tuples(children, children)
    return st.one_of(
        pair.map(lambda ab: ab[0] + ab[1]),
        pair.map(lambda ab: ab[0] * ab[1]),
        children.map(lambda a: a**2),
        children.map(lambda a: sp.exp(a / 4)),
        children.map(sigmoid),
        children.map(relu),
        children.map(sp.Abs),
        pair.map(lambda ab: sp.Max(ab[0], ab[1])),
        st.tuples(children, children, BREAKS).map(
            lambda abc: sp.Piecewise((abc[0], x > abc[2]), (abc[1], True))
        ),
    )


TREES = st.recursive(LEAVES, _branches, max_leaves=7).filter(lambda e: e.has(x))
SHIFTS = st.sampled_from([37, -250, 12, -40])


def _kink_nodes(expr):
    return [
        n
        for n in sp.preorder_traversal(expr)
        if isinstance(n, (sp.Heaviside, sp.sign, sp.Piecewise, sp.Max, sp.Min, relu, sp.Abs))
    ]


def perturb(truth: sp.Expr, kind: str, shift: int, pick: int) -> sp.Expr | None:
    """The slip ``kind`` applied to ``truth`` (None when it does not apply)."""
    if kind == "factor":
        return 2 * truth
    if kind == "half":
        return truth / 2
    if kind == "sign":
        return -truth
    if kind == "drop":
        expanded = truth if isinstance(truth, sp.Add) else sp.expand(truth, deep=False)
        if not isinstance(expanded, sp.Add):
            return None
        terms = list(expanded.args)
        terms.pop(pick % len(terms))
        return sp.Add(*terms)
    if kind == "constant":
        # Not the value a step takes at its breakpoint (Heaviside(u, 1/2)): that is no slip.
        at_breakpoints = {h.args[1] for h in truth.atoms(sp.Heaviside) if len(h.args) == 2}
        numbers = sorted(truth.atoms(sp.Number) - {sp.S.Zero} - at_breakpoints, key=str)
        if not numbers:
            return None
        old = numbers[pick % len(numbers)]
        return truth.xreplace({old: old + 1 if old != -1 else sp.Integer(3)})
    if kind == "breakpoint":
        nodes = _kink_nodes(truth)
        if not nodes:
            return None
        node = nodes[pick % len(nodes)]
        if isinstance(node, sp.Piecewise):
            moved = sp.Piecewise(
                *[(e, c.xreplace({x: x - shift}) if c is not sp.true else c) for e, c in node.args]
            )
        elif isinstance(node, (sp.Max, sp.Min)):
            moved = node.func(node.args[0] + shift, *node.args[1:])
        else:
            moved = node.func(node.args[0] - shift, *node.args[1:])
        if moved == node:
            return None
        return truth.xreplace({node: moved})
    raise AssertionError(kind)


GRID = sorted(
    {
        *(s * 10**k for s in (-1, 1) for k in (-2, -1, 0, 1, 2, 3)),
        *(s * v for s in (-1, 1) for v in (0.37, 1.7, 2.9, 4.6, 7.3, 13.5, 31.0)),
    }
)


def independently_wrong(loss: sp.Expr, claim: sp.Expr, truth: sp.Expr) -> bool:
    """True when SymPy shows the claim differs from the truth at a point of the loss's domain."""
    constants = [float(n) for n in (loss + claim).atoms(sp.Number) if abs(n) < 10**4]
    xs = sorted(
        {
            *GRID,
            *(c + d for c in constants for d in (-0.61, 0.53)),
            *(c - 37 + d for c in constants for d in (-0.61, 0.53)),
            *(c + 37 + d for c in constants for d in (-0.61, 0.53)),
            *(c + 250 + d for c in constants for d in (-0.61, 0.53)),
            *(c - 250 + d for c in constants for d in (-0.61, 0.53)),
            *(c + 12 + d for c in constants for d in (-0.61, 0.53)),
            *(c - 12 + d for c in constants for d in (-0.61, 0.53)),
            *(c + 40 + d for c in constants for d in (-0.61, 0.53)),
            *(c - 40 + d for c in constants for d in (-0.61, 0.53)),
        }
    )
    ys = (-3.3, -0.7, 0.45, 1.9, 5.5, 41.0, -260.0)
    for xv in xs:
        for yv in ys:
            point = {x: sp.Rational(repr(round(xv, 4))), y: sp.Rational(repr(yv))}
            values = [e.xreplace(point).evalf(40) for e in (loss, truth, claim)]
            if not all(v.is_number and v.is_finite and v.is_real for v in values):
                continue
            t, c = values[1], values[2]
            if abs(t - c) > 1e-15 * max(1, abs(t), abs(c)):
                return True
    return False


KINDS = st.sampled_from(["factor", "half", "sign", "drop", "constant", "breakpoint", "breakpoint"])


@settings(
    max_examples=70,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(TREES, KINDS, SHIFTS, st.integers(0, 20))
def test_a_perturbed_derivative_is_never_correct(loss, kind, shift, pick):
    truth = sp.diff(loss, x)
    claim = perturb(truth, kind, shift, pick)
    if claim is None:
        return
    difference = claim - truth
    if difference == 0 or not independently_wrong(loss, claim, truth):
        return  # the perturbation happens to be an identity (SymPy's grid finds no difference)
    verdict = verify_gradient(loss, x, claim)
    assert verdict.verdict != "correct", (loss, kind, claim, verdict.reason)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(TREES)
def test_the_true_derivative_is_never_wrong(loss):
    verdict = verify_gradient(loss, x, sp.diff(loss, x))
    assert verdict.verdict != "wrong", (loss, verdict.counterexample, verdict.hint)


@pytest.mark.parametrize("kind", ["factor", "half", "sign", "drop", "constant", "breakpoint"])
def test_perturbations_apply(kind):
    # The perturbation helper itself: each kind changes a derivative that has what it needs.
    loss = sp.Piecewise((x**2 + 3 * x, x > 2), (relu(x), True)) + sp.Max(x, y) + 5 * x
    truth = sp.diff(loss, x)
    claim = perturb(truth, kind, 37, 1)
    assert claim is not None and independently_wrong(loss, claim, truth)
