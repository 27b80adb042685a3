r"""Numpy code that evaluates elementwise expressions into temporaries it owns.

``lambdify`` prints each common subexpression and each output as one numpy expression, and numpy
allocates a new array for every operation in it: Adam's
``c5*x0/(c2 + numpy.sqrt(x1))`` allocates four arrays to produce one. The generator here emits
the same computation statement by statement from the expression tree, bottom-up, so that an
operation writes into an array it owns whenever one of its operands is such a temporary:

.. code-block:: python

    _t4 = _sqrt(x1)                 # x1 is returned: read, never written
    _add(_t4, c2, _t4)
    _divide(x0, _t4, _t4)
    _multiply(_t4, c5, _t4)

It allocates only when no operand is an owned temporary, and then takes a temporary that is no
longer referenced, when there is one, before asking numpy for a new array. Owned temporaries are
the results of its own operations, and a common subexpression at its only occurrence in the last
statement that uses it, unless it is itself an output. Arguments are never written, nor an output
once produced. Scalar factors and terms are combined in Python first (one array multiplication per
product); sums and products of reductions (``inner``, ``elementsum``) are scalars.

Sums, products, powers and the plain ufuncs (exp, log, abs, trigonometric) are generated here.
Every other node is printed by :class:`~symlearn.codegen.printer.StableNumPyPrinter`, with its array
operands replaced by the names holding their values, so each stable form (``logaddexp``,
``log1p``, ``expm1``, ...) is the printer's own; that call allocates its result.

The in-place code is valid when every array argument is a float64 ``ndarray`` of one shape with at
least one dimension (a ufunc on 0-d arrays returns a numpy scalar, which cannot be written) and the
other arguments are real numbers; :func:`lambdify_inplace` checks this on each call and otherwise
calls the allocating ``lambdify`` of the same expressions. :func:`inplace_source` returns the
generated statements without executing them (the exported optimizers print them into a module).
"""

from __future__ import annotations

import importlib
import keyword
import linecache
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.codegen.numpy_nodes import logaddexp
from sympy.core.function import Application

from ..functions import log2, log_sigmoid, relu, sigmoid, softplus
from .allocating import lambdify_stable
from .printer import StableNumPyPrinter
from .rewrite import stable_forms, stable_node

__all__ = ["InplaceSource", "inplace_source", "lambdify_inplace"]

# Elementwise functions generated as one ufunc call, in place on an owned operand.
_UFUNCS = {
    sp.exp: "exp",
    sp.log: "log",
    sp.Abs: "absolute",
    sp.sign: "sign",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.tanh: "tanh",
    log1p: "log1p",
    expm1: "expm1",
}
# The ufuncs the generated code calls, bound as globals of the generated function.
_OPERATIONS = ("add", "subtract", "multiply", "divide", "negative", "square", "sqrt", "power")
# Printed functions whose value is a new float array for array operands (their printed form is a
# numpy function that allocates its result); the result may then be written in place. The result
# of any other printed node is copied before it is returned and never written.
_FRESH = (sigmoid, softplus, relu, log_sigmoid, log2, logaddexp, sp.Heaviside, sp.Max, sp.Min)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_counter = 0


class _Value(NamedTuple):
    code: str  # a name (arrays, scalars assigned once) or a scalar expression
    array: bool
    owned: bool  # an array this function allocated and nothing else references: writable


def _reduces(func) -> bool:
    """A reduction (``inner``, ``elementsum``): array operands, a scalar value."""
    return bool(getattr(func, "reduces", False))


def _fresh(func) -> bool:
    return issubclass(func, _FRESH) or bool(getattr(func, "elementwise", False))


