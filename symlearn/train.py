r"""Vectorized mini-batch training on compiled functions.

:func:`fit` derives the model's gradient once, through the matrix rule table
(:class:`~symlearn.calculus.matrix.MatrixGraph`), compiles it to one numpy function, and then
runs only numpy in its inner loop: per epoch a shuffled order of the rows, per batch one call of
``loss_and_grad(X_b, T_b, *masks, *params)`` and one ``optimizer.update`` (``symlearn.optim``:
SGD with momentum, Adam, ..., with any learning-rate schedule given as the optimizer's ``lr``).

Reproducibility: with ``seed=s``, the initial parameters are ``model.init(s)``, epoch ``e``'s row
order is the ``e``-th ``permutation(n)`` drawn from ``numpy.random.default_rng(s)``, and the
dropout masks come from a separate generator ``numpy.random.default_rng([s, 1])``. Batches are
consecutive slices of that order (the last may be smaller), as a PyTorch ``DataLoader`` with a
sampler of the same order would cut them.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .calculus.matrix import compile_forward
from .neurons import Model, Objective, objective
from .optim import apply_updates

__all__ = ["FitResult", "History", "TrainingError", "fit", "loss_curve", "minibatch_sgd"]


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN or infinite); the message is one sentence."""


@dataclass
class History:
    """Per-epoch records (lists of floats, one entry per epoch).

    Attributes:
        loss: the mean training loss over the epoch's batches (weighted by batch size), as seen
            by the optimizer (with dropout and the L2 term).
        accuracy: training-set accuracy at the end of the epoch (classification only; empty
            for regression).
        val_loss, val_accuracy: the same on ``validation``, if given.
        batch_loss: every batch's loss, in order (for parity checks).
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    batch_loss: list = field(default_factory=list)


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        params: the final parameters, ``{name: array}`` (``W1`` of shape ``(d, h1)``, ``b1``
            ``(1, h1)``, ...).
        history: a :class:`History`.
        objective: the compiled training graph (model, loss, L2).
        epochs: the number of epochs run; seconds: the wall time of the training loop.
    """

    params: dict
    history: History
    objective: Objective
    epochs: int
    seconds: float

    def predict(self, X) -> np.ndarray:
        """The model's outputs (logits for classification), dropout off: shape ``(n,)`` for a
        model with one output (as scikit-learn's ``predict``), ``(n, k)`` otherwise."""
        X = np.asarray(X, dtype=np.float64)
        k = self.objective.model.out_features
        T = np.zeros((X.shape[0], k))
        _, output = self.objective.evaluate(X, T, *_ordered(self.objective, self.params))
        return output[:, 0] if k == 1 else output

    def evaluate(self, X, y) -> dict:
        """``{"loss": ..., "accuracy": ...}`` for classification, ``{"loss": ..., "mse": ...}``
        for regression, on ``X`` ``(n, d)`` and ``y`` ``(n,)``; dropout off, no L2 term."""
        X = np.asarray(X, dtype=np.float64)
        return _evaluate(self.objective, self.params, X, self.objective.targets(y))


def _ordered(obj: Objective, params: Mapping) -> list:
    return [params[p.name] for p in obj.model.params]


def _evaluate(obj: Objective, params: Mapping, X: np.ndarray, T: np.ndarray) -> dict:
    """Metrics at ``params`` on inputs ``X`` and the graph's target matrix ``T``."""
    loss, output = obj.evaluate(X, T, *_ordered(obj, params))
    metrics = {"loss": float(loss)}
    if obj.target_kind != "values":
        metrics["accuracy"] = _accuracy(obj, output, _truth(obj, T))
    else:
        metrics["mse"] = float(np.mean((output - T) ** 2))
    return metrics


def _truth(obj: Objective, T: np.ndarray) -> np.ndarray:
    """What a prediction is compared with: class indices, or booleans for binary targets."""
    return np.argmax(T, axis=1) if obj.target_kind == "labels" else T > 0.5


def _accuracy(obj: Objective, output: np.ndarray, truth: np.ndarray) -> float:
    predicted = np.argmax(output, axis=1) if obj.target_kind == "labels" else output > 0
    return float(np.mean(predicted == truth))


