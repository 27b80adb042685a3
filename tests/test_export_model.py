"""``symlearn train --export``: the trained model as one numpy-only file.

The exported file is imported in a subprocess where sympy, mpmath and symlearn are unimportable
(``None`` in ``sys.modules``), and checked against what the CLI reported (the same test split,
rebuilt in the parent from scikit-learn's raw data and :func:`symlearn.data.split`), against the
package's ``FitResult.predict``, and its backward pass against central finite differences of
its forward pass (with the loss written by hand here, independently of the generated code).
"""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symlearn import data, neurons, optim
from symlearn._export_model import export_model
from symlearn.functions import sigmoid
from symlearn.train import fit

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("sklearn")

# Runs in the child: the model file may import numpy only.
CHILD = """
import importlib.util, json, sys
for name in ("sympy", "symlearn", "mpmath"):
    sys.modules[name] = None
import numpy
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
X = numpy.load(sys.argv[2])
y = numpy.load(sys.argv[3])
out = {}
pred = m.predict(X)
out["shape"] = list(pred.shape)
numpy.save(sys.argv[4], pred)
if hasattr(m, "predict_proba"):
    proba = m.predict_proba(X)
    out["proba_rows_minus_one"] = float(numpy.max(numpy.abs(proba.sum(axis=1) - 1)))
    out["accuracy"] = float(numpy.mean(pred == y))
    out["proba_argmax_agrees"] = bool(numpy.all(m.CLASSES[numpy.argmax(proba, axis=1)] == pred))
try:
    m.predict(X[:, :-1])
except ValueError as error:
    out["wrong_columns"] = str(error)
out["sympy_loaded"] = "sympy" in sys.modules and sys.modules["sympy"] is not None
print(json.dumps(out))
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _train(tmp_path, *options) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "symlearn", "train", *options, "--json", "--quiet",
         "--export", str(tmp_path / "m.py")],
        check=False, capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _raw_test_split(name: str, seed: int = 0, test_size: float = 0.2):
    """The CLI's test rows before standardization, rebuilt from scikit-learn's raw data."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target)
    if name != "diabetes":
        y = np.unique(y, return_inverse=True)[1]
    _, X_test, _, y_test = data.split(X, y, test_size=test_size, seed=seed)
    return X_test, y_test


def _run_child(tmp_path, X, y) -> tuple[dict, np.ndarray]:
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "m.py"), str(tmp_path / "X.npy"),
         str(tmp_path / "y.npy"), str(tmp_path / "pred.npy")],
        check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), np.load(tmp_path / "pred.npy")


def test_mlp_digits_reproduces_the_reported_accuracy_without_sympy(tmp_path):
    summary = _train(tmp_path, "--model", "mlp", "--data", "digits", "--hidden", "16",
                     "--epochs", "3")
    X_test, y_test = _raw_test_split("digits")
    out, _ = _run_child(tmp_path, X_test, y_test)
    assert out["accuracy"] == summary["test_accuracy"]  # exactly, not approximately
    assert out["shape"] == [len(y_test)]
    assert out["proba_rows_minus_one"] < 1e-12
    assert out["proba_argmax_agrees"]
    assert out["wrong_columns"] == "X has 63 columns but the model expects 64 features"
    assert not out["sympy_loaded"]
    text = (tmp_path / "m.py").read_text()
    assert repr(summary["test_accuracy"]) in text  # the header names the reported accuracy
    py_compile.compile(str(tmp_path / "m.py"), doraise=True)


def test_logistic_breast_cancer_reproduces_the_reported_accuracy(tmp_path):
    summary = _train(tmp_path, "--model", "logistic", "--data", "breast_cancer", "--epochs", "3")
    X_test, y_test = _raw_test_split("breast_cancer")
    out, _ = _run_child(tmp_path, X_test, y_test)
    assert out["accuracy"] == summary["test_accuracy"]
    assert out["shape"] == [len(y_test)]
    assert out["proba_rows_minus_one"] < 1e-12
    assert out["proba_argmax_agrees"]
    # The same run again: the same file, byte for byte.
    first = (tmp_path / "m.py").read_bytes()
    _train(tmp_path, "--model", "logistic", "--data", "breast_cancer", "--epochs", "3")
    assert (tmp_path / "m.py").read_bytes() == first


def test_linear_diabetes_predicts_as_the_package(tmp_path):
    _train(tmp_path, "--model", "linear", "--data", "diabetes", "--epochs", "3")
    X_test, y_test = _raw_test_split("diabetes")
    out, pred = _run_child(tmp_path, X_test, y_test)
    assert out["shape"] == [len(y_test)]
    # The package's own model of the same run, in process.
    ds = data.load("diabetes", test_size=0.2, seed=0)
    result = fit(neurons.affine(ds.X_train.shape[1], 1), "mse_loss", optim.adam(), ds.X_train,
                 ds.y_train, epochs=3, batch_size=64, seed=0, progress=False)
    np.testing.assert_allclose(pred, result.predict(ds.X_test), rtol=0, atol=1e-12)
    # An independent check of the standardization and the affine map: plain numpy.
    by_hand = ((X_test - ds.mean) / ds.scale) @ result.params["W1"][:, 0] + result.params["b1"][0, 0]
    np.testing.assert_allclose(pred, by_hand, rtol=1e-12, atol=1e-9)


