"""``symlearn train``: train a model on a bundled data set or a CSV file, on compiled gradients."""

NAME = "train"
HELP = "train linear/logistic/softmax regression or an MLP on real data (compiled gradients)"
DESCRIPTION = (
    "Train a model whose gradient is derived in matrix form and compiled to numpy, by mini-batch\n"
    "steps of a symlearn.optim optimizer. Data: scikit-learn's bundled sets (digits,\n"
    "breast_cancer, diabetes; the 'data' extra) or a CSV file with --target COLUMN. Features are\n"
    "standardized on the training rows; a seeded 80/20 split gives the test metrics.\n\n"
    "examples:\n"
    "  symlearn train --model mlp --hidden 64 --loss cross_entropy --optimizer adam --epochs 30 --data digits\n"
    "  symlearn train --model logistic --data breast_cancer --json\n"
    "  symlearn train --model linear --data houses.csv --target price --optimizer sgd --lr 0.01"
)

MODELS = ("linear", "logistic", "softmax", "mlp")
#: The loss each model uses unless --loss says otherwise (torch.nn.functional names).
DEFAULT_LOSS = {
    "linear": "mse_loss",
    "logistic": "binary_cross_entropy_with_logits",
    "softmax": "cross_entropy",
    "mlp": "cross_entropy",
}
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam")
#: The most epochs this command runs. Each epoch is a full pass over the training rows plus an
#: evaluation; 100000 of them is hours even on a toy problem, and a larger number is a typo (an
#: int that argparse accepts whatever its size: 99999999999999999999 would run forever).
MAX_EPOCHS = 100_000
#: The most memory the estimate of :func:`_memory_estimate` may reach. The command is for the
#: course's models; beyond this an MLP is a mistake (``--hidden 100000 100000`` is 10^10 weights,
#: 80 GB), refused before anything is allocated rather than ending in a MemoryError.
MEMORY_LIMIT = 2 * 1024**3
#: The file written into a folder given to --plot.
PLOT_NAME = "loss_curve.png"


def configure(parser):
    parser.add_argument("--model", choices=MODELS, default="mlp", help="the model (default: mlp)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[64], metavar="WIDTH",
                        help="hidden widths of the MLP, one per layer (default: 64)")
    parser.add_argument("--activation", choices=("relu", "sigmoid"), default="relu",
                        help="hidden activation of the MLP (default: relu)")
    parser.add_argument("--keep", type=float, default=None, metavar="P",
                        help="inverted dropout after each hidden layer, keep probability P")
    parser.add_argument("--loss", default=None,
                        help="loss by its torch.nn.functional name (default: the model's usual loss)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                        help="optimizer by its torch.optim name (default: adam)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: the optimizer's torch default)")
    parser.add_argument("--momentum", type=float, default=None, help="momentum (sgd, rmsprop)")
    parser.add_argument("--weight-decay", type=float, default=0.0, metavar="LAMBDA",
                        help="L2 term LAMBDA/2 * sum of squared weights added to the loss")
    parser.add_argument("--epochs", type=int, default=30,
                        help=f"passes over the data (default: 30, at most {MAX_EPOCHS})")
    parser.add_argument("--batch-size", type=int, default=64, help="rows per step (default: 64)")
    parser.add_argument("--data", default="digits",
                        help="digits, breast_cancer, diabetes or a path to a .csv file")
    parser.add_argument("--target", default=None, metavar="COLUMN",
                        help="the column to predict (with --data path.csv)")
    parser.add_argument("--test-size", type=float, default=0.2, help="held-out fraction (default 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of split, init and batch order")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the final metrics on stdout")
    parser.add_argument("--plot", default=None, metavar="PATH",
                        help="save the loss curve as an image (needs matplotlib); the suffix picks "
                             f"the format; an existing folder gets {PLOT_NAME} inside it")
    parser.add_argument("--export", default=None, metavar="FILE.py",
                        help="write the trained model as one numpy-only Python file (weights, "
                             "standardization, predict, predict_proba, forward, backward)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _check(args):
    """The arguments alone, before any data is read (every message names the bad value)."""
    import math

    from ..cli import UsageError

    if args.epochs < 1:
        raise UsageError(f"--epochs {args.epochs} must be at least 1")
    if args.epochs > MAX_EPOCHS:
        raise UsageError(
            f"--epochs {args.epochs} is more than {MAX_EPOCHS}, the most this command runs "
            "(each epoch is a full pass over the data)"
        )
    if args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size} must be at least 1")
    if any(h < 1 for h in args.hidden):
        raise UsageError(f"--hidden {' '.join(map(str, args.hidden))}: every width must be at least 1")
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed} must be a non-negative integer")
    # Hyper-parameters: NaN compares False with everything, so each test is written to fail on
    # it, and infinity is refused by name.
    for option, value in (("--lr", args.lr), ("--momentum", args.momentum),
                          ("--weight-decay", args.weight_decay), ("--keep", args.keep),
                          ("--test-size", args.test_size)):
        if value is not None and not math.isfinite(value):
            raise UsageError(f"{option} {value} must be a finite number")
    if args.keep is not None and not 0 < args.keep <= 1:
        raise UsageError(f"--keep {args.keep} must be a probability in (0, 1]")
    if args.keep is not None and args.model != "mlp":
        raise UsageError(f"--keep applies to --model mlp, not --model {args.model}")
    if args.lr is not None and not args.lr > 0:
        raise UsageError(f"--lr {args.lr} must be positive")
    if args.momentum is not None and not args.momentum >= 0:
        raise UsageError(f"--momentum {args.momentum} must be non-negative")
    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size {args.test_size} must be strictly between 0 and 1")
    if not args.weight_decay >= 0:
        raise UsageError(f"--weight-decay {args.weight_decay} must be non-negative")
    if args.model == "mlp":
        # A lower bound before any data is read: one feature, one output, one row.
        _check_memory(f"--hidden {' '.join(map(str, args.hidden))}",
                      _memory_estimate((1, *args.hidden, 1), 1, 1, 1), "use smaller widths")


