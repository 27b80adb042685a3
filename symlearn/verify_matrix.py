r"""Verify a gradient claimed in matrix form: correct, wrong (with a counterexample), or undetermined.

Given a scalar loss :math:`L` written with SymPy matrix symbols (``X`` of shape ``(n, d)``, ``w`` of
shape ``(d, 1)``, dimension symbols free), a variable :math:`W` (a ``MatrixSymbol``) and a claimed
gradient :math:`C` (a matrix expression), the decision is, in order:

1. **Shape.** The gradient has the shape of :math:`W`; a claim of another shape (a ``1 x d`` row for
   a ``d``-vector, ``n x n`` for ``d x d``) is *wrong*, and the reason names both shapes.
2. **Symbolic identity.** The rule table's gradient (:func:`symlearn.calculus.matrix.vjp`, checked
   against the Matrix Cookbook and ``sympy.diff``) minus the claim, expanded by SymPy's matrix
   algebra; if that is the zero matrix, the claim is *correct* for every size, once ``sympy.diff``
   of the written-out loss agrees at one instance too (if it does not, the rule table is at fault
   and the verdict is *undetermined*, never a silent "correct").
3. **Evaluation.** Otherwise, at least three draws of the dimension symbols (2, 3 and 4 assigned in
   turn, so no draw is square where the shapes allow it) times several scales of the entries, the
   truth is ``sympy.diff`` of the loss written out entry by entry (SymPy's own matrix algebra: the
   rule table plays no part) and the claim is written out at the same point; both in 30 digits.
   A difference beyond :math:`10^{-15}` relative is *wrong*, with the instance as counterexample.
   Agreement at every instance is *correct* for analytic forms (randomized identity testing, as in
   :mod:`symlearn.verify`); where the loss has piecewise functions (relu, step, abs, max) it is
   *correct* only if the instances put the arguments of each such function on both sides of its
   kink, else *undetermined*.

For a wrong claim, hints name the usual matrix slips, each checked numerically, never guessed: the
transposed result, a product in the wrong order, :math:`A` where :math:`A + A^T` is needed (the claim
holds only for symmetric :math:`A`), a missing factor 2 or :math:`1/n`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import sympy as sp

from .calculus.matrix import _explicit, vjp

__all__ = ["verify_matrix_gradient"]

_RTOL = 1e-15
_PIECEWISE = ("relu", "Heaviside", "Abs", "Max", "Min", "Piecewise", "sign")


def _shape_text(shape) -> str:
    return " x ".join(str(d) for d in shape)


def _leaves(*exprs) -> list:
    found = set()
    for e in exprs:
        found |= {s for s in e.free_symbols if isinstance(s, sp.MatrixSymbol)}
    return sorted(found, key=str)


def _dimensions(leaves) -> list:
    dims = set()
    for s in leaves:
        dims |= {d for d in s.shape if isinstance(d, sp.Symbol)}
    return sorted(dims, key=str)


def _draw_sizes(dims, draws: int) -> list[dict]:
    """Draw ``i`` gives the dimension symbols 2, 3, 4 in turn starting at ``i``: every draw is
    non-square wherever two different symbols meet, and each symbol takes each value."""
    values = (2, 3, 4)
    return [{d: values[(j + i) % 3] for j, d in enumerate(dims)} for i in range(draws)]


def _random_leaf(symbol, sizes, scale, rng, symmetric, spd):
    rows, cols = (int(sp.sympify(d).xreplace(sizes)) for d in symbol.shape)
    values = rng.standard_normal((rows, cols)) * scale
    if symbol.name in spd:
        values = values @ values.T / rows + np.eye(rows)
    elif symbol.name in symmetric:
        values = (values + values.T) / 2
    elif rows == cols > 1:
        values = values + scale * rows * np.eye(rows)  # invertible, det > 0
    return values


def _as_sympy(values) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(values.shape[0], values.shape[1],
                              [sp.Float(float(v), 30) for v in values.ravel()])


def _complex_matrix(M) -> np.ndarray:
    return np.array([[complex(sp.N(x, 30)) for x in row] for row in M.tolist()])


def _nested(values: np.ndarray) -> list:
    real = np.real_if_close(values)
    return np.asarray(real, dtype=complex if np.iscomplexobj(real) else float).tolist()


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    scale = np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
    return bool(np.all(np.abs(a - b) <= _RTOL * scale * 1e3))


def verify_matrix_gradient(
    loss,
    wrt: sp.MatrixSymbol,
    claim,
    *,
    sizes_draws: int = 3,
    scales: Iterable[float] = (1.0, 2.5),
    symmetric: Iterable[str] = (),
    spd: Iterable[str] = (),
    seed: int = 0,
) -> dict:
    r"""Check a claimed gradient :math:`C \overset{?}{=} \partial L / \partial W` in matrix form.

    Args:
        loss: a scalar: a SymPy expression (``Trace``, ``Determinant``, ``FrobeniusNorm``...) or a
            $1 \times 1$ matrix expression, in matrix symbols with dimension symbols.
        wrt: the variable $W$, a ``MatrixSymbol`` of the loss.
        claim: the claimed gradient, a matrix expression.
        sizes_draws: draws of the dimension symbols (at least 3); scales: entry scales per draw.
        symmetric, spd: names of square matrices drawn symmetric / symmetric positive definite.

    Returns:
        ``{"verdict", "method", "reason", "hints", "counterexample", "sizes", "expected",
        "claimed"}``: verdict ``"correct"``, ``"wrong"`` or ``"undetermined"``; for ``"wrong"``
        by evaluation, ``counterexample`` maps each matrix name to a nested list, ``sizes`` each
        dimension symbol to an integer, ``expected``/``claimed`` are the true and claimed gradients
        there (nested lists).
    """
    if sizes_draws < 3:
        raise ValueError(f"sizes_draws={sizes_draws} must be at least 3")
    if not isinstance(wrt, sp.MatrixSymbol):
        raise TypeError(f"wrt={wrt!r} must be a MatrixSymbol")
    claim = sp.sympify(claim)
    result = {"verdict": "undetermined", "method": None, "reason": "", "hints": [],
              "counterexample": None, "sizes": None, "expected": None, "claimed": None}
    if not getattr(claim, "is_Matrix", False):
        claim = claim * sp.Identity(1) if wrt.shape == (1, 1) else claim
    if not getattr(claim, "is_Matrix", False) or sp.simplify(
            sp.Matrix(claim.shape) - sp.Matrix(wrt.shape)) != sp.zeros(2, 1):
        shape = claim.shape if getattr(claim, "is_Matrix", False) else (1, 1)
        result.update(verdict="wrong", method="shape", reason=(
            f"the claim has shape {_shape_text(shape)}, but the gradient with respect to "
            f"{wrt.name} has the shape of {wrt.name}, {_shape_text(wrt.shape)}"))
        if tuple(shape) == tuple(reversed(wrt.shape)):
            result["hints"].append("the claim is the transpose of the gradient")
        return result

    # 2. A symbolic identity, where SymPy's matrix algebra shows one (confirmed below at one
    # instance against sympy.diff, so a fault of the rule table can never pass silently).
    proved = False
    try:
        ours = vjp(loss, sp.Identity(1), [wrt]).get(wrt, sp.ZeroMatrix(*wrt.shape))
        difference = sp.expand((ours - claim).doit())
        proved = difference == sp.ZeroMatrix(*wrt.shape) or bool(
            getattr(difference, "is_ZeroMatrix", False))
    except NotImplementedError:
        pass

    # 3. Evaluation at several sizes and scales against sympy.diff of the written-out loss.
    symmetric, spd = set(symmetric), set(spd)
    leaves = _leaves(loss if isinstance(loss, sp.Basic) else sp.sympify(loss), claim, wrt)
    dims = _dimensions(leaves)
    rng = np.random.default_rng(seed)
    piecewise = [f for f in _PIECEWISE if _has_function(loss, f) or _has_function(claim, f)]
    signs: dict = {f: set() for f in piecewise}
    instances = []
    # Scalar symbols (a penalty lambda, a step size) are drawn too, in (0.5, 2).
    scalars = sorted({x for e in (sp.sympify(loss), claim) for x in e.free_symbols
                      if isinstance(x, sp.Symbol) and x not in dims}, key=str)
    full_loss, full_claim = loss, claim
    plan = [(sizes, scale) for sizes in _draw_sizes(dims, sizes_draws)
            for scale in scales]
    for sizes, scale in plan[:1] if proved else plan:
        arrays = {s: _random_leaf(s, sizes, scale, rng, symmetric, spd) for s in leaves}
        drawn = {x: sp.Float(float(rng.uniform(0.5, 2.0)), 30) for x in scalars}
        loss, claim = sp.sympify(full_loss).xreplace(drawn), full_claim.xreplace(drawn)
        instances.append((sizes, arrays))
        truth, claimed, _ = _evaluate(loss, wrt, claim, sizes, arrays, signs)
        if truth is None:
            continue
        if not _close(truth, claimed) and proved:
            result.update(verdict="undetermined", method="symbolic", reason=(
                "the rule table's gradient equals the claim, but sympy.diff of the loss "
                "written out differs at one instance: the rule table is at fault here"))
            return result
        if not _close(truth, claimed):
            result.update(
                verdict="wrong", method="numeric",
                reason=(f"the claim differs from the gradient at sizes "
                        f"{', '.join(f'{d} = {v}' for d, v in sizes.items())}: by up to "
                        f"{float(np.max(np.abs(truth - claimed))):.3g}"),
                counterexample={**{str(x): float(v) for x, v in drawn.items()},
                                **{s.name: _nested(arrays[s]) for s in leaves}},
                sizes={str(d): v for d, v in sizes.items()},
                expected=_nested(truth), claimed=_nested(claimed),
                hints=_hints(loss, wrt, claim, sizes, arrays, truth, claimed, rng,
                             symmetric, spd),
            )
            return result
    evaluated = sum(1 for _ in instances)
    if proved:
        result.update(verdict="correct", method="symbolic", reason=(
            "the claim equals the rule table's gradient in SymPy's matrix algebra, for every "
            "size (and sympy.diff of the loss written out agrees at one instance)"))
        return result
    if piecewise and not all(signs[f] >= {1, -1} for f in piecewise):
        missing = [f for f in piecewise if not signs[f] >= {1, -1}]
        result.update(verdict="undetermined", method="numeric", reason=(
            f"the claim agrees at all {evaluated} instances, but the arguments of "
            f"{', '.join(missing)} did not fall on both sides of the kink"))
        return result
    result.update(verdict="correct", method="numeric", reason=(
        f"the claim agrees with sympy.diff of the loss written out at {evaluated} instances "
        f"({sizes_draws} draws of {', '.join(map(str, dims)) or 'the sizes'}, non-square included, "
        f"{len(tuple(scales))} scales)" + (", arguments of every piecewise function on both "
                                           "sides of its kink" if piecewise else "")))
    return result


def _has_function(expr, name: str) -> bool:
    expr = sp.sympify(expr)
    return any(type(a).__name__ == name for a in sp.preorder_traversal(expr)) or any(
        getattr(getattr(a, "function", None), "__name__", None) == name
        for a in sp.preorder_traversal(expr))


def _evaluate(loss, wrt, claim, sizes: Mapping, arrays: Mapping, signs: dict | None = None):
    """(truth, claimed) as complex arrays at the instance: truth = sympy.diff of the loss written
    out with ``wrt``'s entries as symbols, claimed = the claim written out; None if not finite."""
    sized = {s: s.xreplace(sizes) for s in arrays}
    env = {sized[s]: _as_sympy(v) for s, v in arrays.items()}
    target = sized[wrt]
    entries = sp.ImmutableMatrix(*target.shape, lambda i, j: sp.Dummy(f"e{i}{j}"))
    symbolic = dict(env)
    symbolic[target] = entries
    loss_sized = sp.sympify(loss).xreplace(sizes)
    written = _explicit(loss_sized, symbolic)[0, 0]
    point = {entries[i, j]: env[target][i, j]
             for i in range(target.shape[0]) for j in range(target.shape[1])}
    if signs is not None:
        _record_signs(loss_sized, env, signs)
        _record_signs(sp.sympify(claim).xreplace(sizes), env, signs)
    truth = np.array([[complex(sp.N(sp.diff(written, entries[i, j]).xreplace(point), 30))
                       for j in range(target.shape[1])] for i in range(target.shape[0])])
    claimed = _complex_matrix(_explicit(sp.sympify(claim).xreplace(sizes), env))
    if not (np.all(np.isfinite(truth)) and np.all(np.isfinite(claimed))):
        return None, None, env
    return truth, claimed.reshape(truth.shape), env


