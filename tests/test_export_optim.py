"""symlearn.export(optimizers=...): the exported numpy-only optimizers against ``torch.optim``
(float64, CPU) and against the package's own steps, run in a process where SymPy, mpmath and
symlearn cannot be imported.

One subprocess runs every case of the exported module and returns JSON; this process runs the
same cases through torch.optim (the independent reference) and through symlearn.optim."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symlearn import optim
from symlearn._export import export

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
STEPS = 30

# The gradient both processes use: a deterministic function of the parameters and the step, so
# the optimizers' arithmetic is all that differs between the contenders.
GRADIENT = """
def gradient(params, k):
    def leaf(p):
        index = np.arange(np.size(p), dtype=float).reshape(np.shape(p))
        return 2.0 * p - 1.0 + np.sin(3.0 * p) + 0.2 * np.cos(k + index)
    return {name: {key: leaf(value) for key, value in layer.items()}
            for name, layer in params.items()}


def initial():
    rng = np.random.default_rng(7)
    return {"layer2": {"w": rng.normal(size=(2, 3)), "s": np.array(rng.normal())},
            "layer1": {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}}


def shuffled(tree):
    # The same dict with its keys in reverse order, at both levels: matched by key, not order.
    return {name: dict(reversed(list(layer.items()))) for name, layer in reversed(list(tree.items()))}
"""

# (optimizer, torch class, keyword arguments): torch.optim's names for both.
CASES = [
    ("sgd", "SGD", {"lr": 0.1}),
    ("sgd", "SGD", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("sgd", "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("sgd", "SGD", {"lr": 0.1, "dampening": 0.5, "weight_decay": 0.1}),  # dampening unused
    ("sgd", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", "SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.05}),
    ("sgd", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("adagrad", "Adagrad", {}),
    ("adagrad", "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1,
                            "initial_accumulator_value": 0.2}),
    ("adagrad", "Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("adagrad", "Adagrad", {"weight_decay": 0.1}),
    ("rmsprop", "RMSprop", {}),
    ("rmsprop", "RMSprop", {"centered": True}),
    ("rmsprop", "RMSprop", {"momentum": 0.7, "alpha": 0.9}),
    ("rmsprop", "RMSprop", {"centered": True, "momentum": 0.7, "weight_decay": 0.05}),
    ("rmsprop", "RMSprop", {"momentum": 0.5, "centered": True}),
    ("rmsprop", "RMSprop", {"weight_decay": 0.1}),
    ("rmsprop", "RMSprop", {"weight_decay": 0.1, "centered": True}),
    ("rmsprop", "RMSprop", {"weight_decay": 0.1, "momentum": 0.5}),
    ("adadelta", "Adadelta", {}),
    ("adadelta", "Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("adam", "Adam", {}),
    ("adam", "Adam", {"lr": 0.01, "betas": (0.8, 0.9), "amsgrad": True, "weight_decay": 0.05}),
    ("adam", "Adam", {"lr": 0.02, "weight_decay": 0.1}),
    ("adam", "Adam", {"amsgrad": True}),
    ("adamw", "AdamW", {}),
    ("adamw", "AdamW", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("adamw", "AdamW", {"weight_decay": 0.0}),
    ("adamw", "AdamW", {"weight_decay": 0.0, "amsgrad": True}),
    ("nadam", "NAdam", {}),
    ("nadam", "NAdam", {"weight_decay": 0.05, "momentum_decay": 0.01}),
    ("nadam", "NAdam", {"lr": 0.01, "weight_decay": 0.05, "decoupled_weight_decay": True}),
]

# Bad hyper-parameters: the exported functions must refuse them with the factory's sentence.
BAD = [
    ("sgd", {"lr": -1.0}),
    ("sgd", {"lr": "fast"}),
    ("sgd", {"momentum": -0.1}),
    ("sgd", {"dampening": -1.0}),
    ("sgd", {"nesterov": True}),
    ("sgd", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("sgd", {"weight_decay": float("nan")}),
    ("adagrad", {"lr_decay": -1.0}),
    ("adagrad", {"initial_accumulator_value": -0.5}),
    ("adagrad", {"eps": -1e-10}),
    ("rmsprop", {"alpha": 1.5}),
    ("rmsprop", {"momentum": -1.0}),
    ("adadelta", {"rho": 2.0}),
    ("adam", {"betas": (1.0, 0.9)}),
    ("adam", {"betas": (0.9, -0.1)}),
    ("adam", {"betas": (0.9,)}),
    ("adamw", {"weight_decay": -1.0}),
    ("nadam", {"momentum_decay": -1.0}),
]

# One array as params (the update's fast path): these run in both processes.
SINGLE = [("adam", {"amsgrad": True}), ("nadam", {}), ("sgd", {"momentum": 0.9, "lr": 0.05}),
          ("adagrad", {"initial_accumulator_value": 0.5})]

_ISOLATED = """
import importlib.util, json, sys
for blocked in ("sympy", "symlearn", "mpmath"):
    sys.modules[blocked] = None
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
import numpy as np
cases, bad = json.loads(sys.stdin.read())
exec(sys.argv[2])
SINGLE = json.loads(sys.argv[3])

