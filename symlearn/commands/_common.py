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


def load_entries(args):
    from ..cli import UsageError
    from ..registry import discover

    try:
        return discover(args.source)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
