r"""Data for training: scikit-learn's bundled data sets (no download) and the user's CSV files.

Every loader returns a :class:`Dataset` split into train and test rows by a seeded permutation,
with the features standardized by the *training* rows' mean and standard deviation
($x' = (x - \mu_{train}) / \sigma_{train}$; a constant column keeps $\sigma = 1$), so no test
statistic leaks into training. scikit-learn is imported only when a bundled set is asked for
(the ``data`` extra: ``pip install 'symlearn[data]'``).
"""

from __future__ import annotations

import codecs
import csv
import math
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["BUNDLED", "DataError", "Dataset", "load", "load_bundled", "load_csv", "split"]

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


def _permutation(rows: int, test_size: float, seed: int) -> tuple[np.ndarray, int]:
    """``(order, n_train)``: the rows in :func:`split`'s order, training rows first."""
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"{test_size=} must be strictly between 0 and 1")
    n_test = round(test_size * rows)
    if n_test < 1 or n_test >= rows:
        raise DataError(f"{rows} rows cannot be split with {test_size=}")
    return np.random.default_rng(seed).permutation(rows), rows - n_test


def split(X: np.ndarray, y: np.ndarray, *, test_size: float = 0.2, seed: int = 0):
    """``(X_train, X_test, y_train, y_test)``: a ``numpy.random.default_rng(seed)`` permutation
    of the rows, the last ``round(test_size * n)`` of which are the test rows."""
    order, n_train = _permutation(X.shape[0], test_size, seed)
    train, test = order[:n_train], order[n_train:]
    return X[train], X[test], y[train], y[test]


def _power_of_two_bound(columns_max: np.ndarray) -> np.ndarray:
    r"""Per column, a power of two $c$ with $\max|x| / 2 < c \le \max|x|$ (1 for an all-zero
    column). Dividing by a power of two is exact (no rounding), so the statistics of $x / c$ times
    $c$ are those of $x$, but $x / c$ lies in $(-2, 2)$: sums and squares cannot overflow even
    for features near the largest float (1.8e308)."""
    exponents = np.frexp(columns_max)[1]  # columns_max = m * 2**e with 0.5 <= m < 1
    return np.where(columns_max > 0, np.ldexp(1.0, exponents - 1), 1.0)


def _standardize_in_place(name, X_train, X_test, feature_names):
    r"""Standardize both arrays in place by the training rows' statistics and return
    ``(mean, scale)``: $x' = (x - \mu) / \sigma$, $\sigma = 1$ for a constant column.

    Memory: no temporary the size of the data (the variance is one ``einsum`` over the centered
    rows, computed in place). Overflow: every column is first divided by a power of two
    (:func:`_power_of_two_bound`), so features near 1e307 standardize like any others.

    Raises:
        DataError: a standardized value is not finite (a test row too far from the training
            rows' range), naming the column.
    """
    if X_train.shape[1] == 0:
        return np.zeros(0), np.ones(0)
    largest = np.maximum(np.abs(X_train.max(axis=0)), np.abs(X_train.min(axis=0)))
    bound = _power_of_two_bound(largest)
    rows = X_train.shape[0]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        X_train /= bound
        center = X_train.mean(axis=0)
        X_train -= center
        spread = np.sqrt(np.einsum("ij,ij->j", X_train, X_train) / rows)
        constant = ~(spread > 0)
        divisor = np.where(constant, 1.0, spread)
        X_train /= divisor
        X_test /= bound
        X_test -= center
        X_test /= divisor
        if constant.any():  # sigma = 1: undo the division by the bound, x - mu as documented
            undo = np.where(constant, bound, 1.0)
            X_train *= undo
            X_test *= undo
    for part, X in (("training", X_train), ("test", X_test)):
        finite = np.isfinite(X).all(axis=0)
        if not finite.all():
            column = feature_names[int(np.argmin(finite))]
            raise DataError(
                f"{name}: column {column!r} cannot be standardized: a {part} row's value is too "
                "far from the training rows' mean for a float64 (over 1e308 standard deviations)"
            )
    return center * bound, np.where(constant, 1.0, spread * bound)


def _standardized(name, X, y, task, feature_names, target, classes, test_size, seed, standardize):
    X_train, X_test, y_train, y_test = split(X, y, test_size=test_size, seed=seed)
    return _dataset(name, X_train, X_test, y_train, y_test, task, feature_names, target, classes,
                    standardize)