class _Generator:
    """Statements for the CSE'd assignments and outputs; see the module docstring."""

    def __init__(self, printer, arrays: set, numbers: dict):
        self.printer = printer
        self.numbers = dict(numbers)  # name -> value: held as 0-d float64 arrays
        self.literals: dict = {}  # value -> name, for the numbers in the expressions
        self.arrays = set(arrays)  # array-valued symbols: array arguments and CSE variables
        self.lines: list[str] = []
        self.free: list[str] = []  # owned arrays nothing references any more
        self.names = Counter()
        self.binding: dict = {}  # CSE symbol -> _Value holding it
        self.rename: dict = {}  # CSE symbol -> the symbol of the name holding it
        self.consumable: set = set()  # CSE symbols the current statement may overwrite
        self.consumed: set = set()
        self._array_memo: dict = {}

    # -- names and printing -------------------------------------------------------------------------
    def new_name(self, prefix: str) -> str:
        self.names[prefix] += 1
        return f"{prefix}{self.names[prefix] - 1}"

    def print(self, expr) -> str:
        return self.printer.doprint(expr.xreplace(self.rename) if self.rename else expr)

    def is_array(self, e) -> bool:
        if e.is_Symbol:
            return e in self.arrays
        if e.is_Atom:
            return False
        found = self._array_memo.get(e)
        if found is None:
            found = not _reduces(e.func) and any(self.is_array(a) for a in e.args)
            self._array_memo[e] = found
        return found

    def release(self, *values: _Value) -> None:
        self.free.extend(v.code for v in values if v.owned)

    def assign(self, code: str, array: bool, owned: bool) -> _Value:
        name = self.new_name("_t" if array else "_s")
        self.lines.append(f"{name} = {code}")
        return _Value(name, array, owned)

    # -- one ufunc call ------------------------------------------------------------------------------
    def ufunc(self, name: str, *operands: _Value) -> _Value:
        """``name(*operands)`` written into an owned operand, else a free array, else a new one."""
        owned = [v for v in operands if v.owned]
        out = owned[0].code if owned else (self.free.pop() if self.free else None)
        self.release(*owned[1:])
        args = ", ".join(v.code for v in operands)
        if out is None:
            return self.assign(f"_{name}({args})", True, True)
        self.lines.append(f"_{name}({args}, {out})")
        return _Value(out, True, True)

    def scalar(self, code: str) -> _Value:
        return _Value(code, False, False)

    def operand(self, e) -> _Value:
        """A scalar operand of a ufunc; a number is held in a 0-d array bound once."""
        if not e.is_Number:
            return self.scalar(self.scalar_code(e))
        value = float(e)
        if value not in self.literals:
            self.literals[value] = f"_n{len(self.literals)}"
            self.numbers[self.literals[value]] = value
        return self.scalar(self.literals[value])

    # -- the tree ------------------------------------------------------------------------------------
    def value(self, e) -> _Value:
        if not self.is_array(e):
            return self.operand(e)
        if e.is_Symbol:
            return self.leaf(e)
        if e.is_Add:
            return self.add(e)
        if e.is_Mul:
            return self.mul(e)
        if e.is_Pow:
            return self.power(*e.args)
        if isinstance(e, Application) and not isinstance(e, sp.Piecewise):  # Max is no Function
            return self.function(e)
        # Anything else (Piecewise, ...): the printer's form of the whole subtree.
        return self.assign(self.print(e), True, False)

    def leaf(self, symbol) -> _Value:
        bound = self.binding.get(symbol)
        if bound is None:  # an argument: never written
            return _Value(self.print(symbol), True, False)
        if bound.owned and symbol in self.consumable:
            self.consumed.add(symbol)
            return bound
        return bound._replace(owned=False)

    def scalar_code(self, e) -> str:
        """A scalar expression; each reduction in it is evaluated first, into a name."""
        if _reduces(e.func):
            return self.reduction(e).code
        reductions: dict = {}

        def collect(node):  # the outermost reductions, each evaluated once
            if _reduces(node.func):
                if node not in reductions:
                    reductions[node] = sp.Symbol(self.reduction(node).code)
            else:
                for arg in node.args:
                    collect(arg)

        collect(e)
        return self.print(e.xreplace(reductions) if reductions else e)

    def reduction(self, e) -> _Value:
        return self.printed(e.func, e.args)

    @staticmethod
    def has_reduction(e) -> bool:
        return any(not n.is_Atom and _reduces(n.func) for n in sp.preorder_traversal(e))

    def printed(self, build, operands: Sequence, fresh: bool = False) -> _Value:
        """``build(*operands)`` printed by the stable printer, each array operand (and each
        reduction) replaced by the name holding its value; the result is assigned to a name, an
        owned array if ``fresh``."""
        values, args = [], []
        for operand in operands:
            if self.is_array(operand) or self.has_reduction(operand):
                value = self.value(operand)
                if not value.code.isidentifier():
                    value = self.assign(value.code, value.array, value.owned)
                values.append(value)
                args.append(sp.Symbol(value.code))
            else:
                args.append(operand)
        node = build(*args)
        array = any(v.array for v in values) and not _reduces(node.func)
        result = self.assign(self.print(node), array, fresh and array)
        self.release(*values)
        return result

    def add(self, e) -> _Value:
        stable = stable_node(e)  # exp(u) - 1, 1 - sigmoid(u): the rewrite table's form
        if stable is not None:
            return self.value(stable)
        terms = list(e.args)
        positive, negative, scalars = [], [], []
        for term in terms:
            if not self.is_array(term):
                scalars.append(term)
            elif term.could_extract_minus_sign():
                negative.append(self.value(-term))
            else:
                positive.append(self.value(term))
        if scalars:
            total = sp.Add(*scalars)
            if total.could_extract_minus_sign():
                negative.append(self.operand(-total))
            else:
                positive.append(self.operand(total))
        if positive:
            start = next((v for v in positive if v.owned and v.array), positive[0])
            positive.remove(start)
        else:
            start = next((v for v in negative if v.owned), negative[0])
            negative.remove(start)
            start = self.ufunc("negative", start)
        rest = [("add", v) for v in positive] + [("subtract", v) for v in negative]
        rest.sort(key=lambda item: not item[1].owned)  # an owned operand first: no allocation
        for name, operand in rest:
            start = self.ufunc(name, start, operand)
        return start

    def mul(self, e) -> _Value:
        scalars, numerators, denominators = [], [], []
        for factor in e.args:
            if not self.is_array(factor):
                scalars.append(factor)
            elif factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative:
                denominators.append(self.power(factor.base, -factor.exp))
            else:
                numerators.append(self.value(factor))
        coefficient = sp.Mul(*scalars)
        below = self.product(denominators)
        if numerators:
            result = self.product(numerators)
            if below is not None:
                result = self.ufunc("divide", result, below)
        else:  # coefficient / denominators: the coefficient is the numerator
            result = self.ufunc("divide", self.operand(coefficient), below)
            coefficient = sp.S.One
        if coefficient == -1:
            result = self.ufunc("negative", result)
        elif coefficient != 1:
            result = self.ufunc("multiply", result, self.operand(coefficient))
        return result

    def product(self, factors: list) -> _Value | None:
        if not factors:
            return None
        factors = sorted(factors, key=lambda v: not v.owned)
        result = factors[0]
        for factor in factors[1:]:
            result = self.ufunc("multiply", result, factor)
        return result

    def power(self, base, exponent) -> _Value:
        if exponent == 1:
            return self.value(base)
        if self.is_array(exponent) or not exponent.is_Number:
            return self.ufunc("power", self.value(base), self.value(exponent))
        if exponent.is_negative:
            return self.ufunc("divide", self.operand(sp.S.One), self.power(base, -exponent))
        if exponent == 2:
            return self.ufunc("square", self.value(base))
        if exponent == sp.S.Half:
            return self.ufunc("sqrt", self.value(base))
        return self.ufunc("power", self.value(base), self.operand(exponent))

    def function(self, e) -> _Value:
        func = type(e)
        if func is sp.log:
            stable = stable_node(e)  # log(1 + exp(u)), log(sigmoid(u)), ...: the table's form
            if stable is not None:
                return self.value(stable)
        if func in _UFUNCS and len(e.args) == 1:
            operand = self.value(e.args[0])
            return self.ufunc(_UFUNCS[func], operand)

        def build(*args):
            try:
                return e.func(*args, evaluate=False)
            except TypeError:
                return e.func(*args)

        return self.printed(build, e.args, fresh=_fresh(func))

    # -- statements ----------------------------------------------------------------------------------
    def generate(self, replacements: Sequence, outputs: Sequence, form) -> list[str]:
        """Lines computing ``replacements`` (CSE pairs) and returning ``outputs`` as a ``form``
        (``list`` or ``tuple``), or the one output if ``form`` is None."""
        statements = [expr for _, expr in replacements] + list(outputs)
        variables = {symbol for symbol, _ in replacements}
        uses = [Counter(n for n in sp.preorder_traversal(s) if n in variables) for s in statements]
        last = {v: i for i, counts in enumerate(uses) for v in counts}
        escaping = {o for o in outputs if o in variables}
        for i, (symbol, expr) in enumerate(replacements):
            value = self.statement(i, expr, uses, last, escaping)
            if value.array:
                self.arrays.add(symbol)
            elif not value.code.isidentifier():
                value = self.assign(value.code, False, False)
            self.binding[symbol] = value
            self.rename[symbol] = sp.Symbol(value.code)
        returned, codes = set(), []
        for j, expr in enumerate(outputs):
            value = self.statement(len(replacements) + j, expr, uses, last, escaping)
            if expr in escaping and self.binding[expr].owned:
                value = self.binding[expr]  # returned as is the first time: nothing writes it
            if value.array and (not value.owned or value.code in returned):
                value = self.assign(f"_copy({value.code})", True, True)
            returned.add(value.code)
            codes.append(value.code)
        if form is None:
            self.lines.append(f"return {codes[0]}")
        elif form is tuple:
            self.lines.append(f"return ({', '.join(codes)}{',' if len(codes) == 1 else ''})")
        else:
            self.lines.append(f"return [{', '.join(codes)}]")
        return self.lines

    def statement(self, i, expr, uses, last, escaping) -> _Value:
        self.consumable = {v for v, k in uses[i].items() if k == 1 and last[v] == i} - escaping
        if self.is_array(expr):
            value = self.value(expr)
        else:  # a scalar as lambdify prints it (a number stays a Python number)
            value = self.scalar(self.scalar_code(expr))
        for v in uses[i]:  # variables dead after this statement, and not consumed by it
            if last[v] == i and v not in escaping and v not in self.consumed:
                self.release(self.binding[v])
        return value


