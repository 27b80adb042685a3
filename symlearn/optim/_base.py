r"""The optimizer machinery: an update rule as SymPy equations, compiled to a numpy step.

An update rule is an ordered list of equations, each defining one new symbol from symbols defined
before it (the lecture slides "Neural Network Training Basics" write them the same way, one line
per quantity):

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
:func:`symlearn.codegen.inplace.lambdify_inplace` with ``cse=True`` and explicit, ordered
arguments (the hoisting passes are :mod:`symlearn.codegen.rewrite`'s).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

# The scalar-hoisting pass lives with the other rewrites (codegen/rewrite.py); old names kept.
from ..codegen.rewrite import factor_scalars_out as _factor_scalars_out
from ..codegen.rewrite import hoist_scalars as _hoist_scalars

__all__ = [
    "DELTA",
    "GRAD",
    "LR",
    "THETA",
    "THETA_NEXT",
    "Optimizer",
    "StateVar",
    "T",
    "TreeDef",
    "UpdateRule",
    "apply_updates",
    "tree_flatten",
    "tree_unflatten",
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
        positive: scalar expressions (in $t$ and the hyper-parameters) that are positive for
            every step and every value the factory accepts, which SymPy cannot prove from the
            symbols' assumptions alone (``1 - beta_2**(t+1)`` is positive because the factory
            checks $0 \le \beta_2 < 1$). The compiler uses them to take scalar factors out of
            square roots (:func:`_factor_scalars_out`).
    """

    equations: tuple
    state: tuple[StateVar, ...]
    hyperparameters: Mapping[sp.Symbol, float]
    positive: tuple = ()

    def closed_forms(self) -> dict:
        """Each defined symbol as an expression in the inputs only (substituted in order)."""
        resolved: dict = {}
        for equation in self.equations:
            resolved[equation.lhs] = equation.rhs.xreplace(resolved)
        return resolved


# --------------------------------------------------------------------------------------------------
# Parameter trees: an array (or a number), or dicts / lists / tuples / NamedTuples of them.
#
# As in JAX's pytrees (which optax uses), a mapping's children are ordered by sorted key, so two
# dicts with the same keys in different insertion orders have the same structure and their leaves
# line up key by key. A TreeDef also keeps the insertion order it was flattened from, so that
# tree_unflatten rebuilds a tree in its own key order: the updates come back ordered as the
# params are. None is an empty subtree (no leaves), as in JAX.


class TreeDef:
    """The structure of a parameter tree, without its leaves.

    Attributes:
        kind: ``"leaf"``, ``"none"``, ``"dict"`` (any mapping), ``"list"``, ``"tuple"`` or
            ``"namedtuple"``.
        cls: the container's class (used to rebuild it).
        keys: a mapping's keys, sorted (the order of its children), a NamedTuple's fields, or
            ``None``.
        order: a mapping's keys in insertion order (used to rebuild it), else ``None``.
        children: the sub-structures, in ``keys`` order (position order for a list or tuple).
        signature: a hashable form of the structure that leaves out a mapping's insertion order
            and class; two structures are equal exactly when their signatures are.
        num_leaves: the number of leaves.
    """

    __slots__ = ("_builder", "children", "cls", "keys", "kind", "num_leaves", "order", "signature")

    def __init__(self, kind: str, cls=None, keys=None, order=None, children: tuple = ()):
        self.kind, self.cls, self.keys, self.order, self.children = kind, cls, keys, order, children
        self._builder = None
        if kind == "leaf":
            self.signature, self.num_leaves = "*", 1
        elif kind == "none":
            self.signature, self.num_leaves = "None", 0
        else:
            size = keys if keys is not None else len(children)
            self.signature = (kind, size, *(c.signature for c in children))
            self.num_leaves = sum(c.num_leaves for c in children)

    def __eq__(self, other) -> bool:
        return isinstance(other, TreeDef) and self.signature == other.signature

    def __hash__(self) -> int:
        return hash(self.signature)

    def __repr__(self) -> str:
        return f"TreeDef({self.signature!r})"


