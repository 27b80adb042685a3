r"""The source text of one numpy function, printed from SymPy expressions.

:func:`function_source` writes ``def name(args): ...`` with

* explicit, ordered arguments (never guessed from the expression), each renamed to a Python
  identifier by :func:`python_name` (``w_{1}`` -> ``w_1``, ``\theta`` -> ``theta``);
* the stable forms of :func:`~symlearn.codegen.rewrite.stable_forms` made explicit before common
  subexpressions are named, so elimination cannot split ``log(sigmoid(z))``;
* common subexpressions as ``_t0 = ...`` statements (SymPy's ``cse``, canonical order, so the
  same expressions always give the same text);
* every name qualified by the module, ``numpy.exp``: the text needs ``import numpy`` and
  nothing else.

:func:`compile_source` executes such texts; :mod:`symlearn.export` writes the same texts to a file.
"""

from __future__ import annotations

import keyword
import linecache
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy
import sympy as sp

from .printer import StableNumPyPrinter
from .rewrite import stable_forms

__all__ = ["FunctionSource", "compile_source", "function_source", "python_name"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_counter = 0


class FunctionSource(NamedTuple):
    """One generated function."""

    name: str  # the function's name
    arguments: tuple  # its parameters' names, in order
    text: str  # ``def name(...): ...``, ending with a newline


def python_name(symbol) -> str:
    r"""The Python identifier for ``symbol``: ``w_{1}`` -> ``w_1``, ``\theta`` -> ``theta``,
    ``\eta_{t}`` -> ``eta_t``. A name that cannot become an identifier is a ``ValueError``."""
    raw = str(getattr(symbol, "name", symbol))
    name = re.sub(r"[\\{}\s]", "", raw)
    if not _IDENTIFIER.match(name) or keyword.iskeyword(name) or name.startswith("_"):
        raise ValueError(f"the symbol {raw!r} has no Python name (use letters, digits and _)")
    return name


def _printer() -> StableNumPyPrinter:
    return StableNumPyPrinter(
        {"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False}
    )


def function_source(
    name: str,
    args: Sequence,
    outputs: Sequence,
    *,
    doc: str = "",
    defaults: Mapping[str, object] | None = None,
    prologue: Sequence[str] = (),
    broadcast: bool = False,
    convert: str | None = None,
) -> FunctionSource:
    r"""``def name(args): ...`` returning ``outputs`` (one value, or a tuple for several).

    Args:
        name: the function's name (an identifier).
        args: SymPy symbols (or names of parameters that are not symbols), in order.
        outputs: SymPy expressions in ``args``.
        doc: the docstring (written as a raw string).
        defaults: parameter name -> default value (a Python literal), for trailing parameters.
        prologue: statements run before the outputs (argument validation), one per line.
        broadcast: when True, an output that does not use every argument is broadcast to the
            arguments' common shape (an elementwise function returns arrays of one shape).
        convert: the name of a function applied to each output (``"float"``: a Python float).
    """
    if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise ValueError(f"{name=} is not a Python identifier")
    names, renames = [], {}
    for arg in args:
        if isinstance(arg, sp.Basic):
            identifier = python_name(arg)
            renames[arg] = sp.Symbol(identifier, **arg.assumptions0)
        else:
            identifier = str(arg)
        if identifier in names:
            raise ValueError(f"two arguments of {name} are both named {identifier!r}")
        names.append(identifier)
    exprs = [stable_forms(sp.sympify(e).xreplace(renames)) for e in outputs]
    unknown = set().union(*(e.free_symbols for e in exprs)) - set(renames.values())
    if unknown:
        listed = ", ".join(sorted(map(str, unknown)))
        raise ValueError(f"{name} uses {listed}, which is not among its arguments {names}")
    replacements, reduced = sp.cse(
        exprs, symbols=sp.numbered_symbols("_t"), optimizations=None, order="canonical"
    )
    printer = _printer()
    defaults = dict(defaults or {})
    signature = ", ".join(f"{n}={defaults[n]!r}" if n in defaults else n for n in names)
    lines = [f"def {name}({signature}):"]
    if doc:
        lines.append(_docstring(doc))
    lines.extend(f"    {statement}" for statement in prologue)
    for symbol, value in replacements:
        lines.append(f"    {symbol} = {printer.doprint(value)}")
    printed = []
    array_args = [renames[a] for a in args if isinstance(a, sp.Basic)]
    for original, expr in zip(exprs, reduced):
        code = printer.doprint(expr)
        if broadcast and not set(array_args) <= original.free_symbols:
            code = f"_broadcast({code}, {', '.join(python_name(a) for a in array_args)})"
        printed.append(f"{convert}({code})" if convert else code)
    result = printed[0] if len(printed) == 1 else "(" + ", ".join(printed) + ")"
    lines.append(f"    return {result}")
    return FunctionSource(name, tuple(names), "\n".join(lines) + "\n")


def _docstring(doc: str) -> str:
    if '"""' in doc or doc.endswith("\\"):
        raise ValueError("a docstring may not contain triple quotes or end in a backslash")
    body = "\n".join(f"    {line}" if line else "" for line in doc.strip().splitlines())
    return f'    r"""{body.lstrip()}\n    """'


#: Helpers every generated module defines (numpy only); they are part of its source.
PRELUDE = '''
def _broadcast(value, *arrays):
    """``value`` as a float array of the arguments' common shape."""
    shape = numpy.broadcast_shapes(*(numpy.shape(a) for a in arrays))
    return numpy.broadcast_to(numpy.asarray(value, dtype=float), shape).copy()


def _as_float_array(value, name):
    """``value`` as a float array, or a ValueError naming the argument."""
    try:
        array = numpy.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or an array of them, not {value!r}") from None
    return array
'''


def compile_source(sources: Sequence[FunctionSource], prelude: str = PRELUDE) -> dict:
    """Execute the generated functions (with ``prelude``) and return them by name. The source is
    registered with :mod:`linecache`, so tracebacks and ``inspect.getsource`` show it."""
    global _counter
    _counter += 1
    filename = f"<symlearn-codegen-{_counter}>"
    text = prelude + "\n\n" + "\n\n".join(s.text for s in sources)
    namespace: dict = {"numpy": numpy, "__name__": "symlearn_generated"}
    exec(compile(text, filename, "exec"), namespace)  # our own printed code, never user text
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    return {s.name: namespace[s.name] for s in sources}
