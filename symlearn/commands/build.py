"""``symlearn build``: build every derivation into the output folder, in parallel, with a cache."""

NAME = "build"
HELP = "build every derivation (tex, md, pdf) into the output folder"
DESCRIPTION = """\
Build every derivation (tex, md, and pdf when a TeX engine is installed) into the output folder.

Documents are built in -j worker processes (default: the number of CPUs) and kept in a
content-addressed cache, so a build with nothing changed copies them from the cache and a build
after editing one source rebuilds only that source's documents. The cache key covers the source
and the sibling sources it imports, every file of symlearn itself, the versions of Python, SymPy,
NumPy, matplotlib, Graphviz and the TeX engine, and the options. The cache lives in
$SYMLEARN_CACHE_DIR/build (an empty SYMLEARN_CACHE_DIR turns it off), else
$XDG_CACHE_HOME/symlearn/build or ~/.cache/symlearn/build; --no-cache ignores it.

Progress goes to stderr, one line per document built; the summary line to stdout. With PDFs,
the summary counts overfull boxes wider than 1 pt and missing glyphs in the LaTeX logs."""


def configure(parser):
    from pathlib import Path

    from ._common import add_formats, add_source

    parser.add_argument("-o", "--output", type=Path, default=Path("outputs"), help="output folder")
    add_formats(parser)
    add_source(parser)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="build only these derivations")
    parser.add_argument(
        "-j", "--jobs", type=_jobs, default=None, metavar="N",
        help="worker processes (default: the number of CPUs)",
    )
    parser.add_argument(
        "--no-cache", action="store_true",
        help="build everything, neither reading nor filling the cache",
    )
    parser.add_argument(
        "--problems", action="store_true",
        help="list each LaTeX problem (overfull box, missing glyph) found, not only their count",
    )


def _jobs(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        message = f"-j needs a whole number of processes, not {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not 1 <= value <= 512:
        raise argparse.ArgumentTypeError(f"-j needs between 1 and 512 processes, not {value}")
    return value


def run(args) -> int:
    import sys
    import time

    from ..cli import UsageError
    from ..registry import UnknownDerivation, default_source
    from ..render.pdf import tex_engine
    from ._build import build_folder, default_workers
    from ._common import check_output_folder

    start = time.perf_counter()
    check_output_folder(args.output)  # before any work
    source = args.source if args.source is not None else default_source()
    if not source.is_dir():
        raise UsageError(f"no derivations folder at {source}")
    print(f"loading derivation sources from {source}", file=sys.stderr)
    formats = tuple(args.formats or ("tex", "md", "pdf"))
    pdf_required = "pdf" in (args.formats or ())
    if "pdf" in formats and tex_engine() is None:
        if pdf_required:
            raise UsageError(
                "--format pdf needs a TeX engine: install texlive-latex-base and latexmk"
            )
        print("note: no TeX engine found, so no PDFs (install texlive-latex-base latexmk)",
              file=sys.stderr)
        formats = tuple(f for f in formats if f != "pdf")
    try:
        result = build_folder(
            source, args.output, formats, pdf_required=pdf_required,
            workers=args.jobs or default_workers(), only=args.only, use_cache=not args.no_cache,
        )
    except UnknownDerivation as error:
        raise UsageError(str(error)) from None
    except ValueError as error:  # a name defined twice
        raise UsageError(str(error)) from None
    outcomes = result.outcomes
    failed = [o for o in outcomes if o.error]
    for outcome in outcomes:
        for message in outcome.skipped:
            print(f"note: {message}", file=sys.stderr)
    for outcome in failed:
        print(f"error: {outcome.error}", file=sys.stderr)
    problems = [(o.name, p) for o in outcomes for p in o.problems]
    if args.problems:
        for name, problem in problems:
            print(f"latex: {name}: {problem}", file=sys.stderr)
    counts = {
        f: sum(
            1 for o in outcomes for p in o.files if p.suffix == f".{f}" and p.parent == args.output
        )
        for f in formats
    }
    elapsed = time.perf_counter() - start
    made = ", ".join(f"{counts[f]} {f}" for f in formats)
    line = (
        f"built {len(outcomes) - len(failed)} of {len(outcomes)} derivations ({made}) "
        f"into {args.output} in {elapsed:.1f} s ({result.from_cache} from the cache, "
        f"{result.rebuilt} rebuilt)" + (f"; {len(failed)} failed" if failed else "")
    )
    print(line)
    if "pdf" in formats:
        overfull = sum(1 for _, p in problems if p.startswith("overfull"))
        glyphs = sum(1 for _, p in problems if p.startswith("missing glyph"))
        hint = "" if not problems or args.problems else " (--problems lists them)"
        print(f"LaTeX logs: {overfull} overfull boxes wider than 1 pt, "
              f"{glyphs} missing glyphs{hint}")
    return 1 if failed else 0
