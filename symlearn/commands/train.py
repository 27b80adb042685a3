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
    parser.add_argument("--epochs", type=int, default=30, help="passes over the data (default: 30)")
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
                        help="save the loss curve as an image (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _check(args):
    from ..cli import UsageError

    if args.epochs < 1:
        raise UsageError(f"--epochs {args.epochs} must be at least 1")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size} must be at least 1")
    if any(h < 1 for h in args.hidden):
        raise UsageError(f"--hidden {' '.join(map(str, args.hidden))}: every width must be at least 1")
    if args.keep is not None and not 0 < args.keep <= 1:
        raise UsageError(f"--keep {args.keep} must be a probability in (0, 1]")
    if args.keep is not None and args.model != "mlp":
        raise UsageError(f"--keep applies to --model mlp, not --model {args.model}")
    if args.lr is not None and not args.lr > 0:
        raise UsageError(f"--lr {args.lr} must be positive")
    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size {args.test_size} must be strictly between 0 and 1")
    if args.weight_decay < 0:
        raise UsageError(f"--weight-decay {args.weight_decay} must be non-negative")


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
    import numpy as np

    from .. import data, neurons
    from ..functions import relu, sigmoid
    from ..train import TrainingError, fit, loss_curve

    loss = args.loss or DEFAULT_LOSS[args.model]
    if loss not in neurons.LOSSES:
        from ..losses import catalog

        known = "a loss in symlearn.losses" if loss in catalog else "not a loss"
        raise UsageError(
            f"--loss {loss} is {known} without a matrix form for training; "
            f"choose from {', '.join(neurons.LOSSES)}"
        )
    wants = neurons.LOSSES[loss][1]
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
        if args.model == "linear":
            outputs = 1
        elif ds.task == "regression":
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
    if args.model in ("linear", "logistic", "softmax"):
        model = neurons.affine(d, outputs)
    else:
        activation = {"relu": relu, "sigmoid": sigmoid}[args.activation]
        model = neurons.mlp((d, *args.hidden, outputs), activation=activation, keep=args.keep)
    optimizer = _optimizer(args)
    progress = not args.quiet and not args.json and sys.stderr.isatty()
    try:
        result = fit(model, loss, optimizer, ds.X_train, ds.y_train, epochs=args.epochs,
                     batch_size=args.batch_size, seed=args.seed, l2=args.weight_decay,
                     validation=(ds.X_test, ds.y_test), progress=progress)
    except TrainingError as error:
        raise CommandError(str(error)) from None
    train_metrics = result.evaluate(ds.X_train, ds.y_train)
    test_metrics = result.evaluate(ds.X_test, ds.y_test)
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
    if args.plot:
        try:
            loss_curve(result.history, args.plot, title=f"{args.model} on {ds.name}")
        except ImportError:
            raise CommandError("--plot needs matplotlib: pip install 'symlearn[plot]'") from None
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
    return 0
