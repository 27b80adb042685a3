r"""``symlearn verify``: check a hand-derived partial derivative written in LaTeX.

Exit codes: 0 correct, 1 wrong, 3 undetermined, 2 bad input (one sentence on stderr).
Heavy imports (sympy, the LaTeX parser) happen inside :func:`run`, so ``--help`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

NAME = "verify"
HELP = "Check a hand-derived partial derivative written in LaTeX: correct, wrong, or undetermined."
DESCRIPTION = r"""Check a claimed partial derivative of a scalar function, both written in LaTeX.

  symlearn verify LOSS_LATEX --wrt SYMBOL --claim CLAIM_LATEX [--json] [--assume 'x>0' ...]
  symlearn verify --file derivation.tex [--json]

Examples:
  symlearn verify '(y - w x - b)^2' --wrt w --claim '-2x(y - wx - b)'
  symlearn verify '-y\ln p' --wrt p --claim '-\frac{y}{p}'
  symlearn verify '\frac{1}{1+e^{-(w_1x_1+w_2x_2+b)}}' --wrt w_1 --claim 'x_1\sigma(z)(1-\sigma(z))'

Each LaTeX string is one shell argument (quote it); it may begin with '-'.

Conventions:
  e^{x} and \exp      the exponential; a bare e is Euler's number
  \log and \ln        the natural log; \log_2, \log_{10} take the base written
  \sigma(...)         the logistic sigmoid 1/(1+e^{-x}); \sigma alone is a variable
  \operatorname{softplus}(...), \operatorname{relu}(...), \tanh, \sqrt{}, |x|, \max(a, b)
  \frac{\partial}{\partial w}(...)   the derivative of the parenthesized expression
  \sum_{i=1}^{n} ...  both limits required; inside, x_i is the i-th entry of x
  adjacent letters    multiply: w_1x_1 is w_1 * x_1, and f(x) is f * x (no user functions)
  variables           all real; w_1 and w_{1} are the same; \gamma, I, E are plain variables;
                      \hat{y} is the variable yhat, \bar{x} is xbar
  --wrt               w_1 or w_{1}; \theta or theta; \hat{y} or yhat
  --assume            conditions on the domain, repeatable: 'x>0', '0<p<1', '\lambda \ge 0'

The claim is compared with the true derivative (sympy.diff) wherever the function is defined
and differentiable and the claim is defined, within the --assume conditions: so 1/|x| is a
correct claim for \ln x. First symbolically; otherwise at random points with 50-digit
arithmetic (mpmath), so a slip in the 8th digit is caught and round-off is not a slip.
Nothing is decided by solving equations.

Output: the verdict, the true derivative in LaTeX and, for a wrong claim, a point where the
claim differs (a counterexample, with both values) and the likely slip, each checked: sign
error, a constant factor, a dropped inner derivative, the wrong variable, a missing 1/n, a term
that is off. With --json, stdout is exactly one JSON object:
  {"verdict": "correct"|"wrong"|"undetermined", "counterexample": {name: number} or null,
   "expected": number or null, "claimed": number or null, "hint": string or null}
Counterexample keys are plain names (w_1, theta, yhat; x[2] for an entry inside a sum).

--file FILE reads a derivation holding a line 'L = ...' and a line
'\frac{\partial L}{\partial w_1} = ...' (the claim); --wrt/--claim override the file.

Exit codes: 0 correct, 1 wrong, 3 undetermined, 2 bad input (malformed LaTeX, an unknown or
invalid symbol, empty input: one sentence on stderr naming the column).

Speed: the LaTeX parser's prediction tables are cached between calls in ~/.cache/symlearn
($XDG_CACHE_HOME/symlearn; set SYMLEARN_CACHE_DIR to move it, or to '' to turn it off). The
first call on a machine builds them (a few seconds); the cache never changes a result."""

_VALUE_OPTIONS = ("--wrt", "--claim", "--assume", "--file", "--loss")
_FLAGS = ("--json", "-h", "--help")
_MAX_FILE_BYTES = 20_000


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("loss", nargs="?", metavar="LOSS_LATEX",
                        help="the scalar function, e.g. '(y - w x - b)^2'")
    parser.add_argument("--loss", dest="loss_option", help=argparse.SUPPRESS)
    parser.add_argument("--wrt", metavar="SYMBOL", help="the variable: w_1, b, \\theta, theta")
    parser.add_argument("--claim", metavar="CLAIM_LATEX", help="the claimed partial derivative")
    parser.add_argument("--assume", action="append", default=[], metavar="CONDITION",
                        help="a domain condition such as 'x>0' (repeatable)")
    parser.add_argument("--file", metavar="FILE",
                        help="a derivation with 'L = ...' and '\\frac{\\partial L}{\\partial w} = ...'")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def prepare_argv(argv: list[str]) -> list[str]:
    """Let LaTeX arguments that begin with '-' through argparse.

    ``--claim -\\frac{y}{p}`` becomes ``--claim=-\\frac{y}{p}``, and a loss such as ``-y\\ln p``
    (which argparse would take for an option) becomes ``--loss=-y\\ln p``.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            out.extend(argv[i:])
            break
        if token in _VALUE_OPTIONS and i + 1 < len(argv):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        is_option = token in _FLAGS or any(token.startswith(o + "=") for o in _VALUE_OPTIONS)
        if token.startswith("-") and not is_option and token not in _VALUE_OPTIONS:
            out.append(f"--loss={token}")
        else:
            out.append(token)
        i += 1
    return out