def test_export_path_is_checked_before_training(tmp_path):
    # --epochs 100000 would run for minutes: a quick failure shows the check comes first.
    for bad, words in (("model.txt", "suffix"), (str(tmp_path), "folder"),
                       (str(tmp_path / "nowhere" / "m.py"), "does not exist")):
        done = subprocess.run(
            [sys.executable, "-m", "symlearn", "train", "--model", "logistic", "--data",
             "breast_cancer", "--epochs", "100000", "--export", bad],
            check=False, capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=60,
        )
        assert done.returncode != 0
        assert words in done.stderr and "--export" in done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extra")
def test_exported_file_passes_ruff(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    for model, loss, y in ((neurons.mlp((3, 4, 3), keep=0.8), "cross_entropy", rng.integers(0, 3, 40)),
                           (neurons.affine(3, 1), "binary_cross_entropy_with_logits",
                            (X[:, 0] > 0).astype(int)),
                           (neurons.affine(3, 1), "mse_loss", X[:, 1])):
        result = fit(model, loss, optim.adam(), X, y, epochs=2, progress=False)
        path = tmp_path / f"{loss}.py"
        path.write_text(export_model(result, info={"data": "random"}))
        done = subprocess.run(["ruff", "check", "--no-cache", "--isolated", str(path)],
                              check=False, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout


def _load(path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"exported_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hand_loss(kind: str, Z: np.ndarray, y: np.ndarray) -> float:
    """The losses as the textbooks write them (CS231n softmax, Goodfellow et al. 6.2.2.2)."""
    if kind == "cross_entropy":
        shifted = Z - Z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(-np.mean(log_p[np.arange(len(y)), y]))
    if kind == "binary_cross_entropy_with_logits":
        z = Z[:, 0]
        return float(np.mean(np.logaddexp(0, z) - y * z))
    return float(np.mean((Z[:, 0] - y) ** 2))


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy_with_logits", "mse_loss"])
def test_backward_matches_finite_differences_of_forward(tmp_path, loss):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 3)) * 2 + 1
    if loss == "cross_entropy":
        model, y = neurons.mlp((3, 4, 3), activation=sigmoid), rng.integers(0, 3, 5)
    elif loss == "mse_loss":
        model, y = neurons.mlp((3, 4, 1), activation=sigmoid), rng.normal(size=5)
    else:
        model, y = neurons.affine(3, 1), np.array([0, 1, 1, 0, 1])
    result = fit(model, loss, optim.sgd(lr=0.1), X, y, epochs=1, progress=False)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    path = tmp_path / "tiny.py"
    path.write_text(export_model(result, mean=mean, scale=scale))
    m = _load(path)
    value, grads = m.backward(X, y)
    params = {k: np.array(v) for k, v in m.PARAMS.items()}
    assert value == pytest.approx(_hand_loss(loss, m.forward(X), y), rel=1e-12)
    h = 1e-6
    for name, p in params.items():
        numeric = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            up = {k: v.copy() for k, v in params.items()}
            down = {k: v.copy() for k, v in params.items()}
            up[name][index] += h
            down[name][index] -= h
            numeric[index] = (_hand_loss(loss, m.forward(X, up), y)
                              - _hand_loss(loss, m.forward(X, down), y)) / (2 * h)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8)


def test_wrong_inputs_are_one_sentence(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 3))
    result = fit(neurons.affine(3, 1), "mse_loss", optim.adam(), X, X[:, 0], epochs=1,
                 progress=False)
    path = tmp_path / "r.py"
    path.write_text(export_model(result))
    m = _load(path)
    assert m.predict(X).shape == (20,)
    assert not hasattr(m, "predict_proba")
    with pytest.raises(ValueError, match="X has 5 columns but the model expects 3 features"):
        m.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"2-D array of shape \(n, 3\)"):
        m.predict(np.zeros(3))
    with pytest.raises(ValueError, match="y has 2 rows but X has 20"):
        m.backward(X, np.zeros(2))
    with pytest.raises(ValueError, match="mean has shape"):
        export_model(result, mean=np.zeros(4))


def test_csv_labels_come_back_as_the_files_labels(tmp_path):
    # Binary labels 3 and 7 in the file: predict returns 3 and 7, not class indices 0 and 1.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 2)) * [10.0, 0.1] + [100.0, -5.0]
    labels = np.where((X[:, 0] - 100) / 10 + (X[:, 1] + 5) / 0.1 > 0, 7, 3)
    rows = ["a,b,label"] + [f"{a!r},{b!r},{c}" for (a, b), c in zip(X.tolist(), labels.tolist())]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    summary = _train(tmp_path, "--model", "logistic", "--data", "t.csv", "--target", "label",
                     "--epochs", "20", "--lr", "0.05")
    _, X_test, _, y_test = data.split(X, labels, test_size=0.2, seed=0)
    m = _load(tmp_path / "m.py")
    predicted = m.predict(X_test)
    assert set(np.unique(predicted)) <= {3, 7}
    assert float(np.mean(predicted == y_test)) == summary["test_accuracy"]
    assert summary["test_accuracy"] > 0.8  # separable data: the model learned, not a constant


def test_header_survives_text_a_docstring_cannot_hold(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(10, 2))
    result = fit(neurons.affine(2, 1), "mse_loss", optim.sgd(lr=0.1), X, X[:, 0], epochs=1,
                 progress=False)
    tricky = 'a """ quote and a trailing backslash \\'
    path = tmp_path / "h.py"
    path.write_text(export_model(result, info={"data": tricky}))
    m = _load(path)
    assert f"data: {tricky}" in m.__doc__
    assert m.predict(X).shape == (10,)
