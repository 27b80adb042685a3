"""``symlearn derive NAME``: build one derivation, check every step, write its documents."""

NAME = "derive"
HELP = "build one derivation and write it as tex, md and/or pdf"


def configure(parser):
    from pathlib import Path

    from ._common import add_formats, add_source

    parser.add_argument("name", help="the derivation's name (see 'symlearn list')")
    add_formats(parser)
    parser.add_argument("-o", "--output", type=Path, default=Path("outputs"), help="output folder")
    add_source(parser)


def run(args) -> int:
    from ..cli import CommandError, UsageError
    from ..registry import UnknownDerivation, find
    from ._build import build_one
    from ._common import check_output_folder, load_entries

    check_output_folder(args.output)  # before loading (running) any source, like build
    entries = load_entries(args)
    try:
        entry = find(args.name, entries)
    except UnknownDerivation as error:
        raise UsageError(str(error)) from None
    formats = tuple(args.formats or ("tex", "md", "pdf"))
    outcome = build_one(entry, args.output, formats, pdf_required="pdf" in (args.formats or ()))
    for message in outcome.skipped:
        print(f"note: {message}")
    if outcome.error:
        raise CommandError(outcome.error)
    for path in outcome.files:
        print(path)
    return 0