#: Training stops (:class:`TrainingError`) when an epoch's mean loss exceeds this many times the
#: first epoch's: a loss a thousand times its starting value is divergence, not a noisy epoch.
DIVERGENCE_FACTOR = 1e3


def _check_finite(name: str, values: np.ndarray) -> None:
    """A ``ValueError`` naming the first column of ``values`` ``(n, k)`` with NaN or infinity."""
    finite = np.isfinite(values).all(axis=0)
    if not finite.all():
        column = int(np.argmin(finite))
        row = int(np.argmin(np.isfinite(values[:, column])))
        raise ValueError(
            f"{name} holds {values[row, column]} in row {row}, column {column}; training needs "
            "finite numbers"
        )


def _not_the_learning_rate(value: float, X: np.ndarray, T: np.ndarray) -> str:
    """The sentence for a loss that is not finite on the first batch, before any step: no
    learning rate has acted yet, so the cause is the data (or the initial parameters)."""
    largest_x = float(np.max(np.abs(X))) if X.size else 0.0
    largest_t = float(np.max(np.abs(T))) if T.size else 0.0
    return (
        f"the loss is {value} on the first batch, before any step, so the learning rate is not "
        f"the cause: the inputs reach {largest_x:.3g} and the targets {largest_t:.3g} in "
        "absolute value; standardize the data (symlearn.data does) or start from smaller "
        "parameters"
    )


def _check_output_activation(model: Model, loss: str) -> None:
    r"""A ``ValueError`` for a sigmoid output layer under ``binary_cross_entropy_with_logits``:
    the loss applies sigmoid itself, so the output would be squashed twice; $\sigma(\sigma(z))$
    lies in $(0.5, 0.73)$, every prediction is class 1 (the logit $\sigma(z) > 0$), and training
    stays at the majority class with no error to show it."""
    from .functions import sigmoid

    if loss == "binary_cross_entropy_with_logits" and model.layers[-1].activation is sigmoid:
        raise ValueError(
            f"the model's last layer applies sigmoid, but loss={loss!r} takes logits and applies "
            "sigmoid itself (a double sigmoid that stays at one class); end the model with no "
            "activation, e.g. neurons.affine(d, 1) instead of neurons.neuron(d, sigmoid)"
        )


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")