def _argument_names(args: Sequence) -> list[str]:
    names = []
    for i, arg in enumerate(args):
        if not isinstance(arg, sp.Symbol):
            raise TypeError(f"lambdify_inplace takes symbols as arguments, got {arg!r}")
        name = arg.name
        plain = (
            not isinstance(arg, sp.Dummy) and _IDENTIFIER.match(name) and not keyword.iskeyword(name)
            and name not in names and name not in ("numpy", "builtins")
        )
        names.append(name if plain else f"_a{i}")
    return names


def _cse(exprs: list, cse):
    if cse is True:
        return sp.cse(exprs)
    if callable(cse):
        return cse(exprs)
    return [], exprs


class InplaceSource(NamedTuple):
    """The in-place code of :func:`inplace_source`, not executed."""

    lines: list  # the function body's statements, the last one ``return ...``
    names: list  # the argument names, in order (a fixed constant's is _k0, _k1, ...)
    array_names: list  # the names of the array arguments
    fixed: dict  # _k name -> the constant's value (None where none was given)
    literals: dict  # _n name -> a number of the expressions, bound as a 0-d float64 array
    guard: list  # the conditions under which the code is valid (see the module docstring)
    modules: tuple  # the modules the printed code names (``numpy``)


def inplace_source(args: Sequence, exprs, *, arrays: Iterable, cse=False,
                   constants: Mapping | Iterable = ()) -> InplaceSource:
    r"""The statements of the in-place function of ``exprs`` (see :func:`lambdify_inplace` for
    the arguments), after the stable rewrites and common-subexpression elimination, without
    executing them. ``constants`` is ``{symbol: value}`` or just the symbols (then the values
    are the caller's to bind under the names in ``fixed``)."""
    args = list(args)
    constants = dict(constants) if isinstance(constants, Mapping) else dict.fromkeys(constants)
    form = type(exprs) if isinstance(exprs, (list, tuple)) else None
    exprs = [sp.sympify(e) for e in (exprs if form else [exprs])]
    exprs = [stable_forms(e) if isinstance(e, sp.Expr) else e for e in exprs]
    replacements, reduced = _cse(exprs, cse)
    names = _argument_names(args)
    fixed = {}  # name -> value of the fixed constants, as Python numbers
    for i, arg in enumerate(args):
        if arg in constants:
            names[i] = f"_k{len(fixed)}"
            fixed[names[i]] = constants[arg]
    rename = {a: sp.Symbol(n, **a.assumptions0) for a, n in zip(args, names) if a.name != n}
    if rename:
        replacements = [(s, e.xreplace(rename)) for s, e in replacements]
        reduced = [e.xreplace(rename) for e in reduced]
    arrays = set(arrays)
    array_names = [n for a, n in zip(args, names) if a in arrays]
    printer = StableNumPyPrinter()
    generator = _Generator(printer, {rename.get(a, a) for a in args if a in arrays}, {})
    lines = generator.generate(replacements, reduced, form)
    guard = (
        [f"type({n}) is _ndarray and {n}.dtype is _float64" for n in array_names]
        + [f"{n}.shape == {array_names[0]}.shape" for n in array_names[1:]]
        + [f"{n}.ndim" for n in array_names[:1]]
    )
    return InplaceSource(lines, names, array_names, fixed, dict(generator.numbers), guard,
                         tuple(printer.module_imports))


