"""The optimizer documents (derivations/optim.py): every catalog entry builds with every step
checked and passing, renders, and draws its figures; the mini-batch loop of the SGD document
equals a hand-written numpy loop."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _catalog() -> dict:
    spec = importlib.util.spec_from_file_location("derivations_optim", ROOT / "derivations" / "optim.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CATALOG


CATALOG = _catalog()
_BUILT: dict = {}


def build(name: str):
    """Each document is built once per test session (the SGD one times things, ~1 s)."""
    if name not in _BUILT:
        _BUILT[name] = CATALOG[name][1]()
    return _BUILT[name]


def test_catalog_covers_the_issue():
    expected = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "amsgrad",
                "adamw", "nadam", "lr-schedules", "optimizer-comparison", "saddle-point"}
    assert expected <= set(CATALOG)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_document_builds_with_every_step_passing(name):
    from symlearn.render import to_markdown

    doc = build(name)
    assert doc.name == name
    assert all(step.result is not None and step.result.passed for step in doc.all_steps())
    assert doc.title in to_markdown(doc)


def test_figures_draw(tmp_path):
    pytest.importorskip("matplotlib")
    drawn = 0
    for name in sorted(CATALOG):
        for figure in build(name).figures():
            path = tmp_path / f"{figure.name}.png"
            figure.draw(path)
            assert path.stat().st_size > 1000
            drawn += 1
    assert drawn >= 4  # schedules, paths, loss, saddle


def test_errata_are_stated():
    from symlearn.render import to_markdown

    assert "linear in N" in to_markdown(build("sgd"))
    assert "Erratum" in to_markdown(build("momentum"))


def test_amsgrad_document_shows_the_max_rule():
    from symlearn.render import to_markdown

    md = to_markdown(build("amsgrad"))
    assert r"\max" in md and "never increases (checked" in md


def test_sgd_document_measures_batch_sizes_8_to_256():
    from symlearn.render import to_markdown

    md = to_markdown(build("sgd"))
    table = [line for line in md.splitlines() if line.startswith("| ")]
    sizes = [line.split("|")[1].strip() for line in table]
    for size in ("8", "32", "128", "256"):
        assert size in sizes


# -- the mini-batch loop against a hand-written one --------------------------------------------


def test_minibatch_sgd_equals_hand_written_numpy_loop():
    from symlearn import optim
    from symlearn.train import minibatch_sgd

    rng = np.random.default_rng(3)
    X = rng.standard_normal((100, 4))
    y = (X @ np.array([1.0, -1.0, 2.0, 0.0]) > 0).astype(float)

    def grad(w, Xb, yb):
        return Xb.T @ (1 / (1 + np.exp(-(Xb @ w))) - yb) / len(yb)

    for batch_size, epochs in [(8, 3), (32, 2), (100, 1), (256, 1)]:
        ours, steps = minibatch_sgd(optim.sgd(lr=0.3, momentum=0.9), grad, np.zeros(4), X, y,
                                    batch_size, epochs=epochs, seed=11)
        # Hand-written: PyTorch's momentum rule, one permutation per epoch, consecutive slices.
        w, buffer, count = np.zeros(4), None, 0
        shuffle = np.random.default_rng(11)
        for _ in range(epochs):
            order = shuffle.permutation(len(X))
            for begin in range(0, len(X), batch_size):
                index = order[begin : begin + batch_size]
                g = grad(w, X[index], y[index])
                buffer = g.copy() if buffer is None else 0.9 * buffer + g
                w = w - 0.3 * buffer
                count += 1
        assert steps == count == epochs * -(-len(X) // batch_size)
        np.testing.assert_allclose(ours, w, rtol=1e-12, atol=1e-14)


def test_minibatch_sgd_stops_part_way_and_on_a_budget():
    from symlearn import optim
    from symlearn.train import minibatch_sgd

    X, y = np.ones((64, 2)), np.ones(64)
    grad = lambda w, Xb, yb: Xb.T @ (Xb @ w - yb) / len(yb)
    _, steps = minibatch_sgd(optim.sgd(lr=0.1), grad, np.zeros(2), X, y, 8, epochs=0.5)
    assert steps == 4
    _, steps = minibatch_sgd(optim.sgd(lr=0.1), grad, np.zeros(2), X, y, 8, budget=0.0)
    assert steps == 1


# -- Optimizer.derivation(): course content reached through the registry ----------------------


def test_optimizer_derivation_is_the_catalog_document():
    """``adam().derivation()`` is the document ``symlearn build`` writes for ``adam``: the
    library builds it from derivations/_optim_documents.py, not from a module of its own."""
    from symlearn import optim
    from symlearn.render import to_markdown

    for name in ("adam", "rmsprop"):
        doc = getattr(optim, name)().derivation()
        assert to_markdown(doc) == to_markdown(build(name))
        assert all(step.result is not None and step.result.passed for step in doc.all_steps())
    assert not (ROOT / "symlearn" / "optim" / "_documents.py").exists()
    for path in (ROOT / "symlearn").rglob("*.py"):
        assert "_optim_documents" not in path.read_text() or path.name == "_base.py", path


@pytest.mark.parametrize("where", ["cwd", "env"])
def test_optimizer_derivation_found_beside_a_project_of_ones_own(tmp_path, monkeypatch, where):
    """A project with its own derivations/ folder (README: 'write your own') still gets the
    bundled optimizer documents, whichever way the folder is chosen."""
    from symlearn import optim
    from symlearn.render import to_markdown

    own = tmp_path / "derivations"
    own.mkdir()
    (own / "mine.py").write_text('"""Mine."""\n')
    if where == "cwd":
        monkeypatch.chdir(tmp_path)
    else:
        monkeypatch.setenv("SYMLEARN_DERIVATIONS", str(own))
    doc = optim.sgd(momentum=0.9).derivation()
    assert doc.name == "sgd" and "## Update rule" in to_markdown(doc)
