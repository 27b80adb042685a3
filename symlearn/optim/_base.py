r"""The optimizer machinery: an update rule as SymPy equations, compiled to a numpy step.

An update rule is an ordered list of equations, each defining one new symbol from symbols defined
before it (seed 003 writes them the same way, one line per quantity):

.. math::

    s_{t+1} = F(s_t, g_t, \theta_t, \eta_t, t), \qquad
    \Delta\theta_t = G(\dots), \qquad \theta_{t+1} = \theta_t + \Delta\theta_t ,

where $t = 0, 1, 2, \dots$ counts the updates already made (optax's ``count``), $g_t$ is the
gradient at $\theta_t$ and $\eta_t$ is the learning rate (a number or a schedule evaluated at
$t$). The same equations render as LaTeX, feed the derivation documents, and compile to the
numpy step of :class:`Optimizer`, whose shape is optax's: ``init(params) -> state`` and
``update(grads, state, params) -> (updates, new_state)`` with ``new_params = params + updates``.

Compilation: the equations are substituted into one closed form per output (the update and each
new state); every factor that depends only on scalars ($t$, $\eta_t$, the hyper-parameters) is
hoisted into a per-step constant computed once in Python floats (so $\eta / (1 - \beta_1^{t+1})$
costs nothing per element), and the remaining elementwise expressions are compiled together by
:func:`symlearn.compile.lambdify_stable` with ``cse=True`` and explicit, ordered arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

__all__ = [
    "Optimizer",
    "StateVar",
    "UpdateRule",
    "tree_flatten",
    "tree_unflatten",
    "apply_updates",
    "T",
    "THETA",
    "THETA_NEXT",
    "GRAD",
    "LR",
    "DELTA",
]

# The symbols every rule shares. Names are LaTeX so the equations print as the course writes them;
# lambdify replaces names that are not identifiers by dummies, so they compile as well.
#: $t$: the number of updates already made (0 for the first step).
T = sp.Symbol("t", integer=True, nonnegative=True)
#: $\theta_t$: the parameters before the step.
THETA = sp.Symbol(r"\theta_{t}", real=True)
#: $\theta_{t+1}$: the parameters after the step.
THETA_NEXT = sp.Symbol(r"\theta_{t+1}", real=True)
#: $g_t = \nabla f(\theta_t)$: the gradient.
GRAD = sp.Symbol(r"g_{t}", real=True)
#: $\eta_t$: the learning rate at step $t$ (a schedule's value, or a constant).
LR = sp.Symbol(r"\eta_{t}", positive=True)
#: $\Delta\theta_t$: the update, ``updates`` in optax's vocabulary.
DELTA = sp.Symbol(r"\Delta\theta_{t}", real=True)


@dataclass(frozen=True)
class StateVar:
    r"""One piece of optimizer state.

    Attributes:
        field: the state NamedTuple's field name (PyTorch's name for it, e.g. ``exp_avg``).
        current: its symbol at step $t$ (e.g. $m_t$).
        next: its symbol at step $t + 1$ (e.g. $m_{t+1}$).
        initial: its value before the first step (a number or a hyper-parameter symbol).
        scalar: ``True`` for a single number shared by all parameters (NAdam's $\mu$ product),
            ``False`` for an array shaped like each parameter.
    """

    field: str
    current: sp.Symbol
    next: sp.Symbol
    initial: Any = 0
    scalar: bool = False


@dataclass(frozen=True)
class UpdateRule:
    r"""An update rule: ordered equations, the state they carry and the hyper-parameters' values.

    Attributes:
        equations: ``sympy.Eq(symbol, expression)`` in order; each left side is a new symbol (a
            state's ``next``, an intermediate, :data:`DELTA` or :data:`THETA_NEXT`); each right
            side uses only the inputs and symbols defined above it. The last two equations define
            $\Delta\theta_t$ and $\theta_{t+1} = \theta_t + \Delta\theta_t$.
        state: the state variables.
        hyperparameters: hyper-parameter symbol -> value (a Python number).
    """

    equations: tuple
    state: tuple[StateVar, ...]
    hyperparameters: Mapping[sp.Symbol, float]

    def closed_forms(self) -> dict:
        """Each defined symbol as an expression in the inputs only (substituted in order)."""
        resolved: dict = {}
        for equation in self.equations:
            resolved[equation.lhs] = equation.rhs.xreplace(resolved)
        return resolved


# --------------------------------------------------------------------------------------------------
# Parameter trees: an array, or dicts / lists / tuples of them.


def tree_flatten(tree) -> tuple[list, Any]:
    """Leaves (numpy arrays or numbers) in a fixed order, and a description of the structure."""
    if isinstance(tree, Mapping):
        keys = list(tree.keys())
        leaves, defs = [], []
        for key in keys:
            sub_leaves, sub_def = tree_flatten(tree[key])
            leaves.extend(sub_leaves)
            defs.append((len(sub_leaves), sub_def))
        return leaves, ("dict", type(tree), keys, defs)
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        leaves, defs = [], []
        for item in tree:
            sub_leaves, sub_def = tree_flatten(item)
            leaves.extend(sub_leaves)
            defs.append((len(sub_leaves), sub_def))
        return leaves, ("seq", type(tree), None, defs)
    return [tree], None


def tree_unflatten(structure, leaves: Sequence):
    """The inverse of :func:`tree_flatten`."""
    if structure is None:
        (leaf,) = leaves
        return leaf
    kind, cls, keys, defs = structure
    items, start = [], 0
    for count, sub_def in defs:
        items.append(tree_unflatten(sub_def, leaves[start : start + count]))
        start += count
    if kind == "dict":
        return cls(zip(keys, items))
    return cls(items)


def apply_updates(params, updates):
    """``params + updates``, leaf by leaf (optax's ``apply_updates``)."""
    p_leaves, structure = tree_flatten(params)
    u_leaves, _ = tree_flatten(updates)
    return tree_unflatten(structure, [p + u for p, u in zip(p_leaves, u_leaves)])


# --------------------------------------------------------------------------------------------------
# Compilation


def _hoist_scalars(expr, array_symbols: frozenset, constants: dict):
    """Replace every maximal scalar-only subexpression with free symbols by a constant symbol.

    ``constants`` maps scalar expression -> constant symbol and is extended in place (it is local
    to one compilation). In a product, the scalar factors are gathered into one constant so that
    an array is multiplied by one number, not by each factor in turn.
    """

    def constant(e):
        if e not in constants:
            constants[e] = sp.Symbol(f"c{len(constants)}", real=True)
        return constants[e]

    def visit(e):
        if not (e.free_symbols & array_symbols):
            return constant(e) if e.free_symbols else e
        if e.is_Mul:
            scalars = [a for a in e.args if not (a.free_symbols & array_symbols)]
            arrays = [visit(a) for a in e.args if a.free_symbols & array_symbols]
            if scalars:
                scalar = sp.Mul(*scalars)
                arrays.insert(0, constant(scalar) if scalar.free_symbols else scalar)
            return sp.Mul(*arrays)
        if e.is_Atom:
            return e
        return e.func(*[visit(a) for a in e.args])

    return visit(expr)


_SCALAR_MODULES = ["math"]


@dataclass(frozen=True)
class CompiledStep:
    r"""The compiled numpy form of an :class:`UpdateRule`.

    ``scalars(t, lr, *hyperparameters, *scalar_states)`` returns the per-step constants followed
    by the new scalar states; ``arrays(theta, g, *array_states, *constants)`` returns the update
    followed by the new array states.
    """

    scalars: Callable
    arrays: Callable
    n_constants: int
    array_state: tuple[StateVar, ...]
    scalar_state: tuple[StateVar, ...]
    hyper_symbols: tuple
    hyper_values: tuple
    source: str = field(default="", repr=False)


def compile_rule(rule: UpdateRule) -> CompiledStep:
    """Compile ``rule`` (see the module docstring for how)."""
    from ..compile import lambdify_stable

    forms = rule.closed_forms()
    array_state = tuple(s for s in rule.state if not s.scalar)
    scalar_state = tuple(s for s in rule.state if s.scalar)
    array_symbols = frozenset({THETA, GRAD, *(s.current for s in array_state)})
    constants: dict = {}
    array_outputs = [_hoist_scalars(forms[DELTA], array_symbols, constants)]
    array_outputs += [_hoist_scalars(forms[s.next], array_symbols, constants) for s in array_state]
    hyper_symbols = tuple(rule.hyperparameters)
    hyper_values = tuple(float(v) for v in rule.hyperparameters.values())
    scalar_args = [T, LR, *hyper_symbols, *(s.current for s in scalar_state)]
    scalar_outputs = list(constants) + [forms[s.next] for s in scalar_state]
    # Scalars are Python floats: the math module is several times faster than numpy on them, and
    # it computes beta**t exactly as PyTorch does (Python float arithmetic).
    scalars = sp.lambdify(scalar_args, scalar_outputs, modules=_SCALAR_MODULES, cse=True)
    array_args = [THETA, GRAD, *(s.current for s in array_state), *constants.values()]
    arrays = lambdify_stable(array_args, array_outputs, cse=True)
    import inspect

    source = inspect.getsource(scalars) + "\n" + inspect.getsource(arrays)
    return CompiledStep(
        scalars=scalars,
        arrays=arrays,
        n_constants=len(constants),
        array_state=array_state,
        scalar_state=scalar_state,
        hyper_symbols=hyper_symbols,
        hyper_values=hyper_values,
        source=source,
    )


# --------------------------------------------------------------------------------------------------
# The optimizer object


class Optimizer:
    r"""An optimizer: its equations, and the numpy step compiled from them.

    Attributes:
        name: the factory's name (``"adam"``).
        hyperparameters: the factory's arguments, by PyTorch's names.
        rule: the :class:`UpdateRule` (equations, state, hyper-parameter symbols and values).
        equations: ``rule.equations``, the SymPy update rule.
        state_type: the NamedTuple class of the state.

    ``init(params)`` returns the state; ``update(grads, state, params)`` returns
    ``(updates, new_state)``. ``params`` and ``grads`` are numpy arrays (any shape, float dtype)
    or dicts / lists / tuples of them, with the same structure; ``updates`` has that structure and
    ``new_params = apply_updates(params, updates)``. Both functions are pure: nothing passed in is
    modified.
    """

    def __init__(
        self,
        name: str,
        rule: UpdateRule,
        state_type: type,
        hyperparameters: Mapping[str, Any],
        lr,
        torch_name: str,
        torch_kwargs: Mapping[str, Any],
        summary: str,
    ):
        self.name = name
        self.rule = rule
        self.state_type = state_type
        self.hyperparameters = dict(hyperparameters)
        self.lr = lr
        self.torch_name = torch_name
        self.torch_kwargs = dict(torch_kwargs)
        self.summary = summary
        self._compiled: CompiledStep | None = None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{self.name}({args})"

    @property
    def equations(self) -> tuple:
        """The update rule: ``sympy.Eq`` objects, in order."""
        return self.rule.equations

    @property
    def compiled(self) -> CompiledStep:
        if self._compiled is None:
            self._compiled = compile_rule(self.rule)
        return self._compiled

    def learning_rate(self, t: int) -> float:
        """$\\eta_t$: the schedule's value at step ``t``, or the constant learning rate."""
        return float(self.lr(t)) if callable(self.lr) else float(self.lr)

    def init(self, params):
        """The state before the first step: ``count = 0`` and each state at its initial value."""
        leaves, structure = tree_flatten(params)
        values = {"count": 0}
        for var in self.rule.state:
            initial = sp.sympify(var.initial).xreplace(self.rule.hyperparameters)
            if var.scalar:
                values[var.field] = float(initial)
            else:
                values[var.field] = tree_unflatten(
                    structure, [np.full_like(np.asarray(p), float(initial)) for p in leaves]
                )
        return self.state_type(**values)

    def update(self, grads, state, params):
        """One step: ``(updates, new_state)``; see the class docstring for the shapes."""
        compiled = self.compiled
        count = state.count
        outputs = compiled.scalars(
            count,
            self.learning_rate(count),
            *compiled.hyper_values,
            *(getattr(state, s.field) for s in compiled.scalar_state),
        )
        constants = outputs[: compiled.n_constants]
        new_scalars = outputs[compiled.n_constants :]
        values = {"count": count + 1}
        for var, value in zip(compiled.scalar_state, new_scalars):
            values[var.field] = float(value)
        if isinstance(params, np.ndarray):  # fast path: one array, no tree to walk
            result = compiled.arrays(
                params, grads, *(getattr(state, s.field) for s in compiled.array_state), *constants
            )
            for var, value in zip(compiled.array_state, result[1:]):
                values[var.field] = value
            return result[0], state._replace(**values)
        g_leaves, structure = tree_flatten(grads)
        p_leaves, _ = tree_flatten(params)
        state_leaves = [tree_flatten(getattr(state, s.field))[0] for s in compiled.array_state]
        updates, new_states = [], [[] for _ in compiled.array_state]
        for i, (g, p) in enumerate(zip(g_leaves, p_leaves)):
            result = compiled.arrays(p, g, *(leaves[i] for leaves in state_leaves), *constants)
            updates.append(result[0])
            for j, value in enumerate(result[1:]):
                new_states[j].append(value)
        for var, leaves in zip(compiled.array_state, new_states):
            values[var.field] = tree_unflatten(structure, leaves)
        new_state = state._replace(**values)
        return tree_unflatten(structure, updates), new_state

    def step(self, params, grads, state):
        """Convenience: ``(new_params, new_state)``."""
        updates, state = self.update(grads, state, params)
        return apply_updates(params, updates), state

    def run(self, grad_fn: Callable, params, steps: int):
        """``steps`` steps from ``params`` with ``grads = grad_fn(params)``; returns all iterates."""
        state = self.init(params)
        path = [params]
        for _ in range(steps):
            params, state = self.step(params, grad_fn(params), state)
            path.append(params)
        return path

    def derivation(self):
        """This optimizer's derivation document (a :class:`symlearn.Derivation`)."""
        from ._documents import optimizer_document

        return optimizer_document(self)
