r"""``symlearn verify``: check a hand-derived partial derivative written in LaTeX.

Exit codes: 0 correct, 1 wrong, 3 undetermined, 2 bad input (one sentence on stderr).
Heavy imports (sympy, the LaTeX parser) happen inside :func:`run`, so ``--help`` starts fast.
Every check runs under a deadline and a memory ceiling (:mod:`symlearn._budget`): a check that
runs over is "undetermined" with the reason, never a hang. ``--batch`` checks a JSON-lines file
with a pool of forked workers, streaming one result line per input line, in order.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import select
import stat
import sys
import time

NAME = "verify"
HELP = "Check a hand-derived partial derivative written in LaTeX: correct, wrong, or undetermined."
DESCRIPTION = r"""Check a claimed partial derivative of a scalar function, both written in LaTeX.

  symlearn verify LOSS_LATEX --wrt SYMBOL --claim CLAIM_LATEX [--json] [--assume 'x>0' ...]
                  [--let 'z=w_1x_1+b' ...] [--timeout SECONDS] [--memory SIZE]
  symlearn verify LOSS --wrt W --claim CLAIM --shape X=n,d --shape w=d ...   (matrix form)
  symlearn verify --file derivation.tex [--json]      (--file - or a lone - reads stdin)
  symlearn verify --batch cases.jsonl [--jobs N]      (--batch - reads stdin)

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
  --let               a definition substituted before judging, repeatable: 'z=w_1x_1+w_2x_2+b'

The claim is compared with the true derivative (sympy.diff) wherever the function is defined
and differentiable and the claim is defined, within the --assume conditions: so 1/|x| is a
correct claim for \ln x. First symbolically; otherwise at random points with 50-digit
arithmetic (mpmath), so a slip in the 8th digit is caught and round-off is not a slip.
Nothing is decided by solving equations.

Output: the verdict, the true derivative in LaTeX and, for a wrong claim, a point where the
claim differs (a counterexample, with both values) and the likely slip, each checked: sign
error, a constant factor, a dropped inner derivative, the wrong variable, a missing 1/n, a term
that is off. With --json, stdout is exactly one JSON object (strict JSON: a number that is not
finite is written as null and a sentence in "warnings" names it):
  {"verdict": "correct"|"wrong"|"undetermined",
   "counterexample": {name: number} or null  (null unless wrong),
   "expected": number or null, "claimed": number or null  (the two sides there; null unless wrong),
   "hint": string or null  (the likely slip; for undetermined, why),
   "derivative": LaTeX of the true derivative, or null when the check did not get that far,
   "warnings": [sentence, ...]}
Counterexample keys are plain names (w_1, theta, yhat; x[2] for an entry inside a sum).

Budget: every check has a deadline (--timeout SECONDS, default 10) and a memory ceiling
(--memory SIZE, default 2G; 512M, 1.5G or bytes), enforced in a worker process that is killed
when it runs over: the verdict is then "undetermined" with the reason as its hint (exit 3).
Reading a --file pipe has the same deadline.

--file FILE reads a derivation holding a line 'L = ...' (also inside \[ ... \] or $$ ... $$) and
a line '\frac{\partial L}{\partial w_1} = ...' (the claim); --wrt/--claim override the file.
FILE may be a pipe; '-' is standard input. At most 1 MB of UTF-8 text.

