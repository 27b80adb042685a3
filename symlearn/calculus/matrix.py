r"""Matrix calculus by a table of vector-Jacobian products, in the spirit of autograd's ``defvjp``.

SymPy differentiates linear and quadratic ``MatrixSymbol`` forms, but not through elementwise
activations (SymPy issue 21062: wrong shapes, uncompilable results). This module closes the gap.
Each matrix operation has one rule: given the upstream gradient $G$ (the gradient of a scalar loss
with respect to the operation's output, with the output's shape) it returns the gradient with
respect to one operand, as a matrix expression. The rules read like a reference card:

=======================================  ==============================================
operation                                gradient with respect to the operand
=======================================  ==============================================
$C = A B$                                $\bar A = G B^T$, $\bar B = A^T G$
$C = A^T$                                $\bar A = G^T$
$C = A + B$                              $\bar A = G$, $\bar B = G$
$C = c A$ (scalar $c$)                   $\bar A = c G$
$C = A \circ B$                          $\bar A = G \circ B$, $\bar B = G \circ A$
$C = f(A)$ elementwise                   $\bar A = G \circ f'(A)$ ($f'$ from ``fdiff``)
$s = \operatorname{sum}(A)$              $\bar A = G\,\mathbf{1}\mathbf{1}^T$
$\ell = \operatorname{logsumexp}_{row}(A)$  $\bar A = (G \mathbf{1}^T) \circ \operatorname{softmax}(A)$
$S = \operatorname{softmax}_{row}(A)$    $\bar A = S \circ (G - ((G \circ S)\mathbf{1})\mathbf{1}^T)$
$Y = \operatorname{logsoftmax}_{row}(A)$ $\bar A = G - \operatorname{softmax}(A) \circ ((G\mathbf{1})\mathbf{1}^T)$
$C = A^{-1}$                             $\bar A = -A^{-T} G A^{-T}$
$C = A^k$ (integer $k > 0$)              $\bar A = \sum_{r=0}^{k-1} (A^T)^r G (A^T)^{k-1-r}$
$C = A^{\circ p}$ (Hadamard power)       $\bar A = G \circ p A^{\circ (p-1)}$
$C = c\,M$ ($c$ scalar, depends on $A$)   $\bar c = \operatorname{tr}(G^T M)$, then the scalar rules
=======================================  ==============================================

Scalar functions of a matrix (upstream gradient $g$, a scalar), :data:`SCALAR_RULES`:

=======================================  ==============================================
$s = \operatorname{tr}(A)$               $\bar A = g I$
$s = \det(A)$                            $\bar A = g \det(A) A^{-T}$ (Cookbook eq. (49))
$s = \|A\|_F$ (a vector's 2-norm)        $\bar A = g A / \|A\|_F$
$s = A_{11}$ of a $1 \times 1$ matrix     $\bar A = g$
=======================================  ==============================================

SymPy's scalar chain rule joins them: $\log\det A$ gives $A^{-T}$ (eq. (57)), $\|A\|_F^2$ gives
$2A$, $\operatorname{tr}(\sin A)$ with $\sin$ elementwise gives $I \circ \cos A$.

A bias broadcast over a batch is the product $\mathbf{1}_n \mathbf{b}^T$, so the matmul rule gives
its gradient $\mathbf{1}_n^T G$, the column sums of $G$.

:class:`MatrixGraph` names the intermediates of a model (``Z = X W + 1 b^T``, ``A = sigma(Z)``,
``L = ...``), :meth:`MatrixGraph.backward` applies the table node by node, and
:func:`compile_graph` has the matrix-graph backend (:mod:`symlearn.codegen.graph`) print the
forward and backward assignments as one numpy function (each intermediate computed once). The
nodes (``MatSum``, ``LogSumExp``, ``Softmax``, ``LogSoftmax``, ``FrobeniusNorm``) live in
:mod:`symlearn.matrix_functions` and are re-exported here. Every rule is tested against ``sympy.diff`` of the expanded scalar
form of a small instance and against the Matrix Cookbook (``tests/test_cookbook.py``), and
:meth:`MatrixGraph.check` does the same for a whole model; :func:`compile_graph` runs that check
once per graph structure before it returns any code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardPower
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr

# The nodes live in symlearn.matrix_functions (the printers read them too); re-exported here.
from ..matrix_functions import (
    FrobeniusNorm,
    LogSoftmax,
    LogSumExp,
    MatSum,
    Softmax,
    _ones,
    elementwise,
    norm,
)

__all__ = [
    "MatSum",
    "LogSumExp",
    "Softmax",
    "LogSoftmax",
    "RULES",
    "Rule",
    "elementwise",
    "vjp",
    "MatrixGraph",
    "compile_graph",
    "ensure_checked",
    "GradientCheckError",
    "FrobeniusNorm",
    "norm",
    "SCALAR_RULES",
]


# --------------------------------------------------------------------------------------------------
# The rule table


@dataclass(frozen=True)
class Rule:
    """How one operation passes a gradient to its operands.

    Attributes:
        vjp: ``vjp(node, index, G)`` -> the gradient with respect to ``node.args[index]``.
        latex: the rule as it appears on the reference card.
    """

    vjp: Callable
    latex: str


def _matmul_vjp(node, index, G):
    r"""$C = c\,M_1 \cdots M_k$: the gradient with respect to the factor at ``node.args[index]``.

    The factor is found by its position, never by equality: in $A X B X$ each of the two $X$ gets
    its own term ($A^T G X^T B^T$ and $B^T X^T A^T G$), which :func:`vjp` then adds up."""
    scalars = [a for a in node.args if not getattr(a, "is_Matrix", False)]
    coefficient = sp.Mul(*scalars)
    position = sum(1 for a in node.args[:index] if getattr(a, "is_Matrix", False))
    matrices = [a for a in node.args if getattr(a, "is_Matrix", False)]
    left = sp.MatMul(*matrices[:position]) if position > 0 else None
    right = sp.MatMul(*matrices[position + 1 :]) if position + 1 < len(matrices) else None
    grad = coefficient * G
    if left is not None:
        grad = left.T * grad
    if right is not None:
        grad = grad * right.T
    return grad


def _matmul_scalar_vjp(node, index, G):
    r"""$C = c\,M$ with a scalar $c$ that depends on the variable: $\bar c = \langle G, M \rangle
    = \operatorname{tr}(G^T M)$, where $M$ is the product of every other factor."""
    rest = [a for i, a in enumerate(node.args) if i != index]
    return _inner(G, sp.MatMul(*rest) if len(rest) > 1 else rest[0])


def _inner(G, M):
    r"""The Frobenius inner product $\langle G, M \rangle = \operatorname{tr}(G^T M)$, a scalar."""
    if G.shape == (1, 1) and M.shape == (1, 1):
        return _as_scalar(G) * _as_scalar(M)
    return sp.Trace(G.T * M)


def _as_scalar(M):
    """The one entry of a $1 \times 1$ matrix expression, as a scalar expression."""
    if isinstance(M, (sp.Identity, sp.OneMatrix)):
        return sp.Integer(1)
    if isinstance(M, sp.ZeroMatrix):
        return sp.Integer(0)
    if isinstance(M, sp.MatMul):
        scalars = [a for a in M.args if not getattr(a, "is_Matrix", False)]
        matrices = [a for a in M.args if getattr(a, "is_Matrix", False)]
        if all(m.shape == (1, 1) for m in matrices):
            return sp.Mul(*scalars) * sp.Mul(*[_as_scalar(m) for m in matrices])
    return sp.Trace(M)


def _inverse_vjp(node, index, G):
    r"""$C = A^{-1}$: $\bar A = -A^{-T} G A^{-T}$ (Cookbook eq. (59) read backwards)."""
    inverse_t = sp.Inverse(node.args[0]).T
    return -inverse_t * G * inverse_t


def _matpow_vjp(node, index, G):
    r"""$C = A^k$, integer $k$: $\bar A = \sum_{r=0}^{k-1} (A^T)^r G (A^T)^{k-1-r}$ for $k > 0$
    (Cookbook eq. (90)); for $k < 0$ the same through $B = A^{-1}$, $\bar A = -A^{-T}\bar B A^{-T}$."""
    base, exponent = node.args
    if not (exponent.is_Integer):
        raise NotImplementedError(f"no matrix-calculus rule for the power {exponent} (integers only)")
    k = int(exponent)
    if k == 0:
        return sp.ZeroMatrix(*base.shape)
    inner = sp.Inverse(base) if k < 0 else base
    m = abs(k)
    terms = []
    for r in range(m):
        factors = [_power(inner.T, r), G, _power(inner.T, m - 1 - r)]
        factors = [f for f in factors if f is not None]
        terms.append(sp.MatMul(*factors) if len(factors) > 1 else factors[0])
    grad = sp.MatAdd(*terms) if len(terms) > 1 else terms[0]
    if k < 0:
        inverse_t = sp.Inverse(base).T
        grad = -inverse_t * grad * inverse_t
    return grad


def _power(A, r):
    if r == 0:
        return None
    return A if r == 1 else sp.MatPow(A, r)


def _hadamard_power_vjp(node, index, G):
    r"""$C = A^{\circ p}$ (constant $p$): $\bar A = G \circ p A^{\circ (p-1)}$."""
    base, exponent = node.args
    if exponent.free_symbols & _matrix_symbols(exponent):
        raise NotImplementedError("no matrix-calculus rule for a Hadamard power with a matrix exponent")
    if exponent == 2:
        return 2 * sp.HadamardProduct(G, base)
    return exponent * sp.HadamardProduct(G, HadamardPower(base, exponent - 1))


def _matrix_symbols(expr):
    return {s for s in expr.free_symbols if isinstance(s, sp.MatrixSymbol)}


def _elementwise_derivative(node):
    d = node.function.variables[0]
    derivative = sp.diff(node.function.expr, d)
    return ElementwiseApplyFunction(sp.Lambda(d, derivative), node.expr)


def _hadamard_vjp(node, index, G):
    others = [a for i, a in enumerate(node.args) if i != index]
    return sp.HadamardProduct(G, *others)


def _row_broadcast(column, cols):
    return column * _ones(1, cols)


RULES: dict[type, Rule] = {
    sp.MatMul: Rule(_matmul_vjp, r"C = AB:\ \bar{A} = G B^T,\ \bar{B} = A^T G"),
    sp.Inverse: Rule(_inverse_vjp, r"C = A^{-1}:\ \bar{A} = -A^{-T} G A^{-T}"),
    sp.MatPow: Rule(
        _matpow_vjp, r"C = A^k:\ \bar{A} = \sum_{r=0}^{k-1} (A^T)^r G (A^T)^{k-1-r}"
    ),
    HadamardPower: Rule(
        _hadamard_power_vjp, r"C = A^{\circ p}:\ \bar{A} = G \circ p A^{\circ (p-1)}"
    ),
    sp.MatAdd: Rule(lambda node, index, G: G, r"C = A + B:\ \bar{A} = \bar{B} = G"),
    sp.Transpose: Rule(lambda node, index, G: G.T, r"C = A^T:\ \bar{A} = G^T"),
    sp.HadamardProduct: Rule(_hadamard_vjp, r"C = A \circ B:\ \bar{A} = G \circ B"),
    ElementwiseApplyFunction: Rule(
        lambda node, index, G: sp.HadamardProduct(G, _elementwise_derivative(node)),
        r"C = f(A):\ \bar{A} = G \circ f'(A)",
    ),
    MatSum: Rule(
        lambda node, index, G: _ones(node.arg.shape[0], 1) * G * _ones(1, node.arg.shape[1]),
        r"s = \operatorname{sum}(A):\ \bar{A} = G\,\mathbf{1}\mathbf{1}^T",
    ),
    LogSumExp: Rule(
        lambda node, index, G: sp.HadamardProduct(
            _row_broadcast(G, node.arg.shape[1]), Softmax(node.arg)
        ),
        r"\ell = \operatorname{logsumexp}(A):\ \bar{A} = (G\mathbf{1}^T) \circ \operatorname{softmax}(A)",
    ),
    Softmax: Rule(
        lambda node, index, G: sp.HadamardProduct(
            Softmax(node.arg),
            G - _row_broadcast(sp.HadamardProduct(G, Softmax(node.arg)) * _ones(node.arg.shape[1], 1),
                               node.arg.shape[1]),
        ),
        r"S = \operatorname{softmax}(A):\ \bar{A} = S \circ (G - ((G \circ S)\mathbf{1})\mathbf{1}^T)",
    ),
    LogSoftmax: Rule(
        lambda node, index, G: G - sp.HadamardProduct(
            Softmax(node.arg), _row_broadcast(G * _ones(node.arg.shape[1], 1), node.arg.shape[1])
        ),
        r"Y = \operatorname{logsoftmax}(A):\ \bar{A} = G - \operatorname{softmax}(A) \circ ((G\mathbf{1})\mathbf{1}^T)",
    ),
}


def _element_vjp(atom, index, g):
    if atom.parent.shape != (1, 1):
        raise NotImplementedError(
            f"no matrix-calculus rule for the entry {atom} of a matrix larger than 1 x 1"
        )
    return g * sp.Identity(1)


#: Rules for the scalar functions of a matrix: ``vjp(atom, index, g)`` with a scalar upstream
#: gradient ``g`` returns the gradient with respect to the matrix ``atom.args[index]``.
SCALAR_RULES: dict[type, Rule] = {
    sp.Trace: Rule(
        lambda atom, index, g: g * sp.Identity(atom.arg.shape[0]),
        r"s = \operatorname{tr}(A):\ \bar{A} = g I",
    ),
    sp.Determinant: Rule(
        lambda atom, index, g: (g * atom) * sp.Inverse(atom.arg).T,
        r"s = \det(A):\ \bar{A} = g \det(A) A^{-T}",
    ),
    FrobeniusNorm: Rule(
        lambda atom, index, g: (g / atom) * atom.arg,
        r"s = \|A\|_F:\ \bar{A} = g A / \|A\|_F",
    ),
    MatrixElement: Rule(_element_vjp, r"s = A_{11}\ (1 \times 1):\ \bar{A} = g"),
}

#: Scalar rules that follow from the table by SymPy's scalar chain rule, listed for documents.
DERIVED_LATEX = {
    "log det": r"s = \log\det(A):\ \bar{A} = g A^{-T}",
    "squared norm": r"s = \|A\|_F^2:\ \bar{A} = 2 g A",
    "scalar factor": r"C = c\,M:\ \bar{c} = \operatorname{tr}(G^T M),\ \bar{M} = c G",
    "trace of f(A)": r"s = \operatorname{tr}(f(A)):\ \bar{A} = g\, I \circ f'(A)",
}


def _is_ones(expr) -> bool:
    return isinstance(expr, sp.OneMatrix)


def _split_scalar(expr):
    """``c * M`` -> (c, M) for a MatMul with a scalar coefficient; else (1, expr)."""
    if isinstance(expr, sp.MatMul):
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        matrices = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        if len(matrices) == 1:
            return sp.Mul(*scalars), matrices[0]
    return sp.Integer(1), expr


def tidy(expr):
    r"""Drop the ones and identities that the rules leave behind: $I G$ -> $G$,
    $(c\,\mathbf{1}) \circ A$ -> $c A$, a $1 \times 1$ ones factor -> nothing."""
    if not isinstance(expr, MatrixExpr) or isinstance(expr, sp.MatrixSymbol):
        return expr
    args = [tidy(a) if isinstance(a, MatrixExpr) else a for a in expr.args]
    if isinstance(expr, sp.MatMul):
        kept = [a for a in args if not (isinstance(a, sp.Identity) or (_is_ones(a) and a.shape == (1, 1)))]
        matrices = [a for a in kept if getattr(a, "is_Matrix", False)]
        if not matrices:
            return expr
        return sp.MatMul(*kept) if len(kept) > 1 else kept[0]
    if isinstance(expr, sp.MatAdd):
        # c A - c B -> c (A - B): one scaling instead of one per term.
        parts = [_split_scalar(a) for a in args]
        positive = [c for c, _ in parts if not sp.sympify(c).could_extract_minus_sign()]
        c0 = positive[0] if positive else parts[0][0]
        ratios = [sp.simplify(c / c0) for c, _ in parts]
        if c0 != 1 and all(r in (1, -1) for r in ratios):
            inner = sp.MatAdd(*[m if r == 1 else -m for r, (_, m) in zip(ratios, parts)])
            return c0 * inner
        return sp.MatAdd(*args)
    if isinstance(expr, sp.HadamardProduct):
        coefficient, factors = sp.Integer(1), []
        for a in args:
            c, m = _split_scalar(a)
            if _is_ones(m) and m.shape == expr.shape:
                coefficient *= c
            else:
                coefficient *= c
                factors.append(m)
        if not factors:
            return expr
        core = sp.HadamardProduct(*factors) if len(factors) > 1 else factors[0]
        return core if coefficient == 1 else coefficient * core
    if isinstance(expr, ElementwiseApplyFunction):
        return ElementwiseApplyFunction(expr.function, args[1])
    return expr.func(*args)


def _rule_for(node) -> Rule | None:
    for cls in type(node).__mro__:
        if cls in RULES:
            return RULES[cls]
    return None


def _matrix_operands(node) -> list[int]:
    if isinstance(node, ElementwiseApplyFunction):
        return [1]  # args = (function, expr)
    if isinstance(node, (sp.Inverse, sp.MatPow, HadamardPower)):
        return [0]  # args = (base, exponent)
    return [i for i, a in enumerate(node.args) if getattr(a, "is_Matrix", False)]


def _scalar_atoms(expr) -> list:
    """The outermost scalar functions of a matrix in ``expr`` (traces, determinants, norms,
    entries), each once."""
    found: list = []

    def visit(e):
        if isinstance(e, tuple(SCALAR_RULES)):
            if e not in found:
                found.append(e)
            return
        if getattr(e, "is_Matrix", False):
            return
        for a in e.args:
            if isinstance(a, sp.Basic):
                visit(a)

    visit(expr)
    return found


def vjp(expr, G, wrt: Sequence) -> dict:
    r"""Gradients of $\langle G, \mathrm{expr} \rangle$ with respect to each symbol in ``wrt``
    that ``expr`` uses.

    Walks ``expr``'s tree from the root, applying :data:`RULES` to matrix operations and
    :data:`SCALAR_RULES` to scalar functions of matrices (trace, determinant, norm). Every
    occurrence of a variable is its own path, and the paths add up (the product rule). A scalar
    factor $c$ of a product $c\,M$ that depends on a variable is a path too: its upstream
    gradient is $\langle G, M \rangle$, and SymPy's scalar chain rule carries it to the traces,
    determinants and norms inside $c$ (so $\log\det X$ gives $X^{-T}$). ``expr`` may be a
    scalar expression (then ``G`` is a scalar or a $1 \times 1$ matrix). Leaves not in ``wrt``
    get nothing. Returns ``{symbol: gradient expression}``; an operation with no rule raises
    ``NotImplementedError`` (never a silent zero).
    """
    targets = set(wrt)
    out: dict = {}

    def depends(node) -> bool:
        return bool(node.free_symbols & targets)

    def walk(node, upstream):
        if node in targets:
            out[node] = upstream if node not in out else out[node] + upstream
            return
        if isinstance(node, (sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
            return
        if not depends(node):
            return
        rule = _rule_for(node)
        if rule is None:
            raise NotImplementedError(f"no matrix-calculus rule for {type(node).__name__}")
        for index in _matrix_operands(node):
            if depends(node.args[index]):
                walk(node.args[index], rule.vjp(node, index, upstream))
        if isinstance(node, sp.MatMul):
            for index, a in enumerate(node.args):
                if not getattr(a, "is_Matrix", False) and depends(a):
                    walk_scalar(a, _matmul_scalar_vjp(node, index, upstream))
        elif not isinstance(node, (sp.Inverse, sp.MatPow)):
            scalars = [a for i, a in enumerate(node.args)
                       if i not in _matrix_operands(node) and isinstance(a, sp.Expr)
                       and not isinstance(node, ElementwiseApplyFunction) and depends(a)]
            if scalars:
                raise NotImplementedError(
                    f"no matrix-calculus rule for {type(node).__name__} with a scalar argument "
                    "that depends on the variable"
                )

    def walk_scalar(expr, g):
        if not depends(expr):
            return
        atoms = [a for a in _scalar_atoms(expr) if depends(a)]
        dummies = {a: sp.Dummy(f"s{i}") for i, a in enumerate(atoms)}
        plain = expr.xreplace(dummies)
        if depends(plain):
            raise NotImplementedError(
                f"no matrix-calculus rule for the scalar {expr}: a matrix enters it other than "
                "through a trace, determinant, norm or 1 x 1 entry"
            )
        back = {d: a for a, d in dummies.items()}
        for atom, dummy in dummies.items():
            partial = sp.diff(plain, dummy).xreplace(back)
            rule = SCALAR_RULES[next(c for c in SCALAR_RULES if isinstance(atom, c))]
            upstream = g * partial
            for index in _matrix_operands(atom):
                if depends(atom.args[index]):
                    walk(atom.args[index], rule.vjp(atom, index, upstream))

    if getattr(expr, "is_Matrix", False):
        walk(expr, G)
    else:
        walk_scalar(expr, _as_scalar(G) if getattr(G, "is_Matrix", False) else G)
    return out


# --------------------------------------------------------------------------------------------------
# Models as graphs of named matrix intermediates


@dataclass(frozen=True)
class MatrixGraph:
    """Named matrix intermediates: ``nodes[i] = (MatrixSymbol, definition)``; the last is the
    $1 \\times 1$ loss. Inputs are the matrix symbols that are not nodes."""

    nodes: tuple

    @property
    def output(self):
        return self.nodes[-1][0]

    @property
    def definitions(self) -> dict:
        return dict(self.nodes)

    def expand(self, expr):
        """``expr`` written in the inputs only."""
        for name, definition in reversed(self.nodes):
            expr = expr.xreplace({name: definition})
        return expr

    def adjoint(self, symbol) -> sp.MatrixSymbol:
        """The symbol that holds the loss's gradient with respect to ``symbol`` (``dZ``)."""
        return sp.MatrixSymbol(f"d{symbol.name}", *symbol.shape)

    def backward(self, wrt: Sequence) -> tuple:
        """The backward pass as assignments ``(adjoint symbol, expression)``, output first.

        Each node's adjoint is the sum of what its consumers send it, each by one rule of the
        table, so the expressions use the nodes and earlier adjoints by name.
        """
        names = [n for n, _ in self.nodes]
        wanted = set(wrt)
        contributions: dict = {}
        assignments = []
        for name, definition in reversed(self.nodes):
            if name == self.output:
                upstream = sp.Identity(1)
            else:
                parts = contributions.get(name)
                if not parts:
                    continue
                upstream = tidy(sp.MatAdd(*parts) if len(parts) > 1 else parts[0])
                assignments.append((self.adjoint(name), upstream))
                upstream = self.adjoint(name)
            targets = [s for s in definition.free_symbols
                       if isinstance(s, sp.MatrixSymbol) and (s in names or s in wanted)]
            for symbol, grad in vjp(definition, upstream, targets).items():
                contributions.setdefault(symbol, []).append(grad)
        for symbol in wrt:
            parts = contributions.get(symbol, [])
            grad = (sp.MatAdd(*parts) if len(parts) > 1 else parts[0]) if parts else sp.ZeroMatrix(*symbol.shape)
            assignments.append((self.adjoint(symbol), tidy(grad)))
        return tuple(assignments)

    def compile(self, args: Sequence, wrt: Sequence, *, name: str = "loss_and_grad"):
        """:func:`compile_graph` of this graph: checked, then compiled by the matrix-graph
        backend (the backends reach the check through this method, without importing it)."""
        return compile_graph(self, args, wrt, name=name)

    def gradient(self, symbol, wrt: Sequence):
        """The gradient with respect to ``symbol`` written in the inputs only."""
        assignments = self.backward(wrt)
        expr = dict(assignments)[self.adjoint(symbol)]
        for adjoint, definition in reversed(assignments):
            expr = expr.xreplace({adjoint: definition})
        return self.expand(expr)

    def small_sizes(self) -> dict:
        """A small instance: each dimension symbol of the graph -> 2 or 3, alternating in name
        order (so most matrices are not square and a transposed formula shows)."""
        dims = set()
        for name, definition in self.nodes:
            for e in (name, definition):
                for s in sp.preorder_traversal(e):
                    if isinstance(s, (sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
                        dims |= {d for d in s.shape if isinstance(d, sp.Symbol)}
        return {d: 2 + i % 2 for i, d in enumerate(sorted(dims, key=str))}

    def check(self, wrt: Sequence, sizes: Mapping | None = None, *, draws: int = 2,
              seed: int = 0) -> bool:
        r"""Check the backward pass against ``sympy.diff`` on the instance ``sizes`` (dimension
        symbol -> int; default :meth:`small_sizes`), node by node.

        For every adjoint, output first: the loss with the later nodes written out is a function of
        that node (and of earlier nodes and inputs, held as free leaves); ``sympy.diff`` of it,
        entry by entry, at ``draws`` random points in 30-digit arithmetic, must equal the rule
        table's adjoint evaluated at the same points (relative difference below $10^{-9}$).
        Returns True; raises :class:`GradientCheckError` naming the first node whose gradient
        differs, and the largest difference found.

        The loss is written out once per set of free leaves, bottom up (:func:`_explicit`: each
        operand an explicit matrix before its parent), with a symbol for every entry of every
        free leaf, and differentiated once per entry; each draw then substitutes its random
        point into those derivatives. Differentiating once, symbolically, and evaluating per
        draw costs less than differentiating again at every draw with the other leaves as
        30-digit numbers, and gives the same numbers.
        """
        sizes = dict(sizes) if sizes else self.small_sizes()
        nodes = [(n.xreplace(sizes), d.xreplace(sizes)) for n, d in self.nodes]
        names = [n for n, _ in nodes]
        assignments = [(a.xreplace(sizes), e.xreplace(sizes)) for a, e in self.backward(wrt)]
        target_of = {self.adjoint(s).xreplace(sizes): s.xreplace(sizes)
                     for s in [n for n, _ in self.nodes] + list(wrt)}
        leaves = sorted({s for _, d in nodes for s in d.free_symbols
                         if isinstance(s, sp.MatrixSymbol)} - set(names), key=str)
        output = self.output.xreplace(sizes)
        shown = ", ".join(f"{k} = {v}" for k, v in sizes.items())
        written_out: dict = {}  # p -> (entry symbols of the free leaves, the loss in them)

        def loss_in_entries(p: int):
            """The loss written out from node ``p + 1`` on, in a symbol for every entry of the
            inputs and of nodes ``0..p`` (free leaves); built once and shared by every draw and
            by every target with the same free leaves (all the gradients asked for: p = -1)."""
            if p not in written_out:
                entries = {s: sp.ImmutableMatrix(*s.shape,
                                                 lambda i, j, s=s: sp.Dummy(f"{s.name}{i}{j}"))
                           for s in leaves + names[: p + 1]}
                symbolic = dict(entries)
                memo: dict = {}
                for name, definition in nodes[p + 1 :]:
                    symbolic[name] = _explicit(definition, symbolic, memo)
                written_out[p] = (entries, symbolic[output][0, 0])
            return written_out[p]

        def worst_difference(position: int) -> float:
            adjoint = assignments[position][0]
            target = target_of[adjoint]
            p = names.index(target) if target in names else -1
            free = leaves + names[: p + 1]
            downstream = nodes[p + 1 :]
            entries, loss = loss_in_entries(p)
            # The reference: sympy.diff of the loss written out in scalars, entry by entry.
            rows, cols = (int(s) for s in target.shape)
            if target in entries:
                derivatives = [[sp.diff(loss, entries[target][i, j]) for j in range(cols)]
                               for i in range(rows)]
            else:  # a variable the loss does not use: its gradient is zero
                derivatives = [[sp.Integer(0)] * cols for _ in range(rows)]
            rng = np.random.default_rng([seed, position])
            worst = 0.0
            for _ in range(draws):
                env = {s: _random_matrix(s, rng) for s in free}
                numeric = dict(env)
                memo: dict = {}
                for name, definition in downstream:
                    numeric[name] = _explicit(definition, numeric, memo)
                for a, e in assignments[: position + 1]:
                    numeric[a] = _explicit(e, numeric, memo)
                ours = numeric[adjoint]
                point = {entry: value for s in free
                         for entry, value in zip(entries[s], env[s])}
                for i in range(rows):
                    for j in range(cols):
                        truth = _number(derivatives[i][j].xreplace(point), target)
                        value = _number(ours[i, j], target)
                        scale = max(1.0, abs(truth), abs(value))
                        worst = max(worst, abs(truth - value) / scale)
            return worst

        def fail(position: int, worst: float):
            adjoint = assignments[position][0]
            target = target_of[adjoint]
            raise GradientCheckError(
                f"the rule table's gradient with respect to {target.name} ({adjoint.name}) "
                f"differs from sympy.diff of the expanded loss by up to {worst:.3g} "
                f"(relative, at {shown})",
                node=target.name, max_difference=worst,
            )

        # The gradients asked for first; only when one differs are the intermediate nodes
        # checked, output first, to name the first node whose gradient is wrong.
        final = [i for i, (a, _) in enumerate(assignments) if target_of[a] not in names]
        for position in final:
            worst = worst_difference(position)
            if not worst <= 1e-9:
                for earlier in range(len(assignments)):
                    if earlier in final:
                        continue
                    node_worst = worst_difference(earlier)
                    if not node_worst <= 1e-9:
                        fail(earlier, node_worst)
                fail(position, worst)
        return True


class GradientCheckError(ValueError):
    """A gradient of the rule table (or its compiled code) disagrees with ``sympy.diff``.

    Attributes: ``node`` (the name of the node or input whose gradient differs) and
    ``max_difference`` (the largest relative difference found)."""

    def __init__(self, message: str, node: str | None = None, max_difference: float | None = None):
        super().__init__(message)
        self.node = node
        self.max_difference = max_difference


def _random_matrix(symbol, rng, low=-1.0, high=1.0):
    """Random 30-digit entries for ``symbol``; a square matrix gets ``rows * I`` added, so it is
    invertible with a positive determinant (the domain of inverses and log-determinants)."""
    rows, cols = (int(d) for d in symbol.shape)
    values = rng.uniform(low, high, (rows, cols))
    if rows == cols > 1:
        values = values + rows * np.eye(rows)
    return sp.ImmutableMatrix(rows, cols, [sp.Float(float(v), 30) for v in values.ravel()])


def _number(value, target) -> complex:
    try:
        number = complex(sp.N(value, 30))
    except TypeError:
        number = None
    if number is None or not np.isfinite(number):
        raise GradientCheckError(
            f"the gradient with respect to {target.name} does not evaluate to a finite number at "
            f"the check's random point ({value}): the check cannot decide there", node=target.name,
        )
    return number


def _has_matrix(expr) -> bool:
    return any(isinstance(s, sp.MatrixSymbol) for s in expr.free_symbols) or any(
        isinstance(a, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity, sp.MatrixBase))
        for a in sp.preorder_traversal(expr)
    )


def _explicit(expr, env: Mapping, memo: dict | None = None):
    """``expr`` evaluated bottom up with each matrix symbol replaced by the explicit matrix
    ``env[symbol]`` (numbers or symbols): an explicit ``ImmutableMatrix`` (a scalar expression
    gives a $1 \times 1$ one). SymPy's own matrix algebra does the work (products, ``inv``,
    ``det``), independently of the rule table; each subexpression is evaluated once."""
    memo = {} if memo is None else memo

    def ev(e):
        if e not in memo:
            memo[e] = _evaluate(e)
        return memo[e]

    def _evaluate(e):
        if isinstance(e, sp.MatrixSymbol):
            if e not in env:
                raise KeyError(f"no value for {e}")
            return env[e]
        if isinstance(e, sp.MatrixBase):
            return sp.ImmutableMatrix(e)
        if getattr(e, "is_Matrix", False):
            if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
                return sp.ImmutableMatrix(e.as_explicit())
            if isinstance(e, sp.MatMul):
                scalar = sp.Mul(*[ev(a) for a in e.args if not getattr(a, "is_Matrix", False)])
                matrices = [ev(a) for a in e.args if getattr(a, "is_Matrix", False)]
                result = matrices[0]
                for m in matrices[1:]:
                    result = result * m
                return sp.ImmutableMatrix(scalar * result)
            if isinstance(e, sp.MatAdd):
                result = ev(e.args[0])
                for a in e.args[1:]:
                    result = result + ev(a)
                return sp.ImmutableMatrix(result)
            if isinstance(e, sp.Transpose):
                return ev(e.arg).T
            if isinstance(e, sp.Inverse):
                return sp.ImmutableMatrix(ev(e.arg).inv())
            if isinstance(e, sp.MatPow):
                return sp.ImmutableMatrix(ev(e.args[0]) ** int(e.args[1]))
            if isinstance(e, sp.HadamardProduct):
                result = ev(e.args[0])
                for a in e.args[1:]:
                    result = result.multiply_elementwise(ev(a))
                return sp.ImmutableMatrix(result)
            if isinstance(e, HadamardPower):
                exponent = ev(e.args[1])
                return ev(e.args[0]).applyfunc(lambda x: x**exponent)
            if isinstance(e, ElementwiseApplyFunction):
                return ev(e.expr).applyfunc(e.function)
            args = [ev(a) if getattr(a, "is_Matrix", False) else a for a in e.args]
            return sp.ImmutableMatrix(type(e)(*args).as_explicit())
        if isinstance(e, sp.Trace):
            return ev(e.arg).trace()
        if isinstance(e, sp.Determinant):
            return ev(e.arg).det()
        if isinstance(e, FrobeniusNorm):
            return sp.sqrt(sp.Add(*[x**2 for x in ev(e.arg)]))
        if isinstance(e, MatrixElement):
            return ev(e.parent)[int(e.i), int(e.j)]
        if not isinstance(e, sp.Basic) or not e.args or not _has_matrix(e):
            return e
        return e.func(*[ev(a) for a in e.args])

    value = ev(expr)
    return value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])


