"""symlearn.export and ``symlearn export``: numpy-only modules, checked against independent
references (PyTorch's schedulers, torch autograd, central differences) in processes where SymPy
and symlearn cannot be imported."""

from __future__ import annotations

import json
import math
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symlearn
from symlearn import optim
from symlearn._export import _check_gradient, export, exportable_schedules
from symlearn.functions import log_sigmoid, relu, sigmoid, softplus

ROOT = Path(__file__).resolve().parent.parent
x, y, a = sp.symbols("x y a", real=True)

# Runs a generated module where sympy and symlearn cannot be imported, and prints what the
# snippet computes as JSON.
_ISOLATED = """
import importlib.util, json, sys
for blocked in ("sympy", "symlearn", "mpmath"):
    sys.modules[blocked] = None
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
import numpy as np
out = {}
exec(sys.argv[2], {"m": m, "np": np, "out": out, "nan": float("nan")})
print(json.dumps(out))
"""


def run_isolated(path: Path, snippet: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _ISOLATED, str(path), snippet],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def schedules_module(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "schedules.py"
    path.write_text(export(schedules=["all"]))
    return path


def test_public_name():
    assert symlearn.export is export


def test_module_imports_numpy_only_and_compiles(schedules_module):
    text = schedules_module.read_text()
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import numpy"]
    py_compile.compile(str(schedules_module), doraise=True)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extra")
def test_module_passes_ruff(schedules_module, tmp_path):
    functions = {"bce": ((x, y), softplus(x) - x * y), "quad": ((x, a), a * x**2 + 3)}
    path = tmp_path / "functions.py"
    path.write_text(export(functions=functions, schedules=["cosine_annealing"]))
    for module in (schedules_module, path):
        done = subprocess.run(["ruff", "check", "--no-cache", "--isolated", str(module)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_deterministic():
    functions = {"f": ((x, y), sigmoid(x * y) + sp.log(1 + sp.exp(x)))}
    assert export(functions=functions, schedules=["all"]) == export(
        functions=functions, schedules=["all"])


# ------------------------------------------------------------------------------------------------
# schedules: against torch.optim.lr_scheduler (independent) and the package's own schedules

_TORCH_SCHEDULERS = {
    "exponential_decay": (dict(init_value=0.3, decay_rate=0.9),
                          lambda o: __import__("torch").optim.lr_scheduler.ExponentialLR(o, 0.9)),
    "step_decay": (dict(init_value=0.3, step_size=4, decay_rate=0.5),
                   lambda o: __import__("torch").optim.lr_scheduler.StepLR(o, 4, 0.5)),
    "cosine_annealing": (dict(init_value=0.3, T_max=10, eta_min=0.01),
                         lambda o: __import__("torch").optim.lr_scheduler.CosineAnnealingLR(
                             o, 10, 0.01)),
    "linear_warmup": (dict(init_value=0.3, total_iters=6, start_factor=0.25, end_factor=1.0),
                      lambda o: __import__("torch").optim.lr_scheduler.LinearLR(
                          o, 0.25, 1.0, 6)),
}


@pytest.mark.parametrize("name", sorted(_TORCH_SCHEDULERS))
def test_schedule_equals_torch(name, schedules_module):
    torch = pytest.importorskip("torch")
    kwargs, make = _TORCH_SCHEDULERS[name]
    parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([parameter], lr=kwargs["init_value"])
    scheduler = make(opt)
    expected = []
    for _ in range(40):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    got = run_isolated(schedules_module,
                       f"out['v'] = [m.{name}(t, **{kwargs!r}) for t in range(40)]")["v"]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", exportable_schedules())
def test_schedule_equals_package(name, schedules_module):
    from symlearn._export import _SCHEDULES

    kwargs = {arg: value for arg, (_, value) in _SCHEDULES[name].items()}
    package = getattr(optim, name)(**kwargs)
    got = run_isolated(schedules_module,
                       f"out['v'] = [m.{name}(t, **{kwargs!r}) for t in range(0, 60, 3)]")["v"]
    np.testing.assert_allclose(got, [package(t) for t in range(0, 60, 3)], rtol=1e-13)


_BAD = [
    ("cosine_annealing", dict(init_value=-1.0, T_max=3)),
    ("cosine_annealing", dict(init_value=1.0, T_max=0)),
    ("cosine_annealing", dict(init_value=1.0, T_max=2.5)),
    ("step_decay", dict(init_value=1.0, step_size=2, decay_rate=1.5)),
    ("step_decay", dict(init_value=1.0, step_size=True, decay_rate=0.5)),
    ("exponential_decay", dict(init_value=float("nan"), decay_rate=0.5)),
    ("linear_warmup", dict(init_value=1.0, end_factor=2.0)),
    ("inverse_time_decay", dict(init_value=1.0, decay_rate=-0.1)),
]


@pytest.mark.parametrize("name, kwargs", _BAD)
def test_schedule_refuses_what_the_package_refuses(name, kwargs, schedules_module):
    with pytest.raises(ValueError):
        getattr(optim, name)(**kwargs)
    got = run_isolated(schedules_module, (
        "try:\n"
        f"    m.{name}(1, **{kwargs!r})\n"
        "    out['error'] = None\n"
        "except ValueError as e:\n"
        "    out['error'] = str(e)\n"))
    assert got["error"] and "must" in got["error"]


def test_schedule_refuses_negative_step(schedules_module):
    got = run_isolated(schedules_module, (
        "try:\n    m.constant(-1, 0.1)\nexcept ValueError as e:\n    out['e'] = str(e)\n"))
    assert "non-negative" in got["e"]


# ------------------------------------------------------------------------------------------------
# functions: a user's own expressions


def _central(f, args, h=1e-6):
    args = [np.asarray(v, dtype=float) for v in args]
    step = h * np.maximum(1.0, np.abs(args[0]))
    return (f(args[0] + step, *args[1:]) - f(args[0] - step, *args[1:])) / (2 * step)


_FUNCTIONS = {
    # name: (args, expression, torch twin of the value)
    "bce_logits": ((x, y), softplus(x) - x * y,
                   "torch.nn.functional.binary_cross_entropy_with_logits(X, Y, reduction='none')"),
    "log_sig": ((x,), log_sigmoid(x), "torch.nn.functional.logsigmoid(X)"),
    "sig_bce": ((x, y), -y * sp.log(sigmoid(x)) - (1 - y) * sp.log(1 - sigmoid(x)),
                "torch.nn.functional.binary_cross_entropy_with_logits(X, Y, reduction='none')"),
    "huberish": ((x, a), a * relu(x) ** 2 + sp.Abs(x), "A * torch.relu(X) ** 2 + X.abs()"),
}


@pytest.fixture(scope="module")
def functions_module(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "functions.py"
    path.write_text(export(functions={k: (v[0], v[1]) for k, v in _FUNCTIONS.items()}))
    return path


@pytest.mark.parametrize("name", sorted(_FUNCTIONS))
def test_function_matches_torch_autograd(name, functions_module):
    torch = pytest.importorskip("torch")
    args, _, twin = _FUNCTIONS[name]
    rng = np.random.default_rng(1)
    # Magnitudes over many scales, both signs; the logits reach 1000 (naive forms overflow).
    first = np.concatenate([rng.normal(size=20) * s for s in (1e-3, 1, 30)] + [[1000, -1000, 0.0]])
    values = [first] + [rng.uniform(0, 1, size=first.shape) for _ in args[1:]]
    tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=(i == 0))
               for i, v in enumerate(values)]
    names = {"X": tensors[0], "Y": tensors[1] if len(tensors) > 1 else None,
             "A": tensors[1] if len(tensors) > 1 else None}
    out = eval(twin, {"torch": torch, **names})  # the test's own literal, not user input
    out.sum().backward()
    lists = [v.tolist() for v in values]
    got = run_isolated(functions_module, (
        f"args = [np.array(v) for v in {lists!r}]\n"
        f"value, grad = m.{name}_value_and_grad(*args)\n"
        f"out['value'] = m.{name}(*args).tolist(); out['grad'] = m.{name}_grad(*args).tolist()\n"
        "out['same'] = bool(np.array_equal(value, out['value']) and "
        "np.array_equal(grad, out['grad']))\n"))
    assert got["same"]
    assert np.all(np.isfinite(got["value"])) and np.all(np.isfinite(got["grad"]))
    np.testing.assert_allclose(got["value"], out.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(got["grad"], tensors[0].grad.numpy(), rtol=1e-12, atol=1e-15)


def test_function_gradient_against_finite_differences(functions_module):
    import importlib.util

    spec = importlib.util.spec_from_file_location("exported_fd", functions_module)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    rng = np.random.default_rng(2)
    xs = rng.normal(size=50) * 3
    xs = xs[np.abs(xs) > 1e-3]  # |x| is not differentiable at 0
    ys = rng.uniform(0.1, 2, size=xs.shape)
    for name, (args, _, _) in _FUNCTIONS.items():
        f, g = getattr(m, name), getattr(m, f"{name}_grad")
        values = [xs, ys][: len(args)]
        np.testing.assert_allclose(g(*values), _central(f, values), rtol=1e-6, atol=1e-7)


def test_constant_gradient_has_the_arguments_shape(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(export(functions={"lin": ((x, y), 3 * x + y)}))
    got = run_isolated(path, "g = m.lin_grad(np.zeros((2, 3)), np.ones(3))\n"
                             "out['shape'] = list(g.shape); out['v'] = g.ravel().tolist()")
    assert got == {"shape": [2, 3], "v": [3.0] * 6}


def test_bad_input_to_an_exported_function(functions_module):
    got = run_isolated(functions_module, (
        "try:\n    m.bce_logits('abc', 1.0)\nexcept ValueError as e:\n    out['e'] = str(e)\n"))
    assert got["e"].startswith("x must be a real number")


def test_wrong_gradient_is_caught_before_export():
    compiled = {"f": lambda x_: x_**2, "f_grad": lambda x_: 2 * x_ + 1e-3}
    with pytest.raises(ValueError, match="disagrees with finite differences"):
        _check_gradient("f", ((x,), x**2), compiled)


def test_unsupported_requests_are_errors():
    with pytest.raises(ValueError, match="no loss called 'ctc_los' in the catalog; did you mean ctc_loss"):
        export(losses=["ctc_los"])
    with pytest.raises(ValueError, match="no optimizer called 'adamm'; did you mean adam"):
        export(optimizers=["adamm"])
    with pytest.raises(ValueError, match="nothing to export"):
        export()
    with pytest.raises(ValueError, match="no exportable schedule called 'preset'"):
        export(schedules=["preset"])
    with pytest.raises(ValueError, match="not among its arguments"):
        export(functions={"f": ((x,), x * y)})
    with pytest.raises(ValueError, match="no Python name"):
        export(functions={"f": ((sp.Symbol("1x"),), x)})
    with pytest.raises(ValueError, match="both named"):
        export(functions={"f": ((x,), x), "f_grad": ((x,), x)})


# ------------------------------------------------------------------------------------------------
# the command line


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "symlearn", "export", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_the_module(tmp_path):
    out = tmp_path / "lr.py"
    done = cli("--schedule", "cosine_annealing,step_decay", "-o", str(out))
    assert done.returncode == 0, done.stderr
    got = run_isolated(out, "out['v'] = m.cosine_annealing(5, 1.0, 10)")
    assert math.isclose(got["v"], 0.5 * (1 + math.cos(math.pi * 5 / 10)), rel_tol=1e-15)
    assert [p.name for p in tmp_path.iterdir()] == ["lr.py"]  # no temporary left behind


@pytest.mark.parametrize("args, message", [
    (["--schedule", "cosine_anealing"], "did you mean cosine_annealing"),
    (["--loss", "mse_los"], "did you mean mse_loss"),
    (["--optimizer", "adamm"], "did you mean adam"),
    ([], "name at least one"),
])
def test_cli_bad_input(tmp_path, args, message):
    done = cli(*args, "-o", str(tmp_path / "m.py"))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.py").exists()


def test_cli_refuses_a_directory_and_a_missing_folder(tmp_path):
    done = cli("--schedule", "all", "-o", str(tmp_path))
    assert done.returncode == 2 and "must end in .py" in done.stderr
    (tmp_path / "d.py").mkdir()
    done = cli("--schedule", "all", "-o", str(tmp_path / "d.py"))
    assert done.returncode == 2 and "is a directory" in done.stderr
    done = cli("--schedule", "all", "-o", str(tmp_path / "missing" / "m.py"))
    assert done.returncode == 2 and "does not exist" in done.stderr