def _dataset(name, X_train, X_test, y_train, y_test, task, feature_names, target, classes,
             standardize) -> Dataset:
    """A :class:`Dataset` of the split rows; ``X_train`` and ``X_test`` (fresh arrays) are
    standardized in place."""
    if standardize:
        mean, scale = _standardize_in_place(name, X_train, X_test, tuple(feature_names))
    else:
        mean, scale = np.zeros(X_train.shape[1]), np.ones(X_train.shape[1])
    return Dataset(
        name, X_train, X_test, y_train, y_test, task,
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


#: The csv module's limit on one field (131072 characters by default). A number is never that
#: long: a field over the limit means the file is not a CSV table of numbers (or a quote is
#: unbalanced and swallowed the rest of the file).
FIELD_LIMIT = csv.field_size_limit()


def _decoding_error_line(path: Path) -> tuple[int, int]:
    """``(line, byte)``: the first line of ``path`` that is not UTF-8, and its first bad byte.
    Read in chunks, so a large file is never held in memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                start = max(0, min(error.start, len(chunk) - 1))
                return line + chunk[:start].count(b"\n"), chunk[start]
            line += chunk.count(b"\n")
        try:  # a multi-byte sequence cut off by the end of the file
            decoder.decode(b"", True)
        except UnicodeDecodeError as error:
            return line, error.object[error.start]
    return line, 0


def _read_table(path: Path, target: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The header, the features ``(rows, columns - 1)`` and the target column ``(rows,)`` of a
    CSV file, as float64 arrays.

    Memory: the numbers go straight into growing C arrays of doubles (8 bytes a value, no Python
    float kept), which become numpy arrays without a copy; only one row of text is held at a
    time.
    """
    values, targets = array("d"), array("d")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
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
            width, t = len(header), header.index(target)
            for row in reader:
                if len(row) != width or not row[0].strip():
                    if all(not cell.strip() for cell in row):
                        continue  # a blank line
                    if len(row) != width:
                        raise DataError(f"{path.name}: row {reader.line_num} has {len(row)} "
                                        f"values but the header has {width}")
                try:
                    numbers = [float(cell) for cell in row]
                except ValueError:
                    numbers = [_number(c, reader.line_num, h, path) for c, h in zip(row, header)]
                # NaN and infinity propagate into the sum (which can also overflow from finite
                # values): only then are the cells looked at one by one.
                if not math.isfinite(sum(numbers)):
                    for cell, column in zip(row, header):
                        _number(cell, reader.line_num, column, path)
                targets.append(numbers.pop(t))
                values.extend(numbers)
        except UnicodeDecodeError:
            line, byte = _decoding_error_line(path)
            raise DataError(
                f"{path.name} is not UTF-8 text: row {line} holds the byte 0x{byte:02x}, which "
                "UTF-8 cannot decode; save the file as UTF-8"
            ) from None
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise DataError(
                    f"{path.name}: row {reader.line_num} has a field longer than {FIELD_LIMIT} "
                    "characters, which no number is; is it a CSV table of numbers, with every "
                    "quote closed?"
                ) from None
            raise DataError(
                f"{path.name}: row {reader.line_num} is not valid CSV ({error})"
            ) from None
    features = np.frombuffer(values, dtype=np.float64).reshape(-1, width - 1)
    return header, features, np.frombuffer(targets, dtype=np.float64)


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

    Memory: the numbers are read into one float64 array (8 bytes a value), then split into the
    training and test rows; the peak is about twice the float64 table (see :func:`_read_table`).

    Raises:
        DataError: a missing file or column, an empty cell, a non-numeric value, NaN or infinity,
            a row of the wrong length, text that is not UTF-8 or not CSV -- one sentence naming
            the row (and the column where there is one).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file: {str(path)!r}")
    if not path.is_file():  # a folder, or a FIFO or device that could block the read forever
        raise DataError(f"{str(path)!r} is not a regular file")
    header, features, values = _read_table(path, target)
    if len(values) < 2:
        raise DataError(f"{path.name} has {len(values)} data rows; at least 2 are needed")
    t = header.index(target)
    names = [h for i, h in enumerate(header) if i != t]
    integral = bool(np.all(values == np.round(values)))
    distinct = np.unique(values)
    if task is None:
        classify = integral and len(distinct) <= 20
        task = ("binary" if len(distinct) == 2 else "multiclass") if classify else "regression"
    if task not in ("binary", "multiclass", "regression"):
        raise ValueError(f"{task=} must be 'binary', 'multiclass' or 'regression'")
    if task == "regression":
        y, classes = values, ()
    else:
        if not integral:
            raise DataError(f"{path.name}: column {target!r} must hold integer class labels")
        # The class index of each row: a binary search in the sorted distinct labels (what
        # np.unique's return_inverse gives, without its argsort of every row).
        y = np.searchsorted(distinct, values).astype(np.int64, copy=False)
        classes = tuple(int(c) for c in distinct)
        if task == "binary" and len(classes) != 2:
            raise DataError(f"{path.name}: column {target!r} has {len(classes)} classes, not 2")
    del values, distinct
    order, n_train = _permutation(len(y), test_size, seed)
    # One copy of the features in the split's row order; the training and test rows are views of
    # it (contiguous row ranges), so the peak is the features twice, not three times.
    X = features[order]
    del features  # the numbers as read: from here on only the reordered copy is held
    y = y[order]
    return _dataset(path.stem, X[:n_train], X[n_train:], y[:n_train], y[n_train:], task, names,
                    target, classes, standardize)


def load(source: str, *, target: str | None = None, **options) -> Dataset:
    """A bundled data set by name, or a ``.csv`` path with its ``target`` column."""
    if source.lower().endswith(".csv") or Path(source).suffix:
        if not target:
            raise DataError(f"--data {source} needs --target COLUMN to name the column to predict")
        return load_csv(source, target, **options)
    return load_bundled(source, **options)