def _same(a, b) -> bool:
    """Equal when identical; otherwise by randomized identity testing at 20 points with mpmath
    (``expand`` of activations is slow and decides nothing more)."""
    if a == b:
        return True
    if not (a.has(sp.Function) or b.has(sp.Function)) and sp.expand(a - b) == 0:
        return True
    from ..derivation import _expand_functions

    difference = _expand_functions(a) - _expand_functions(b)
    elements = difference.atoms(sp.matrices.expressions.matexpr.MatrixElement)
    difference = difference.xreplace({e: sp.Dummy(str(e)) for e in elements})
    symbols = sorted(difference.free_symbols, key=str)
    f = sp.lambdify(symbols, difference, "mpmath")
    rng = np.random.default_rng(0)
    for _ in range(20):
        value = f(*rng.uniform(-2, 2, len(symbols)))
        if abs(complex(value)) > 1e-10:
            return False
    return True


# --------------------------------------------------------------------------------------------------
# Compilation: the matrix-graph backend (symlearn/codegen/graph.py) prints the code; the rule
# table is checked here before any code is returned


def compile_graph(graph: MatrixGraph, args: Sequence, wrt: Sequence, *, name: str = "loss_and_grad"):
    r"""One numpy function ``f(*args) -> (loss, {symbol name: gradient})``.

    Every intermediate and adjoint is computed once, in order; the code is the matrix-graph
    backend's (:mod:`symlearn.codegen.graph`, printed by
    :class:`~symlearn.codegen.matrix.MatrixNumPyPrinter`). ``args`` fixes the argument order;
    dimension symbols are read from the arguments' shapes at run time.

    Nothing unchecked is returned: the first time a graph of this structure is compiled,
    :func:`ensure_checked` runs :meth:`MatrixGraph.check` on a small instance and compares the
    printed code with the rule table there; it raises :class:`GradientCheckError` on a mismatch.
    The verdict is cached (in the process, and on disk), so training does not pay it again.
    """
    function = _compile_unchecked(graph, args, wrt, name)
    ensure_checked(graph, args, wrt)
    return function


