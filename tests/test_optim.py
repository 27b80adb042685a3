"""Tests for symlearn.optim: trajectory parity with torch.optim, validation, and the identities
between the seeds' momentum forms and PyTorch's.

References are independent of symlearn: torch.optim in float64 with torch.autograd gradients, and
update rules hand-written in numpy below, line for line as the seeds write them.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symlearn import optim

# One table drives the parity tests: (factory name, keyword arguments).
CASES = [
    ("sgd", dict(lr=1e-3)),
    ("sgd", dict(lr=1e-3, momentum=0.9)),
    ("sgd", dict(lr=1e-3, momentum=0.9, dampening=0.5, weight_decay=0.1)),
    ("sgd", dict(lr=1e-3, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("adagrad", dict(lr=0.1)),
    ("adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("rmsprop", dict(lr=1e-3)),
    ("rmsprop", dict(lr=1e-3, centered=True, momentum=0.5, weight_decay=0.1)),
    ("rmsprop", dict(lr=1e-3, alpha=0.9, momentum=0.9)),
    ("adadelta", dict()),
    ("adadelta", dict(lr=0.5, rho=0.95, weight_decay=0.1)),
    ("adam", dict(lr=1e-2)),
    ("adam", dict(lr=1e-2, betas=(0.8, 0.99), amsgrad=True, weight_decay=0.1)),
    ("adamw", dict(lr=1e-2)),
    ("adamw", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("nadam", dict(lr=1e-2)),
    ("nadam", dict(lr=1e-2, weight_decay=0.1)),
    ("nadam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
]

RTOL = 1e-10
STEPS = 200


def _case_id(case):
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


# -- the two problems, each with a numpy gradient (for symlearn) and a torch loss (for autograd) --


def rosenbrock_grad(params):
    x, y = params
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def rosenbrock_torch(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


_rng = np.random.default_rng(7)
X = _rng.standard_normal((64, 5))
Y = (X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.3 * _rng.standard_normal(64) > 0).astype(float)


def logistic_grad(params):
    """Gradient of the mean binary cross-entropy of sigmoid(X w + b), hand-written."""
    z = X @ params["w"] + params["b"][0]
    residual = 1 / (1 + np.exp(-z)) - Y
    return {"w": X.T @ residual / len(Y), "b": np.array([residual.mean()])}


def logistic_torch(params):
    import torch

    z = torch.from_numpy(X) @ params["w"] + params["b"][0]
    return torch.nn.functional.binary_cross_entropy_with_logits(z, torch.from_numpy(Y))


PROBLEMS = {
    "rosenbrock": (lambda: np.array([-1.5, 2.0]), rosenbrock_grad, rosenbrock_torch),
    "logistic": (
        lambda: {"w": np.linspace(-0.5, 0.5, 5), "b": np.array([0.1])},
        logistic_grad,
        logistic_torch,
    ),
}


@pytest.fixture(autouse=True)
def _torch_float64():
    """PyTorch keeps scalar state (NAdam's mu_product, step counts) in the default dtype: make it
    float64, as the parameters are."""
    try:
        import torch
    except ImportError:
        yield
        return
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)


def _torch_trajectory(optimizer, problem, steps, scheduler=None):
    """PyTorch's iterates (float64). Both sides get the same hand-written gradient function, so
    any difference is the optimizers' arithmetic (the gradients are checked against autograd in
    :func:`test_hand_written_gradients_equal_autograd`)."""
    import torch

    start, grad, _ = PROBLEMS[problem]
    start = start()
    leaves = start if isinstance(start, dict) else {"x": start}
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in leaves.items()}
    kwargs = dict(optimizer.torch_kwargs)
    if callable(optimizer.lr):
        kwargs["lr"] = optimizer.lr(0)
    reference = getattr(torch.optim, optimizer.torch_name)(list(tensors.values()), **kwargs)
    schedule = scheduler(reference) if scheduler else None
    path = []
    for _ in range(steps):
        current = {k: t.detach().numpy().copy() for k, t in tensors.items()}
        gradient = grad(current if isinstance(start, dict) else current["x"])
        gradient = gradient if isinstance(start, dict) else {"x": gradient}
        for key, tensor in tensors.items():
            tensor.grad = torch.from_numpy(np.asarray(gradient[key], dtype=np.float64).copy())
        reference.step()
        if schedule is not None:
            schedule.step()
        path.append({k: t.detach().numpy().copy() for k, t in tensors.items()})
    return path


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_hand_written_gradients_equal_autograd(problem):
    torch = pytest.importorskip("torch")
    start, grad, loss = PROBLEMS[problem]
    rng = np.random.default_rng(0)
    for _ in range(5):
        point = start()
        point = ({k: v + rng.standard_normal(v.shape) for k, v in point.items()}
                 if isinstance(point, dict) else point + rng.standard_normal(point.shape))
        leaves = point if isinstance(point, dict) else {"x": point}
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in leaves.items()}
        loss(tensors if isinstance(point, dict) else tensors["x"]).backward()
        ours = grad(point)
        ours = ours if isinstance(point, dict) else {"x": ours}
        for key, tensor in tensors.items():
            np.testing.assert_allclose(ours[key], tensor.grad.numpy(), rtol=1e-12, atol=1e-14)


def _symlearn_trajectory(optimizer, problem, steps):
    start, grad, _ = PROBLEMS[problem]
    params = start()
    state = optimizer.init(params)
    path = []
    for _ in range(steps):
        updates, state = optimizer.update(grad(params), state, params)
        params = optim.apply_updates(params, updates)
        path.append(params if isinstance(params, dict) else {"x": params})
    return path


def _assert_same_path(ours, reference, floor: float = 0.0):
    """Equal to RTOL relative to each parameter array's largest entry, at every step. (Entrywise
    relative error is meaningless for an entry crossing zero: 0.01 - 0.00999 cancels.)

    ``floor`` is an absolute allowance for trajectories that amplify rounding: see
    :func:`_torch_self_sensitivity`.
    """
    assert len(ours) == len(reference)
    for step, (a, b) in enumerate(zip(ours, reference)):
        for key in b:
            scale = np.max(np.abs(b[key]))
            error = np.max(np.abs(a[key] - b[key]))
            allowed = max(RTOL * scale, floor)
            assert error <= allowed, f"step {step}, {key}: {error:.3g} > {allowed:.3g}"


def _torch_self_sensitivity(optimizer, problem, reference):
    """How far PyTorch's own trajectory moves when the start moves by one rounding error.

    Some trajectories amplify rounding (NAdam on the logistic loss: a 1-ulp change of the start
    moves PyTorch's own iterates by ~1e-10 around step 175), so no implementation that differs
    from PyTorch in the last bit of any operation can match it to 1e-10 there. Where that
    happens the parity test allows ten times PyTorch's own spread, and says so.
    """
    start = PROBLEMS[problem][0]
    nudged = (lambda: {k: v * (1 + 2.0**-52) for k, v in start().items()}) if problem == "logistic" \
        else (lambda: start() * (1 + 2.0**-52))
    saved = PROBLEMS[problem]
    PROBLEMS[problem] = (nudged, *saved[1:])
    try:
        other = _torch_trajectory(optimizer, problem, len(reference))
    finally:
        PROBLEMS[problem] = saved
    return max(float(np.max(np.abs(a[k] - b[k]))) for a, b in zip(other, reference) for k in b)


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_trajectory_equals_torch(case, problem):
    pytest.importorskip("torch")
    name, kwargs = case
    optimizer = getattr(optim, name)(**kwargs)
    reference = _torch_trajectory(optimizer, problem, STEPS)
    ours = _symlearn_trajectory(optimizer, problem, STEPS)
    # The trajectory must move: a frozen optimizer would match a frozen reference.
    start = PROBLEMS[problem][0]()
    first = start if isinstance(start, dict) else {"x": start}
    assert any(np.max(np.abs(ours[-1][k] - first[k])) > 1e-3 for k in first)
    sensitivity = _torch_self_sensitivity(optimizer, problem, reference)
    _assert_same_path(ours, reference, floor=10 * sensitivity if sensitivity > 1e-12 else 0.0)


SCHEDULED = [
    ("adam", lambda: optim.cosine_annealing(1e-2, T_max=50),
     lambda o: __import__("torch").optim.lr_scheduler.CosineAnnealingLR(o, T_max=50)),
    ("sgd", lambda: optim.step_decay(1e-3, step_size=30, decay_rate=0.5),
     lambda o: __import__("torch").optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.5)),
    ("rmsprop", lambda: optim.exponential_decay(1e-2, decay_rate=0.99),
     lambda o: __import__("torch").optim.lr_scheduler.ExponentialLR(o, gamma=0.99)),
    ("nadam", lambda: optim.one_cycle(1e-2, total_steps=STEPS),
     lambda o: __import__("torch").optim.lr_scheduler.OneCycleLR(
         o, max_lr=1e-2, total_steps=STEPS, cycle_momentum=False)),
]


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name,schedule,twin", SCHEDULED, ids=[s[0] for s in SCHEDULED])
def test_scheduled_trajectory_equals_torch(name, schedule, twin, problem):
    pytest.importorskip("torch")
    optimizer = getattr(optim, name)(lr=schedule())
    reference = _torch_trajectory(optimizer, problem, STEPS, scheduler=twin)
    _assert_same_path(_symlearn_trajectory(optimizer, problem, STEPS), reference)


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam"])
def test_defaults_are_torchs(name):
    torch = pytest.importorskip("torch")
    import inspect

    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, getattr(optim, name)().torch_name)).parameters
    for argument, parameter in ours.items():
        assert argument in theirs, argument
        expected = theirs[argument].default
        assert parameter.default == expected, (argument, parameter.default, expected)


def test_update_is_pure_and_keeps_structure():
    optimizer = optim.adam(lr=0.1)
    params = [np.array([1.0, 2.0]), {"w": np.ones((2, 2))}]
    grads = [np.array([0.5, -0.5]), {"w": np.full((2, 2), 0.25)}]
    params_copy = [params[0].copy(), {"w": params[1]["w"].copy()}]
    state = optimizer.init(params)
    updates, new_state = optimizer.update(grads, state, params)
    assert isinstance(updates, list) and isinstance(updates[1], dict)
    assert updates[1]["w"].shape == (2, 2)
    np.testing.assert_array_equal(params[0], params_copy[0])
    np.testing.assert_array_equal(params[1]["w"], params_copy[1]["w"])
    assert state.count == 0 and new_state.count == 1
    np.testing.assert_array_equal(state.exp_avg[0], 0.0)
    # First Adam step: m_hat = g and v_hat = g^2, so the update is -lr * sign(g) (up to eps).
    np.testing.assert_allclose(updates[0], [-0.1, 0.1], rtol=1e-7)
    assert isinstance(new_state, optim.AdamState)


def test_float32_stays_float32():
    optimizer = optim.rmsprop()
    params = np.ones(3, dtype=np.float32)
    updates, _ = optimizer.update(np.ones(3, dtype=np.float32), optimizer.init(params), params)
    assert updates.dtype == np.float32


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: optim.sgd(lr=-1.0), "lr=-1.0 must be non-negative"),
        (lambda: optim.sgd(momentum=-0.1), "momentum=-0.1 must be non-negative"),
        (lambda: optim.sgd(nesterov=True), "nesterov=True requires momentum > 0"),
        (lambda: optim.sgd(momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
        (lambda: optim.adam(betas=(1.0, 0.999)), r"betas\[0\]=1.0 must be in \[0, 1\)"),
        (lambda: optim.adam(betas=(0.9, -0.1)), r"betas\[1\]=-0.1 must be in \[0, 1\)"),
        (lambda: optim.adam(betas=0.9), "must be a pair"),
        (lambda: optim.adamw(eps=-1e-8), "eps=-1e-08 must be non-negative"),
        (lambda: optim.adagrad(lr_decay=-1), "lr_decay=-1 must be non-negative"),
        (lambda: optim.adagrad(initial_accumulator_value=-1), "initial_accumulator_value=-1"),
        (lambda: optim.rmsprop(alpha=1.5), r"alpha=1.5 must be in \[0, 1\]"),
        (lambda: optim.adadelta(rho=2.0), r"rho=2.0 must be in \[0, 1\]"),
        (lambda: optim.nadam(momentum_decay=-1.0), "momentum_decay=-1.0 must be non-negative"),
        (lambda: optim.nadam(weight_decay=-1.0), "weight_decay=-1.0 must be non-negative"),
    ],
)
def test_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_lr_must_be_a_number_or_a_schedule():
    with pytest.raises(TypeError, match="lr='fast'"):
        optim.adam(lr="fast")


# -- the seeds' forms and PyTorch's ----------------------------------------------------------------


def _quadratic_grad(x):
    return np.array([1.0, 100.0]) * x  # the narrow valley f = (x^2 + 100 y^2) / 2


def test_momentum_forms_agree_with_torch_form():
    """Seed 003's form (v = rho v + g, x -= alpha v), the other common form (v = rho v - alpha g,
    x += v) and symlearn's sgd(momentum=rho) give the same iterates for a constant alpha."""
    alpha, rho = 0.009, 0.9
    x1 = x2 = np.array([1.0, 1.0])
    v1 = v2 = np.zeros(2)
    optimizer = optim.sgd(lr=alpha, momentum=rho)
    x3, state = np.array([1.0, 1.0]), optimizer.init(np.zeros(2))
    for _ in range(100):
        v1 = rho * v1 + _quadratic_grad(x1)
        x1 = x1 - alpha * v1
        v2 = rho * v2 - alpha * _quadratic_grad(x2)
        x2 = x2 + v2
        x3, state = optimizer.step(x3, _quadratic_grad(x3), state)
        np.testing.assert_allclose(x1, x2, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(x3, x1, rtol=1e-10, atol=1e-14)
    assert np.linalg.norm(x3) < 0.5  # it moved towards the minimum


def test_nesterov_change_of_variables():
    """PyTorch's nesterov=True iterate equals the seed's look-ahead point x_t + rho v_t, where
    v_{t+1} = rho v_t - alpha grad f(x_t + rho v_t) and x_{t+1} = x_t + v_{t+1}."""
    alpha, rho = 0.009, 0.9
    x, v = np.array([1.0, 1.0]), np.zeros(2)
    optimizer = optim.sgd(lr=alpha, momentum=rho, nesterov=True)
    theta, state = x.copy(), optimizer.init(x)
    for _ in range(100):
        v = rho * v - alpha * _quadratic_grad(x + rho * v)
        x = x + v
        theta, state = optimizer.step(theta, _quadratic_grad(theta), state)
        np.testing.assert_allclose(theta, x + rho * v, rtol=1e-10, atol=1e-14)
        # and PyTorch's buffer is the seed's velocity divided by -alpha
        np.testing.assert_allclose(state.momentum_buffer, -v / alpha, rtol=1e-10, atol=1e-12)


def test_adam_equations_are_the_textbook_update():
    """The documented rule (Kingma & Ba, Algorithm 1) equals the implemented closed form."""
    from symlearn.optim._base import DELTA, GRAD, LR, T

    optimizer = optim.adam()
    forms = optimizer.rule.closed_forms()
    b1, b2, eps = sp.symbols("beta1 beta2 epsilon", positive=True)
    m, v = sp.symbols("m v", real=True)
    symbols = {s.name: s for s in optimizer.rule.hyperparameters}
    state = {s.field: s.current for s in optimizer.rule.state}
    replace = {symbols[r"\beta_{1}"]: b1, symbols[r"\beta_{2}"]: b2, symbols[r"\epsilon"]: eps,
               state["exp_avg"]: m, state["exp_avg_sq"]: v}
    implemented = forms[DELTA].xreplace(replace)
    m_next = b1 * m + (1 - b1) * GRAD
    v_next = b2 * v + (1 - b2) * GRAD**2
    textbook = -LR * (m_next / (1 - b1 ** (T + 1))) / (sp.sqrt(v_next / (1 - b2 ** (T + 1))) + eps)
    assert sp.simplify(implemented - textbook) == 0


def test_public_names():
    for name in ["sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam",
                 "apply_updates", "step_decay", "one_cycle", "cosine_annealing"]:
        assert name in optim.__all__ and hasattr(optim, name)
    optimizer = optim.adam()
    assert all(isinstance(e, sp.Eq) for e in optimizer.equations)