def lambdify_inplace(args: Sequence, exprs, *, arrays: Iterable, cse=False, constants=None):
    r"""Compile ``exprs`` like ``lambdify_stable(args, exprs, cse=cse)``, evaluated in place.

    Args:
        args: the symbols, in the order the compiled function takes them.
        exprs: an expression or a list of them.
        arrays: the arguments that are arrays; the others must be real numbers.
        cse: ``False``, ``True`` (``sympy.cse``) or a function ``exprs -> (replacements,
            reduced)``, as for ``lambdify``.
        constants: ``{symbol: number}``, arguments whose values are fixed for the compiled
            function's life. They are not arguments of the compiled function; the in-place code
            holds each as a 0-d float64 array, as it does every number in the expressions (numpy
            converts a Python float on each ufunc call, which costs as much as the operation on
            a thousand elements).

    Returns:
        ``f(*other_args)``, returning what ``lambdify_stable`` returns. When the array arguments
        are float64 ndarrays of one shape with ``ndim >= 1``, it runs the in-place code, whose
        arrays alias neither the arguments nor each other; otherwise it calls the allocating
        ``lambdify_stable`` function (``f.fallback``, same arguments). ``f.inplace`` is the
        in-place code without that check, for callers that have made it.
    """
    global _counter
    args = list(args)
    form = type(exprs) if isinstance(exprs, (list, tuple)) else None
    stable = [sp.sympify(e) for e in (exprs if form else [exprs])]
    stable = [stable_forms(e) if isinstance(e, sp.Expr) else e for e in stable]
    # lambdify returns a list for a list, a tuple for a tuple, the value for one expression.
    fallback = lambdify_stable(args, form(stable) if form else stable[0], cse=cse)
    code = inplace_source(args, exprs, arrays=arrays, cse=cse, constants=dict(constants or {}))
    lines, names, numbers = code.lines, code.names, code.fixed
    signature = ", ".join(n for n in names if n not in numbers)
    passed = ", ".join(f"_{n}" if n in numbers else n for n in names)  # fixed ones as numbers
    guard = " and ".join(code.guard) or "True"
    guarded = "\n".join(f"        {line}" for line in lines)
    body = "\n".join(f"    {line}" for line in lines)
    source = (
        f"def _lambdifyinplace({signature}):\n"
        f"    if {guard}:\n{guarded}\n"
        f"    return _fallback({passed})\n\n\n"
        f"def _inplace({signature}):\n{body}\n\n\n"
        f"def _allocating({signature}):\n"
        f"    return _fallback({passed})\n"
    )
    namespace = {
        "_ndarray": np.ndarray,
        "_float64": np.dtype(np.float64),
        "_fallback": fallback,
        "_copy": np.copy,
        **{f"_{name}": getattr(np, name) for name in (*_OPERATIONS, *_UFUNCS.values())},
        **{name: np.array(value, dtype=np.float64)
           for name, value in {**numbers, **code.literals}.items()},
        **{f"_{name}": value for name, value in numbers.items()},
    }
    for module in code.modules:
        importlib.import_module(module)
        root = module.split(".")[0]
        namespace[root] = importlib.import_module(root)
    filename = f"<lambdifyinplace-{_counter}>"
    _counter += 1
    exec(compile(source, filename, "exec"), namespace)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    function = namespace["_lambdifyinplace"]
    function.inplace = namespace["_inplace"]
    function.fallback = namespace["_allocating"]
    return function
