"""symlearn.train: parity with PyTorch (float64), held-out accuracy on real data, the diabetes
weights against numpy.linalg.lstsq, the NaN early stop, and the loss-curve figure.

References are independent: the same model and optimizer written in PyTorch (fed the same
initial weights and the same batch order), numpy.linalg.lstsq, plain numpy in the test.
"""

import math

import numpy as np
import pytest

from symlearn import data, neurons, optim
from symlearn.functions import relu, sigmoid
from symlearn.train import History, TrainingError, fit, loss_curve

EPOCHS, BATCH, SEED = 5, 16, 3


def _problem(rows=100, features=6, classes=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    if classes is None:
        y = (X @ rng.standard_normal(features) + 0.3 * rng.standard_normal(rows) > 0).astype(np.int64)
    else:
        y = np.argmax(X @ rng.standard_normal((features, classes)), axis=1)
    return X, y


def _torch_train(layers, init, X, y, loss_name, optimizer_name, kwargs, activation):
    """The same network in PyTorch float64: nn.Linear layers loaded with our initial weights
    (``weight = W.T``), batches cut from numpy.random.default_rng(SEED).permutation per epoch."""
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional
    linears = []
    for index, (inputs, outputs) in enumerate(layers, start=1):
        linear = nn.Linear(inputs, outputs, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(init[f"W{index}"].T))
            linear.bias.copy_(torch.from_numpy(init[f"b{index}"].ravel()))
        linears.append(linear)
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid}[activation]

    def forward(x):
        for linear in linears[:-1]:
            x = act(linear(x))
        return linears[-1](x)

    parameters = [p for linear in linears for p in linear.parameters()]
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer_name](parameters, **kwargs)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    rng = np.random.default_rng(SEED)
    losses = []
    for _ in range(EPOCHS):
        order = rng.permutation(len(X))
        for begin in range(0, len(X), BATCH):
            index = torch.from_numpy(order[begin : begin + BATCH])
            opt.zero_grad()
            out = forward(Xt[index])
            if loss_name == "cross_entropy":
                loss = F.cross_entropy(out, yt[index])
            else:
                loss = F.binary_cross_entropy_with_logits(out.ravel(), yt[index].double())
            loss.backward()
            opt.step()
            losses.append(loss.item())
    final = {}
    for index, linear in enumerate(linears, start=1):
        final[f"W{index}"] = linear.weight.detach().numpy().T
        final[f"b{index}"] = linear.bias.detach().numpy()[None, :]
    return np.array(losses), final


OPTIMIZERS = {
    "sgd-momentum": ("sgd", dict(lr=0.05, momentum=0.9)),
    "adam": ("adam", dict(lr=0.01)),
}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("case", ["logistic", "mlp"])
def test_training_matches_pytorch_float64(case, optimizer):
    name, kwargs = OPTIMIZERS[optimizer]
    if case == "logistic":
        X, y = _problem()
        model, loss, layers, activation = neurons.affine(6), "binary_cross_entropy_with_logits", [(6, 1)], "relu"
    else:
        X, y = _problem(classes=4)
        model, loss, layers, activation = neurons.mlp((6, 8, 4), activation=sigmoid), "cross_entropy", [(6, 8), (8, 4)], "sigmoid"
    init = model.init(11)
    result = fit(model, loss, getattr(optim, name)(**kwargs), X, y, epochs=EPOCHS,
                 batch_size=BATCH, seed=SEED, params=init, progress=False)
    torch_losses, torch_final = _torch_train(layers, init, X, y, loss, name, kwargs, activation)
    assert len(result.history.batch_loss) == len(torch_losses) == EPOCHS * math.ceil(len(X) / BATCH)
    np.testing.assert_allclose(result.history.batch_loss, torch_losses, rtol=1e-8, atol=0)
    for key, value in torch_final.items():
        np.testing.assert_allclose(result.params[key], value, rtol=1e-8, atol=1e-12)
    # the per-epoch loss is the batch-size-weighted mean of the batch losses
    sizes = np.array([len(range(b, min(b + BATCH, len(X)))) for b in range(0, len(X), BATCH)])
    per_epoch = np.asarray(result.history.batch_loss).reshape(EPOCHS, -1) @ sizes / len(X)
    np.testing.assert_allclose(result.history.loss, per_epoch, rtol=1e-12)