_LEAF = TreeDef("leaf")
_NONE = TreeDef("none")


def _sorted_keys(keys) -> tuple:
    """Keys in an order that does not depend on insertion order (JAX sorts them too). Keys of
    mixed types do not compare; they are ordered by type name, then ``repr``."""
    try:
        return tuple(sorted(keys))
    except TypeError:
        return tuple(sorted(keys, key=lambda k: (type(k).__name__, repr(k))))


def _is_namedtuple(tree) -> bool:
    return isinstance(tree, tuple) and hasattr(tree, "_fields")


def _flatten_into(tree, leaves: list) -> TreeDef:
    if type(tree) is np.ndarray:  # the common case first
        leaves.append(tree)
        return _LEAF
    if isinstance(tree, Mapping):
        order = tuple(tree)
        keys = _sorted_keys(order)
        children = tuple([_flatten_into(tree[k], leaves) for k in keys])
        return TreeDef("dict", type(tree), keys, order, children)
    if isinstance(tree, (list, tuple)):
        children = tuple([_flatten_into(item, leaves) for item in tree])
        if _is_namedtuple(tree):
            return TreeDef("namedtuple", type(tree), tuple(tree._fields), None, children)
        return TreeDef("list" if isinstance(tree, list) else "tuple", type(tree), None, None,
                       children)
    if tree is None:
        return _NONE
    leaves.append(tree)
    return _LEAF


def tree_flatten(tree) -> tuple[list, TreeDef]:
    """``(leaves, treedef)``: the leaves (arrays or numbers) in a canonical order (a mapping's
    children by sorted key, as JAX orders them) and the structure. Two trees whose treedefs are
    equal have corresponding leaves at the same positions, whatever their dicts' key order."""
    leaves: list = []
    return leaves, _flatten_into(tree, leaves)


def tree_unflatten(treedef: TreeDef, leaves: Sequence):
    """The inverse of :func:`tree_flatten`: ``leaves`` in the canonical order; the tree is rebuilt
    with ``treedef``'s container classes and its mappings' insertion order."""
    if type(leaves) is not list:
        leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(
            f"tree_unflatten got {len(leaves)} leaves for a structure of {treedef.num_leaves}"
        )
    if treedef._builder is None:
        treedef._builder = _make_builder(treedef, 0)
    return treedef._builder(leaves)


def _make_builder(treedef: TreeDef, offset: int) -> Callable:
    """``leaves -> tree`` for ``treedef`` whose first leaf is ``leaves[offset]``: made once per
    structure (and cached on it), so that rebuilding a tree costs one C-level gather per container
    instead of a walk through the definition."""
    kind, cls = treedef.kind, treedef.cls
    if kind == "leaf":
        return operator.itemgetter(offset)
    if kind == "none":
        return lambda leaves: None
    parts, position = [], offset
    for child in treedef.children:
        # A leaf child is its index, any other child its builder.
        parts.append(position if child.kind == "leaf" else _make_builder(child, position))
        position += child.num_leaves
    if not parts:
        def pick(leaves):
            return ()
    elif all(isinstance(part, int) for part in parts):
        pick = _getter(parts)
    else:
        calls = [operator.itemgetter(p) if isinstance(p, int) else p for p in parts]

        def pick(leaves):
            return [call(leaves) for call in calls]
    if kind == "dict":
        # The children are in sorted-key order; the mapping is rebuilt in its insertion order.
        position_of = {key: i for i, key in enumerate(treedef.keys)}
        permutation = [position_of[key] for key in treedef.order]
        order = treedef.order
        if permutation == sorted(permutation):
            return lambda leaves: cls(zip(order, pick(leaves)))
        reorder = _getter(permutation)
        return lambda leaves: cls(zip(order, reorder(pick(leaves))))
    if kind == "namedtuple":
        return lambda leaves: cls(*pick(leaves))
    return lambda leaves: cls(pick(leaves))


