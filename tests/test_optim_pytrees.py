"""Optimizers on parameter trees: dicts matched by key (any order), nested containers by
structure, and every mismatch refused with a ``ValueError`` that names the key path.

The reference is ``torch.optim`` in float64, one tensor per leaf, stepped with the same gradients;
the gradients are a hand-written function of each leaf's value and of its key path, so they do not
depend on the order in which the dicts happen to be built. Hypothesis picks the key orders (a new
shuffle of every dict, at every step, for params and grads separately).
"""

from __future__ import annotations

import random
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symlearn import optim

torch = pytest.importorskip("torch")

# Every optimizer of the catalog, and each branch of its rule (momentum, dampening, Nesterov,
# weight decay, centered, AMSGrad, decoupled decay).
CASES = [
    ("sgd", {"lr": 0.05}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01,
                 "initial_accumulator_value": 0.1}),
    ("rmsprop", {"lr": 1e-2}),
    ("rmsprop", {"lr": 1e-2, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 1e-2, "alpha": 0.9, "momentum": 0.9}),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.95, "weight_decay": 0.1}),
    ("adam", {"lr": 1e-2}),
    ("adam", {"lr": 1e-2, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {"lr": 1e-2}),
    ("adamw", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
    ("nadam", {"lr": 1e-2}),
    ("nadam", {"lr": 1e-2, "weight_decay": 0.1}),
    ("nadam", {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "momentum_decay": 0.01}),
]
STEPS = 25
RTOL = 1e-10


def _case_id(case) -> str:
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


class Affine(NamedTuple):
    gain: np.ndarray
    shift: np.ndarray


def start_params() -> dict:
    """A nested tree: dicts in dicts, a list of a dict and a tuple, a NamedTuple, a 0-d leaf."""
    rng = np.random.default_rng(3)
    return {
        "encoder": {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)},
        "layers": [
            {"w": rng.standard_normal((2, 2)), "b": rng.standard_normal(2),
             "a": rng.standard_normal(1)},
            (rng.standard_normal(4), np.array(0.7)),
        ],
        "scale": Affine(gain=rng.standard_normal(2), shift=np.array(-0.3)),
        "z": rng.standard_normal(3),
    }


def leaves_by_path(tree, path=()) -> dict:
    """``{key path: leaf}``; the reference's own flattening (not symlearn's)."""
    if isinstance(tree, dict):
        return {p: v for k in tree for p, v in leaves_by_path(tree[k], path + (k,)).items()}
    if isinstance(tree, (list, tuple)):
        return {p: v for i, x in enumerate(tree) for p, v in leaves_by_path(x, path + (i,)).items()}
    return {path: tree}


def with_leaves(template, values: dict, path=()):
    """``template``'s structure with the leaves ``values[path]``."""
    if isinstance(template, dict):
        return {k: with_leaves(template[k], values, path + (k,)) for k in template}
    if isinstance(template, Affine):
        return Affine(*(with_leaves(x, values, path + (i,)) for i, x in enumerate(template)))
    if isinstance(template, (list, tuple)):
        return type(template)(with_leaves(x, values, path + (i,)) for i, x in enumerate(template))
    return values[path]


def shuffled(tree, rng: random.Random):
    """The same tree with every dict rebuilt in a random key order (containers of other kinds
    keep their order: their positions are their keys)."""
    if isinstance(tree, dict):
        keys = list(tree)
        rng.shuffle(keys)
        return {k: shuffled(tree[k], rng) for k in keys}
    if isinstance(tree, Affine):
        return Affine(*(shuffled(x, rng) for x in tree))
    if isinstance(tree, (list, tuple)):
        return type(tree)(shuffled(x, rng) for x in tree)
    return tree


def gradient(path: tuple, x: np.ndarray) -> np.ndarray:
    """A leaf's gradient: of sum((x - c)^2 + x^4 / 4) with c depending on the key path, so
    that a leaf updated with another leaf's gradient moves elsewhere."""
    c = (sum(map(ord, repr(path))) % 7) / 3.0 - 1.0
    return np.asarray(2.0 * (x - c) + x**3)