def _record_signs(expr, env, signs: dict) -> None:
    """For each elementwise piecewise function in ``expr`` (relu, a step, abs, max...), the signs
    of its argument's entries at the instance: the regions the instance covers."""
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    for node in sp.preorder_traversal(expr):
        if not isinstance(node, ElementwiseApplyFunction):
            continue
        body = node.function(sp.Dummy("t"))
        kinds = [f for f in signs if _has_function(body, f)]
        if not kinds:
            continue
        values = _explicit(node.expr, env)
        for x in values:
            value = sp.N(x, 30)
            if value.is_real and value != 0:
                for f in kinds:
                    signs[f].add(1 if value > 0 else -1)


def _hints(loss, wrt, claim, sizes, arrays, truth, claimed, rng, symmetric, spd) -> list[str]:
    hints = []
    if truth.shape[0] == truth.shape[1] and _close(truth, claimed.T):
        hints.append("the claim is the transpose of the gradient")
    if isinstance(claim, sp.MatMul):
        scalars = [a for a in claim.args if not getattr(a, "is_Matrix", False)]
        matrices = [a for a in claim.args if getattr(a, "is_Matrix", False)]
        if len(matrices) > 1:
            reordered = [sp.MatMul(*scalars, *matrices[::-1])] if all(
                matrices[i].shape[1] == matrices[i - 1].shape[0] for i in range(1, len(matrices))
            ) else []
            for candidate in reordered:
                try:
                    value = _complex_matrix(_explicit(candidate.xreplace(sizes), {
                        s.xreplace(sizes): _as_sympy(v) for s, v in arrays.items()}))
                except Exception:  # noqa: BLE001, S112 - shapes that do not chain: no hint
                    continue
                if value.shape == truth.shape and _close(truth, value):
                    hints.append("the product's factors are in the wrong order")
    # A constant factor, read at this instance and at a second one with other sizes: only the
    # readings both agree on are hints (at n = 2, a ratio 1/2 could be either "2" or "1/n").
    readings = _ratio_readings(_constant_ratio(truth, claimed), sizes)
    if readings:
        other, used = {}, set()
        for dim, value in sizes.items():  # other sizes: no 2, each new and all different
            other[dim] = next(v for v in range(3, 99) if v != value and v not in used)
            used.add(other[dim])
        other_arrays = {s: _random_leaf(s, other, 1.0, rng, symmetric, spd) for s in arrays}
        t2, c2, _ = _evaluate(loss, wrt, claim, other, other_arrays)
        if t2 is not None:
            readings &= _ratio_readings(_constant_ratio(t2, c2), other)
        hints.extend(sorted(readings))
    # A where A + A^T: the claim holds when every square constant is symmetric.
    square = [s for s in arrays if s != wrt and s.shape[0] == s.shape[1]
              and s.name not in symmetric and s.name not in spd]
    def holds_if_symmetric(group) -> bool:
        symmetrized = {s: ((v + v.T) / 2 if s in group else v) for s, v in arrays.items()}
        t2, c2, _ = _evaluate(loss, wrt, claim, sizes, symmetrized)
        return t2 is not None and _close(t2, c2)

    # One matrix at a time first, so the hint names the one that needs its transpose.
    alone = [s for s in square if holds_if_symmetric([s])] if len(square) > 1 else []
    if alone:
        for s in alone:
            hints.append(f"the claim holds only for symmetric {s.name}: where the formula has "
                         f"{s.name}, the gradient needs {s.name} + {s.name}^T (e.g. (A + A^T) x)")
    elif square and holds_if_symmetric(square):
        if len(square) == 1:
            name = square[0].name
            hints.append(f"the claim holds only for symmetric {name}: where the formula has "
                         f"{name}, the gradient needs {name} + {name}^T (e.g. (A + A^T) x)")
        else:
            names = " and ".join(s.name for s in square)
            hints.append(f"the claim holds only if {names} are symmetric: the gradient needs "
                         f"their transposes too ({', '.join(f'{s.name}^T' for s in square)})")
    return hints


def _ratio_readings(ratio, sizes) -> set[str]:
    """What a constant ratio truth / claim means: a missing 2, a doubled claim, a missing 1/d."""
    if ratio is None:
        return set()
    readings = set()
    if abs(ratio - 2) < 1e-9:
        readings.add("a factor 2 is missing")
    if abs(ratio - 0.5) < 1e-9:
        readings.add("the claim is twice the gradient")
    for d, v in sizes.items():
        if abs(ratio - 1 / v) < 1e-9:
            readings.add(f"a factor 1/{d} is missing")
        if abs(ratio - v) < 1e-9:
            readings.add(f"the claim is off by a factor {d} (a 1/{d} too many)")
    return readings


def _constant_ratio(truth: np.ndarray, claimed: np.ndarray):
    mask = np.abs(claimed) > 1e-12
    if not mask.any() or np.any(np.abs(truth[~mask]) > 1e-12):
        return None
    ratios = truth[mask] / claimed[mask]
    if np.all(np.abs(ratios - ratios.flat[0]) < 1e-9 * max(1.0, abs(ratios.flat[0]))):
        value = ratios.flat[0]
        return float(value.real) if abs(value.imag) < 1e-12 else None
    return None
