"""``symlearn export``: write a numpy-only Python module of what the engine derives."""

NAME = "export"
HELP = "write a numpy-only Python module of losses, optimizers and schedules"
DESCRIPTION = (
    "Write a Python module that imports numpy and nothing else, printed from symlearn's SymPy\n"
    "expressions by the same printer symlearn uses itself. Names are comma-separated, 'all' for\n"
    "every one. Today the elementwise losses of the catalog can be exported (each as name,\n"
    "name_grad and name_value_and_grad with torch.nn.functional's arguments; 'all' exports every\n"
    "elementwise one; cross_entropy, nll_loss and the other losses written by hand in numpy are\n"
    "refused), and the learning-rate schedules with a fixed formula (constant, step_decay,\n"
    "exponential_decay, inverse_time_decay, cosine_annealing, linear_warmup); from Python,\n"
    "symlearn.export(functions={...}) exports your own expressions with their gradients.\n"
    "The optimizers (sgd, adagrad, rmsprop, adadelta, adam, adamw, nadam) are exported as their\n"
    "state NamedTuple, name_init(params, **hyper) and name_update(grads, state, params, **hyper)\n"
    "returning (updates, new_state), with torch.optim's hyper-parameter names and defaults, and\n"
    "apply_updates(params, updates).\n\n"
    "The file is written atomically (a temporary file renamed into place). Exit code 0 written,\n"
    "2 bad input."
)


def configure(parser):
    parser.add_argument("--loss", default="", metavar="NAMES",
                        help="losses, e.g. mse_loss,binary_cross_entropy_with_logits or all")
    parser.add_argument("--optimizer", default="", metavar="NAMES",
                        help="optimizers, e.g. adam,sgd or all")
    parser.add_argument("--schedule", default="", metavar="NAMES",
                        help="learning-rate schedules, e.g. cosine_annealing,step_decay or all")
    parser.add_argument("-o", "--output", required=True, metavar="FILE.py",
                        help="the module to write")


def _names(value: str) -> tuple:
    return tuple(n.strip() for n in value.split(",") if n.strip())


def run(args) -> int:
    import os

    from ..cli import UsageError

    losses, optimizers, schedules = map(_names, (args.loss, args.optimizer, args.schedule))
    if not (losses or optimizers or schedules):
        raise UsageError("name at least one of --loss, --optimizer or --schedule")
    if not args.output.endswith(".py"):
        raise UsageError(f"-o {args.output!r}: the module's file name must end in .py")
    if os.path.isdir(args.output):
        raise UsageError(f"-o {args.output!r} is a directory; give the module's file name")
    parent = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(parent):
        raise UsageError(f"-o {args.output!r}: the folder {parent} does not exist")
    from .._export import export
    from ..render._io import atomic_write

    try:
        text = export(losses=losses, optimizers=optimizers, schedules=schedules)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        atomic_write(args.output, text)
    except OSError as error:
        raise UsageError(f"cannot write {args.output!r}: {error.strerror or error}") from None
    print(f"wrote {args.output}")
    return 0
