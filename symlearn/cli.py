"""The ``symlearn`` command line.

Each subcommand is a module in :mod:`symlearn.commands` that defines

* ``NAME`` (the subcommand), ``HELP`` (one line), optionally ``DESCRIPTION`` (for ``--help``);
* ``configure(parser)`` to add its arguments;
* ``run(args) -> int`` returning the exit code;
* optionally ``prepare_argv(argv) -> argv`` to rewrite its own arguments before argparse sees them.

Modules are discovered, so a new subcommand is a new file. They import heavy dependencies inside
``run`` so that ``symlearn --help`` and light commands start fast.

Errors: a :class:`UsageError` (or ``KeyboardInterrupt``) becomes one sentence on stderr and exit
code 2 (1 for :class:`CommandError`); never a traceback. A reader that leaves early
(``symlearn list | head -1``) ends the command quietly with exit code 141, as a tool killed by
SIGPIPE does.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import commands as _commands_package

__all__ = ["main", "UsageError", "CommandError"]


class UsageError(Exception):
    """Bad input from the user: one sentence, exit code 2."""


class CommandError(Exception):
    """The command could not do its job (e.g. a missing TeX engine for ``--format pdf``): exit 1."""


def _command_modules():
    # The package's files, listed directly: pkgutil.iter_modules imports inspect (10 ms of a
    # command line that should start fast).
    names = sorted({
        entry.name[:-3]
        for directory in _commands_package.__path__
        for entry in os.scandir(directory)
        if entry.name.endswith(".py") and not entry.name.startswith("_")
    })
    return [importlib.import_module(f"{_commands_package.__name__}.{name}") for name in names]


def build_parser(modules=None) -> argparse.ArgumentParser:
    modules = modules if modules is not None else _command_modules()
    parser = argparse.ArgumentParser(
        prog="symlearn",
        description="Symbolic, machine-checked derivations of neural-network training.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"symlearn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in modules:
        child = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(child)
        child.set_defaults(_module=module)
    return parser



def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    modules = _command_modules()
    by_name = {m.NAME: m for m in modules}
    if argv and argv[0] in by_name and hasattr(by_name[argv[0]], "prepare_argv"):
        argv = [argv[0], *by_name[argv[0]].prepare_argv(argv[1:])]
    parser = build_parser(modules)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        code = int(args._module.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit where it would be a traceback
        return code
    except BrokenPipeError:
        return _reader_left()
    except UsageError as error:
        print(f"symlearn {args.command}: {error}", file=sys.stderr)
        return 2
    except CommandError as error:
        print(f"symlearn {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"symlearn {args.command}: interrupted", file=sys.stderr)
        return 130


def _reader_left() -> int:
    """The standard handling of EPIPE (Python's signal docs): point stdout at /dev/null so the
    interpreter's final flush does not raise again, and exit as if killed by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + 13


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