def test_relu_mlp_gradient_matches_pytorch_autograd():
    torch = pytest.importorskip("torch")
    X, y = _problem(rows=20, classes=3, seed=4)
    model = neurons.mlp((6, 5, 3), activation=relu)
    params = model.init(0)
    obj = neurons.objective(model, "cross_entropy")
    loss, grads = obj.loss_and_grad(X, obj.targets(y), *(params[p.name] for p in model.params))
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    hidden = torch.relu(torch.from_numpy(X) @ tensors["W1"] + tensors["b1"])
    reference = torch.nn.functional.cross_entropy(hidden @ tensors["W2"] + tensors["b2"], torch.from_numpy(y))
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-12)
    for key, tensor in tensors.items():
        np.testing.assert_allclose(grads[key], tensor.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_logistic_regression_on_breast_cancer_reaches_95_percent():
    ds = data.load_bundled("breast_cancer", seed=0)
    result = fit(neurons.affine(ds.X_train.shape[1]), "binary_cross_entropy_with_logits",
                 optim.sgd(lr=0.1, momentum=0.9), ds.X_train, ds.y_train, epochs=20,
                 batch_size=32, seed=0, validation=(ds.X_test, ds.y_test), progress=False)
    accuracy = result.evaluate(ds.X_test, ds.y_test)["accuracy"]
    assert accuracy >= 0.95
    assert result.history.val_accuracy[-1] == accuracy
    # independent check of the accuracy: plain numpy on the returned weights
    logits = ds.X_test @ result.params["W1"] + result.params["b1"]
    assert np.mean((logits.ravel() > 0) == (ds.y_test == 1)) == accuracy


def test_mlp_with_dropout_on_digits_reaches_96_percent():
    ds = data.load_bundled("digits", seed=0)
    model = neurons.mlp((64, 64, 10), activation=relu, keep=0.8)
    result = fit(model, "cross_entropy", optim.adam(lr=1e-3), ds.X_train, ds.y_train,
                 epochs=30, batch_size=64, seed=0, progress=False)
    hidden = np.maximum(ds.X_test @ result.params["W1"] + result.params["b1"], 0)  # dropout off
    predictions = np.argmax(hidden @ result.params["W2"] + result.params["b2"], axis=1)
    accuracy = np.mean(predictions == ds.y_test)
    assert accuracy >= 0.96
    assert result.evaluate(ds.X_test, ds.y_test)["accuracy"] == pytest.approx(accuracy)
    assert len(result.history.accuracy) == 30 and result.history.loss[-1] < result.history.loss[0]


def test_diabetes_linear_regression_trained_to_convergence_equals_lstsq():
    """Full-batch gradient descent with heavy-ball momentum (lr = 1 / lambda_max of the Hessian
    2 X^T X / n) until convergence; the weights then equal numpy.linalg.lstsq to 1e-6."""
    ds = data.load_bundled("diabetes", seed=0)
    rows = len(ds.y_train)
    A = np.column_stack([ds.X_train, np.ones(rows)])
    lr = 1.0 / np.linalg.eigvalsh(2.0 / rows * A.T @ A).max()
    result = fit(neurons.affine(10), "mse_loss", optim.sgd(lr=lr, momentum=0.9), ds.X_train,
                 ds.y_train, epochs=1500, batch_size=rows, shuffle=False, seed=0, progress=False)
    reference = np.linalg.lstsq(A, ds.y_train, rcond=None)[0]
    ours = np.concatenate([result.params["W1"].ravel(), result.params["b1"].ravel()])
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6 * np.abs(reference).max())
    mse = result.evaluate(ds.X_test, ds.y_test)["mse"]
    assert mse == pytest.approx(np.mean((np.column_stack([ds.X_test, np.ones(len(ds.y_test))]) @ reference - ds.y_test) ** 2), rel=1e-8)


def test_nan_loss_stops_with_one_sentence():
    X, y = _problem(rows=64, features=4, seed=2)
    X = X * 1e3
    with pytest.raises(TrainingError) as caught:
        fit(neurons.affine(4), "mse_loss", optim.sgd(lr=10.0), X, y.astype(float) * 1e3,
            epochs=50, batch_size=4, progress=False)
    message = str(caught.value)
    # Sixteen steps an epoch of lr = 10 on inputs of 1e3 overflow within epoch 2, before the
    # per-epoch divergence check looks: the per-batch check names the epoch and the batch.
    assert "the loss became inf at epoch 2, batch" in message
    assert "try a learning rate smaller than 10.0" in message
    assert message.count(". ") == 0 and "\n" not in message


