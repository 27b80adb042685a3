"""``symlearn train``: the issue's command lines, --json fields, errors as one sentence with the
documented exit codes."""

import json

import numpy as np
import pytest

from symlearn.cli import main


def _json(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_issue_command_line_mlp_on_digits(capsys):
    pytest.importorskip("sklearn")
    out = _json(capsys, ["train", "--model", "mlp", "--hidden", "64", "--loss", "cross_entropy",
                         "--optimizer", "adam", "--epochs", "30", "--data", "digits", "--json"])
    assert set(out) >= {"train_loss", "test_loss", "test_accuracy", "epochs", "seconds"}
    assert out["epochs"] == 30 and out["test_accuracy"] >= 0.96
    assert 0 < out["train_loss"] < out["test_loss"] < 0.2


def test_seed_makes_runs_reproducible_and_regression_reports_mse(capsys):
    pytest.importorskip("sklearn")
    argv = ["train", "--model", "linear", "--data", "diabetes", "--optimizer", "sgd", "--lr",
            "0.05", "--epochs", "20", "--json", "--seed", "4"]
    first, second = _json(capsys, argv), _json(capsys, argv)
    assert "test_mse" in first and "test_accuracy" not in first
    assert first["test_mse"] == second["test_mse"] and first["train_loss"] == second["train_loss"]
    assert first["test_mse"] == pytest.approx(first["test_loss"])


def test_csv_data_with_target_column(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    label = (X[:, 0] - X[:, 2] > 0).astype(int)
    path = tmp_path / "points.csv"
    path.write_text("u,v,w,label\n" + "\n".join(
        f"{a:.5f},{b:.5f},{c:.5f},{t}" for (a, b, c), t in zip(X, label)) + "\n")
    out = _json(capsys, ["train", "--model", "logistic", "--data", str(path), "--target", "label",
                         "--optimizer", "sgd", "--lr", "0.5", "--epochs", "30", "--json"])
    assert out["test_accuracy"] >= 0.9


def test_nan_loss_is_one_sentence_and_exit_1(capsys):
    pytest.importorskip("sklearn")
    # lr = 50 with batches of 4 overflows within epoch 1 (the per-batch check); with lr = 5 and
    # batches of 64 the loss stays finite in epoch 1 and the per-epoch divergence check stops it.
    code = main(["train", "--model", "linear", "--data", "diabetes", "--optimizer", "sgd",
                 "--lr", "50", "--batch-size", "4", "--epochs", "50", "--json"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("symlearn train: the loss became inf at epoch 1") and err.count("\n") == 1
    code = main(["train", "--model", "linear", "--data", "diabetes", "--optimizer", "sgd",
                 "--lr", "5", "--epochs", "50", "--json"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "in epoch 2, over 1000 times its first value, so training diverges" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "missing.csv", "--target", "y"], "no such file"),
        (["--data", "digits", "--model", "logistic"], "needs two classes"),
        (["--data", "digits", "--loss", "hinge_loss"], "without a matrix form"),
        (["--data", "digits", "--loss", "l1_loss"],
         ("is a loss in symlearn.losses without a matrix form for training; choose from "
          "mse_loss, cross_entropy, binary_cross_entropy_with_logits")),
        (["--data", "digits", "--loss", "crossentropy"], "--loss crossentropy is not a loss"),
        (["--data", "digits", "--epochs", "0"], "--epochs 0 must be at least 1"),
        (["--data", "digits", "--keep", "1.5"], "--keep 1.5"),
        (["--data", "digits", "--optimizer", "adam", "--momentum", "0.9"], "--momentum applies"),
        (["--data", "digits", "--export", "model.txt"], "--export model.txt: its suffix is '.txt'"),
        (["--data", "digits", "--export", "no/such/folder/m.py"], "does not exist"),
    ],
)
def test_usage_errors_are_one_sentence_exit_2(capsys, argv, message):
    code = main(["train", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_csv_error_names_row_and_column(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,0\n3,oops,1\n")
    assert main(["train", "--data", str(path), "--target", "y"]) == 2
    assert "row 3, column 'b' holds 'oops'" in capsys.readouterr().err


def test_plain_output_and_plot(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    plot = tmp_path / "curve.png"
    exported = tmp_path / "softmax.py"
    assert main(["train", "--model", "softmax", "--data", "digits", "--epochs", "3",
                 "--plot", str(plot), "--export", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and plot.stat().st_size > 1000
    assert f"model: {exported}" in out
    text = exported.read_text()
    assert text.startswith('r"""softmax model trained by symlearn')
    assert "numpy.array([" in text and "def predict_proba(X):" in text
