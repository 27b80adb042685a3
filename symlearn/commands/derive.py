"""``symlearn derive NAME``: build one derivation, check every step, write its documents.

``symlearn derive --expr LATEX --wrt VAR``: the derivative of any expression a user types, step by
step with each rule named (the generator the documents use, :mod:`symlearn.calculus.steps`),
every step checked; Markdown on stdout, or tex/md/pdf files with ``-o``.
"""

NAME = "derive"
HELP = "build one derivation (or the derivative of --expr) and write it as tex, md and/or pdf"

#: The file name (without suffix) of a derivative written with ``--expr ... -o FOLDER``.
EXPR_DOCUMENT = "derivative"


def configure(parser):
    from pathlib import Path

    from ._common import add_formats, add_source

    parser.add_argument(
        "name", nargs="?", default=None,
        help="the derivation's name (see 'symlearn list'); omit it with --expr",
    )
    parser.add_argument(
        "--expr", default=None, metavar="LATEX",
        help=r"differentiate this LaTeX expression step by step instead, e.g. "
             r"'\log(1 + e^{-y(w x + b)})' (needs --wrt)",
    )
    parser.add_argument("--wrt", default=None, metavar="VAR",
                        help="the variable of --expr to differentiate in, e.g. w or w_1")
    add_formats(parser)
    parser.add_argument(
        "-o", "--output", type=Path, default=None,
        help="output folder (default: outputs; with --expr, Markdown on stdout when omitted)",
    )
    add_source(parser)


def run(args) -> int:
    from pathlib import Path

    from ..cli import CommandError, UsageError
    from ..registry import UnknownDerivation, find
    from ._build import build_one
    from ._common import check_output_folder, load_entries

    if args.expr is not None or args.wrt is not None:
        return _run_expression(args)
    if args.name is None:
        raise UsageError("name a derivation (see 'symlearn list'), or give --expr and --wrt")
    output = args.output if args.output is not None else Path("outputs")
    check_output_folder(output)  # before loading (running) any source, like build
    entries = load_entries(args)
    try:
        entry = find(args.name, entries)
    except UnknownDerivation as error:
        raise UsageError(str(error)) from None
    formats = tuple(args.formats or ("tex", "md", "pdf"))
    outcome = build_one(entry, output, formats, pdf_required="pdf" in (args.formats or ()))
    for message in outcome.skipped:
        print(f"note: {message}")
    if outcome.error:
        raise CommandError(outcome.error)
    for path in outcome.files:
        print(path)
    return 0


def _run_expression(args) -> int:
    """``--expr``/``--wrt``: parse with the guarded parser (never ``sympify``), derive, print or
    write. Bad input is one sentence and exit 2."""
    from ..cli import CommandError, UsageError
    from ..parse import ParseError, parse_latex, parse_symbol
    from ._common import check_output_folder

    if args.name is not None:
        raise UsageError(f"give either a derivation's name ({args.name!r}) or --expr, not both")
    if args.expr is None or args.wrt is None:
        missing = "--wrt" if args.wrt is None else "--expr"
        raise UsageError(f"--expr and --wrt go together; {missing} is missing")
    if args.output is None and args.formats:
        raise UsageError("--format needs -o FOLDER; without it the steps go to stdout as Markdown")
    if args.source is not None:
        raise UsageError("--source names a folder of derivations; --expr does not use one")
    try:
        expr = parse_latex(args.expr, what="--expr")
        wrt = parse_symbol(args.wrt, what="--wrt")
    except ParseError as error:
        raise UsageError(str(error)) from None
    if wrt not in expr.free_symbols:
        names = ", ".join(sorted(str(s) for s in expr.free_symbols)) or "none"
        raise UsageError(
            f"--wrt {args.wrt!r}: the expression does not depend on {wrt} (its variables: {names})"
        )
    if args.output is not None:
        check_output_folder(args.output)
    derivation = _derivation(expr, wrt)
    if args.output is None:
        from ..render import to_markdown

        print(to_markdown(derivation), end="")
        return 0
    from ..render import PdfError, write_documents

    formats = tuple(args.formats or ("tex", "md", "pdf"))
    try:
        written = write_documents(derivation, args.output, formats,
                                  pdf_required="pdf" in (args.formats or ()))
    except PdfError as error:
        raise CommandError(str(error)) from None
    for message in written.skipped:
        print(f"note: {message}")
    for path in written.files:
        print(path)
    return 0


def _derivation(expr, wrt):
    """The checked document of ``d expr / d wrt``; a failing step (a rule that went wrong) is a
    :class:`CommandError`, never a wrong step shown."""
    import sympy as sp

    from ..calculus.steps import add_gradient_steps
    from ..cli import CommandError
    from ..derivation import Derivation, DerivationError
    from ..printing.latex import latex

    doc = Derivation(
        name=EXPR_DOCUMENT,
        title=f"The derivative in ${latex(wrt)}$, step by step",
        summary="Each step names its rule and was checked against SymPy.",
    )
    doc = doc.text(f"The expression: $f = {latex(expr)}$.")
    try:
        doc = add_gradient_steps(doc, expr, wrt, output=sp.Symbol("f"))
    except DerivationError as error:
        raise CommandError(f"a step could not be checked, so none is shown: {error}") from None
    except RecursionError as error:
        raise CommandError(str(error)) from None
    return doc