def test_argument_errors_name_the_argument():
    X, y = _problem(rows=10, features=3)
    with pytest.raises(ValueError, match="batch_size=0"):
        fit(neurons.affine(3), "mse_loss", optim.sgd(lr=0.1), X, y, batch_size=0, progress=False)
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        fit(neurons.affine(4), "mse_loss", optim.sgd(lr=0.1), X, y, progress=False)
    with pytest.raises(ValueError, match="loss='l1_loss'"):
        fit(neurons.affine(3), "l1_loss", optim.sgd(lr=0.1), X, y, progress=False)


def test_same_seed_same_run_and_progress_bar_runs():
    X, y = _problem(rows=40, features=3)
    runs = [fit(neurons.affine(3), "binary_cross_entropy_with_logits", optim.adam(lr=0.01), X, y,
                epochs=3, batch_size=8, seed=5, progress=bar) for bar in (False, True)]
    assert runs[0].history.batch_loss == runs[1].history.batch_loss


def test_loss_curve_figure(tmp_path):
    pytest.importorskip("matplotlib")
    history = History(loss=[1.0, 0.5, 0.3], accuracy=[0.5, 0.7, 0.9], val_loss=[1.1, 0.6, 0.4],
                      val_accuracy=[0.4, 0.6, 0.8])
    path = tmp_path / "curve.png"
    loss_curve(history, path, title="test")
    assert path.stat().st_size > 1000


# -- training that cannot go on: one sentence, the right cause -------------------------------------


def _gradient_descent_losses(X, y, lr, steps):
    """Full-batch gradient descent on mean((X w + b - y)^2) from w = 0, b = 0, by hand: the loss
    before each step."""
    w, b, losses = np.zeros(X.shape[1]), 0.0, []
    for _ in range(steps):
        r = X @ w + b - y
        losses.append(float(np.mean(r**2)))
        w, b = w - lr * 2 * X.T @ r / len(y), b - lr * 2 * np.mean(r)
    return losses