def _compile_unchecked(graph: MatrixGraph, args: Sequence, wrt: Sequence, name: str):
    from ..codegen.graph import compile_loss_and_grad

    return compile_loss_and_grad(graph, args, wrt, name=name)


# --------------------------------------------------------------------------------------------------
# The check before compiling, once per graph structure

#: Keys of the graphs already checked in this process.
_CHECKED: set = set()
#: Bumped when the check itself changes, so old verdicts on disk are not trusted.
_CHECK_FORMAT = 2  # 2: verdict files carry a SHA-256 checksum


def _structure_key(graph: MatrixGraph, args: Sequence, wrt: Sequence) -> str:
    """A hash of the graph's expression structure, the argument order and the variables, and of
    the source of everything that decides the gradient and its code (the rule table, the
    printers, the activations) and SymPy's version: a changed rule never meets an old verdict."""
    import hashlib
    import re
    from pathlib import Path

    text = sp.srepr((graph.nodes, tuple(args), tuple(wrt)))
    text = re.sub(r", dummy_index=\d+", "", text)  # Dummy numbering differs between processes
    digest = hashlib.sha256(text.encode())
    here = Path(__file__).resolve().parent.parent
    for source in ("calculus/matrix.py", "matrix_functions.py", "codegen/graph.py",
                   "codegen/matrix.py", "codegen/printer.py", "codegen/rewrite.py", "functions.py"):
        try:
            digest.update((here / source).read_bytes())
        except OSError:  # pragma: no cover - a frozen install: the key then changes every run
            digest.update(str(id(graph)).encode())
    digest.update(f"{sp.__version__} {_CHECK_FORMAT}".encode())
    return digest.hexdigest()[:32]


