"""symlearn.data: bundled sets split and standardized on training statistics; CSV errors name
the row and the column."""

import numpy as np
import pytest

from symlearn import data


def test_bundled_split_is_seeded_and_standardized_on_train_rows():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    a = data.load_bundled("breast_cancer", seed=1)
    b = data.load_bundled("breast_cancer", seed=1)
    c = data.load_bundled("breast_cancer", seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    raw = sklearn_datasets.load_breast_cancer()
    assert a.X_train.shape[0] + a.X_test.shape[0] == raw.data.shape[0]
    assert a.X_test.shape[0] == round(0.2 * raw.data.shape[0])
    np.testing.assert_allclose(a.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(a.X_train.std(axis=0), 1, rtol=1e-12)
    # the test rows are the raw rows scaled by the training statistics
    order = np.random.default_rng(1).permutation(raw.data.shape[0])
    test_rows = raw.data[order[-a.X_test.shape[0]:]]
    np.testing.assert_allclose(a.X_test, (test_rows - a.mean) / a.scale, rtol=1e-12)
    assert a.task == "binary" and a.n_classes == 2


def test_digits_has_constant_pixels_kept_finite_and_diabetes_is_regression():
    pytest.importorskip("sklearn")
    digits = data.load_bundled("digits")
    assert np.all(np.isfinite(digits.X_train)) and digits.n_classes == 10
    assert digits.y_train.dtype == np.int64
    diabetes = data.load_bundled("diabetes")
    assert diabetes.task == "regression" and diabetes.y_train.dtype == np.float64


def test_unknown_bundled_name():
    with pytest.raises(data.DataError, match="unknown data set 'iris'"):
        data.load_bundled("iris")


def _write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_classification_and_regression(tmp_path):
    rows = "\n".join(f"{i},{i % 3 * 2.5},{i % 2}" for i in range(20))
    ds = data.load_csv(_write(tmp_path, "a,b,label\n" + rows + "\n"), "label", seed=0)
    assert ds.task == "binary" and ds.feature_names == ("a", "b") and ds.classes == (0, 1)
    assert ds.X_train.shape == (16, 2) and ds.X_test.shape == (4, 2)
    reg = data.load_csv(_write(tmp_path, "a,b,label\n" + rows + "\n"), "b", seed=0)
    assert reg.task == "multiclass" or reg.task == "regression"
    values = "\n".join(f"{i},{i * 0.37:.2f}" for i in range(30))
    assert data.load_csv(_write(tmp_path, "x,y\n" + values), "y").task == "regression"


@pytest.mark.parametrize(
    "text, target, message",
    [
        ("a,b\n1,2\n3,4\n", "c", "has no column 'c'; its columns are a, b"),
        ("a,b\n1,2\n3,x7\n", "b", "row 3, column 'b' holds 'x7', which is not a number"),
        ("a,b\n1,2\n3,4\nnan,4\n", "b", "row 4, column 'a' is NaN"),
        ("a,b\n1,\n3,4\n", "b", "row 2, column 'b' is empty"),
        ("a,b\n1,2,3\n3,4\n", "b", "row 2 has 3 values but the header has 2"),
        ("", "b", "is empty"),
    ],
)
def test_csv_errors_name_row_and_column(tmp_path, text, target, message):
    with pytest.raises(data.DataError) as caught:
        data.load_csv(_write(tmp_path, text), target)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_missing_target(tmp_path):
    with pytest.raises(data.DataError, match="no such file"):
        data.load_csv(tmp_path / "absent.csv", "y")
    with pytest.raises(data.DataError, match="needs --target"):
        data.load(str(tmp_path / "absent.csv"))


def test_missing_sklearn_gives_install_hint(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(data.DataError, match=r"symlearn\[data\]"):
        data.load_bundled("digits")


# -- hostile files: one sentence each, naming the row ----------------------------------------------


def test_non_utf8_csv_names_the_row_and_the_byte(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,b,y\n1,2,0\n3,4,1\ncaf\xe9,5,0\n6,7,1\n")
    with pytest.raises(data.DataError) as caught:
        data.load_csv(path, "y")
    message = str(caught.value)
    assert "latin.csv is not UTF-8 text: row 4 holds the byte 0xe9" in message
    assert "\n" not in message


def test_non_utf8_byte_far_into_a_large_file_is_located(tmp_path):
    """The decoder reads in chunks; the row reported is still the line of the bad byte."""
    path = tmp_path / "late.csv"
    lines = [b"a,b,y"] + [b"%d,%d,%d" % (i, 2 * i, i % 2) for i in range(20000)]
    lines[15000] = b"1,\xff2,0"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(data.DataError, match=r"row 15001 holds the byte 0xff"):
        data.load_csv(path, "y")


def test_field_over_the_csv_limit_is_one_sentence(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b,y\n1,2,0\n" + "1" * 140_000 + ",3,1\n")
    with pytest.raises(data.DataError) as caught:
        data.load_csv(path, "y")
    assert "long.csv: row 3 has a field longer than 131072 characters" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unclosed_quote_is_refused_not_swallowed(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('a,b,y\n1,"2,0\n3,4,1\n')
    with pytest.raises(data.DataError, match="quote.csv: row 3 has 2 values but the header has 3"):
        data.load_csv(path, "y")


def test_infinite_sum_of_finite_values_is_not_mistaken_for_infinity(tmp_path):
    """A row whose values sum past the largest float is still a row of finite numbers."""
    path = _write(tmp_path, "a,b,y\n1e308,1e308,0\n1,2,1\n-1e308,3,0\n4,5,1\n6,7,0\n")
    ds = data.load_csv(path, "y", test_size=0.2)
    assert np.all(np.isfinite(ds.X_train)) and np.all(np.isfinite(ds.X_test))
    with pytest.raises(data.DataError, match="row 3, column 'b' is infinite"):
        data.load_csv(_write(tmp_path, "a,b,y\n1,2,0\n1e308,inf,1\n1,2,1\n"), "y")


# -- standardization: robust to overflow, equal to the textbook formula --------------------------


def _exact_mean_std(column) -> tuple[float, float]:
    """Mean and population standard deviation in exact rational arithmetic (an independent
    reference: no float sums, no overflow), rounded once at the end."""
    from fractions import Fraction

    values = [Fraction(float(v)) for v in column]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    scale = max(abs(v) for v in values)  # variance / scale^2 is in [0, 1]: no float overflow
    return float(mean), float(variance / scale**2) ** 0.5 * float(scale)


def test_features_near_the_largest_float_standardize(tmp_path):
    """Features near 1e307: the textbook mean and std overflow (sum, squares); the standardized
    features are finite with mean 0 and std 1, and the statistics equal exact arithmetic."""
    rng = np.random.default_rng(5)
    big = rng.uniform(-1, 1, 40) * 1.5e307
    small = rng.standard_normal(40)
    rows = "\n".join(f"{float(a)!r},{float(b)!r},{i % 2}" for i, (a, b) in enumerate(zip(big, small)))
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(np.std(big))  # the naive formula does overflow here
    ds = data.load_csv(_write(tmp_path, "big,small,y\n" + rows + "\n"), "y", seed=3)
    assert np.all(np.isfinite(ds.X_train)) and np.all(np.isfinite(ds.X_test))
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, rtol=1e-12)
    order = np.random.default_rng(3).permutation(40)
    train = order[: 40 - 8]
    mean, std = _exact_mean_std(big[train])
    assert ds.mean[0] == pytest.approx(mean, rel=1e-12)
    assert ds.scale[0] == pytest.approx(std, rel=1e-12)
    # the test rows are the raw rows scaled by the same statistics
    np.testing.assert_allclose(ds.X_test[:, 0], (big[order[-8:]] / std - mean / std), rtol=1e-9)


def test_ordinary_features_standardize_as_the_textbook_formula(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 3)) * [1.0, 1e-3, 250.0] + [0.0, 5.0, -1e4]
    rows = "\n".join(f"{float(a)!r},{float(b)!r},{float(c)!r},{i % 3}" for i, (a, b, c) in enumerate(X))
    ds = data.load_csv(_write(tmp_path, "a,b,c,y\n" + rows + "\n"), "y", seed=1)
    order = np.random.default_rng(1).permutation(50)
    train, test = X[order[:40]], X[order[40:]]
    mean, std = train.mean(axis=0), train.std(axis=0)
    np.testing.assert_allclose(ds.mean, mean, rtol=1e-14)
    np.testing.assert_allclose(ds.scale, std, rtol=1e-14)
    np.testing.assert_allclose(ds.X_train, (train - mean) / std, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ds.X_test, (test - mean) / std, rtol=1e-12, atol=1e-14)


def test_constant_column_keeps_sigma_one(tmp_path):
    rows = "\n".join(f"7.5,{i},{i % 2}" for i in range(10))
    ds = data.load_csv(_write(tmp_path, "c,x,y\n" + rows + "\n"), "y")
    assert ds.scale[0] == 1.0 and ds.mean[0] == 7.5
    np.testing.assert_array_equal(ds.X_train[:, 0], 0.0)


def test_test_row_beyond_float_range_names_the_column(tmp_path):
    """Training values near 1e-300 and a test value of 1e300: the standardized test value
    exceeds the largest float, which is refused naming the column."""
    values = [1e-300 * (1 + i % 3) for i in range(9)] + [1e300]
    rows = "\n".join(f"{v!r},{i},{i % 2}" for i, v in enumerate(values))
    path = _write(tmp_path, "tiny,x,y\n" + rows + "\n")
    # a seed that puts the 1e300 row among the two test rows
    seed = next(s for s in range(100) if 9 in np.random.default_rng(s).permutation(10)[-2:])
    with pytest.raises(data.DataError, match="column 'tiny' cannot be standardized: a test row"):
        data.load_csv(path, "y", seed=seed)


# -- memory ----------------------------------------------------------------------------------------


def test_csv_is_read_in_about_twice_its_float64_size(tmp_path):
    """Peak traced allocation (numpy and Python objects, by tracemalloc) while loading a CSV of
    100000 rows x 6 columns: at most 2.5 times the float64 table. (Before, every number was a
    Python float in a list of lists, about 11 times the table.)"""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.standard_normal((100_000, 5))
    path = tmp_path / "many.csv"
    with path.open("w") as handle:
        handle.write("a,b,c,d,e,y\n")
        handle.writelines(f"{a:.5f},{b:.5f},{c:.5f},{d:.5f},{e:.5f},{int(a > 0)}\n"
                          for a, b, c, d, e in X)
    table = X.size * 8 + X.shape[0] * 8
    tracemalloc.start()
    try:
        ds = data.load_csv(path, "y")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ds.X_train.shape == (80_000, 5)
    assert peak <= 2.5 * table, f"peak {peak / 2**20:.1f} MB for a {table / 2**20:.1f} MB table"


def test_fifo_or_folder_is_refused_without_reading(tmp_path):
    """A FIFO would block the read forever: anything but a regular file is refused up front."""
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(data.DataError, match="pipe.csv' is not a regular file"):
        data.load_csv(fifo, "y")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(data.DataError, match="folder.csv' is not a regular file"):
        data.load_csv(tmp_path / "folder.csv", "y")


def test_utf8_sequence_cut_off_at_the_end_names_the_last_row(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes(b"a,b,y\n1,2,0\n3,4,1\n5,6,\xe2\x82")  # the first two bytes of a euro sign
    with pytest.raises(data.DataError, match=r"row 4 holds the byte 0xe2"):
        data.load_csv(path, "y")
