"""Shared arguments of the document commands."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder of derivation sources (default: ./derivations, else the bundled ones)",
    )


def add_formats(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=("tex", "md", "pdf"),
        help="output format; repeat for several (default: tex, md and pdf when a TeX engine exists)",
    )


def load_entries(args, *, quiet: bool = False):
    """Every derivation in ``args.source`` (or the default folder). Loading a source runs its
    Python code, so where it comes from is said on stderr first (unless ``quiet``)."""
    import sys

    from ..cli import UsageError
    from ..registry import default_source, discover

    source = args.source if args.source is not None else default_source()
    if not quiet:
        print(f"loading derivation sources from {source}", file=sys.stderr)
    try:
        return discover(source)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def check_output_folder(path: Path) -> None:
    """Refuse, before any work, an output folder that cannot be one: an existing file, or a
    path below a file. One sentence (:class:`UsageError`)."""
    import os

    from ..cli import UsageError

    if path.exists() and not path.is_dir():
        raise UsageError(f"the output folder {path} is an existing file; name a folder with -o")
    ancestor = path
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise UsageError(f"the output folder {path} is below {ancestor}, which is a file")
    if ancestor.exists() and not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"the output folder {path} cannot be written ({ancestor} is read-only)")


def glue_option_values(argv: list[str], value_options, flags=(), stray: str | None = None):
    """``argv`` with each ``--opt VALUE`` of ``value_options`` written ``--opt=VALUE``, so that a
    LaTeX value beginning with '-' (``--claim -\\frac{y}{p}``) reaches argparse as a value, not
    as an unknown option. With ``stray``, any other token that begins with '-' and is not an
    option (a loss such as ``-y\\ln p``) becomes ``stray=TOKEN``. Everything after ``--`` is
    left as it is."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            out.extend(argv[i:])
            break
        if token in value_options and i + 1 < len(argv):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        is_option = (token in flags or token in value_options
                     or any(token.startswith(o + "=") for o in value_options))
        if stray is not None and token.startswith("-") and not is_option:
            out.append(f"{stray}={token}")
        else:
            out.append(token)
        i += 1
    return out
