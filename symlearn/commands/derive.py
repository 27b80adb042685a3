"""``symlearn derive NAME``: build one derivation, check every step, write its documents.

``symlearn derive --expr LATEX --wrt VAR``: the derivative of any expression a user types, step by
step with each rule named (the generator the documents use, :mod:`symlearn.calculus.steps`),
every step checked; Markdown on stdout, or tex/md/pdf files with ``-o``.

Any expression means hostile ones too (issue 15): a 30-deep tower of exponentials, a product of
40 factors, ``(a+b+c+d)^{1000}`` can make SymPy work for minutes or take gigabytes inside C code
that no signal interrupts. So parsing and deriving run in a forked worker under a deadline
(``--timeout``, default 10 s) and a memory ceiling (``--memory``, default 2G), the machinery of
``symlearn verify`` (:mod:`symlearn._budget`): an overrun is one sentence and exit 1, never a
hang, and no step is shown. Exit codes: 0 the steps, 1 no derivation (a deadline, a step that
failed its check), 2 bad input (one sentence naming the argument).
"""

NAME = "derive"
HELP = "build one derivation (or the derivative of --expr) and write it as tex, md and/or pdf"

#: The file name (without suffix) of a derivative written with ``--expr ... -o FOLDER``.
EXPR_DOCUMENT = "derivative"


#: Options whose value may begin with '-' (``--expr -x^2``): see :func:`prepare_argv`.
_VALUE_OPTIONS = ("--expr", "--wrt", "--timeout", "--memory")


def prepare_argv(argv: list[str]) -> list[str]:
    """``--expr -x^2`` becomes ``--expr=-x^2`` (argparse would take ``-x^2`` for an option and
    print a usage block instead of one sentence)."""
    from ._common import glue_option_values

    return glue_option_values(argv, _VALUE_OPTIONS)


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
    parser.add_argument("--timeout", metavar="SECONDS", default="10",
                        help="with --expr: deadline of the derivation (default 10)")
    parser.add_argument("--memory", metavar="SIZE", default="2G",
                        help="with --expr: memory ceiling of the derivation (default 2G; 512M, "
                             "bytes)")
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
    """``--expr``/``--wrt``: parse with the guarded parser (never ``sympify``) and derive in a
    budgeted worker, then print or write. Bad input is one sentence and exit 2; a derivation
    that cannot be finished (deadline, memory, a failed check) one sentence and exit 1."""
    from .. import _parser_cache
    from ..cli import UsageError
    from ._common import check_output_folder
    from .verify import _limits

    if args.name is not None:
        raise UsageError(f"give either a derivation's name ({args.name!r}) or --expr, not both")
    if args.expr is None or args.wrt is None:
        missing = "--wrt" if args.wrt is None else "--expr"
        raise UsageError(f"--expr and --wrt go together; {missing} is missing")
    if args.output is None and args.formats:
        raise UsageError("--format needs -o FOLDER; without it the steps go to stdout as Markdown")
    if args.source is not None:
        raise UsageError("--source names a folder of derivations; --expr does not use one")
    timeout, memory = _limits(args)
    if args.output is not None:
        check_output_folder(args.output)
    from .. import parse as _parse  # noqa: F401 - imported before the fork, not in the worker
    from ..calculus import steps as _steps  # noqa: F401

    with _parser_cache.cached():
        derivation = _budgeted(args.expr, args.wrt, timeout, memory)
    if args.output is None:
        from ..render import to_markdown

        print(to_markdown(derivation), end="")
        return 0
    from ..cli import CommandError
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


#: The longest message passed on from the derivation (a failed step names its expressions, which
#: for a hostile input can be kilobytes): one sentence stays readable.
_MAX_MESSAGE = 400