def leaves(tree):
    return {f"{a}.{b}": np.asarray(v).tolist() for a, layer in tree.items() for b, v in layer.items()}

out = {"runs": [], "bad": [], "tree": {}}
for name, _, kwargs in cases:
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    params = initial()
    state = getattr(m, name + "_init")(params, **kwargs)
    update = getattr(m, name + "_update")
    for k in range(STEPS):
        updates, state = update(shuffled(gradient(params, k)), state, params, **kwargs)
        params = m.apply_updates(params, shuffled(updates))
    out["runs"].append({
        "params": leaves(params), "order": [list(params), list(params["layer1"])],
        "state": type(state).__name__, "fields": list(state._fields), "count": state.count,
        "mu_product": getattr(state, "mu_product", None),
    })
for name, kwargs in bad:
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    found = []
    for call in (lambda: getattr(m, name + "_init")(initial(), **kwargs),
                 lambda: getattr(m, name + "_update")(gradient(initial(), 0), None, initial(),
                                                       **kwargs)):
        try:
            call()
            found.append(None)
        except (TypeError, ValueError) as error:
            found.append([type(error).__name__, str(error)])
    out["bad"].append(found)
params = initial()
state = m.adam_init(params)
grads = gradient(params, 0)
missing = {"layer1": grads["layer1"], "layer2": {"w": grads["layer2"]["w"]}}
extra = {**grads, "layer3": {"w": np.zeros(2)}}
wrong = {"layer1": {**grads["layer1"], "w": np.zeros((4, 3))}, "layer2": grads["layer2"]}
for label, tree in (("missing", missing), ("extra", extra), ("shape", wrong)):
    try:
        m.adam_update(tree, state, params)
        out["tree"][label] = None
    except ValueError as error:
        out["tree"][label] = str(error)
    try:
        m.apply_updates(params, tree)
        out["tree"]["apply_" + label] = None
    except ValueError as error:
        out["tree"]["apply_" + label] = str(error)
try:
    m.adam_update(grads, m.adam_init(params), params, amsgrad=True)
except ValueError as error:
    out["tree"]["other_init"] = str(error)
out["single"] = []
for name, kwargs in SINGLE:
    p = np.linspace(-1.0, 1.0, 7)
    state = getattr(m, name + "_init")(p, **kwargs)
    for k in range(STEPS):
        updates, state = getattr(m, name + "_update")(2.0 * p - 1.0 + np.sin(3.0 * p) + 0.1 * k,
                                                      state, p, **kwargs)
        p = m.apply_updates(p, updates)
    out["single"].append(p.tolist())
try:
    m.adam_update(np.zeros(6), m.adam_init(np.zeros(7)), np.zeros(7))
except ValueError as error:
    out["single_shape"] = str(error)