def fit(
    model: Model,
    loss,
    optimizer,
    X,
    y,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
    params: Mapping | None = None,
    l2: float = 0.0,
    validation: tuple | None = None,
    progress: bool = True,
) -> FitResult:
    r"""Train ``model`` on ``(X, y)`` by mini-batch gradient steps; returns a :class:`FitResult`.

    Args:
        model: a :mod:`symlearn.neurons` model (``affine``, ``neuron``, ``mlp``, ...).
        loss: the name of a catalog loss with a matrix form
            (:func:`symlearn.neurons.matrix_losses`: ``"mse_loss"``, ``"cross_entropy"``,
            ``"binary_cross_entropy_with_logits"``) or the ``symlearn.losses`` object of that
            name.
        optimizer: a ``symlearn.optim`` optimizer (``sgd(lr=0.1, momentum=0.9)``, ``adam()``);
            a learning-rate schedule is its ``lr`` (a function of the step count).
        X: inputs, shape ``(n, d)``.
        y: targets, shape ``(n,)``: class labels ``0..k-1`` for ``cross_entropy``, 0/1 for
            ``binary_cross_entropy_with_logits``, reals for ``mse_loss`` (or ``(n, k)``).
        epochs, batch_size, shuffle, seed: see the module docstring for the exact order.
        params: initial parameters ``{name: array}`` (default ``model.init(seed)``); not modified.
        l2: an L2 term $\frac{\lambda}{2}\sum_l\|\mathbf{W}^{(l)}\|^2$ added to the loss.
        validation: ``(X_val, y_val)`` evaluated after every epoch.
        progress: show a tqdm progress bar on stderr.

    Raises:
        ValueError: ``X`` or ``y`` holds NaN or infinity (naming the column); the model's last
            layer applies sigmoid but the loss is ``binary_cross_entropy_with_logits``, which
            would apply sigmoid twice.
        TrainingError: one sentence, when training cannot go on: the loss became NaN or infinite
            (naming the epoch and batch; when it is so on the very first batch, before any step,
            the sentence blames the data or the initial parameters, not the learning rate), or an
            epoch's loss rose above :data:`DIVERGENCE_FACTOR` times the first epoch's.
    """
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    obj = objective(model, loss, l2)
    _check_output_activation(model, obj.loss)
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != model.in_features:
        raise ValueError(
            f"X of shape {X.shape} does not fit the model: expected (n, {model.in_features})"
        )
    T = obj.targets(y)
    if T.shape[0] != X.shape[0]:
        raise ValueError(f"y has {T.shape[0]} rows but X has {X.shape[0]}")
    _check_finite("X", X)
    _check_finite("y", T)
    rows = X.shape[0]
    current = {k: np.array(v, dtype=np.float64) for k, v in (params or model.init(seed)).items()}
    missing = [p.name for p in model.params if p.name not in current]
    if missing:
        raise ValueError(f"params is missing {missing[0]!r}; the model needs {[p.name for p in model.params]}")
    names = [p.name for p in model.params]
    # All parameters live in one flat float64 vector, each one a reshaped view of its slice, so the
    # optimizer takes its single-array fast path: one compiled update per step, not one per leaf.
    shapes = [current[n].shape for n in names]
    bounds = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    flat = np.concatenate([current[n].ravel() for n in names])

    def views(vector):
        return [vector[a:b].reshape(s) for a, b, s in zip(bounds[:-1], bounds[1:], shapes)]

    loss_and_grad = obj.loss_and_grad  # compiled once, before the clock starts
    obj.evaluate  # noqa: B018 - compile the evaluator too
    order_rng = np.random.default_rng(seed)
    mask_rng = np.random.default_rng([seed, 1])
    state = optimizer.init(flat)
    getattr(optimizer, "compiled", None)  # compile the optimizer's step before the clock, too
    param_views = views(flat)
    # The training accuracy per epoch needs the outputs only (no loss, no dropout).
    plain = model.without_dropout()
    predict = compile_forward(plain.nodes, (plain.input, *plain.params), (plain.output,),
                              name="predict")
    truth = _truth(obj, T) if obj.target_kind != "values" else None
    history = History()
    classification = obj.target_kind != "values"

    from tqdm.auto import tqdm

    bar = tqdm(range(epochs), desc=f"{model.name} / {obj.loss}", unit="epoch",
               disable=not progress, file=sys.stderr, leave=False)
    if validation is not None:
        X_val = np.asarray(validation[0], dtype=np.float64)
        T_val = obj.targets(validation[1])
    start = time.perf_counter()
    # Overflow on the way to an infinite loss is reported by the finiteness check below, in one
    # sentence, rather than as numpy warnings.
    with bar, np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in bar:
            order = order_rng.permutation(rows) if shuffle else np.arange(rows)
            total = 0.0
            for batch, begin in enumerate(range(0, rows, batch_size), start=1):
                index = order[begin : begin + batch_size]
                masks = model.draw_masks(len(index), mask_rng) if model.masks else ()
                value, grads = loss_and_grad(X[index], T[index], *masks, *param_views)
                if not math.isfinite(value):
                    if epoch == 0 and batch == 1:
                        raise TrainingError(_not_the_learning_rate(value, X, T))
                    raise TrainingError(
                        f"the loss became {value} at epoch {epoch + 1}, batch {batch}; try a "
                        f"learning rate smaller than {optimizer.hyperparameters.get('lr')!r}"
                    )
                history.batch_loss.append(value)
                total += value * len(index)
                gradient = np.concatenate([grads[n].ravel() for n in names])
                updates, state = optimizer.update(gradient, state, flat)
                # In place: ``flat`` is fit's own buffer, and the parameter views stay valid.
                np.add(flat, updates, out=flat)
            current = dict(zip(names, (v.copy() for v in param_views)))
            history.loss.append(total / rows)
            first = history.loss[0]
            if first > 0 and history.loss[-1] > DIVERGENCE_FACTOR * first:
                raise TrainingError(
                    f"the loss rose from {first:.6g} in epoch 1 to {history.loss[-1]:.6g} in "
                    f"epoch {epoch + 1}, over {DIVERGENCE_FACTOR:g} times its first value, so "
                    "training diverges; try a learning rate smaller than "
                    f"{optimizer.hyperparameters.get('lr')!r}"
                )
            if classification:
                (output,) = predict(X, *param_views)
                history.accuracy.append(_accuracy(obj, output, truth))
            if validation is not None:
                metrics = _evaluate(obj, current, X_val, T_val)
                history.val_loss.append(metrics["loss"])
                if classification:
                    history.val_accuracy.append(metrics["accuracy"])
            bar.set_postfix(loss=f"{history.loss[-1]:.4g}")
    seconds = time.perf_counter() - start
    return FitResult(current, history, obj, epochs, seconds)


