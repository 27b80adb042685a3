"""Tests for symlearn.optim's learning-rate schedules: equal to torch.optim.lr_scheduler at every
step, formulas for a symbol, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from symlearn import optim

STEPS = 200


def _torch_lrs(make_scheduler, initial_lr: float, steps: int = STEPS) -> np.ndarray:
    """The learning rate PyTorch uses for each of ``steps`` updates."""
    import torch

    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=initial_lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


def _lr_scheduler():
    return pytest.importorskip("torch").optim.lr_scheduler


# (schedule, its torch twin, the twin's initial lr): one table drives the parity test.
TWINS = [
    (lambda: optim.constant(0.1), lambda L: (lambda o: L.ConstantLR(o, factor=1.0, total_iters=1)), 0.1),
    (lambda: optim.step_decay(0.1, step_size=7, decay_rate=0.5),
     lambda L: (lambda o: L.StepLR(o, step_size=7, gamma=0.5)), 0.1),
    (lambda: optim.multistep_decay(0.1, milestones=[10, 50, 120], decay_rate=0.3),
     lambda L: (lambda o: L.MultiStepLR(o, milestones=[10, 50, 120], gamma=0.3)), 0.1),
    (lambda: optim.exponential_decay(0.1, decay_rate=0.97),
     lambda L: (lambda o: L.ExponentialLR(o, gamma=0.97)), 0.1),
    (lambda: optim.inverse_time_decay(0.1, decay_rate=0.5, decay_steps=2),
     lambda L: (lambda o: L.LambdaLR(o, lambda t: 1 / (1 + 0.5 * t / 2))), 0.1),
    (lambda: optim.cosine_annealing(0.1, T_max=50, eta_min=1e-3),
     lambda L: (lambda o: L.CosineAnnealingLR(o, T_max=50, eta_min=1e-3)), 0.1),
    (lambda: optim.cosine_annealing(0.1, T_max=30),
     lambda L: (lambda o: L.CosineAnnealingLR(o, T_max=30)), 0.1),
    (lambda: optim.linear_warmup(0.1, total_iters=20),
     lambda L: (lambda o: L.LinearLR(o, total_iters=20)), 0.1),
    (lambda: optim.linear_warmup(0.1, total_iters=40, start_factor=0.1, end_factor=0.5),
     lambda L: (lambda o: L.LinearLR(o, start_factor=0.1, end_factor=0.5, total_iters=40)), 0.1),
    (lambda: optim.one_cycle(0.1, total_steps=STEPS),
     lambda L: (lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=STEPS, cycle_momentum=False)), 0.1),
    (lambda: optim.one_cycle(0.1, total_steps=STEPS, pct_start=0.25, anneal_strategy="linear",
                             three_phase=True, div_factor=10.0, final_div_factor=100.0),
     lambda L: (lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=STEPS, pct_start=0.25,
                                       anneal_strategy="linear", three_phase=True, div_factor=10.0,
                                       final_div_factor=100.0, cycle_momentum=False)), 0.1),
    (lambda: optim.preset([0.1, 0.05, 0.02]),
     lambda L: (lambda o: L.LambdaLR(o, lambda t: [1.0, 0.5, 0.2][min(t, 2)])), 0.1),
]


@pytest.mark.parametrize("make, twin, initial", TWINS, ids=lambda x: "" if callable(x) else None)
def test_schedule_equals_torch_at_every_step(make, twin, initial):
    schedule = make()
    reference = _torch_lrs(twin(_lr_scheduler()), initial)
    ours = np.array([schedule(t) for t in range(STEPS)])
    # PyTorch's cosine scheduler is recursive and reaches eta_min = 0 only up to rounding, so
    # values near zero are compared absolutely at the scale of the initial rate.
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-15 * initial)
    assert schedule(0) == pytest.approx(reference[0], rel=1e-12)


def test_hand_written_values():
    """Independent of torch: values from the closed forms, typed here."""
    assert optim.step_decay(1.0, 10, 0.5)(25) == 0.25
    assert optim.multistep_decay(1.0, [3, 5], 0.1)(4) == pytest.approx(0.1)
    assert optim.exponential_decay(2.0, 0.5)(3) == 0.25
    assert optim.inverse_time_decay(1.0, 1.0)(3) == 0.25
    assert optim.cosine_annealing(1.0, 10)(5) == pytest.approx(0.5)
    assert optim.cosine_annealing(1.0, 10, eta_min=0.2)(10) == pytest.approx(0.2)
    assert optim.linear_warmup(1.0, total_iters=4, start_factor=0.2)(2) == pytest.approx(0.6)
    assert optim.preset([3.0, 2.0, 1.0])(1) == 2.0
    assert optim.preset([3.0, 2.0, 1.0])(99) == 1.0
    cycle = optim.one_cycle(1.0, total_steps=101, pct_start=0.5)
    assert cycle(0) == pytest.approx(1 / 25)
    assert max(cycle(t) for t in range(101)) == pytest.approx(1.0, rel=1e-3)
    assert cycle(100) == pytest.approx(1 / 25 / 1e4)


def test_symbol_gives_a_formula_and_int_a_number():
    t = sp.Symbol("t")
    formula = optim.exponential_decay(0.1, decay_rate=0.5)(t)
    assert isinstance(formula, sp.Expr) and formula.free_symbols == {t}
    assert float(formula.subs(t, 3)) == pytest.approx(0.1 * 0.125)
    assert isinstance(optim.exponential_decay(0.1, decay_rate=0.5)(3), float)
    cosine = optim.cosine_annealing(1.0, T_max=8)(t)
    assert sp.simplify(cosine - (1 + sp.cos(sp.pi * t / 8)) / 2) == 0
    steps = optim.step_decay(1.0, step_size=4, decay_rate=0.5)(t)
    assert float(steps.subs(t, 9)) == 0.25


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: optim.exponential_decay(0.1, decay_rate=0.0), r"decay_rate=0.0 must be in \(0, 1\]"),
        (lambda: optim.exponential_decay(0.1, decay_rate=1.5), r"decay_rate=1.5 must be in \(0, 1\]"),
        (lambda: optim.step_decay(0.1, step_size=0), "step_size=0 must be a positive integer"),
        (lambda: optim.step_decay(0.1, step_size=2.5), "step_size=2.5 must be a positive integer"),
        (lambda: optim.multistep_decay(0.1, [5, 3]), "must be strictly increasing"),
        (lambda: optim.multistep_decay(0.1, []), "at least one"),
        (lambda: optim.inverse_time_decay(-0.1, 1.0), "init_value=-0.1 must be non-negative"),
        (lambda: optim.cosine_annealing(0.1, T_max=0), "T_max=0 must be a positive integer"),
        (lambda: optim.linear_warmup(0.1, start_factor=0.0), r"start_factor=0.0 must be in \(0, 1\]"),
        (lambda: optim.one_cycle(0.1, 100, pct_start=1.0), r"pct_start=1.0 must be in \(0, 1\)"),
        (lambda: optim.one_cycle(0.1, 100, anneal_strategy="exp"), "anneal_strategy='exp'"),
        (lambda: optim.preset([]), "at least one"),
        (lambda: optim.exponential_decay(0.1, 0.5)(-1), "t=-1 must be non-negative"),
    ],
)
def test_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_schedule_drives_the_learning_rate():
    """An optimizer with a schedule uses schedule(t) at step t: SGD's update is -lr_t * g."""
    schedule = optim.exponential_decay(0.5, decay_rate=0.5)
    optimizer = optim.sgd(lr=schedule)
    params, state = np.zeros(1), optimizer.init(np.zeros(1))
    for t in range(5):
        updates, state = optimizer.update(np.ones(1), state, params)
        assert updates[0] == -0.5 * 0.5**t
    assert math.isclose(schedule(4), 0.5**5)