# Checking that trees match. The checks cost one flatten per tree and one comparison of
# signatures and of shape lists; the messages are built only when something differs.


def _shape(leaf) -> tuple:
    return leaf.shape if type(leaf) is np.ndarray else np.shape(leaf)


def _describe(tree) -> str:
    """A few words for a subtree, in an error message."""
    if tree is None:
        return "None"
    if isinstance(tree, Mapping):
        if not tree:
            return f"an empty {type(tree).__name__}"
        keys = ", ".join(repr(k) for k in _sorted_keys(tree))
        return f"a {type(tree).__name__} with keys {keys}"
    if _is_namedtuple(tree):
        return f"a {type(tree).__name__} with fields {', '.join(tree._fields)}"
    if isinstance(tree, (list, tuple)):
        return f"a {type(tree).__name__} of length {len(tree)}"
    return f"an array of shape {_shape(tree)}"


def _structure_error(name: str, tree, ref_name: str, reference, path: str = "") -> str | None:
    """One sentence naming the first place where ``tree``'s structure differs from
    ``reference``'s, or ``None`` if they are the same."""
    mine, theirs = tree_flatten(tree)[1], tree_flatten(reference)[1]
    if mine == theirs:
        return None
    if mine.kind == theirs.kind == "dict":
        for key in theirs.keys:
            if key not in tree:
                return (f"{name}{path} has no key {key!r}, which {ref_name}{path} has "
                        f"({ref_name}{path}[{key!r}] is {_describe(reference[key])})")
        for key in mine.keys:
            if key not in reference:
                return (f"{name}{path}[{key!r}] is a key that {ref_name}{path} does not have "
                        f"({ref_name}{path} has keys {', '.join(map(repr, theirs.keys))})")
        pairs = [(f"[{key!r}]", tree[key], reference[key]) for key in theirs.keys]
    elif mine.kind == theirs.kind and mine.keys == theirs.keys and len(tree) == len(reference):
        labels = ([f".{f}" for f in mine.keys] if mine.kind == "namedtuple"
                  else [f"[{i}]" for i in range(len(tree))])
        pairs = list(zip(labels, tree, reference))
    else:
        pairs = []
    for label, sub, sub_reference in pairs:
        found = _structure_error(name, sub, ref_name, sub_reference, path + label)
        if found is not None:
            return found
    return f"{name}{path} is {_describe(tree)} but {ref_name}{path} is {_describe(reference)}"


def _leaf_paths(treedef: TreeDef, path: str = "") -> list[str]:
    """Each leaf's key path (``['layer']['w']``, ``[0]``, ``.exp_avg``), in leaf order."""
    if treedef.kind == "leaf":
        return [path]
    if treedef.kind == "namedtuple":
        labels = [f".{f}" for f in treedef.keys]
    elif treedef.kind == "dict":
        labels = [f"[{k!r}]" for k in treedef.keys]
    else:
        labels = [f"[{i}]" for i in range(len(treedef.children))]
    return [p for label, child in zip(labels, treedef.children)
            for p in _leaf_paths(child, path + label)]


def _signature_into(tree, leaves: list):
    """``TreeDef.signature`` of ``tree``, computed without building a :class:`TreeDef`; the
    leaves are appended in the canonical order. (What :func:`tree_flatten` gives, at less cost:
    this runs for every tree of every step.)"""
    if type(tree) is np.ndarray:
        leaves.append(tree)
        return "*"
    if isinstance(tree, Mapping):
        keys = _sorted_keys(tree)
        return ("dict", keys, *[_signature_into(tree[k], leaves) for k in keys])
    if isinstance(tree, (list, tuple)):
        children = [_signature_into(item, leaves) for item in tree]
        if _is_namedtuple(tree):
            return ("namedtuple", tuple(tree._fields), *children)
        return ("list" if isinstance(tree, list) else "tuple", len(children), *children)
    if tree is None:
        return "None"
    leaves.append(tree)
    return "*"


