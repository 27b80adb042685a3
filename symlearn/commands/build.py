"""``symlearn build``: build every derivation into the output folder, with a progress bar."""

NAME = "build"
HELP = "build every derivation (tex, md, pdf) into the output folder"


def configure(parser):
    from pathlib import Path

    from ._common import add_formats, add_source

    parser.add_argument("-o", "--output", type=Path, default=Path("outputs"), help="output folder")
    add_formats(parser)
    add_source(parser)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="build only these derivations")


def run(args) -> int:
    import sys
    import time

    from tqdm import tqdm

    from ..cli import UsageError
    from ..registry import UnknownDerivation, find
    from ..render import tex_engine
    from ._build import build_one
    from ._common import load_entries

    start = time.perf_counter()
    entries = load_entries(args)
    if args.only:
        try:
            entries = {n: find(n, entries) for n in args.only}
        except UnknownDerivation as error:
            raise UsageError(str(error)) from None
    formats = tuple(args.formats or ("tex", "md", "pdf"))
    pdf_required = "pdf" in (args.formats or ())
    if "pdf" in formats and tex_engine() is None:
        if pdf_required:
            raise UsageError("--format pdf needs a TeX engine: install texlive-latex-base and latexmk")
        print("note: no TeX engine found, so no PDFs (install texlive-latex-base latexmk)", file=sys.stderr)
        formats = tuple(f for f in formats if f != "pdf")
    outcomes = []
    bar = tqdm(entries.values(), desc="building", unit="doc", file=sys.stderr, disable=None)
    for entry in bar:
        bar.set_postfix_str(entry.name)
        outcomes.append(build_one(entry, args.output, formats, pdf_required=pdf_required))
    bar.close()
    failed = [o for o in outcomes if o.error]
    for outcome in outcomes:
        for message in outcome.skipped:
            print(f"note: {message}", file=sys.stderr)
    for outcome in failed:
        print(f"error: {outcome.error}", file=sys.stderr)
    counts = {
        f: sum(1 for o in outcomes for p in o.files if p.suffix == f".{f}" and p.parent == args.output)
        for f in formats
    }
    elapsed = time.perf_counter() - start
    made = ", ".join(f"{counts[f]} {f}" for f in formats)
    print(
        f"built {len(outcomes) - len(failed)} of {len(outcomes)} derivations ({made}) "
        f"into {args.output} in {elapsed:.1f} s" + (f"; {len(failed)} failed" if failed else "")
    )
    return 1 if failed else 0