def gradients(params) -> dict:
    return with_leaves(params, {p: gradient(p, v) for p, v in leaves_by_path(params).items()})


def key_orders(tree) -> list:
    """Every dict's keys, in order, depth first (to compare the updates' order with params')."""
    if isinstance(tree, dict):
        return [list(tree)] + [o for k in tree for o in key_orders(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [o for x in tree for o in key_orders(x)]
    return []


@pytest.fixture(autouse=True)
def _torch_float64():
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)


def torch_path(optimizer, steps: int) -> list[dict]:
    start = leaves_by_path(start_params())
    tensors = {p: torch.tensor(v, requires_grad=True) for p, v in start.items()}
    reference = getattr(torch.optim, optimizer.torch_name)(list(tensors.values()),
                                                           **optimizer.torch_kwargs)
    path = []
    for _ in range(steps):
        for p, tensor in tensors.items():
            tensor.grad = torch.from_numpy(gradient(p, tensor.detach().numpy().copy()))
        reference.step()
        path.append({p: t.detach().numpy().copy() for p, t in tensors.items()})
    return path


_TORCH_PATHS: dict = {}


def cached_torch_path(case) -> list[dict]:
    key = _case_id(case)
    if key not in _TORCH_PATHS:
        name, kwargs = case
        _TORCH_PATHS[key] = torch_path(getattr(optim, name)(**kwargs), STEPS)
    return _TORCH_PATHS[key]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_shuffled_trees_follow_torch(case, seed):
    name, kwargs = case
    optimizer = getattr(optim, name)(**kwargs)
    reference = cached_torch_path(case)
    rng = random.Random(seed)
    params = shuffled(start_params(), rng)
    state = optimizer.init(shuffled(params, rng))  # the state's order differs from params' too
    for step in range(STEPS):
        grads = shuffled(gradients(params), rng)
        updates, state = optimizer.update(grads, state, params)
        assert key_orders(updates) == key_orders(params)
        assert isinstance(updates["scale"], Affine)
        params = shuffled(optim.apply_updates(params, updates), rng)
        ours, theirs = leaves_by_path(params), reference[step]
        assert ours.keys() == theirs.keys()
        for p in theirs:
            scale = max(float(np.max(np.abs(theirs[p]))), 1e-300)
            error = float(np.max(np.abs(ours[p] - theirs[p])))
            assert error <= RTOL * scale, f"{_case_id(case)}, step {step}, {p}: {error:.3g}"
    # The trajectory moved: a frozen optimizer would match a frozen reference.
    first = leaves_by_path(start_params())
    assert max(float(np.max(np.abs(ours[p] - first[p]))) for p in first) > 1e-2


def test_sgd_weight_decay_uses_each_keys_own_gradient():
    """The issue's case: grads in another key order than params. By hand, SGD with lr = 1 and
    weight decay 1: w' = w - (g_w + w) = 10 - (2 + 10) = -2, b' = -10 - (1 - 10) = -1."""
    optimizer = optim.sgd(lr=1.0, weight_decay=1.0)
    params = {"w": np.array([10.0]), "b": np.array([-10.0])}
    grads = {"b": np.array([1.0]), "w": np.array([2.0])}
    updates, _ = optimizer.update(grads, optimizer.init(params), params)
    assert list(updates) == ["w", "b"]
    new = optim.apply_updates(params, updates)
    np.testing.assert_array_equal(new["w"], [-2.0])
    np.testing.assert_array_equal(new["b"], [-1.0])


def test_apply_updates_matches_by_key_and_keeps_params_order():
    params = {"a": np.array([1.0]), "b": np.array([2.0])}
    new = optim.apply_updates(params, {"b": np.array([10.0]), "a": np.array([20.0])})
    assert list(new) == ["a", "b"]
    np.testing.assert_array_equal(new["a"], [21.0])
    np.testing.assert_array_equal(new["b"], [12.0])


# -- mismatches: each is a ValueError of one sentence naming the key path ------------------------

P = {"w": np.zeros(3), "b": np.zeros(1)}
NESTED = {"layers": [{"w": np.zeros((2, 2)), "b": np.zeros(2)}, (np.zeros(1), np.zeros(()))]}


def _one_sentence(message: str) -> None:
    assert "\n" not in message and message.count(". ") == 0, message


NAMES = ["sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "params, grads, expected",
    [
        (P, {"w": np.zeros(3)}, r"grads has no key 'b', which params has"),
        (P, {**P, "c": np.zeros(2)}, r"grads\['c'\] is a key that params does not have"),
        (P, {"w": np.zeros((3, 3)), "b": np.zeros(1)},
         r"grads\['w'\] has shape \(3, 3\) but params\['w'\] has shape \(3,\)"),
        (P, {"w": np.zeros(3), "b": np.zeros(())},
         r"grads\['b'\] has shape \(\) but params\['b'\] has shape \(1,\)"),
        (P, [np.zeros(3), np.zeros(1)], r"grads is a list of length 2 but params is a dict"),
        (P, {"w": {"x": np.zeros(3)}, "b": np.zeros(1)},
         r"grads\['w'\] is a dict with keys 'x' but params\['w'\] is an array of shape \(3,\)"),
        (NESTED, {"layers": [{"w": np.zeros((2, 2))}, (np.zeros(1), np.zeros(()))]},
         r"grads\['layers'\]\[0\] has no key 'b'"),
        (NESTED, {"layers": [{"w": np.zeros((2, 2)), "b": np.zeros(2)}, (np.zeros(1),)]},
         (r"grads\['layers'\]\[1\] is a tuple of length 1 but params\['layers'\]\[1\] is a tuple "
         r"of length 2")),
        (NESTED,
         {"layers": [{"w": np.zeros((2, 2)), "b": np.zeros(2)}, (np.zeros(1), np.zeros(3))]},
         (r"grads\['layers'\]\[1\]\[1\] has shape \(3,\) but params\['layers'\]\[1\]\[1\] has "
         r"shape \(\)")),
        (np.zeros(3), np.zeros((3, 3)), r"grads has shape \(3, 3\) but params has shape \(3,\)"),
        (np.zeros(3), np.zeros((1, 3)), r"grads has shape \(1, 3\) but params has shape \(3,\)"),
        (np.zeros(3), {"w": np.zeros(3)}, r"grads is a dict with keys 'w' but params is an array"),
    ],
    ids=["missing", "extra", "shape", "scalar-shape", "list-vs-dict", "dict-vs-leaf",
         "nested-missing", "tuple-length", "nested-shape", "array-shape", "broadcastable",
         "array-vs-dict"],
)
def test_grads_mismatch_is_refused(name, params, grads, expected):
    optimizer = getattr(optim, name)()
    state = optimizer.init(params)
    with pytest.raises(ValueError, match=expected) as caught:
        optimizer.update(grads, state, params)
    _one_sentence(str(caught.value))


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adadelta", "adam", "nadam"])
def test_state_of_other_params_is_refused(name):
    """A state made for other parameters (a key missing, or another shape) is refused, naming
    the state's field and the key."""
    optimizer = getattr(optim, name)()
    field = optimizer.rule.state[-1].field
    params = {"w": np.zeros(3), "b": np.zeros(1)}
    with pytest.raises(ValueError, match=r"state\.\w+ has no key 'b'"):
        optimizer.update(params, optimizer.init({"w": np.zeros(3)}), params)
    with pytest.raises(ValueError, match=r"state\.\w+\['w'\] has shape \(2,\) but params\['w'\]"):
        optimizer.update(params, optimizer.init({"w": np.zeros(2), "b": np.zeros(1)}), params)
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"state\.\w+ has shape \(4,\) but params has shape"):
        optimizer.update(x, optimizer.init(np.zeros(4)), x)
    assert field  # the rule has array state, so the checks above did look at it