def test_divergence_stops_when_the_loss_rises_a_thousandfold():
    """Standardized features make the MSE's Hessian about 2 I, so lr = 1.5 multiplies the error
    by about |1 - 3| = 2 per step: the loss stays finite but rises past 1000 times epoch 1's. The
    stopping epoch is the first one where the hand-written descent's loss does."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((64, 3))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(64)
    model = neurons.affine(3)
    zeros = {k: np.zeros_like(v) for k, v in model.init(0).items()}
    reference = _gradient_descent_losses(X, y, 1.5, 40)
    expected = next(e for e, value in enumerate(reference, 1) if value > 1e3 * reference[0])
    assert all(math.isfinite(v) for v in reference[:expected])
    with pytest.raises(TrainingError) as caught:
        fit(model, "mse_loss", optim.sgd(lr=1.5), X, y, epochs=40, batch_size=64, params=zeros,
            progress=False)
    message = str(caught.value)
    assert f"to {reference[expected - 1]:.6g} in epoch {expected}," in message
    assert f"from {reference[0]:.6g} in epoch 1" in message
    assert "over 1000 times its first value" in message and "smaller than 1.5" in message
    assert "\n" not in message and message.count(". ") == 0


def test_infinite_loss_before_any_step_blames_the_data_not_the_learning_rate():
    X, y = _problem(rows=32, features=3, seed=1)
    with pytest.raises(TrainingError) as caught:
        fit(neurons.affine(3), "mse_loss", optim.sgd(lr=1e-6), X * 1e200, y * 1e200, epochs=2,
            batch_size=32, progress=False)
    message = str(caught.value)
    assert "on the first batch, before any step, so the learning rate is not the cause" in message
    assert "learning rate smaller" not in message and "e+200" in message
    assert "\n" not in message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_are_refused_naming_row_and_column(bad):
    X, y = _problem(rows=20, features=3, seed=1)
    X[7, 2] = bad
    with pytest.raises(ValueError, match=rf"X holds {bad} in row 7, column 2"):
        fit(neurons.affine(3), "binary_cross_entropy_with_logits", optim.sgd(lr=0.1), X, y,
            epochs=1, progress=False)
    targets = y.astype(float)
    targets[3] = bad
    with pytest.raises(ValueError, match=rf"y holds {bad} in row 3, column 0"):
        fit(neurons.affine(3), "mse_loss", optim.sgd(lr=0.1), _problem(rows=20, features=3)[0],
            targets, epochs=1, progress=False)


def test_sigmoid_output_under_bce_with_logits_is_refused_in_one_sentence():
    # A double sigmoid: the loss applies sigma to sigma(z) in (0, 1), so every logit is positive
    # and every prediction class 1 (the majority class of a data set like breast_cancer).
    X, y = _problem()
    with pytest.raises(ValueError, match="last layer applies sigmoid.*takes logits") as caught:
        fit(neurons.neuron(6, sigmoid), "binary_cross_entropy_with_logits", optim.adam(), X, y,
            epochs=1, progress=False)
    assert "\n" not in str(caught.value)
    assert "neurons.affine" in str(caught.value)
    # The same neuron without the sigmoid trains; with mse_loss a sigmoid output is legitimate.
    fit(neurons.affine(6, 1), "binary_cross_entropy_with_logits", optim.adam(), X, y, epochs=1,
        progress=False)
    fit(neurons.neuron(6, sigmoid), "mse_loss", optim.adam(), X, y.astype(float), epochs=1,
        progress=False)


def test_predict_returns_shape_n_for_one_output_and_n_k_otherwise():
    X, y = _problem(rows=30)
    one = fit(neurons.affine(6, 1), "binary_cross_entropy_with_logits", optim.adam(), X, y,
              epochs=1, progress=False)
    predicted = one.predict(X)
    assert predicted.shape == (30,)
    # The logit by hand: X w + b.
    np.testing.assert_allclose(predicted, X @ one.params["W1"][:, 0] + one.params["b1"][0, 0],
                               rtol=1e-12, atol=1e-12)
    X3, y3 = _problem(rows=30, classes=3)
    many = fit(neurons.affine(6, 3), "cross_entropy", optim.adam(), X3, y3, epochs=1,
               progress=False)
    assert many.predict(X3).shape == (30, 3)


def test_fit_takes_the_catalog_loss_by_name_or_object():
    from symlearn import losses

    X, y = _problem(rows=40, features=3)
    runs = [fit(neurons.affine(3), loss, optim.adam(lr=0.01), X, y, epochs=2, batch_size=8,
                seed=5, progress=False)
            for loss in ("binary_cross_entropy_with_logits", losses.binary_cross_entropy_with_logits)]
    assert runs[0].history.batch_loss == runs[1].history.batch_loss
    assert runs[1].objective.loss == "binary_cross_entropy_with_logits"


# -- minibatch_sgd: the same batches as fit, for a gradient the caller writes -----------------


def test_minibatch_sgd_with_a_hand_written_gradient_follows_fit():
    """Logistic regression trained by fit (gradient derived from the matrix form) and by
    minibatch_sgd with the textbook gradient $\\frac{1}{B} X_B^\\top(\\sigma(X_B w + b) - y_B)$
    (written here in numpy): same batch order, so the same final weights."""
    from symlearn.train import minibatch_sgd

    X, y = _problem(rows=50, features=4, seed=2)
    model = neurons.affine(4)
    start = model.init(7)

    def grad(params, Xb, yb):
        residual = 1 / (1 + np.exp(-(Xb @ params["W1"] + params["b1"]))) - yb[:, None]
        return {"W1": Xb.T @ residual / len(yb), "b1": residual.sum(axis=0, keepdims=True) / len(yb)}

    trained = fit(model, "binary_cross_entropy_with_logits", optim.sgd(lr=0.5, momentum=0.9),
                  X, y, epochs=3, batch_size=8, seed=11, params=start, progress=False)
    ours, steps = minibatch_sgd(optim.sgd(lr=0.5, momentum=0.9), grad, start, X, y.astype(float),
                                batch_size=8, epochs=3, seed=11)
    assert steps == 3 * 7
    for name in ("W1", "b1"):
        np.testing.assert_allclose(ours[name], trained.params[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size=0 must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size=2.5 must be a positive integer"),
    ({"batch_size": 4, "epochs": 0}, "epochs=0 must be positive"),
    ({"batch_size": 4, "y": np.ones(3)}, "y has 3 rows but X has 10"),
])
def test_minibatch_sgd_refuses_bad_arguments_in_one_sentence(kwargs, message):
    from symlearn.train import minibatch_sgd

    arguments = {"X": np.ones((10, 2)), "y": np.ones(10), **kwargs}
    with pytest.raises(ValueError) as error:
        minibatch_sgd(optim.sgd(lr=0.1), lambda w, Xb, yb: w, np.zeros(2), **arguments)
    assert str(error.value) == message
