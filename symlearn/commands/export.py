"""``symlearn export``: write a numpy-only Python module of what the engine derives."""

NAME = "export"
HELP = "write a numpy-only Python module of schedules (losses and optimizers: not yet)"
DESCRIPTION = (
    "Write a Python module that imports numpy and nothing else, printed from symlearn's SymPy\n"
    "expressions by the same printer symlearn uses itself. Names are comma-separated, 'all' for\n"
    "every one. Today the learning-rate schedules with a fixed formula can be exported\n"
    "(constant, step_decay, exponential_decay, inverse_time_decay, cosine_annealing,\n"
    "linear_warmup); from Python, symlearn.export(functions={...}) exports your own expressions\n"
    "with their gradients. Exporting losses and optimizers is not supported yet.\n\n"
    "The file is written atomically (a temporary file renamed into place). Exit code 0 written,\n"
    "2 bad input."
)


def configure(parser):
    parser.add_argument("--loss", default="", metavar="NAMES", help="losses (not supported yet)")
    parser.add_argument("--optimizer", default="", metavar="NAMES",
                        help="optimizers (not supported yet)")
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
