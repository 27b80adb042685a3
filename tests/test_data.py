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