def test_state_of_another_optimizer_is_refused():
    x = np.zeros(3)
    with pytest.raises(TypeError, match="state is a SGDState .* not the AdamState"):
        optim.adam().update(x, optim.sgd(momentum=0.9).init(x), x)


def test_state_passed_back_after_a_shape_change_is_checked():
    """The single-array step skips re-checking the state it returned itself; a params array of
    another shape with that state must still be refused."""
    optimizer = optim.adam()
    x = np.zeros(3)
    _, state = optimizer.update(np.ones(3), optimizer.init(x), x)
    y = np.zeros(4)
    with pytest.raises(ValueError, match=r"state\.exp_avg has shape \(3,\) but params has shape"):
        optimizer.update(np.ones(4), state, y)


def test_apply_updates_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"updates has no key 'b'"):
        optim.apply_updates(P, {"w": np.zeros(3)})
    with pytest.raises(ValueError, match=r"updates\['w'\] has shape \(3, 3\) but params\['w'\]"):
        optim.apply_updates(P, {"w": np.zeros((3, 3)), "b": np.zeros(1)})


def test_missing_key_no_longer_corrupts_the_next_step():
    """Before, a grads dict with a key missing dropped it from Adam's state silently and the next
    step raised IndexError; now the first step is refused and the state is unchanged."""
    optimizer = optim.adam()
    state = optimizer.init(P)
    with pytest.raises(ValueError):
        optimizer.update({"w": np.ones(3)}, state, P)
    updates, state = optimizer.update({"w": np.ones(3), "b": np.ones(1)}, state, P)
    assert set(updates) == {"w", "b"} and set(state.exp_avg) == {"w", "b"}