def _layout(tree):
    """What a :class:`TreeDef` holds beyond its signature, as a hashable key: the container
    classes and each mapping's insertion order."""
    if type(tree) is np.ndarray or tree is None:
        return None
    if isinstance(tree, Mapping):
        return (type(tree), tuple(tree), *[_layout(v) for v in tree.values()])
    if isinstance(tree, (list, tuple)):
        return (type(tree), *[_layout(item) for item in tree])
    return None


#: TreeDefs by (signature, layout): a training loop passes params of one structure at every
#: step, so their TreeDef (and the builder cached on it) is made once.
_TREEDEFS: dict = {}


def _flatten_params(params) -> tuple[list, Any, TreeDef]:
    """``(leaves, signature, treedef)`` of ``params``; the TreeDef comes from the cache when the
    same structure, classes and key order were seen before."""
    leaves: list = []
    signature = _signature_into(params, leaves)
    key = (signature, _layout(params))
    treedef = _TREEDEFS.get(key)
    if treedef is None:
        if len(_TREEDEFS) >= 256:  # many structures: start over rather than grow without end
            _TREEDEFS.clear()
        treedef = _TREEDEFS[key] = tree_flatten(params)[1]
    return leaves, signature, treedef


def _match(name: str, tree, ref_name: str, reference, ref_signature, ref_def: TreeDef,
           ref_shapes: list) -> list:
    """``tree``'s leaves in ``reference``'s leaf order, after checking that the two have the same
    structure (mappings by key) and every leaf the same shape; otherwise a ``ValueError`` of one
    sentence naming the key path (and both shapes)."""
    leaves: list = []
    if _signature_into(tree, leaves) != ref_signature:
        raise ValueError(_structure_error(name, tree, ref_name, reference))
    shapes = [leaf.shape if type(leaf) is np.ndarray else np.shape(leaf) for leaf in leaves]
    if shapes != ref_shapes:
        i = next(i for i, (a, b) in enumerate(zip(shapes, ref_shapes)) if a != b)
        path = _leaf_paths(ref_def)[i]
        raise ValueError(f"{name}{path} has shape {shapes[i]} but {ref_name}{path} has shape "
                         f"{ref_shapes[i]}")
    return leaves


def apply_updates(params, updates):
    """``params + updates``, leaf by leaf (optax's ``apply_updates``): mappings are matched by
    key, and the result has ``params``' structure and key order. A ``ValueError`` names the first
    key path where the two differ in structure or shape."""
    p_leaves, p_signature, p_def = _flatten_params(params)
    p_shapes = [_shape(p) for p in p_leaves]
    u_leaves = _match("updates", updates, "params", params, p_signature, p_def, p_shapes)
    return tree_unflatten(p_def, [p + u for p, u in zip(p_leaves, u_leaves)])


# --------------------------------------------------------------------------------------------------
# Compilation


_SCALAR_MODULES = ["math"]


@dataclass(frozen=True)
class CompiledStep:
    r"""The compiled numpy form of an :class:`UpdateRule`.

    ``scalars(t, lr, *hyperparameters, *scalar_states)`` returns the per-step constants followed
    by the new scalar states; ``arrays(theta, g, *array_states, *constants)`` returns the update
    followed by the new array states (the constants of the hyper-parameters alone are bound
    into ``arrays`` when it is compiled).

    The state NamedTuple is read and written by position, without looking names up (this is
    the per-step Python overhead, which matters for small parameter arrays):
    ``read_array_states(state)`` and ``read_scalar_states(state)`` return the current states in
    the order above, and ``assemble((count + 1, *new_array_states, *new_scalar_states, *state))``
    returns the new state's fields in the NamedTuple's order (fields the configuration does not
    use keep their value).
    """

    scalars: Callable
    arrays: Callable
    n_constants: int
    array_state: tuple[StateVar, ...]
    scalar_state: tuple[StateVar, ...]
    hyper_symbols: tuple
    hyper_values: tuple
    read_array_states: Callable = field(default=lambda state: (), repr=False)
    read_scalar_states: Callable = field(default=lambda state: (), repr=False)
    assemble: Callable = field(default=lambda fields: fields, repr=False)
    source: str = field(default="", repr=False)