def _read_file(path: str) -> tuple[str | None, str | None, str | None]:
    """(loss, wrt, claim) from a derivation file; any of them may be missing."""
    from ..cli import UsageError

    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as error:
        raise UsageError(f"--file: cannot read {path!r}: {error.strerror or error}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise UsageError(f"--file: {path!r} is larger than {_MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--file: {path!r} is not UTF-8 text") from None
    loss = wrt = claim = None
    name = None
    for raw in text.splitlines():
        line = raw.split("%", 1)[0].strip().strip("$").strip().rstrip("\\").rstrip(",.").strip()
        if "=" not in line:
            continue
        lhs, rhs = (part.strip() for part in line.split("=", 1))
        lhs = lhs.replace("&", "").strip()
        rhs = rhs.replace("&", "").strip()
        partial = re.fullmatch(
            r"\\frac\s*\{\s*\\partial\s*([A-Za-z]\w*)\s*\}\s*\{\s*\\partial\s*(.+?)\s*\}", lhs
        )
        if partial and claim is None:
            if name is not None and partial.group(1) != name:
                continue
            wrt, claim = partial.group(2), rhs
        elif re.fullmatch(r"[A-Za-z](_\{?\w+\}?)?", lhs) and loss is None:
            name, loss = lhs, rhs
    return loss, wrt, claim


def _format_point(point: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in point.items())


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    if args.loss is not None and args.loss_option is not None:
        raise UsageError("give the loss once, as LOSS_LATEX")
    loss = args.loss if args.loss is not None else args.loss_option
    wrt, claim = args.wrt, args.claim
    if args.file is not None:
        file_loss, file_wrt, file_claim = _read_file(args.file)
        loss = loss if loss is not None else file_loss
        wrt = wrt if wrt is not None else file_wrt
        claim = claim if claim is not None else file_claim
    if loss is None:
        raise UsageError("missing LOSS_LATEX: expected the function, e.g. '(y - w x - b)^2'")
    if wrt is None:
        raise UsageError("missing --wrt: expected the variable, e.g. --wrt w_1")
    if claim is None:
        raise UsageError("missing --claim: expected the claimed derivative in LaTeX")
    if not re.match(r"\s*\\?[A-Za-z]", wrt):
        # Every variable begins with a letter or a backslash command (w_1, \theta): anything else
        # is refused here, before SymPy and the parser are loaded (an error should be instant).
        raise UsageError(f"wrt: {wrt!r} is not a variable name such as w_1, b or \\theta at column 1")
    from .. import _parser_cache
    from ..parse import ParseError
    from ..verify import verify_gradient

    # A command line is a short process: the parser starts from the DFA earlier ones built (and
    # saves what it adds after the answer is printed).
    try:
        with _parser_cache.cached():
            verdict = verify_gradient(loss, wrt, claim, assume=tuple(args.assume))
            _report(verdict, args.json)
    except ParseError as error:
        raise UsageError(" ".join(str(error).split())) from None
    except RecursionError:
        raise UsageError("the formula is nested too deeply to analyse") from None
    return {"correct": 0, "wrong": 1, "undetermined": 3}[verdict.verdict]


def _report(verdict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(verdict.to_json()))
    else:
        print(f"verdict: {verdict.verdict}")
        print(f"true derivative: {verdict.derivative_latex}")
        if verdict.verdict == "wrong":
            print(f"counterexample: {_format_point(verdict.counterexample)}")
            print(f"  true derivative there: {verdict.expected!r}")
            print(f"  claim there:           {verdict.claimed!r}")
        if verdict.hint:
            label = "why" if verdict.verdict == "undetermined" else "hint"
            print(f"{label}: {verdict.hint}")
        if verdict.reason and verdict.verdict != "undetermined":
            print(f"how: {verdict.reason}")
    sys.stdout.flush()