def _sentence(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "\u2026"


def _budgeted(expr_text: str, wrt_text: str, timeout: float, memory: int):
    """:func:`_parse_and_derive` in a forked worker under the deadline and the ceiling; every
    way it can end is a document or one sentence (UsageError exit 2, CommandError exit 1)."""
    from .._budget import BudgetExceeded, call, format_size
    from ..cli import CommandError, UsageError

    try:
        return call(_parse_and_derive, expr_text, wrt_text, timeout=timeout, memory=memory)
    except (UsageError, CommandError):
        raise
    except BudgetExceeded as error:
        if error.kind == "timeout":
            raise CommandError(f"the derivation ran over its {timeout:g} s deadline (--timeout); "
                               "no step is shown") from None
        if error.kind == "memory":
            raise CommandError(f"the derivation needed more than {format_size(memory)} of memory "
                               "(--memory); no step is shown") from None
        raise CommandError(f"{_sentence(error)}; no step is shown") from None
    except RecursionError:
        raise UsageError("--expr: the formula is nested too deeply to differentiate") from None
    except MemoryError:
        raise CommandError("the derivation ran out of memory; no step is shown") from None
    except Exception as error:  # noqa: BLE001 - SymPy's own failures: one sentence, said so
        raise CommandError(f"the derivation failed ({type(error).__name__}: "
                           f"{_sentence(error)}); no step is shown") from None


def _parse_and_derive(expr_text: str, wrt_text: str):
    """In the worker: parse ``--expr`` and ``--wrt`` and build the checked document."""
    from .. import _parser_cache
    from ..calculus.steps import NotDifferentiableError
    from ..cli import UsageError
    from ..parse import ParseError, parse_latex, parse_symbol

    try:
        expr = parse_latex(expr_text, what="--expr")
        wrt = parse_symbol(wrt_text, what="--wrt")
    except ParseError as error:
        raise UsageError(_sentence(error)) from None
    finally:
        _parser_cache.save_if_grown()  # the worker's parser states die with it otherwise
    _refuse_index_reuse(expr)
    if wrt not in expr.free_symbols:
        raise UsageError(_independent(expr, wrt, wrt_text))
    try:
        return _derivation(expr, wrt)
    except NotDifferentiableError as error:
        raise UsageError(f"--wrt {wrt_text!r}: {_sentence(error)}") from None


def _refuse_index_reuse(expr) -> None:
    """The parser reads the index of ``\\sum_{i=1}^{3} i x`` as an integer symbol and the ``i``
    in the terms as another (real) variable, so the sum would be ``3 i x``, not ``6 x``: its
    derivative would be shown for a formula the user did not mean. Refused, one sentence."""
    import sympy as sp

    from ..cli import UsageError

    for total in expr.atoms(sp.Sum, sp.Product):
        indices = {str(limit[0]) for limit in total.limits}
        clash = sorted(str(s) for s in total.function.free_symbols
                       if str(s) in indices and s not in {limit[0] for limit in total.limits})
        if clash:
            raise UsageError(
                f"--expr: the index {clash[0]} of a sum is also used as a number in its terms, "
                f"which is not supported (use {clash[0]} in the terms only as a subscript, "
                "as in x_i)")


def _independent(expr, wrt, wrt_text: str) -> str:
    """Why ``expr`` does not depend on ``wrt``, in one sentence (an entry ``x_1`` of a vector
    summed as ``x_i`` is named as such, not called absent)."""
    import sympy as sp

    names = sorted({str(s) for s in expr.free_symbols if isinstance(s, sp.Symbol)})
    listed = ", ".join(names) or "none"
    bases = sorted({str(i.base) for i in expr.atoms(sp.Indexed)})
    entry = next((b for b in bases if str(wrt).startswith(f"{b}_")), None)
    if entry is not None:
        return (f"--wrt {wrt_text!r}: {wrt} is an entry of {entry}, which the expression only "
                f"uses as {entry}_i inside a sum; a derivative in one entry of a summed vector "
                "is not supported (differentiate the sum's term, or write the entries out)")
    return (f"--wrt {wrt_text!r}: the expression does not depend on {wrt} "
            f"(its variables: {listed})")


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
        raise CommandError(
            f"a step could not be checked, so none is shown: {_sentence(error)}") from None
    except RecursionError as error:
        raise CommandError(f"{_sentence(error)}; no step is shown") from None
    return doc