def _getter(positions: Sequence[int]) -> Callable:
    """``state -> tuple(state[i] for i in positions)``, as one C call."""
    if not positions:
        return lambda state: ()
    if len(positions) == 1:
        (position,) = positions
        return lambda state: (state[position],)
    return operator.itemgetter(*positions)


def _state_layout(fields: Sequence[str], array_state, scalar_state) -> dict:
    """The position-based readers and writer of :class:`CompiledStep` for a state NamedTuple
    whose field names are ``fields`` (``count`` first)."""
    fields = list(fields)
    if not fields:
        return {}
    array_index = [fields.index(s.field) for s in array_state]
    scalar_index = [fields.index(s.field) for s in scalar_state]
    # Positions in (count + 1, *new_array_states, *new_scalar_states, *old_state):
    new_position = {0: 0}
    new_position.update({f: 1 + j for j, f in enumerate(array_index)})
    new_position.update({f: 1 + len(array_index) + j for j, f in enumerate(scalar_index)})
    old = 1 + len(array_index) + len(scalar_index)
    order = [new_position.get(f, old + f) for f in range(len(fields))]
    return {
        "read_array_states": _getter(array_index),
        "read_scalar_states": _getter(scalar_index),
        "assemble": _getter(order),
    }


class RulePlan(NamedTuple):
    """What compiling a rule starts from (shared by :func:`compile_rule` and the exported
    optimizers in :mod:`symlearn.codegen._optim`): the closed forms, the state split into array
    and scalar parts, the array outputs (update, then each new array state) with their scalar
    factors hoisted into ``constants`` (expression -> placeholder symbol), and those constants
    split into ``fixed`` (of the hyper-parameters alone) and ``per_step`` (in t, the learning
    rate or a scalar state)."""

    forms: dict
    array_state: tuple
    scalar_state: tuple
    array_symbols: frozenset
    array_outputs: list
    constants: dict
    hyper_symbols: tuple
    fixed: dict
    per_step: dict


def plan_rule(rule: UpdateRule) -> RulePlan:
    """The first half of compiling ``rule``: closed forms, state split, scalar hoisting."""
    forms = rule.closed_forms()
    array_state = tuple(s for s in rule.state if not s.scalar)
    scalar_state = tuple(s for s in rule.state if s.scalar)
    array_symbols = frozenset({THETA, GRAD, *(s.current for s in array_state)})
    constants: dict = {}
    array_outputs = [
        _hoist_scalars(_factor_scalars_out(form, array_symbols, rule.positive), array_symbols,
                       constants)
        for form in [forms[DELTA], *(forms[s.next] for s in array_state)]
    ]
    hyper_symbols = tuple(rule.hyperparameters)
    # Constants of the hyper-parameters alone (beta, 1 - beta) are computed once; the in-place
    # step holds them as 0-d arrays. The others are computed at every step.
    fixed = {e: c for e, c in constants.items() if e.free_symbols <= set(hyper_symbols)}
    per_step = {e: c for e, c in constants.items() if e not in fixed}
    return RulePlan(forms, array_state, scalar_state, array_symbols, array_outputs, constants,
                    hyper_symbols, fixed, per_step)


