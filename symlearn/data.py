r"""Data for training: scikit-learn's bundled data sets (no download) and the user's CSV files.

Every loader returns a :class:`Dataset` split into train and test rows by a seeded permutation,
with the features standardized by the *training* rows' mean and standard deviation
($x' = (x - \mu_{train}) / \sigma_{train}$; a constant column keeps $\sigma = 1$), so no test
statistic leaks into training. scikit-learn is imported only when a bundled set is asked for
(the ``data`` extra: ``pip install 'symlearn[data]'``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DataError", "Dataset", "BUNDLED", "load", "load_bundled", "load_csv", "split"]

#: Bundled data set -> (scikit-learn loader, task).
BUNDLED = {
    "breast_cancer": ("load_breast_cancer", "binary"),
    "digits": ("load_digits", "multiclass"),
    "diabetes": ("load_diabetes", "regression"),
}


class DataError(ValueError):
    """The data cannot be used; the message is one sentence naming the row and column."""


@dataclass(frozen=True)
class Dataset:
    """A train/test split.

    Attributes:
        X_train ``(n_train, d)``, X_test ``(n_test, d)``: standardized float64 features.
        y_train ``(n_train,)``, y_test ``(n_test,)``: int64 labels ``0..k-1`` (classification) or
            float64 values (regression).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        feature_names: the ``d`` column names; target: the target's name.
        classes: the original label of each class index (classification), else ``()``.
        mean, scale: the training statistics used to standardize, shape ``(d,)``.
    """

    name: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    task: str
    feature_names: tuple
    target: str
    classes: tuple
    mean: np.ndarray
    scale: np.ndarray

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def split(X: np.ndarray, y: np.ndarray, *, test_size: float = 0.2, seed: int = 0):
    """``(X_train, X_test, y_train, y_test)``: a ``numpy.random.default_rng(seed)`` permutation
    of the rows, the last ``round(test_size * n)`` of which are the test rows."""
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"{test_size=} must be strictly between 0 and 1")
    rows = X.shape[0]
    n_test = int(round(test_size * rows))
    if n_test < 1 or n_test >= rows:
        raise DataError(f"{rows} rows cannot be split with {test_size=}")
    order = np.random.default_rng(seed).permutation(rows)
    train, test = order[: rows - n_test], order[rows - n_test :]
    return X[train], X[test], y[train], y[test]


def _standardized(name, X, y, task, feature_names, target, classes, test_size, seed, standardize):
    X_train, X_test, y_train, y_test = split(X, y, test_size=test_size, seed=seed)
    mean = X_train.mean(axis=0) if standardize else np.zeros(X.shape[1])
    scale = X_train.std(axis=0) if standardize else np.ones(X.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    return Dataset(
        name, (X_train - mean) / scale, (X_test - mean) / scale, y_train, y_test, task,
        tuple(feature_names), target, tuple(classes), mean, scale,
    )


def load_bundled(name: str, *, test_size: float = 0.2, seed: int = 0, standardize: bool = True) -> Dataset:
    """One of scikit-learn's bundled data sets (:data:`BUNDLED`), split and standardized."""
    if name not in BUNDLED:
        raise DataError(f"unknown data set {name!r}; choose from {', '.join(BUNDLED)} or a .csv path")
    try:
        from sklearn import datasets
    except ImportError:
        raise DataError(
            f"the {name!r} data set needs scikit-learn; install the data extra: "
            "pip install 'symlearn[data]'"
        ) from None
    loader, task = BUNDLED[name]
    bunch = getattr(datasets, loader)()
    X = np.asarray(bunch.data, dtype=np.float64)
    if task == "regression":
        y, classes = np.asarray(bunch.target, dtype=np.float64), ()
    else:
        classes, y = np.unique(bunch.target, return_inverse=True)
        classes = tuple(classes.tolist())
    names = [str(f) for f in getattr(bunch, "feature_names", [f"x{i}" for i in range(X.shape[1])])]
    return _standardized(name, X, y.astype(np.int64) if task != "regression" else y, task, names,
                         "target", classes, test_size, seed, standardize)


def _number(text: str, line: int, column: str, path: Path) -> float:
    stripped = text.strip()
    if not stripped:
        raise DataError(f"{path.name}: row {line}, column {column!r} is empty")
    try:
        value = float(stripped)
    except ValueError:
        raise DataError(
            f"{path.name}: row {line}, column {column!r} holds {stripped!r}, which is not a number"
        ) from None
    if math.isnan(value):
        raise DataError(f"{path.name}: row {line}, column {column!r} is NaN")
    if math.isinf(value):
        raise DataError(f"{path.name}: row {line}, column {column!r} is infinite")
    return value


def load_csv(
    path,
    target: str,
    *,
    task: str | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
) -> Dataset:
    """A CSV file with a header row; ``target`` names the column to predict, every other column
    is a numeric feature. Rows are counted as lines of the file (the header is row 1).

    ``task`` is ``"binary"``, ``"multiclass"`` or ``"regression"``; by default a target of at most
    20 distinct integer values is a classification (binary with two), anything else regression.

    Raises:
        DataError: a missing file or column, an empty cell, a non-numeric value, NaN or infinity,
            a row of the wrong length -- one sentence naming the row and the column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {str(path)!r}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise DataError(f"{path.name} is empty; it needs a header row")
        header = [h.strip() for h in header]
        if target not in header:
            raise DataError(
                f"{path.name} has no column {target!r}; its columns are {', '.join(header)}"
            )
        if len(header) < 2:
            raise DataError(f"{path.name} has no feature columns besides {target!r}")
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{path.name}: row {line} has {len(row)} values but the header has {len(header)}"
                )
            rows.append([_number(cell, line, column, path) for cell, column in zip(row, header)])
    if len(rows) < 2:
        raise DataError(f"{path.name} has {len(rows)} data rows; at least 2 are needed")
    table = np.array(rows, dtype=np.float64)
    t = header.index(target)
    X = np.delete(table, t, axis=1)
    values = table[:, t]
    features = [h for i, h in enumerate(header) if i != t]
    integral = bool(np.all(values == np.round(values)))
    distinct = np.unique(values)
    if task is None:
        task = ("binary" if len(distinct) == 2 else "multiclass") if integral and len(distinct) <= 20 else "regression"
    if task not in ("binary", "multiclass", "regression"):
        raise ValueError(f"{task=} must be 'binary', 'multiclass' or 'regression'")
    if task == "regression":
        y, classes = values, ()
    else:
        if not integral:
            raise DataError(f"{path.name}: column {target!r} must hold integer class labels")
        classes, y = np.unique(values, return_inverse=True)
        classes = tuple(int(c) for c in classes)
        y = y.astype(np.int64)
        if task == "binary" and len(classes) != 2:
            raise DataError(f"{path.name}: column {target!r} has {len(classes)} classes, not 2")
    return _standardized(path.stem, X, y, task, features, target, classes, test_size, seed, standardize)


def load(source: str, *, target: str | None = None, **options) -> Dataset:
    """A bundled data set by name, or a ``.csv`` path with its ``target`` column."""
    if source.lower().endswith(".csv") or Path(source).suffix:
        if not target:
            raise DataError(f"--data {source} needs --target COLUMN to name the column to predict")
        return load_csv(source, target, **options)
    return load_bundled(source, **options)