print(json.dumps(out))
""".replace("STEPS", str(STEPS))


@pytest.fixture(scope="module")
def module_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export_optim") / "optimizers.py"
    path.write_text(export(optimizers=["all"]))
    return path


@pytest.fixture(scope="module")
def isolated(module_path) -> dict:
    cases = [[name, torch_name, kwargs] for name, torch_name, kwargs in CASES]
    done = subprocess.run(
        [sys.executable, "-c", _ISOLATED, str(module_path), GRADIENT, json.dumps(SINGLE)],
        input=json.dumps([cases, [[n, k] for n, k in BAD]]), capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _helpers() -> dict:
    namespace = {"np": np}
    exec(GRADIENT, namespace)  # noqa: S102 (the test's own source, shared with the subprocess)
    return namespace


def _torch_run(torch_name: str, kwargs: dict) -> dict:
    """STEPS steps of torch.optim on the same gradients, float64 on the CPU."""
    helpers = _helpers()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam's mu_product is a tensor of the default type
    try:
        start = helpers["initial"]()
        tensors = {(a, b): torch.tensor(v, dtype=torch.float64, requires_grad=True)
                   for a, layer in start.items() for b, v in layer.items()}
        optimizer = getattr(torch.optim, torch_name)(list(tensors.values()), **kwargs)
        for k in range(STEPS):
            current = {a: {b: tensors[(a, b)].detach().numpy().copy() for b in layer}
                       for a, layer in start.items()}
            grads = helpers["gradient"](current, k)
            for (a, b), tensor in tensors.items():
                tensor.grad = torch.from_numpy(np.array(grads[a][b]))
            optimizer.step()
        return {f"{a}.{b}": t.detach().numpy().copy() for (a, b), t in tensors.items()}
    finally:
        torch.set_default_dtype(previous)


def _package_run(name: str, kwargs: dict) -> tuple[dict, object]:
    helpers = _helpers()
    opt = getattr(optim, name)(**kwargs)
    params = helpers["initial"]()
    state = opt.init(params)
    for k in range(STEPS):
        updates, state = opt.update(helpers["gradient"](params, k), state, params)
        params = optim.apply_updates(params, updates)
    return {f"{a}.{b}": np.asarray(v) for a, layer in params.items() for b, v in layer.items()}, state


@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[f"{n}-{','.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
                              for n, _, kw in CASES])
def test_matches_torch_and_the_package(isolated, index):
    name, torch_name, kwargs = CASES[index]
    run = isolated["runs"][index]
    exported = {key: np.asarray(value) for key, value in run["params"].items()}
    reference = _torch_run(torch_name, kwargs)
    package, package_state = _package_run(name, kwargs)
    assert set(exported) == set(reference) == set(package)
    for key, value in exported.items():
        # PyTorch float64: the same algorithm in another order of operations.
        np.testing.assert_allclose(value, reference[key], rtol=1e-10, atol=1e-12, err_msg=key)
        # The package: the same printed in-place text for arrays (bit for bit); the 0-d leaf goes
        # through each one's allocating fallback, printed separately.
        if value.ndim:
            np.testing.assert_array_equal(value, package[key], err_msg=key)
        else:
            np.testing.assert_allclose(value, package[key], rtol=1e-14, atol=0, err_msg=key)
    assert run["state"] == type(package_state).__name__
    assert run["fields"] == list(type(package_state)._fields)
    assert run["count"] == STEPS == package_state.count
    if name == "nadam":
        assert run["mu_product"] == pytest.approx(package_state.mu_product, rel=1e-15)
    # Updates and new params come back in params' key order, whatever the grads' order.
    assert run["order"] == [["layer2", "layer1"], ["w", "b"]]


def test_every_optimizer_and_variant_is_compared():
    """Counts (sympy 1.14): sgd 8 variants, adagrad 4, rmsprop 8, adadelta 2, adam 4, adamw 4,
    nadam 3."""
    from symlearn.codegen._optim import OPTIMIZERS, _variants
    from symlearn.optim import _rules

    # Every factory of the catalog (the lower-case names of symlearn/optim/_rules.py).
    assert {name for name, _, _ in CASES} == set(OPTIMIZERS) == {
        n for n in _rules.__all__ if n.islower()}
    for name in OPTIMIZERS:
        variants, table = _variants(name)
        reached = set()
        for case_name, _, kwargs in CASES:
            if case_name != name:
                continue
            key = []
            for argument, kind in OPTIMIZERS[name]:
                value = kwargs.get(argument, inspect.signature(getattr(optim, name))
                                   .parameters[argument].default)
                key.append(value != 0 if kind == "nonzero" else bool(value))
            reached.add(table[tuple(key)])
        # Every structural variant of every rule is run against torch above.
        assert reached == set(range(len(variants))), (name, reached, len(variants))
        assert set(table.values()) == reached


def test_bad_hyperparameters_are_refused_with_the_factorys_sentence(isolated):
    for (name, kwargs), found in zip(BAD, isolated["bad"]):
        with pytest.raises((TypeError, ValueError)) as caught:
            getattr(optim, name)(**kwargs)
        expected = [type(caught.value).__name__, str(caught.value)]
        assert found == [expected, expected], (name, kwargs)
        assert "\n" not in expected[1]


def test_tree_mismatches_are_the_packages_sentences(isolated):
    helpers = _helpers()
    params = helpers["initial"]()
    opt = optim.adam()
    state = opt.init(params)
    grads = helpers["gradient"](params, 0)
    trees = {
        "missing": {"layer1": grads["layer1"], "layer2": {"w": grads["layer2"]["w"]}},
        "extra": {**grads, "layer3": {"w": np.zeros(2)}},
        "shape": {"layer1": {**grads["layer1"], "w": np.zeros((4, 3))}, "layer2": grads["layer2"]},
    }
    for label, tree in trees.items():
        with pytest.raises(ValueError) as caught:
            opt.update(tree, state, params)
        assert isolated["tree"][label] == str(caught.value)
        with pytest.raises(ValueError) as caught:
            optim.apply_updates(params, tree)
        assert isolated["tree"]["apply_" + label] == str(caught.value)
    assert "has no key 's'" in isolated["tree"]["missing"]
    assert "shape (4, 3)" in isolated["tree"]["shape"]
    assert isolated["tree"]["other_init"].startswith("state.max_exp_avg_sq is None")


def test_inplace_text_is_the_packages(module_path):
    """The module runs the package's printed in-place body for each case's variant."""
    text = module_path.read_text()
    for name, _, kwargs in CASES:
        source = inspect.getsource(getattr(optim, name)(**kwargs).compiled.arrays.inplace)
        body = "".join(f"    {line}" for line in source.splitlines(True)[1:])
        assert body in text, (name, kwargs)


def test_module_compiles_passes_ruff_and_imports_only_numpy(module_path):
    py_compile.compile(str(module_path), doraise=True)
    text = module_path.read_text()
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from typing import NamedTuple", "import numpy"]
    # LaTeX in docstrings stays LaTeX (raw strings: no tab from \theta, no bell from \alpha).
    spec = importlib.util.spec_from_file_location("exported_optim", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "$\\alpha$" in module.RMSpropState.__doc__
    assert "$\\theta$" in module.AdadeltaState.__doc__
    assert "\\beta_{1}" in module.adam_update.__doc__
    if shutil.which("ruff") is not None:
        done = subprocess.run(["ruff", "check", "--no-cache", "--isolated", str(module_path)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_deterministic_across_processes(module_path):
    """The same request in a process with another hash seed gives the same bytes."""
    code = ("import sys; from symlearn._export import export; "
            "sys.stdout.write(export(optimizers=['all']))")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == module_path.read_text()


def test_unknown_optimizer_names_a_close_match(tmp_path):
    with pytest.raises(ValueError, match="no optimizer called 'nadamw'; did you mean"):
        export(optimizers=["nadamw"])
    out = tmp_path / "o.py"
    done = subprocess.run([sys.executable, "-m", "symlearn", "export", "--optimizer", "sgd",
                           "-o", str(out)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "def sgd_update(grads, state, params, lr=0.001, momentum=0.0" in out.read_text()


def test_one_array_as_params_is_the_packages_step(isolated):
    for (name, kwargs), exported in zip(SINGLE, isolated["single"]):
        opt = getattr(optim, name)(**kwargs)
        p = np.linspace(-1.0, 1.0, 7)
        state = opt.init(p)
        for k in range(STEPS):
            updates, state = opt.update(2.0 * p - 1.0 + np.sin(3.0 * p) + 0.1 * k, state, p)
            p = optim.apply_updates(p, updates)
        np.testing.assert_array_equal(np.asarray(exported), p, err_msg=name)
    with pytest.raises(ValueError) as caught:
        optim.adam().update(np.zeros(6), optim.adam().init(np.zeros(7)), np.zeros(7))
    assert isolated["single_shape"] == str(caught.value)


def test_with_losses_and_a_schedule_as_lr(tmp_path):
    """One module with a loss, a schedule and an optimizer; the exported schedule as Adam's lr
    gives the package's Adam with the package's schedule."""
    import importlib.util

    path = tmp_path / "mixed.py"
    path.write_text(export(losses=["mse_loss"], optimizers=["adam"],
                           schedules=["cosine_annealing"]))
    if shutil.which("ruff") is not None:
        done = subprocess.run(["ruff", "check", "--no-cache", "--isolated", str(path)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    spec = importlib.util.spec_from_file_location("mixed", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    opt = optim.adam(lr=optim.cosine_annealing(0.1, 10))
    p = q = {"w": np.linspace(-1.0, 1.0, 5), "b": np.array([0.5, -0.5])}
    state, mine = opt.init(p), m.adam_init(q)
    for _ in range(12):
        updates, state = opt.update({k: 2 * v for k, v in p.items()}, state, p)
        p = optim.apply_updates(p, updates)
        updates, mine = m.adam_update({k: 2 * v for k, v in q.items()}, mine, q,
                                      lr=lambda t: m.cosine_annealing(t, 0.1, 10))
        q = m.apply_updates(q, updates)
    for key in p:
        np.testing.assert_allclose(q[key], p[key], rtol=1e-14, atol=1e-15)
    assert m.mse_loss(np.ones(3), np.zeros(3)) == 1.0


def test_dispatch_picks_the_factorys_equations():
    """For varied valid arguments (switches and the others), the variant the module dispatches
    to has the equations the factory writes: no argument outside the switch table changes the
    structure of a rule."""
    import itertools

    from symlearn.codegen._optim import OPTIMIZERS, _variants

    values = {
        "lr": (1e-3, 0.5), "momentum": (0.0, 0.9), "dampening": (0.0, 0.3),
        "weight_decay": (0.0, 0.01), "nesterov": (False, True), "lr_decay": (0.0, 0.1),
        "initial_accumulator_value": (0.0, 0.2), "eps": (0.0, 1e-6), "alpha": (0.0, 1.0),
        "centered": (False, True), "rho": (0.0, 1.0), "betas": ((0.0, 0.0), (0.9, 0.999)),
        "amsgrad": (False, True), "momentum_decay": (0.0, 4e-3),
        "decoupled_weight_decay": (False, True),
    }
    checked = 0
    for name, switches in OPTIMIZERS.items():
        variants, table = _variants(name)
        arguments = list(inspect.signature(getattr(optim, name)).parameters)
        for combination in itertools.product(*(values[a] for a in arguments)):
            kwargs = dict(zip(arguments, combination))
            try:
                rule = getattr(optim, name)(**kwargs).rule
            except ValueError:
                continue
            key = tuple(kwargs[a] != 0 if kind == "nonzero" else bool(kwargs[a])
                        for a, kind in switches)
            assert variants[table[key]].rule.equations == rule.equations, (name, kwargs)
            checked += 1
    assert checked >= 250  # 260 accepted combinations (sympy 1.14)


def test_remembered_hyperparameters_never_skip_a_check(module_path):
    """name_update checks its hyper-parameters once for the same objects (the usual loop passes
    the same numbers every step): another value, or a list changed in place, is checked again,
    and a value that changes the equations changes the step."""
    spec = importlib.util.spec_from_file_location("exported_optim_remembered", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    p = np.linspace(-1.0, 1.0, 5)
    g = np.cos(p)
    state = module.adam_init(p)
    module.adam_update(g, state, p, lr=0.01)
    module.adam_update(g, state, p, lr=0.01)
    with pytest.raises(ValueError, match="lr=-0.01 must be non-negative"):
        module.adam_update(g, state, p, lr=-0.01)
    betas = [0.9, 0.999]
    module.adam_update(g, state, p, betas=betas)
    betas[0] = 1.5
    with pytest.raises(ValueError, match=r"betas\[0\]=1.5 must be in \[0, 1\)"):
        module.adam_update(g, state, p, betas=betas)
    with pytest.raises(TypeError, match="must be a number"):
        module.adam_update(g, state, p, lr=True)
    plain = module.adam_update(g, state, p, weight_decay=0.0)[0]
    decayed = module.adam_update(g, state, p, weight_decay=0.5)[0]
    package = optim.adam(weight_decay=0.5)
    np.testing.assert_array_equal(decayed, package.update(g, package.init(p), p)[0])
    assert not np.array_equal(plain, decayed)


def test_float32_parameters_keep_their_dtype(module_path):
    """float32 parameters take the allocating step with the scalars as Python floats, as the
    package's: updates and state stay float32 (numpy would promote them to float64 for a 0-d
    float64 constant) and follow torch.optim.Adam in float32."""
    spec = importlib.util.spec_from_file_location("exported_optim_float32", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(3)
    p = rng.normal(size=20).astype(np.float32)
    tensor = torch.tensor(p.copy(), requires_grad=True)
    adam = torch.optim.Adam([tensor], lr=0.01)
    state = module.adam_init(p)
    package = optim.adam(lr=0.01)
    package_state = package.init(p)
    for _ in range(5):
        g = rng.normal(size=20).astype(np.float32)
        updates, state = module.adam_update(g, state, p, lr=0.01)
        assert updates.dtype == np.float32 and state.exp_avg.dtype == np.float32
        assert state.exp_avg_sq.dtype == np.float32
        package_updates, package_state = package.update(g, package_state, p)
        np.testing.assert_allclose(updates, package_updates, rtol=1e-6)
        p = p + updates
        tensor.grad = torch.from_numpy(g.copy())
        adam.step()
        np.testing.assert_allclose(p, tensor.detach().numpy(), rtol=1e-5, atol=1e-6)