def compile_rule(rule: UpdateRule, fields: Sequence[str] = ()) -> CompiledStep:
    """Compile ``rule`` (see the module docstring for how); ``fields`` are the state
    NamedTuple's field names, in order."""
    from ..compile import lambdify_inplace

    (forms, array_state, scalar_state, array_symbols, array_outputs, constants, hyper_symbols,
     fixed, per_step) = plan_rule(rule)
    hyper_values = tuple(float(v) for v in rule.hyperparameters.values())
    fixed_values = sp.lambdify(hyper_symbols, list(fixed), modules=_SCALAR_MODULES)(*hyper_values)
    scalar_args = [T, LR, *hyper_symbols, *(s.current for s in scalar_state)]
    scalar_outputs = list(per_step) + [forms[s.next] for s in scalar_state]
    # Scalars are Python floats: the math module is several times faster than numpy on them, and
    # it computes beta**t exactly as PyTorch does (Python float arithmetic).
    scalars = sp.lambdify(scalar_args, scalar_outputs, modules=_SCALAR_MODULES, cse=True)
    array_args = [THETA, GRAD, *(s.current for s in array_state), *constants.values()]
    arrays = lambdify_inplace(
        array_args, array_outputs, arrays=array_symbols, cse=True,
        constants=dict(zip(fixed.values(), fixed_values)),
    )
    import inspect

    source = inspect.getsource(scalars) + "\n" + inspect.getsource(arrays.inplace)
    return CompiledStep(
        scalars=scalars,
        arrays=arrays,
        n_constants=len(per_step),
        array_state=array_state,
        scalar_state=scalar_state,
        hyper_symbols=hyper_symbols,
        hyper_values=hyper_values,
        **_state_layout(fields, array_state, scalar_state),
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
    or dicts / lists / tuples / NamedTuples of them, with the same structure: mappings are matched
    by key (their order does not matter, as in JAX and optax), the others by position, and every
    leaf of ``grads`` (and of the state) must have the shape of ``params``' leaf; a mismatch is a
    ``ValueError`` naming its key path. ``updates`` has ``params``' structure and key order, and
    ``new_params = apply_updates(params, updates)``. Both functions are pure: nothing passed in
    is modified.
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
        self._lr_is_schedule = callable(lr)
        self._lr_value = None if self._lr_is_schedule else float(lr)
        self._array_update: Callable | None = None

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
            self._compiled = compile_rule(self.rule, self.state_type._fields)
        return self._compiled

    def learning_rate(self, t: int) -> float:
        """$\\eta_t$: the schedule's value at step ``t``, or the constant learning rate."""
        return float(self.lr(t)) if self._lr_is_schedule else float(self.lr)

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
        """One step: ``(updates, new_state)``; see the class docstring for the shapes.

        ``grads`` and the state's arrays must have ``params``' structure (mappings are matched by
        key, whatever their order) and each leaf ``params``' shape: anything else is a
        ``ValueError`` naming the first key path that differs, never a broadcast."""
        if type(params) is np.ndarray:  # fast path: one array, no tree to walk
            return (self._array_update or self._compile_array_update())(grads, state, params)
        return self._update_tree(grads, state, params)

    def _check_state_type(self, state) -> None:
        if type(state) is not self.state_type:
            raise TypeError(
                f"state is {_describe(state) if state is not None else 'None'}, not the "
                f"{self.state_type.__name__} that {self.name}'s init returns"
            )

    def _update_tree(self, grads, state, params):
        """``update`` for any tree (and for a single array whose grads or state do not match)."""
        self._check_state_type(state)
        compiled = self.compiled
        count = state[0]
        p_leaves, p_signature, p_def = _flatten_params(params)
        p_shapes = [_shape(p) for p in p_leaves]
        g_leaves = _match("grads", grads, "params", params, p_signature, p_def, p_shapes)
        state_leaves = [
            _match(f"state.{var.field}", tree, "params", params, p_signature, p_def, p_shapes)
            for var, tree in zip(compiled.array_state, compiled.read_array_states(state))
        ]
        constants, new_scalars = self._constants(compiled, state)
        updates, new_states = [], [[] for _ in compiled.array_state]
        for i, (g, p) in enumerate(zip(g_leaves, p_leaves)):
            result = compiled.arrays(p, g, *(leaves[i] for leaves in state_leaves), *constants)
            updates.append(result[0])
            for j, value in enumerate(result[1:]):
                new_states[j].append(value)
        new_arrays = [tree_unflatten(p_def, leaves) for leaves in new_states]
        fields = compiled.assemble((count + 1, *new_arrays, *new_scalars, *state))
        return tree_unflatten(p_def, updates), tuple.__new__(self.state_type, fields)

    def _constants(self, compiled: CompiledStep, state) -> tuple[list, list]:
        """The per-step constants and the new scalar states."""
        count = state[0]
        outputs = compiled.scalars(
            count,
            self.lr(count) if self._lr_is_schedule else self._lr_value,
            *compiled.hyper_values,
            *compiled.read_scalar_states(state),
        )
        if not compiled.scalar_state:
            return outputs, []
        n = compiled.n_constants
        return outputs[:n], [float(value) for value in outputs[n:]]

    def _compile_array_update(self) -> Callable:
        """``update`` for a single array, with everything it needs bound in a closure: for small
        arrays the step's cost is mostly Python's, and attribute look-ups are a good part of it.

        The closure first checks, in a few C calls, that ``grads`` and the state's arrays are
        arrays of ``params``' shape and that ``state`` is this optimizer's state type; anything
        else goes to :meth:`_update_tree`, which either handles it or says what differs."""
        compiled = self.compiled
        scalars, arrays, hyper = compiled.scalars, compiled.arrays, compiled.hyper_values
        read_arrays, assemble = compiled.read_array_states, compiled.assemble
        state_type, new = self.state_type, tuple.__new__
        n_states = len(compiled.array_state)
        shapes, general, ndarray = operator.attrgetter("shape"), self._update_tree, np.ndarray
        # The state this closure returned last, and its arrays' shape: a state passed back
        # unchanged (the usual loop) needs no look at its arrays. A strong reference, not an id:
        # an id can be reused by another object once the state is freed.
        last_state, last_shape = None, None

        def state_matches(state, shape) -> bool:
            if type(state) is not state_type:
                return False
            try:
                return tuple(map(shapes, read_arrays(state))) == (shape,) * n_states
            except AttributeError:  # a state field that is not an array
                return False

        if compiled.scalar_state or self._lr_is_schedule:

            def update(grads, state, params):
                nonlocal last_state, last_shape
                shape = params.shape
                if (type(grads) is not ndarray or grads.shape != shape
                        or (state is not last_state or shape != last_shape)
                        and not state_matches(state, shape)):
                    return general(grads, state, params)
                constants, new_scalars = self._constants(compiled, state)
                result = arrays(params, grads, *read_arrays(state), *constants)
                fields = assemble((state[0] + 1, *result[1:], *new_scalars, *state))
                state = new(state_type, fields)
                last_state, last_shape = state, shape
                return result[0], state

        else:
            lr = self._lr_value

            def update(grads, state, params):
                nonlocal last_state, last_shape
                shape = params.shape
                if (type(grads) is not ndarray or grads.shape != shape
                        or (state is not last_state or shape != last_shape)
                        and not state_matches(state, shape)):
                    return general(grads, state, params)
                count = state[0]
                result = arrays(params, grads, *read_arrays(state), *scalars(count, lr, *hyper))
                state = new(state_type, assemble((count + 1, *result[1:], *state)))
                last_state, last_shape = state, shape
                return result[0], state

        self._array_update = update
        return update

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
        """This optimizer's derivation document (a :class:`symlearn.Derivation`).

        The document is course content, built by ``optimizer_document`` in
        ``_optim_documents.py`` beside the derivation sources, not by the library: it is loaded
        through :mod:`symlearn.registry` from the first of these folders that holds it: the one
        ``symlearn build`` reads (``$SYMLEARN_DERIVATIONS``, else ``./derivations``), the
        checkout's ``derivations/``, the copy a wheel installs (so a project with a
        ``derivations/`` folder of its own still gets the bundled documents).
        """
        from ..registry import find_helper

        return find_helper("_optim_documents").optimizer_document(self)