def minibatch_sgd(
    optimizer,
    grad_fn: Callable,
    params,
    X,
    y,
    batch_size: int,
    epochs: float = 1.0,
    seed: int = 0,
    budget: float | None = None,
) -> tuple:
    r"""Mini-batch training of any gradient function: each epoch shuffles the rows with
    ``default_rng(seed)``'s next permutation and takes consecutive slices of ``batch_size`` rows
    (the last one shorter), and each slice is one step
    $\theta_{k+1} = \theta_k + \mathrm{update}(\nabla_\theta \mathcal{L}_{B_k}(\theta_k))$ of
    ``optimizer``. :func:`fit` does the same for a :mod:`symlearn.neurons` model whose gradient
    it derives; here the caller supplies the gradient.

    Args:
        optimizer: a ``symlearn.optim`` optimizer.
        grad_fn: ``grad_fn(params, X_batch, y_batch) -> grads`` (same structure as ``params``).
        params: the start (not modified): an array or a tree of arrays.
        X: the inputs, shape ``(n, ...)``, rows are examples.
        y: the targets, shape ``(n, ...)``.
        batch_size: rows per step (a positive integer).
        epochs: passes over the data (a fraction stops part-way through an epoch:
            $\lceil \mathrm{epochs} \cdot \lceil n / \mathrm{batch\_size} \rceil \rceil$
            steps in all).
        seed: the shuffling seed.
        budget: if given, stop once this many seconds have passed (checked after every step;
            ``epochs`` is then ignored).

    Returns:
        ``(params, steps)``: the final parameters and the number of steps taken.

    Raises:
        ValueError: ``batch_size`` is not a positive integer, ``epochs`` is not positive, or
            ``X`` and ``y`` have different numbers of rows.
    """
    _check_positive_int("batch_size", batch_size)
    if budget is None and not epochs > 0:
        raise ValueError(f"epochs={epochs!r} must be positive")
    if len(X) != len(y):
        raise ValueError(f"y has {len(y)} rows but X has {len(X)}")
    rng = np.random.default_rng(seed)
    n = len(X)
    total = math.ceil(epochs * math.ceil(n / batch_size)) if budget is None else math.inf
    state, steps, start = optimizer.init(params), 0, time.perf_counter()
    while steps < total:
        order = rng.permutation(n)
        for begin in range(0, n, batch_size):
            index = order[begin : begin + batch_size]
            updates, state = optimizer.update(grad_fn(params, X[index], y[index]), state, params)
            params = apply_updates(params, updates)
            steps += 1
            if steps >= total or (budget is not None and time.perf_counter() - start >= budget):
                return params, steps
    return params, steps


def loss_curve(history: History, path=None, *, title: str | None = None):
    """A matplotlib figure of the training (and validation) loss per epoch, and the accuracy on
    a second axis when there is one; saved to ``path`` if given. Returns the figure."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    epochs = np.arange(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, marker="o", ms=3, label="training loss")
    if history.val_loss:
        ax.plot(epochs, history.val_loss, marker="s", ms=3, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if history.accuracy:
        right = ax.twinx()
        right.plot(epochs, history.accuracy, color="#2ca02c", ls="--", label="training accuracy")
        if history.val_accuracy:
            right.plot(epochs, history.val_accuracy, color="#d62728", ls="--",
                       label="validation accuracy")
        right.set_ylabel("accuracy")
        lines = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center right")
    else:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
        plt.close(fig)
    return fig