#: A verdict file: this magic line, the SHA-256 of the body, the body (which names the key).
_VERDICT_MAGIC = b"symlearn matrix check\n"


def _verdict_path(key: str):
    from .._cache import directory

    folder = directory()
    return None if folder is None else folder / "matrix-checks" / f"{key}.ok"


def _verdict_body(key: str) -> bytes:
    return f"checked {key}\n".encode()


def _verdict_on_disk(path, key: str) -> bool:
    """Whether ``path`` holds this key's verdict, whole: a file that does not match its SHA-256
    (a truncated write, a flipped bit) or names another key is ignored, and the check runs."""
    from .._cache import read_checked

    return read_checked(path, _VERDICT_MAGIC, max_bytes=4096) == _verdict_body(key)


def ensure_checked(graph: MatrixGraph, args: Sequence, wrt: Sequence) -> None:
    """Check ``graph``'s gradients with respect to ``wrt`` and their printed code once per graph
    structure (see :func:`compile_graph`); raises :class:`GradientCheckError` on a mismatch."""
    key = _structure_key(graph, args, wrt)
    if key in _CHECKED:
        return
    path = _verdict_path(key)
    if path is not None and _verdict_on_disk(path, key):
        _CHECKED.add(key)
        return
    small, small_args, small_wrt = _shrunk(graph, args, wrt)
    sizes = {d: 2 for d in small.small_sizes()}
    small.check(small_wrt, sizes, draws=1)
    _check_printed(small, small_args, small_wrt, sizes)
    _CHECKED.add(key)
    if path is not None:
        try:  # a verdict that cannot be saved is only a verdict to recompute
            from .._cache import framed
            from ..render._io import atomic_write

            atomic_write(path, framed(_VERDICT_MAGIC, _verdict_body(key)))
        except OSError:
            pass