def _plot_path(value: str):
    """Where --plot writes, checked before training: an existing folder gets
    :data:`PLOT_NAME` inside it (a user naming a folder means "put it there", not ``DIR.png``
    beside it); a file must have a suffix matplotlib can write, in an existing, writable folder."""
    import os
    from pathlib import Path

    from ..cli import CommandError, UsageError

    path = Path(value)
    if path.is_dir():
        path = path / PLOT_NAME
    elif value.endswith(("/", os.sep)):
        raise UsageError(f"--plot {value}: the folder {value!r} does not exist")
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise CommandError("--plot needs matplotlib: pip install 'symlearn[plot]'") from None
    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = path.suffix[1:].lower()
    if suffix not in formats:
        known = ", ".join(f".{f}" for f in sorted(formats))
        what = f"its suffix {path.suffix!r} is not" if suffix else "it has no suffix naming"
        raise UsageError(f"--plot {value}: {what} an image format matplotlib writes ({known})")
    _check_folder("--plot", value, path.parent)
    return path


def _check_folder(option: str, value: str, folder) -> None:
    """The folder an output option writes into exists and is writable (checked before
    training, so that a long run does not end in an error)."""
    import os

    from ..cli import UsageError

    if not folder.is_dir():
        raise UsageError(f"{option} {value}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {value}: the folder {str(folder)!r} is not writable")


def _export_path(value: str):
    """Where --export writes, checked before training: a ``.py`` file (not a folder) in an
    existing, writable folder."""
    import os
    from pathlib import Path

    from ..cli import UsageError

    path = Path(value)
    if path.is_dir() or value.endswith(("/", os.sep)):
        raise UsageError(f"--export {value}: is a folder; name a file ending in .py")
    if path.suffix != ".py":
        what = f"its suffix is {path.suffix!r}" if path.suffix else "it has no suffix"
        raise UsageError(f"--export {value}: {what}; the model is written as a Python file (.py)")
    _check_folder("--export", value, path.parent)
    return path


def _memory_estimate(widths, rows: int, batch_size: int, states: int) -> int:
    """Bytes a run needs, roughly (float64, 8 bytes a number): for an MLP of layer ``widths``,
    the parameters twice (the flat vector and the per-epoch copy), the gradient twice (per-name
    arrays and their concatenation), the update and ``states`` optimizer arrays; the activations
    of the layers after the input (the input is the data, already in memory) for a batch three
    times (forward, backward, dropout mask) and for every training row twice (the per-epoch
    evaluation runs on all rows at once)."""
    from itertools import pairwise

    parameters = sum((a + 1) * b for a, b in pairwise(widths))
    units = sum(widths[1:])
    return 8 * (parameters * (5 + states) + units * (3 * min(batch_size, rows) + 2 * rows))


