"""symlearn.neurons: scalar and matrix forms agree; the training graph's backward pass equals
sympy.diff of the expanded scalar loss; the matrix-form losses equal symlearn.losses and PyTorch;
dropout's backward uses the forward's mask; compiled gradients equal finite differences."""

import itertools

import numpy as np
import pytest
import sympy as sp

from symlearn import losses, neurons
from symlearn.functions import relu, sigmoid

MODELS = {
    "affine": lambda: neurons.affine(3),
    "affine-2-outputs": lambda: neurons.affine(3, 2),
    "neuron": lambda: neurons.neuron(3, sigmoid),
    "dense-relu": lambda: neurons.dense(3, 2, relu),
    "dense-dropout": lambda: neurons.dense(2, 3, sigmoid, keep=0.75),
    "mlp-2-layers": lambda: neurons.mlp((3, 2, 2), activation=sigmoid),
    "mlp-3-layers-dropout": lambda: neurons.mlp((2, 3, 2, 2), activation=relu, keep=0.5),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_scalar_and_matrix_forms_agree(name):
    model = MODELS[name]()
    scalar = model.scalar_form()
    matrix = model.matrix_form_at_one_example()
    assert len(scalar) == len(matrix) == model.out_features
    for s, m in zip(scalar, matrix):
        assert sp.expand(s - m) == 0


def test_single_neuron_scalar_form_reads_like_the_course():
    (a,) = neurons.neuron(2, sigmoid).scalar_form()
    w1, x1, w2, x2, b = sp.symbols("w_1 x_1 w_2 x_2 b", real=True)
    assert a == sigmoid(w1 * x1 + w2 * x2 + b)


@pytest.mark.parametrize(
    "model, loss, rows",
    [
        (neurons.neuron(2, sigmoid), "mse_loss", 2),
        (neurons.affine(2), "binary_cross_entropy_with_logits", 2),
        # one example keeps the expanded scalar loss of the MLP small enough to check quickly
        (neurons.mlp((2, 2, 2), activation=sigmoid, keep=0.5), "cross_entropy", 1),
    ],
    ids=["neuron-mse", "logistic", "mlp-dropout"],
)
def test_backward_pass_equals_sympy_diff_of_scalar_loss(model, loss, rows):
    obj = neurons.objective(model, loss, l2=0.1)
    assert obj.graph.check(model.params, {neurons.N: rows, **model.sizes})


def _params_and_data(model, rows, rng, classes=None):
    params = model.init(rng)
    X = rng.standard_normal((rows, model.in_features))
    return params, X


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy_with_logits", "mse_loss"])
def test_graph_loss_equals_catalog_loss_and_torch(loss):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    outputs = 4 if loss != "binary_cross_entropy_with_logits" else 1
    model = neurons.affine(3, outputs)
    params, X = _params_and_data(model, 9, rng)
    obj = neurons.objective(model, loss)
    logits = X @ params["W1"] + params["b1"]
    F = torch.nn.functional
    if loss == "cross_entropy":
        y = rng.integers(0, outputs, 9)
        catalog = losses.cross_entropy(logits, y)
        reference = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y)).item()
    elif loss == "binary_cross_entropy_with_logits":
        y = rng.integers(0, 2, 9).astype(float)
        catalog = losses.binary_cross_entropy_with_logits(logits.ravel(), y)
        reference = F.binary_cross_entropy_with_logits(torch.from_numpy(logits.ravel()), torch.from_numpy(y)).item()
    else:
        y = rng.standard_normal((9, outputs))
        catalog = losses.mse_loss(logits, y)
        reference = F.mse_loss(torch.from_numpy(logits), torch.from_numpy(y)).item()
    ours, _ = obj.loss_and_grad(X, obj.targets(y), params["W1"], params["b1"])
    assert ours == pytest.approx(float(catalog), rel=1e-12)
    assert ours == pytest.approx(reference, rel=1e-12)


def test_training_reads_its_losses_from_the_catalog():
    """The losses with a matrix form are catalog rows (issue 14), in the catalog's order, each
    with the kind of target its graph takes; a loss object is accepted for its name."""
    trainable = neurons.matrix_losses()
    assert list(trainable) == ["mse_loss", "cross_entropy", "binary_cross_entropy_with_logits"]
    assert {name: loss.spec.matrix_targets for name, loss in trainable.items()} == {
        "mse_loss": "values", "cross_entropy": "labels",
        "binary_cross_entropy_with_logits": "binary"}
    for name, loss in losses.catalog.items():
        assert (loss.spec.matrix_form is not None) == (name in trainable), name
        assert trainable.get(name, loss) is losses.catalog[name]
    assert neurons.objective(neurons.affine(3, 2), losses.cross_entropy).loss == "cross_entropy"


def test_a_loss_without_a_matrix_form_is_one_sentence_listing_those_with_one():
    listed = "has no matrix form; choose from mse_loss, cross_entropy, binary_cross_entropy_with_logits"
    with pytest.raises(ValueError) as error:
        neurons.objective(neurons.affine(3), "hinge_loss")
    assert str(error.value) == f"loss='hinge_loss' {listed}"
    with pytest.raises(ValueError) as error:
        neurons.objective(neurons.affine(3), losses.hinge_loss)
    assert str(error.value) == f"loss={losses.hinge_loss!r} {listed}"


def test_the_old_losses_table_is_a_deprecated_alias_of_the_catalog():
    """``neurons.LOSSES`` stays one release: it warns, names what to use, and holds what the
    catalog holds (the builder and target kind of each loss with a matrix form)."""
    with pytest.warns(DeprecationWarning, match=r"neurons\.matrix_losses\(\)"):
        table = neurons.LOSSES
    assert table == {name: (loss.spec.matrix_form, loss.spec.matrix_targets)
                     for name, loss in neurons.matrix_losses().items()}
    assert "LOSSES" not in neurons.__all__
    with pytest.warns(DeprecationWarning):
        from symlearn.neurons import LOSSES  # noqa: F401
    with pytest.raises(AttributeError, match="no attribute 'NO_SUCH'"):
        neurons.NO_SUCH  # noqa: B018