def _shrunk(graph: MatrixGraph, args: Sequence, wrt: Sequence):
    """``graph`` with every integer dimension above 2 replaced by a dimension symbol, so the
    check runs on a small instance whatever the widths the graph was built with (all 2: square
    instances keep products such as X^T X of full rank)."""
    dims: dict = {}

    def dim(d):
        if isinstance(d, sp.Integer) and d > 2:
            return dims.setdefault(d, sp.Symbol(f"_w{int(d)}", integer=True, positive=True))
        return d

    def rebuild(e):
        if isinstance(e, sp.MatrixSymbol):
            return sp.MatrixSymbol(e.name, dim(e.shape[0]), dim(e.shape[1]))
        if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix)):
            return type(e)(dim(e.shape[0]), dim(e.shape[1]))
        if isinstance(e, sp.Identity):
            return sp.Identity(dim(e.shape[0]))
        if not isinstance(e, sp.Basic) or not e.args:
            return e
        return e.func(*[rebuild(a) for a in e.args])

    if not any(isinstance(d, sp.Integer) and d > 2
               for s in sp.preorder_traversal(graph.nodes)
               if isinstance(s, (sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix, sp.Identity))
               for d in s.shape):
        return graph, list(args), list(wrt)
    nodes = tuple((rebuild(n), rebuild(d)) for n, d in graph.nodes)
    return MatrixGraph(nodes), [rebuild(a) for a in args], [rebuild(w) for w in wrt]