def _check_memory(what: str, estimate: int, advice: str) -> None:
    from ..cli import UsageError

    if estimate > MEMORY_LIMIT:
        raise UsageError(
            f"{what} needs about {estimate / 1024**3:.3g} GB of memory, over the "
            f"{MEMORY_LIMIT / 1024**3:g} GB this command allows; {advice}"
        )


def _optimizer(args):
    from .. import optim
    from ..cli import UsageError

    kwargs = {}
    if args.lr is not None:
        kwargs["lr"] = args.lr
    if args.momentum is not None:
        if args.optimizer not in ("sgd", "rmsprop"):
            raise UsageError(f"--momentum applies to sgd and rmsprop, not {args.optimizer}")
        kwargs["momentum"] = args.momentum
    try:
        return getattr(optim, args.optimizer)(**kwargs)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run(args) -> int:
    import json
    import sys

    from ..cli import CommandError, UsageError

    _check(args)
    plot = _plot_path(args.plot) if args.plot else None
    export = _export_path(args.export) if args.export else None
    import numpy as np

    from .. import data, neurons
    from ..functions import relu, sigmoid
    from ..train import TrainingError, fit, loss_curve

    loss = args.loss or DEFAULT_LOSS[args.model]
    trainable = neurons.matrix_losses()
    if loss not in trainable:
        from ..losses import catalog

        known = "a loss in symlearn.losses" if loss in catalog else "not a loss"
        raise UsageError(
            f"--loss {loss} is {known} without a matrix form for training; "
            f"choose from {', '.join(trainable)}"
        )
    wants = trainable[loss].spec.matrix_targets
    if args.model == "logistic" and loss != "binary_cross_entropy_with_logits":
        raise UsageError(f"--model logistic trains with binary_cross_entropy_with_logits, not {loss}")
    if args.model in ("softmax", "mlp") and wants == "binary":
        raise UsageError(f"--model {args.model} has one output per class; use cross_entropy, not {loss}")
    try:
        ds = data.load(args.data, target=args.target, test_size=args.test_size, seed=args.seed)
    except data.DataError as error:
        raise UsageError(str(error)) from None
    d = ds.X_train.shape[1]
    if wants == "values":
        if args.model == "linear" or ds.task == "regression":
            outputs = 1
        else:
            outputs = ds.n_classes
    elif wants == "binary":
        if ds.task != "binary":
            raise UsageError(
                f"--model {args.model} needs two classes, but {ds.name!r} is a {ds.task} task"
            )
        outputs = 1
    else:
        if ds.task == "regression":
            raise UsageError(f"--loss {loss} needs class labels, but {ds.name!r} is a regression task")
        outputs = ds.n_classes
    if wants == "values" and ds.task != "regression":
        raise UsageError(
            f"--loss {loss} fits real values, but {ds.name!r} is a classification task; "
            "use --model logistic, softmax or mlp"
        )
    widths = (d, *args.hidden, outputs) if args.model == "mlp" else (d, outputs)
    optimizer = _optimizer(args)
    rows = len(ds.y_train)
    _check_memory(
        f"training a {'x'.join(map(str, widths))} {args.model} on {rows} rows",
        _memory_estimate(widths, rows, args.batch_size, len(optimizer.rule.state)),
        "use smaller --hidden widths or fewer rows" if args.model == "mlp" else "use fewer rows",
    )
    progress = not args.quiet and not args.json and sys.stderr.isatty()
    try:
        if args.model in ("linear", "logistic", "softmax"):
            model = neurons.affine(d, outputs)
        else:
            activation = {"relu": relu, "sigmoid": sigmoid}[args.activation]
            model = neurons.mlp(widths, activation=activation, keep=args.keep)
        result = fit(model, loss, optimizer, ds.X_train, ds.y_train, epochs=args.epochs,
                     batch_size=args.batch_size, seed=args.seed, l2=args.weight_decay,
                     validation=(ds.X_test, ds.y_test), progress=progress)
        train_metrics = result.evaluate(ds.X_train, ds.y_train)
        test_metrics = result.evaluate(ds.X_test, ds.y_test)
    except TrainingError as error:
        raise CommandError(str(error)) from None
    except MemoryError:
        # The estimate above is rough; a run that still does not fit ends in one sentence too.
        advice = ("use smaller --hidden widths or a smaller --batch-size" if args.model == "mlp"
                  else "use a smaller --batch-size or fewer rows")
        raise UsageError(
            f"out of memory training {'x'.join(map(str, widths))} on {rows} rows; {advice}"
        ) from None
    if not all(np.isfinite(v) for v in (*train_metrics.values(), *test_metrics.values())):
        raise CommandError("the trained model gives a NaN or infinite loss on the data")
    summary = {
        "model": args.model,
        "loss": loss,
        "optimizer": args.optimizer,
        "data": ds.name,
        "train_loss": train_metrics["loss"],
        "test_loss": test_metrics["loss"],
    }
    if "accuracy" in test_metrics:
        summary["train_accuracy"] = train_metrics["accuracy"]
        summary["test_accuracy"] = test_metrics["accuracy"]
    else:
        summary["test_mse"] = test_metrics["mse"]
    summary.update(epochs=result.epochs, seconds=result.seconds, seed=args.seed)
    if plot is not None:
        from ..render._io import atomic_produce

        title = f"{args.model} on {ds.name}"
        try:  # to a temporary file renamed into place: never half an image under the name
            atomic_produce(plot, lambda tmp: loss_curve(result.history, tmp, title=title))
        except OSError as error:
            raise CommandError(f"--plot {args.plot}: {error.strerror or error}") from None
        summary["plot"] = str(plot)
    if export is not None:
        _write_export(export, args, result, ds, loss, optimizer, summary)
        summary["export"] = str(export)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{args.model} ({loss}, {optimizer!r}) on {ds.name}: {len(ds.y_train)} training rows, "
          f"{len(ds.y_test)} test rows, {d} features")
    for epoch, value in enumerate(result.history.loss, start=1):
        if epoch == 1 or epoch == result.epochs or epoch % max(1, result.epochs // 10) == 0:
            extra = ""
            if result.history.val_accuracy:
                extra = f"  test accuracy {result.history.val_accuracy[epoch - 1]:.4f}"
            print(f"  epoch {epoch:>4}  loss {value:.6f}{extra}")
    print(f"train loss {summary['train_loss']:.6f}, test loss {summary['test_loss']:.6f}, ", end="")
    if "test_accuracy" in summary:
        print(f"test accuracy {summary['test_accuracy']:.4f}", end="")
    else:
        print(f"test MSE {summary['test_mse']:.6g}", end="")
    print(f" ({result.epochs} epochs, {result.seconds:.2f} s)")
    if plot is not None:
        print(f"loss curve: {plot}")
    if export is not None:
        print(f"model: {export}")
    return 0


def _write_export(path, args, result, ds, loss, optimizer, summary) -> None:
    """The trained model as one numpy-only file at ``path``, written atomically; the header
    names the run (no timings, so the same run gives the same file)."""
    from .._export_model import export_model
    from ..cli import CommandError
    from ..render._io import atomic_write

    info = {"command": f"symlearn train --model {args.model} --data {args.data}"}
    if args.model == "mlp":
        info["hidden"] = " ".join(map(str, args.hidden))
        info["activation"] = args.activation
        if args.keep is not None:
            info["dropout keep (training only)"] = args.keep
    info.update({
        "optimizer": repr(optimizer), "weight decay (L2)": args.weight_decay,
        "epochs": args.epochs, "batch size": args.batch_size, "seed": args.seed,
        "data": f"{ds.name}: {len(ds.y_train)} training rows, {len(ds.y_test)} test rows "
                f"(seeded split, test size {args.test_size}), {ds.X_train.shape[1]} features",
    })
    if "test_accuracy" in summary:
        info["reported test accuracy"] = repr(summary["test_accuracy"])
    else:
        info["reported test MSE"] = repr(summary["test_mse"])
    classes = ds.classes if ds.task != "regression" else None
    try:
        text = export_model(result, mean=ds.mean, scale=ds.scale, classes=classes, info=info,
                            name=args.model)
        atomic_write(path, text)
    except OSError as error:
        raise CommandError(f"--export {args.export}: {error.strerror or error}") from None