--batch FILE (graders' mode) reads one JSON object a line:
  {"id": ..., "loss": "...", "wrt": "...", "claim": "...", "assume": ..., "let": ...}
(id a string or an integer; assume and let optional, each a string or a list of strings) and
writes one JSON object a line, in the same order, each as soon as it and all before it are done:
  {"id": ..., <the keys above>, "error": null or the message}
with "verdict" "bad_input" for a line that is not such an object (or whose formulas cannot be
read): "error" says why and "id" is the line's own id if readable, else its line number.
--jobs N worker processes (default: the CPU count); --timeout and --memory apply to each case
(a case over them is "undetermined" and the batch goes on). Exit 0 when every line got a
result, 2 when the file cannot be read.

Matrix form (--shape): a scalar loss over matrices and vectors, a gradient in matrix form.
  symlearn verify '\frac{1}{n}\|Xw-y\|^2' --wrt w --claim '\frac{2}{n}X^T(Xw-y)'
                  --shape X=n,d --shape w=d --shape y=n
  symlearn verify 'x^TAx' --wrt x --claim '(A+A^T)x' --shape A=d,d --shape x=d
  symlearn verify '\log\det S' --wrt S --claim 'S^{-1}' --shape S=d,d,spd
  --shape NAME=DIMS   repeatable; each DIM a dimension name (n, d) or an integer; one DIM is a
                      column vector (d x 1); a trailing ,symmetric or ,spd declares a symmetric
                      or symmetric positive definite square matrix (the domain of \log\det)
  names               a name without --shape is a scalar (^T on it is an error), e is Euler's
                      number (e^{Xw} elementwise); a dimension
                      name used in the formula (\frac{1}{n}) is that size; \mathbf{x} is x;
                      W_1, W_{1} and --shape W1=... are one name; products keep their order;
                      Greek names are whole (--shape '\mu=d' is \mu); I (undeclared) is the
                      identity, its size from the square matrix it is added to or the matrix
                      it multiplies ((X^TX + \lambda I)^{-1}), I_d of size d
  notation            ^T ^\top ^{-1} ^{-T} ^2 (square matrix power), \|v\| \|v\|^2 \|M\|_F,
                      \operatorname{tr}(...), \det, \log\det, \odot (Hadamard), \mathbf{1}
                      (ones; \mathbf{1}^T v sums v), \sigma, \operatorname{relu}, softplus,
                      step, \exp, \log, \tanh applied elementwise to a matrix,
                      \operatorname{softmax} and \operatorname{logsumexp} (row-wise),
                      \operatorname{sum}; a scalar added to a vector is added to each entry;
                      ambiguous forms are refused: A \odot B C (write (A \odot B) C or
                      A \odot (B C)) and \tanh Xw (write \tanh(Xw))
The verdict: a symbolic matrix identity where SymPy shows one (confirmed by sympy.diff of the
loss written out), else 30-digit evaluation at 3 draws of the dimension sizes (2, 3, 4 in
turn: non-square) and 2 scales; relu/step need arguments on both sides of the kink for
"correct", else "undetermined". A claim whose shape is not the variable's is wrong, and the
hint names both shapes. Hints: transposed result, product in the wrong order, A where A + A^T,
a missing 2 or 1/n. JSON adds "sizes" {dimension: integer} (null unless wrong by evaluation);
counterexample, expected and claimed hold nested lists (rows) for matrices and vectors.
--assume and --let are not available in matrix form. --batch lines take "shape": ["X=n,d", ...].

Exit codes: 0 correct, 1 wrong, 3 undetermined, 2 bad input (malformed LaTeX, an unknown or
invalid symbol, empty input: one sentence on stderr naming the column).

Speed: the LaTeX parser's prediction tables are cached between calls in ~/.cache/symlearn
($XDG_CACHE_HOME/symlearn; set SYMLEARN_CACHE_DIR to move it, or to '' to turn it off). The
first call on a machine builds them (a few seconds); the cache never changes a result."""

_VALUE_OPTIONS = ("--wrt", "--claim", "--assume", "--file", "--loss", "--let", "--timeout",
                  "--memory", "--batch", "--jobs", "--shape")
_FLAGS = ("--json", "-h", "--help")
#: The largest --file accepted (a derivation is a few lines; a formula a few hundred characters).
_MAX_FILE_BYTES = 2**20
#: The longest line of a --batch file (one case: four formulas and a few conditions).
_MAX_LINE_BYTES = 2**20
#: The keys of every verdict object, in order (issue 12's JSON contract); batch results add
#: ``id`` first and ``error`` last.
SCHEMA = ("verdict", "counterexample", "expected", "claimed", "hint", "derivative", "warnings")
_BATCH_FIELDS = ("id", "loss", "wrt", "claim", "assume", "let", "shape")
_READ_CHUNK = 1 << 16


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("loss", nargs="?", metavar="LOSS_LATEX",
                        help="the scalar function, e.g. '(y - w x - b)^2' ('-': read --file from "
                             "standard input)")
    parser.add_argument("--loss", dest="loss_option", help=argparse.SUPPRESS)
    parser.add_argument("--wrt", metavar="SYMBOL", help="the variable: w_1, b, \\theta, theta")
    parser.add_argument("--claim", metavar="CLAIM_LATEX", help="the claimed partial derivative")
    parser.add_argument("--assume", action="append", default=[], metavar="CONDITION",
                        help="a domain condition such as 'x>0' (repeatable)")
    parser.add_argument("--let", action="append", default=[], metavar="DEFINITION",
                        help="a definition such as 'z=w_1x_1+b', substituted before judging "
                             "(repeatable)")
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS",
                        help="matrix form: declare a matrix or vector, e.g. X=n,d or w=d or "
                             "S=d,d,spd (repeatable)")
    parser.add_argument("--file", metavar="FILE",
                        help="a derivation with 'L = ...' and '\\frac{\\partial L}{\\partial w} "
                             "= ...' ('-': standard input)")
    parser.add_argument("--batch", metavar="FILE.jsonl",
                        help="check one JSON case a line, write one JSON result a line ('-': "
                             "standard input)")
    parser.add_argument("--jobs", metavar="N", help="--batch worker processes (default: the "
                                                   "CPU count)")
    parser.add_argument("--timeout", metavar="SECONDS", default="10",
                        help="deadline of the check (default 10)")
    parser.add_argument("--memory", metavar="SIZE", default="2G",
                        help="memory ceiling of the check (default 2G; 512M, bytes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def prepare_argv(argv: list[str]) -> list[str]:
    """Let LaTeX arguments that begin with '-' through argparse.

    ``--claim -\\frac{y}{p}`` becomes ``--claim=-\\frac{y}{p}``, and a loss such as ``-y\\ln p``
    (which argparse would take for an option) becomes ``--loss=-y\\ln p``.
    """
    from ._common import glue_option_values

    return glue_option_values(argv, _VALUE_OPTIONS, _FLAGS, stray="--loss")


# -- the budget options -------------------------------------------------------------------------

def _limits(args: argparse.Namespace) -> tuple[float, int]:
    from .._budget import parse_size
    from ..cli import UsageError

    try:
        timeout = float(args.timeout)
    except ValueError:
        timeout = math.nan
    if not (math.isfinite(timeout) and 0 < timeout <= 86_400):
        raise UsageError(f"--timeout: {args.timeout!r} is not a number of seconds above 0 and at "
                         f"most 86400, such as 10 or 2.5")
    try:
        memory = parse_size(args.memory)
    except ValueError as error:
        raise UsageError(f"--memory: {error}") from None
    return timeout, memory


def _jobs(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    if args.jobs is None:
        return os.cpu_count() or 1
    try:
        jobs = int(args.jobs)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= 256:
        raise UsageError(f"--jobs: {args.jobs!r} is not a number of processes from 1 to 256")
    return jobs


# -- strict JSON --------------------------------------------------------------------------------

def strict_json(value, warnings: list[str], where: str = "the result"):
    """``value`` with every number that is not finite replaced by ``None`` (and a sentence in
    ``warnings`` naming it), and anything that is not a JSON type made one (a SymPy number a
    float, anything else its text), so ``json.dumps(..., allow_nan=False)`` cannot fail."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        warnings.append(f"{where} is not a finite number ({value}); it is written as null")
        return None
    if isinstance(value, dict):
        return {str(k): strict_json(v, warnings, f"{where}'s {k}" if where != "the result"
                                    else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v, warnings, f"{where}[{i}]") for i, v in enumerate(value)]
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return str(value)
    return strict_json(number, warnings, where)


def dumps(obj: dict) -> str:
    """One line of strict JSON for a verdict object: non-finite numbers become null, and the
    sentences that say so are appended to its ``warnings``."""
    extra: list[str] = []
    clean = strict_json(obj, extra)
    if extra:
        clean["warnings"] = [*(clean.get("warnings") or []), *extra]
    return json.dumps(clean, allow_nan=False)


def _undetermined(reason: str) -> dict:
    return {"verdict": "undetermined", "counterexample": None, "expected": None,
            "claimed": None, "hint": reason, "derivative": None, "warnings": []}


# -- the check (in the budget's worker) ---------------------------------------------------------

def _verdict_object(verdict) -> dict:
    """The verdict as the JSON contract's keys, in order (whatever version of ``Verdict``)."""
    raw = dict(verdict.to_json())
    raw.setdefault("derivative", getattr(verdict, "derivative_latex", None) or None)
    raw.setdefault("warnings", list(getattr(verdict, "warnings", ()) or ()))
    raw["warnings"] = list(raw["warnings"] or [])
    obj = {key: raw.get(key) for key in SCHEMA}
    if "sizes" in raw:  # matrix form (issue 13): the counterexample's dimension sizes
        obj["sizes"] = raw["sizes"]
    return obj


def _supports_let() -> bool:
    import inspect

    from ..verify import verify_gradient

    return "let" in inspect.signature(verify_gradient).parameters


def _check(loss: str, wrt: str, claim: str, assume: tuple, let: tuple,
           shapes: tuple = ()) -> tuple[dict, str]:
    """verify_gradient in the worker: (the verdict object, the sentence saying how). The parser
    states this process added are saved here, since they die with the worker."""
    from .. import _parser_cache
    from ..verify import verify_gradient

    options = {"let": let} if let else {}
    if shapes:
        options["shapes"] = _shapes(shapes)
    if let and not _supports_let():
        from ..parse import ParseError

        raise ParseError("--let: definitions are not supported by this version of verify", 0)
    # This is already the budgeted worker: no second fork inside it.
    verdict = verify_gradient(loss, wrt, claim, assume=assume, timeout=None, **options)
    _parser_cache.save_if_grown()
    return _verdict_object(verdict), getattr(verdict, "reason", "") or ""


def _shapes(specs) -> dict:
    """``--shape NAME=DIMS`` options -> ``{name: "DIMS"}``; a malformed one is a ParseError."""
    from ..parse import ParseError, parse_shape

    shapes: dict = {}
    for spec in specs:
        name = parse_shape(spec)[0]
        if name in shapes:
            raise ParseError(f"--shape: {name} is declared twice at column 1", 0)
        shapes[name] = spec.partition("=")[2]
    return shapes


def _one_sentence(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _run_check(loss, wrt, claim, assume, let, timeout, memory,
               shapes: tuple = ()) -> tuple[dict, str]:
    """The check under the budget; what cannot be judged is undetermined, bad input a
    UsageError (one sentence), never a traceback."""
    from .._budget import BudgetExceeded, call
    from ..cli import UsageError

    try:
        return call(_check, loss, wrt, claim, assume, let, shapes, timeout=timeout,
                    memory=memory)
    except BudgetExceeded as error:
        return _undetermined(error.reason), error.reason
    except RecursionError:
        raise UsageError("the formula is nested too deeply to analyse") from None
    except ValueError as error:  # ParseError and every refusal of bad input
        raise UsageError(_one_sentence(error)) from None
    except MemoryError:
        reason = "the check ran out of memory"
        return _undetermined(reason), reason
    except Exception as error:  # noqa: BLE001 - SystemError in SymPy, ...: undetermined, said so
        reason = f"the check failed ({type(error).__name__}: {_one_sentence(error)})"
        return _undetermined(reason), reason


# -- reading a file or a pipe within the deadline -----------------------------------------------

def _open_input(path: str, option: str) -> tuple[int, bool]:
    """A file descriptor to read ``path`` from ('-' is standard input) and whether to close it.
    Regular files, pipes (FIFOs) and sockets only: a directory or a device is refused."""
    from ..cli import UsageError

    if path == "-":
        fd, owned = sys.stdin.fileno() if sys.stdin is not None else -1, False
        if fd < 0:
            raise UsageError(f"{option}: there is no standard input to read")
    else:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        except OSError as error:
            raise UsageError(f"{option}: cannot read {path!r}: "
                             f"{error.strerror or error}") from None
        owned = True
    try:
        mode = os.fstat(fd).st_mode
    except OSError as error:
        if owned:
            os.close(fd)
        raise UsageError(f"{option}: cannot read {path!r}: {error.strerror or error}") from None
    readable = stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
    if path == "-":
        readable = readable or stat.S_ISCHR(mode)  # a terminal, or < /dev/null
    if not readable:
        if owned:
            os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file or a pipe"
        raise UsageError(f"{option}: {path!r} is {kind}")
    return fd, owned


def _read_within(fd: int, path: str, option: str, deadline: float, limit: int) -> bytes:
    """All of ``fd`` (at most ``limit`` bytes) by ``deadline``: a pipe that does not end in time
    is one sentence, not a hang."""
    from ..cli import UsageError

    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise UsageError(f"{option}: {path!r} did not end within the --timeout deadline")
        try:
            ready, _, _ = select.select([fd], [], [], left)
        except InterruptedError:
            continue
        if not ready:
            continue
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            continue
        except OSError as error:
            raise UsageError(f"{option}: cannot read {path!r}: "
                             f"{error.strerror or error}") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise UsageError(f"{option}: {path!r} is larger than {limit // 2**20} MB; a "
                             f"derivation is a few lines")


def _read_file(path: str, timeout: float) -> tuple[str | None, str | None, str | None]:
    """(loss, wrt, claim) from a derivation file or pipe; any of them may be missing."""
    from ..cli import UsageError

    fd, owned = _open_input(path, "--file")
    try:
        data = _read_within(fd, path, "--file", time.monotonic() + timeout, _MAX_FILE_BYTES)
    finally:
        if owned:
            os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--file: {path!r} is not UTF-8 text") from None
    return parse_derivation(text)


_PARTIAL = re.compile(
    r"\\frac\s*\{\s*\\partial\s*([A-Za-z]\w*)\s*\}\s*\{\s*\\partial\s*(.+?)\s*\}")
_NAME = re.compile(r"[A-Za-z](_\{?\w+\}?)?")


def _strip_display(line: str) -> str:
    """A line without its comment, display fences (\\[ \\], $$, $), alignment and end marks."""
    line = line.split("%", 1)[0].strip()
    for opening, closing in (("\\[", "\\]"), ("$$", "$$"), ("\\(", "\\)")):
        line = line.removeprefix(opening)
        line = line.removesuffix(closing)
    line = line.strip().strip("$").strip()
    while line.endswith("\\\\"):
        line = line[:-2].rstrip()
    return line.rstrip(",.").strip()


def parse_derivation(text: str) -> tuple[str | None, str | None, str | None]:
    r"""(loss, wrt, claim) from a derivation's text: the first line ``L = ...`` (a one-letter
    name, optionally subscripted, possibly inside ``\[ \]`` or ``$$ $$``) and the first line
    ``\frac{\partial L}{\partial w} = ...`` for the same name."""
    loss = wrt = claim = None
    name = None
    for raw in text.splitlines():
        line = _strip_display(raw)
        if "=" not in line:
            continue
        lhs, rhs = (part.strip() for part in line.split("=", 1))
        lhs = lhs.replace("&", "").strip()
        rhs = rhs.replace("&", "").strip()
        partial = _PARTIAL.fullmatch(lhs)
        if partial and claim is None:
            if name is not None and partial.group(1) != name:
                continue
            wrt, claim = partial.group(2), rhs
        elif _NAME.fullmatch(lhs) and loss is None:
            name, loss = lhs, rhs
    return loss, wrt, claim


# -- one call -----------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    timeout, memory = _limits(args)
    if args.batch is not None:
        given = [name for name, value in (
            ("LOSS_LATEX", args.loss if args.loss is not None else args.loss_option),
            ("--file", args.file), ("--wrt", args.wrt), ("--claim", args.claim),
            ("--assume", args.assume), ("--let", args.let), ("--shape", args.shape))
            if value not in (None, [])]
        if given:
            raise UsageError(f"--batch: give {given[0]} in each line of the file (as a field), "
                             f"not on the command line")
        return run_batch(args.batch, _jobs(args), timeout, memory)
    if args.jobs is not None:
        raise UsageError("--jobs: worker processes are for --batch; a single check uses one")
    if args.loss is not None and args.loss_option is not None:
        raise UsageError("give the loss once, as LOSS_LATEX")
    loss = args.loss if args.loss is not None else args.loss_option
    source = args.file
    if loss == "-" and source is None:  # 'symlearn verify -': the derivation on standard input
        loss, source = None, "-"
    wrt, claim = args.wrt, args.claim
    if source is not None:
        file_loss, file_wrt, file_claim = _read_file(source, timeout)
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
    from .. import verify as _verify  # noqa: F401 - imported before the fork, not in the worker

    # A command line is a short process: the parser starts from the DFA earlier ones built; the
    # worker saves what it adds.
    with _parser_cache.cached():
        if args.shape:
            try:
                _shapes(args.shape)  # a malformed --shape is refused before the worker starts
            except ValueError as error:
                raise UsageError(_one_sentence(error)) from None
        obj, how = _run_check(loss, wrt, claim, tuple(args.assume), tuple(args.let),
                              timeout, memory, tuple(args.shape))
    _report(obj, how, args.json)
    return {"correct": 0, "wrong": 1, "undetermined": 3}[obj["verdict"]]


def _format_point(point: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in point.items())


def _report(obj: dict, how: str, as_json: bool) -> None:
    if as_json:
        print(dumps(obj))
    else:
        print(f"verdict: {obj['verdict']}")
        if obj["derivative"] is not None:
            print(f"true derivative: {obj['derivative']}")
        if obj["verdict"] == "wrong" and obj.get("sizes") is None and "sizes" in obj:
            pass  # matrix form, wrong by shape: the hint says which shapes differ
        elif obj["verdict"] == "wrong":
            if obj.get("sizes"):
                print(f"sizes: {_format_point(obj['sizes'])}")
            print(f"counterexample: {_format_point(obj['counterexample'] or {})}")
            print(f"  true derivative there: {obj['expected']!r}")
            print(f"  claim there:           {obj['claimed']!r}")
        if obj["hint"]:
            label = {"undetermined": "why", "correct": "how"}.get(obj["verdict"], "hint")
            print(f"{label}: {obj['hint']}")
        if how and obj["verdict"] != "undetermined" and how != obj["hint"]:
            print(f"how: {how}")
        for warning in obj["warnings"] or []:
            print(f"warning: {warning}")
    sys.stdout.flush()


# -- graders' batch mode ------------------------------------------------------------------------

def _strings(value, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"field {field!r} must be a string or a list of strings")


def _no_duplicates(pairs: list) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"field {key!r} is given twice")
        seen[key] = value
    return seen


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _decode_case(line: bytes, number: int) -> tuple[object, dict]:
    """(id, the case's fields) of one batch line; raises ValueError naming what is wrong, with
    the id (if readable) as the error's ``case_id``."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise _BadLine(number, f"line {number} is not UTF-8 text") from None
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except ValueError as error:
        raise _BadLine(number, f"line {number} is not valid JSON: {_one_sentence(error)}") from None
    except RecursionError:
        raise _BadLine(number, f"line {number} is nested too deeply to be a case") from None
    if not isinstance(obj, dict):
        raise _BadLine(number, f"line {number} is not a JSON object with id, loss, wrt and claim")
    case_id = obj.get("id")
    if not (isinstance(case_id, str) or (isinstance(case_id, int)
                                         and not isinstance(case_id, bool))):
        what = "has no field 'id'" if "id" not in obj else "has an id that is not a string or an integer"
        raise _BadLine(number, f"line {number} {what}")
    unknown = sorted(set(obj) - set(_BATCH_FIELDS))
    if unknown:
        raise _BadLine(case_id, f"unknown field {unknown[0]!r}; expected "
                                f"{', '.join(_BATCH_FIELDS)}")
    for field in ("loss", "wrt", "claim"):
        if field not in obj:
            raise _BadLine(case_id, f"missing field {field!r}")
        if not isinstance(obj[field], str):
            raise _BadLine(case_id, f"field {field!r} must be a string")
    try:
        assume = _strings(obj.get("assume", []), "assume")
        let = _strings(obj.get("let", []), "let")
        shape = _strings(obj.get("shape", []), "shape")
    except ValueError as error:
        raise _BadLine(case_id, str(error)) from None
    return case_id, {"loss": obj["loss"], "wrt": obj["wrt"], "claim": obj["claim"],
                     "assume": assume, "let": let, "shape": shape}


class _BadLine(ValueError):
    def __init__(self, case_id, message: str):
        super().__init__(message)
        self.case_id = case_id


def _result(case_id, obj: dict, error: str | None = None) -> dict:
    sizes = {"sizes": obj["sizes"]} if "sizes" in obj else {}
    return {"id": case_id, **{key: obj.get(key) for key in SCHEMA}, **sizes, "error": error}


def _bad_input(case_id, message: str) -> dict:
    return {"id": case_id, "verdict": "bad_input", "counterexample": None, "expected": None,
            "claimed": None, "hint": None, "derivative": None, "warnings": [], "error": message}


def _batch_case(line: bytes, number: int) -> dict:
    """One batch line, judged in a pool worker: its result object (never raises for the case's
    sake: bad input is a "bad_input" result)."""
    try:
        case_id, case = _decode_case(line, number)
    except _BadLine as error:
        return _bad_input(error.case_id, str(error))
    try:
        obj, _ = _check(case["loss"], case["wrt"], case["claim"], case["assume"], case["let"],
                        case["shape"])
    except RecursionError:
        return _bad_input(case_id, "the formula is nested too deeply to analyse")
    except ValueError as error:
        return _bad_input(case_id, _one_sentence(error))
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - SystemError in SymPy, ...: undetermined, said so
        return _result(case_id, _undetermined(
            f"the check failed ({type(error).__name__}: {_one_sentence(error)})"))
    return _result(case_id, obj)


def _line_id(line: bytes, number: int):
    """The case's own id for a result the worker could not give (it ran over), else its line
    number."""
    try:
        case_id, _ = _decode_case(line, number)
    except ValueError as error:
        return getattr(error, "case_id", number)
    return case_id


def _save_cache_in_worker() -> None:
    from .. import _parser_cache

    _parser_cache.save_if_grown()


class _Lines:
    """Lines of a file descriptor read without blocking: feed on readiness, take whole lines."""

    def __init__(self, fd: int):
        self.fd, self.buffer, self.number, self.eof = fd, bytearray(), 0, False
        self.skipping = False  # inside a line longer than the limit

    def feed(self) -> list[tuple[int, bytes | None]]:
        """Read what is there: ``(line number, line)`` pairs, the line None when too long."""
        try:
            chunk = os.read(self.fd, _READ_CHUNK)
        except BlockingIOError:
            return []
        if not chunk:
            self.eof = True
            tail, self.buffer = bytes(self.buffer), bytearray()
            return self._emit([tail]) if tail or self.skipping else []
        self.buffer += chunk
        *whole, rest = bytes(self.buffer).split(b"\n")
        self.buffer = bytearray(rest)
        out = self._emit(whole)
        if len(self.buffer) > _MAX_LINE_BYTES and not self.skipping:
            self.number += 1
            out.append((self.number, None))
            self.skipping, self.buffer = True, bytearray()
        elif self.skipping:
            self.buffer = bytearray()
        return out

    def _emit(self, lines: list[bytes]) -> list[tuple[int, bytes | None]]:
        out = []
        for line in lines:
            if self.skipping:  # the end of an overlong line, already answered
                self.skipping = False
                continue
            self.number += 1
            if line.strip():
                out.append((self.number, line))
        return out


def run_batch(path: str, jobs: int, timeout: float, memory: int) -> int:
    """``--batch``: one result line per case line, in order, streamed; exit 0 when every line
    got a result, 2 when the file cannot be read."""
    from .. import _parser_cache
    from .. import verify as _verify  # noqa: F401 - imported once, before the workers fork
    from .._budget import Pool
    from ..cli import UsageError

    # Standard input stays blocking (its flags are shared with the shell): select says when a
    # read returns at once.
    fd, owned = _open_input(path, "--batch")
    lines = _Lines(fd)
    pending: dict[int, tuple[int, bytes]] = {}  # sequence -> (line number, line): the id of a
    # case that ran over is read from its line
    finished: dict[int, dict] = {}
    submitted = written = 0
    try:
        with _parser_cache.cached(), Pool(_batch_case, jobs, timeout=timeout, memory=memory,
                                          on_exit=_save_cache_in_worker) as pool:
            while True:
                want_input = not lines.eof and pool.pending < 2 * jobs
                if not want_input and not pool.pending:
                    break
                done, ready = pool.wait(watch=[fd] if want_input else [])
                for key, outcome in done:
                    if outcome.error is None:
                        finished[key] = outcome.value
                    else:
                        number, line = pending[key]
                        reason = getattr(outcome.error, "reason", None) or (
                            f"the check failed ({type(outcome.error).__name__}: "
                            f"{_one_sentence(outcome.error)})")
                        finished[key] = _result(_line_id(line, number),
                                                _undetermined(reason))
                    pending.pop(key, None)
                if ready:
                    try:
                        fresh = lines.feed()
                    except OSError as error:
                        raise UsageError(f"--batch: cannot read {path!r}: "
                                         f"{error.strerror or error}") from None
                    for number, line in fresh:
                        if line is None:
                            finished[submitted] = _bad_input(
                                number, f"line {number} is longer than "
                                        f"{_MAX_LINE_BYTES // 2**20} MB")
                        else:
                            pending[submitted] = (number, line)
                            pool.submit(submitted, line, number)
                        submitted += 1
                while written in finished:
                    sys.stdout.write(dumps(finished.pop(written)) + "\n")
                    sys.stdout.flush()
                    written += 1
    except BrokenPipeError:
        # The reader went away (e.g. '| head'): stop quietly, the workers are already killed.
        from ..cli import CommandError

        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise CommandError(f"the output was closed after {written} results") from None
    finally:
        if owned:
            os.close(fd)
    return 0