def test_nothing_in_the_package_uses_the_deprecated_table():
    """The suite runs with warnings as errors, but only on the paths it takes: no source of the
    package or of the derivations names ``LOSSES`` except the alias itself."""
    import re
    from pathlib import Path

    root = Path(neurons.__file__).resolve().parent.parent
    users = [path for folder in ("symlearn", "derivations") for path in (root / folder).rglob("*.py")
             if re.search(r"(?<![\w])LOSSES\b", path.read_text())]
    assert users == [root / "symlearn" / "neurons.py"]


def _finite_differences(f, params, name, eps=1e-6):
    grad = np.zeros_like(params[name])
    for index in np.ndindex(grad.shape):
        plus = {k: v.copy() for k, v in params.items()}
        minus = {k: v.copy() for k, v in params.items()}
        plus[name][index] += eps
        minus[name][index] -= eps
        grad[index] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def test_dropout_backward_uses_the_forward_mask():
    rng = np.random.default_rng(1)
    model = neurons.mlp((4, 5, 3), activation=sigmoid, keep=0.6)
    obj = neurons.objective(model, "cross_entropy", l2=0.01)
    params, X = _params_and_data(model, 7, rng)
    T = obj.targets(rng.integers(0, 3, 7))
    (mask,) = model.draw_masks(7, rng)
    assert set(np.unique(mask)) <= {0.0, 1.0}
    order = [p.name for p in model.params]

    def loss(p):
        return obj.loss_and_grad(X, T, mask, *(p[k] for k in order))[0]

    _, grads = obj.loss_and_grad(X, T, mask, *(params[k] for k in order))
    for name in order:
        np.testing.assert_allclose(grads[name], _finite_differences(loss, params, name), rtol=1e-6, atol=1e-9)
    # Hand-written numpy: the same mask scales the hidden gradient, and dropped units get none.
    A = 1 / (1 + np.exp(-(X @ params["W1"] + params["b1"])))
    Z2 = (A * mask / 0.6) @ params["W2"] + params["b2"]
    S = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    S /= S.sum(axis=1, keepdims=True)
    dZ2 = (S - T) / 7
    dA = dZ2 @ params["W2"].T * mask / 0.6
    np.testing.assert_allclose(grads["W1"], X.T @ (dA * A * (1 - A)) + 0.01 * params["W1"], rtol=1e-10)
    np.testing.assert_allclose(grads["b2"], dZ2.sum(axis=0, keepdims=True), rtol=1e-10)


def test_inverted_dropout_expectation_equals_input_exactly():
    """Average of D = A o M / p over all 2^4 masks of a 1 x 4 row, weighted by their
    Bernoulli(p) probabilities, is A (exact rational arithmetic)."""
    p = sp.Rational(3, 4)
    A = sp.Matrix([[sp.Symbol(f"a{j}") for j in range(4)]])
    expectation = sp.zeros(1, 4)
    for bits in itertools.product((0, 1), repeat=4):
        probability = sp.Mul(*[p if b else 1 - p for b in bits])
        expectation += probability * A.multiply_elementwise(sp.Matrix([bits])) / p
    assert sp.simplify(expectation - A) == sp.zeros(1, 4)
    # and our node's expression, at one entry:
    a, m = sp.symbols("a m")
    expr = neurons.inverted_dropout(sp.MatrixSymbol("A", 1, 1), sp.MatrixSymbol("M", 1, 1), 0.75)
    value = expr.as_explicit()[0, 0].xreplace({sp.MatrixSymbol("A", 1, 1)[0, 0]: a, sp.MatrixSymbol("M", 1, 1)[0, 0]: m})
    assert sp.simplify(p * value.subs(m, 1) + (1 - p) * value.subs(m, 0) - a) == 0


def test_init_follows_torch_linear_bounds_and_eval_model_drops_dropout():
    model = neurons.mlp((16, 9, 3), keep=0.5)
    params = model.init(0)
    assert params["W1"].shape == (16, 9) and params["b1"].shape == (1, 9)
    assert np.abs(params["W1"]).max() <= 1 / 4 and np.abs(params["W2"]).max() <= 1 / 3
    assert model.masks and not model.without_dropout().masks
    assert [p.name for p in model.params] == ["W1", "b1", "W2", "b2"]


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="keep=1.5"):
        neurons.mlp((3, 2, 1), keep=1.5)
    with pytest.raises(ValueError, match="outputs=0"):
        neurons.affine(3, 0)
    with pytest.raises(ValueError, match="loss='hinge_loss'"):
        neurons.objective(neurons.affine(3), "hinge_loss")
    with pytest.raises(ValueError, match="needs one output"):
        neurons.objective(neurons.affine(3, 2), "binary_cross_entropy_with_logits")


def test_model_documents_build_with_every_step_checked():
    """The quick documents of derivations/models.py (mlp-backprop and softmax-regression take
    longer and are built by ``symlearn build``)."""
    import importlib.util
    from pathlib import Path

    from symlearn.derivation import require_checked

    source = Path(__file__).resolve().parent.parent / "derivations" / "models.py"
    spec = importlib.util.spec_from_file_location("models_documents", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("linear-regression", "logistic-regression", "dropout", "weight-decay"):
        doc = module.CATALOG[name][1]()
        require_checked(doc)
        assert doc.all_steps() and all(step.result.passed for step in doc.all_steps())
