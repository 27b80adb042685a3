"""Time per epoch of a 64-64-10 ReLU MLP on digits: symlearn.train.fit (compiled MatrixGraph
gradient) against the same model hand-written in numpy and in PyTorch (CPU), float64 throughout.

Every contender does the same work per epoch: a seeded permutation, mini-batches by fancy
indexing, forward, softmax cross-entropy, backward, an SGD step with momentum 0.9 (PyTorch's
rule), and the training-set accuracy at the end of the epoch (symlearn's history records it).

    python benchmarks/bench_train.py [--repeats 7] [--epochs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from symlearn import data, neurons, optim
from symlearn.functions import relu
from symlearn.train import fit

LR, MOMENTUM = 0.05, 0.9


def symlearn_epoch_seconds(X, y, batch, epochs, params):
    model = neurons.mlp((64, 64, 10), activation=relu)
    fit(model, "cross_entropy", optim.sgd(lr=LR, momentum=MOMENTUM), X, y, epochs=1,
        batch_size=batch, params=params, progress=False)  # compile outside the timing
    result = fit(model, "cross_entropy", optim.sgd(lr=LR, momentum=MOMENTUM), X, y,
                 epochs=epochs, batch_size=batch, params=params, progress=False)
    return result.seconds / epochs


def numpy_epoch_seconds(X, y, batch, epochs, params):
    """The textbook hand-written version."""
    W1, b1, W2, b2 = (params[k].copy() for k in ("W1", "b1", "W2", "b2"))
    buffers = None
    Y = np.eye(10)[y]
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for begin in range(0, len(X), batch):
            index = order[begin : begin + batch]
            Xb, Yb = X[index], Y[index]
            n = len(index)
            Z1 = Xb @ W1 + b1
            A1 = np.maximum(Z1, 0.0)
            Z2 = A1 @ W2 + b2
            shifted = Z2 - Z2.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = -np.sum(Yb * log_probs) / n
            dZ2 = (np.exp(log_probs) - Yb) / n
            dW2 = A1.T @ dZ2
            db2 = dZ2.sum(axis=0, keepdims=True)
            dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
            dW1 = Xb.T @ dZ1
            db1 = dZ1.sum(axis=0, keepdims=True)
            grads = (dW1, db1, dW2, db2)
            if buffers is None:
                buffers = [g.copy() for g in grads]
            else:
                for b, g in zip(buffers, grads):
                    b *= MOMENTUM
                    b += g
            W1 = W1 - LR * buffers[0]
            b1 = b1 - LR * buffers[1]
            W2 = W2 - LR * buffers[2]
            b2 = b2 - LR * buffers[3]
            assert np.isfinite(loss)
        accuracy = np.mean(np.argmax(np.maximum(X @ W1 + b1, 0) @ W2 + b2, axis=1) == y)
    del accuracy
    return (time.perf_counter() - start) / epochs


def torch_epoch_seconds(X, y, batch, epochs, params):
    import torch

    layers = torch.nn.Sequential(
        torch.nn.Linear(64, 64, dtype=torch.float64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10, dtype=torch.float64),
    )
    with torch.no_grad():
        layers[0].weight.copy_(torch.from_numpy(params["W1"].T))
        layers[0].bias.copy_(torch.from_numpy(params["b1"].ravel()))
        layers[2].weight.copy_(torch.from_numpy(params["W2"].T))
        layers[2].bias.copy_(torch.from_numpy(params["b2"].ravel()))
    opt = torch.optim.SGD(layers.parameters(), lr=LR, momentum=MOMENTUM)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(X)))
        for begin in range(0, len(X), batch):
            index = order[begin : begin + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(layers(Xt[index]), yt[index])
            loss.backward()
            opt.step()
            assert torch.isfinite(loss)
        with torch.no_grad():
            (layers(Xt).argmax(dim=1) == yt).double().mean().item()
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    ds = data.load_bundled("digits", seed=0)
    X, y = ds.X_train, ds.y_train
    params = neurons.mlp((64, 64, 10)).init(0)
    contenders = {"symlearn": symlearn_epoch_seconds, "numpy": numpy_epoch_seconds}
    try:
        import torch  # noqa: F401

        contenders["torch"] = torch_epoch_seconds
    except ImportError:
        pass
    print(f"MLP 64-64-10 (ReLU) on digits, {len(X)} training rows, float64, SGD momentum "
          f"{MOMENTUM}; median of {args.repeats} runs of {args.epochs} epochs")
    header = f"{'batch':>5}  " + "  ".join(f"{name + ' ms/epoch':>18}" for name in contenders)
    header += f"  {'symlearn/numpy':>14}" + (f"  {'symlearn/torch':>14}" if "torch" in contenders else "")
    print(header)
    for batch in (64, 256):
        for timer in contenders.values():
            timer(X, y, batch, 1, params)  # warm up
        # Interleaved repeats: on a shared machine a slow spell hits every contender alike.
        samples = {name: [] for name in contenders}
        for _ in range(args.repeats):
            for name, timer in contenders.items():
                samples[name].append(timer(X, y, batch, args.epochs, params))
        medians = {name: statistics.median(times) for name, times in samples.items()}
        row = f"{batch:>5}  " + "  ".join(f"{1e3 * medians[n]:>18.2f}" for n in contenders)
        row += f"  {medians['symlearn'] / medians['numpy']:>13.2f}x"
        if "torch" in medians:
            row += f"  {medians['symlearn'] / medians['torch']:>13.2f}x"
        print(row)


if __name__ == "__main__":
    main()