def _check_printed(graph: MatrixGraph, args: Sequence, wrt: Sequence, sizes: Mapping) -> None:
    """The printed code's loss and gradients equal the rule table's, evaluated by SymPy in 30
    digits, at a random float64 instance of ``sizes`` (relative difference below $10^{-8}$).

    The instance is drawn in the domain: first entries in (-1, 1), then in (0.1, 1) (for logs and
    square roots), square matrices positive definite both times; if the loss is undefined at
    both, the code cannot be checked and that is an error too."""
    import warnings

    function = _compile_unchecked(graph, args, wrt, "checked")
    sized_args = [a.xreplace(dict(sizes)) for a in args]
    assignments = [(a.xreplace(dict(sizes)), e.xreplace(dict(sizes)))
                   for a, e in graph.backward(wrt)]
    nodes = [(n.xreplace(dict(sizes)), d.xreplace(dict(sizes))) for n, d in graph.nodes]
    rng = np.random.default_rng(7)
    for low in (-1.0, 0.1):
        values = []
        for a in sized_args:
            rows, cols = (int(d) for d in a.shape)
            v = rng.uniform(low, 1.0, (rows, cols))
            if rows == cols > 1:
                v = v @ v.T / rows + np.eye(rows)
            values.append(v)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                loss, grads = function(*values)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError):
                continue
        if not (np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())):
            continue
        env = {a: sp.ImmutableMatrix(v.shape[0], v.shape[1],
                                     [sp.Float(float(x), 30) for x in v.ravel()])
               for a, v in zip(sized_args, values)}
        memo: dict = {}
        for name, definition in nodes:
            env[name] = _explicit(definition, env, memo)
        for adjoint, expression in assignments:
            env[adjoint] = _explicit(expression, env, memo)
        expected = {"loss": (env[graph.output.xreplace(dict(sizes))], np.atleast_2d(loss))}
        for s in wrt:
            expected[s.name] = (env[graph.adjoint(s).xreplace(dict(sizes))], grads[s.name])
        references = {k: np.array([[complex(sp.N(x, 30)) for x in row] for row in r.tolist()])
                      for k, (r, _) in expected.items()}
        if any(np.any(np.abs(r.imag) > 1e-12) for r in references.values()):
            continue  # outside the real domain: try the next instance
        for key, (_, printed) in expected.items():
            reference = references[key].real
            printed = np.asarray(printed, dtype=float).reshape(reference.shape)
            scale = np.maximum(1.0, np.abs(reference))
            worst = float(np.max(np.abs(printed - reference) / scale))
            if not worst <= 1e-8:
                raise GradientCheckError(
                    f"the compiled code's {'loss' if key == 'loss' else 'gradient with respect to ' + key} "
                    f"differs from the rule table by up to {worst:.3g} (relative, at "
                    + ", ".join(f"{k} = {v}" for k, v in sizes.items()) + ")",
                    node=key, max_difference=worst,
                )
        return
    raise GradientCheckError(
        "could not check the compiled gradient: the loss is undefined at every instance tried "
        "(entries in (-1, 1) and in (0.1, 1), square matrices positive definite)"
    )


def compile_forward(nodes: Sequence, args: Sequence, outputs: Sequence, *, name: str = "forward"):
    """A numpy function of ``args`` computing ``nodes`` in order and returning ``outputs`` as a
    tuple ($1 \\times 1$ outputs as floats): the forward half of :func:`compile_graph`, by the
    matrix-graph backend (:func:`symlearn.codegen.graph.compile_forward`)."""
    from ..codegen.graph import compile_forward as forward

    return forward(nodes, args, outputs, name=name)