def test_none_is_an_empty_subtree():
    """As in JAX, None holds no leaves: a frozen slot stays None in the updates."""
    optimizer = optim.sgd(lr=0.5)
    params = {"w": np.ones(2), "frozen": None}
    updates, _ = optimizer.update({"frozen": None, "w": np.ones(2)}, optimizer.init(params), params)
    assert updates["frozen"] is None
    np.testing.assert_array_equal(updates["w"], [-0.5, -0.5])


def test_tree_flatten_orders_mappings_by_key():
    from symlearn.optim._base import tree_flatten, tree_unflatten

    a_leaves, a_def = tree_flatten({"b": 1, "a": [2, 3]})
    b_leaves, b_def = tree_flatten({"a": [2, 3], "b": 1})
    assert a_leaves == b_leaves == [2, 3, 1] and a_def == b_def
    assert list(tree_unflatten(a_def, [20, 30, 10])) == ["b", "a"]
    assert tree_flatten({"a": [2, 3]})[1] != tree_flatten({"a": (2, 3)})[1]


def test_tree_unflatten_rebuilds_every_container_in_its_own_order():
    from collections import OrderedDict

    from symlearn.optim._base import tree_flatten, tree_unflatten

    tree = OrderedDict([("z", [1, (2, 3)]), ("a", Affine(4, {"y": 5, "x": 6})), ("n", None),
                        ("e", {})])
    leaves, treedef = tree_flatten(tree)
    assert leaves == [4, 6, 5, 1, 2, 3]  # sorted keys at every level: a(gain, shift{x, y}), z
    rebuilt = tree_unflatten(treedef, [10 * x for x in leaves])
    assert type(rebuilt) is OrderedDict and list(rebuilt) == ["z", "a", "n", "e"]
    assert rebuilt["z"] == [10, (20, 30)] and type(rebuilt["z"][1]) is tuple
    assert rebuilt["a"] == Affine(40, {"y": 50, "x": 60}) and list(rebuilt["a"].shift) == ["y", "x"]
    assert rebuilt["n"] is None and rebuilt["e"] == {}
    with pytest.raises(ValueError, match="got 5 leaves for a structure of 6"):
        tree_unflatten(treedef, leaves[:-1])
