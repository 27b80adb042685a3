"""``symlearn train`` on hostile input: every case one sentence on stderr, no traceback, the
documented exit code (2 for bad input, 1 for training that cannot go on), checked before the
work starts where it can be, and no output file left behind or half-written.

Each case runs ``python -m symlearn train`` in a subprocess on a tiny generated CSV, with few
epochs and small models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def train(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "symlearn", "train", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )


def assert_one_sentence(done: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """Exit ``code``, nothing on stdout, one line on stderr (no traceback) holding
    ``fragments``."""
    err = done.stderr
    assert done.returncode == code, (done.returncode, err)
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("symlearn train: "), err
    assert done.stdout == "", done.stdout
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture
def folder(tmp_path) -> Path:
    """A folder with ``points.csv``: 40 rows, three standardizable features, a binary label
    ``y`` and a real-valued ``r``."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    r = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(40)
    lines = [f"{a!r},{b!r},{c!r},{t},{v!r}" for (a, b, c), t, v in zip(X.tolist(), y, r.tolist())]
    (tmp_path / "points.csv").write_text("a,b,c,y,r\n" + "\n".join(lines) + "\n")
    return tmp_path


SMALL = ["--model", "logistic", "--data", "points.csv", "--target", "y", "--epochs", "2"]
# A CSV that does not exist: an argument refused with its own sentence (not "no such file") is
# refused before any data is read.
UNREAD = ["--data", "absent.csv", "--target", "y"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--weight-decay", "nan"], "--weight-decay nan must be a finite number"),
        (["--weight-decay", "inf"], "--weight-decay inf must be a finite number"),
        (["--weight-decay", "-0.1"], "--weight-decay -0.1 must be non-negative"),
        (["--lr", "nan"], "--lr nan must be a finite number"),
        (["--lr", "inf"], "--lr inf must be a finite number"),
        (["--lr", "-1"], "--lr -1.0 must be positive"),
        (["--optimizer", "sgd", "--momentum", "nan"], "--momentum nan must be a finite number"),
        (["--optimizer", "sgd", "--momentum", "-0.5"], "--momentum -0.5 must be non-negative"),
        (["--model", "mlp", "--keep", "nan"], "--keep nan must be a finite number"),
        (["--model", "mlp", "--keep", "inf"], "--keep inf must be a finite number"),
        (["--model", "mlp", "--keep", "0"], "--keep 0.0 must be a probability in (0, 1]"),
        (["--test-size", "nan"], "--test-size nan must be a finite number"),
        (["--seed", "-1"], "--seed -1 must be a non-negative integer"),
        (["--epochs", "99999999999999999999"],
         "--epochs 99999999999999999999 is more than 100000, the most this command runs"),
        (["--model", "mlp", "--hidden", "100000", "100000"],
         "--hidden 100000 100000 needs about 447 GB of memory, over the 2 GB"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_arguments_are_refused_before_the_data_is_read(tmp_path, args, fragment):
    assert_one_sentence(train(*UNREAD, *args, cwd=tmp_path), 2, fragment)


def test_non_utf8_csv(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"a,b,y\n1,2,0\n3,4,1\ncaf\xe9,5,0\n6,7,1\n")
    assert_one_sentence(train("--data", "latin.csv", "--target", "y", cwd=tmp_path), 2,
                        "latin.csv is not UTF-8 text: row 4 holds the byte 0xe9")


def test_csv_field_over_128_kb(tmp_path):
    (tmp_path / "long.csv").write_text("a,b,y\n1,2,0\n" + "7" * 140_000 + ",3,1\n4,5,0\n")
    assert_one_sentence(train("--data", "long.csv", "--target", "y", cwd=tmp_path), 2,
                        "long.csv: row 3 has a field longer than 131072 characters")


# -- --plot: checked before training, written atomically, a folder gets a file inside it -----------


@pytest.mark.parametrize(
    "target, fragment",
    [
        ("missing/curve.png", "--plot missing/curve.png: the folder 'missing' does not exist"),
        ("missing/", "--plot missing/: the folder 'missing/' does not exist"),
        ("curve.bmpx", "--plot curve.bmpx: its suffix '.bmpx' is not an image format"),
        ("curve", "--plot curve: it has no suffix naming an image format"),
    ],
)
def test_plot_target_is_checked_before_training(tmp_path, target, fragment):
    pytest.importorskip("matplotlib")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_one_sentence(train(*UNREAD, "--plot", target, cwd=tmp_path), 2, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temp file


def test_plot_into_an_existing_folder_writes_a_file_inside_it(folder):
    """``--plot DIR`` puts ``DIR/loss_curve.png`` inside the folder (never ``DIR.png`` beside
    it), says where, and leaves no temporary file."""
    pytest.importorskip("matplotlib")
    (folder / "plots").mkdir()
    done = train(*SMALL, "--plot", "plots", "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["plot"] == str(Path("plots") / "loss_curve.png")
    assert [p.name for p in (folder / "plots").iterdir()] == ["loss_curve.png"]
    assert (folder / "plots" / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (folder / "plots.png").exists()
    text = train(*SMALL, "--plot", "plots/curve.svg", cwd=folder)
    assert text.returncode == 0 and "loss curve: plots/curve.svg" in text.stdout
    assert sorted(p.name for p in (folder / "plots").iterdir()) == ["curve.svg", "loss_curve.png"]
    assert (folder / "plots" / "curve.svg").read_text().lstrip().startswith("<?xml")


def test_failed_training_writes_no_plot(folder):
    """Training that stops (exit 1) leaves no image, whole or partial, and no temporary file."""
    pytest.importorskip("matplotlib")
    (folder / "out").mkdir()
    done = train("--model", "linear", "--data", "points.csv", "--target", "r", "--optimizer",
                 "sgd", "--lr", "1.5", "--batch-size", "1000", "--epochs", "40",
                 "--plot", "out/curve.png", cwd=folder)
    assert_one_sentence(done, 1, "training diverges")
    assert list((folder / "out").iterdir()) == []


# -- data that overflows, training that diverges ---------------------------------------------------


def test_features_near_1e307_train(tmp_path):
    """Standardization no longer overflows: the run ends normally with finite metrics."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (40, 2)) * [1.5e307, 1.0]
    y = (X[:, 0] > 0).astype(int)
    lines = [f"{a!r},{b!r},{t}" for (a, b), t in zip(X.tolist(), y)]
    (tmp_path / "huge.csv").write_text("big,small,y\n" + "\n".join(lines) + "\n")
    done = train("--model", "logistic", "--data", "huge.csv", "--target", "y", "--epochs", "5",
                 "--optimizer", "sgd", "--lr", "0.5", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert np.isfinite(summary["train_loss"]) and np.isfinite(summary["test_loss"])
    assert summary["train_accuracy"] >= 0.8  # the sign of the big feature is the label


def test_diverging_training_stops_with_exit_1(folder):
    """Full-batch SGD with lr = 1.5 on standardized features: the MSE grows about fourfold per
    epoch and passes 1000 times its first value while still finite."""
    done = train("--model", "linear", "--data", "points.csv", "--target", "r", "--optimizer",
                 "sgd", "--lr", "1.5", "--batch-size", "1000", "--epochs", "40", cwd=folder)
    assert_one_sentence(done, 1, "over 1000 times its first value, so training diverges",
                        "try a learning rate smaller than 1.5")


def test_out_of_memory_during_training_is_one_sentence(folder, monkeypatch, capsys):
    """The memory estimate is rough; a MemoryError that still happens ends in one sentence."""
    from symlearn import train as train_module
    from symlearn.cli import main

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(train_module, "fit", exhausted)
    monkeypatch.chdir(folder)
    code = main(["train", *SMALL])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    # four features (a, b, c and r besides the target y), one output, 32 of the 40 rows
    assert err.startswith("symlearn train: out of memory training 4x1 on 32 rows; use a smaller")


def test_memory_estimate_with_the_data_is_checked_before_the_model_is_built(folder):
    """--hidden 6400 6400 passes the check made before the data is read (one feature, one
    output: about 1.83 GB) but not the one with the data's 4 features, 2 classes and Adam's two
    state arrays: 41011202 parameters x 8 bytes x 7 copies, plus 12802 units x 160 rows' worth
    of activations x 8 bytes, is 2313013872 bytes, 2.15 GB."""
    done = train("--model", "mlp", "--hidden", "6400", "6400", "--data", "points.csv",
                 "--target", "y", "--epochs", "1", cwd=folder)
    assert_one_sentence(done, 2, "training a 4x6400x6400x2 mlp on 32 rows needs about 2.15 GB",
                        "over the 2 GB this command allows")
