r"""The optimizers of :mod:`symlearn.optim` as numpy-only source text, for :func:`symlearn.export`.

An optimizer factory validates its arguments and writes an :class:`~symlearn.optim._base.UpdateRule`
whose equations depend on which hyper-parameters are non-zero and on its flags (SGD's momentum
buffer exists only for ``momentum != 0``, Adam's ``max_exp_avg_sq`` only with ``amsgrad``...).
The exported ``name_update`` takes the hyper-parameters at run time, so it holds one compiled step
per *variant*: every combination of the switches below that the factory accepts is built with
example values, combinations whose equations are the same share one variant, and the update
dispatches on the switches' values at call time.

Each variant's step is compiled by the pieces :func:`~symlearn.optim._base.compile_rule` uses:
:func:`~symlearn.optim._base.plan_rule` (the closed forms,
:func:`~symlearn.codegen.rewrite.factor_scalars_out`,
:func:`~symlearn.codegen.rewrite.hoist_scalars`) and the in-place generator of
:func:`symlearn.codegen.inplace.lambdify_inplace`, so that the in-place body the module runs is
the package's text, line for line (``tests/test_export_optim.py`` compares them). Where the module
differs from the package:

* the constants of the hyper-parameters alone (the package's ``_k0, _k1, ...``, computed once when
  an optimizer is compiled and bound as 0-d arrays) are computed by the same printed expressions
  the first time a value of the hyper-parameters is seen (then cached, as 0-d arrays), and passed
  to the in-place body as trailing arguments of the same names;
* the numbers in the expressions (``_n0, ...``, 0-d arrays) are default values of the in-place
  function's trailing parameters instead of globals;
* the scalar functions are printed as ``sympy.lambdify(..., modules="math")`` prints them, with
  ``numpy.sqrt`` (etc.) for ``math.sqrt`` and the arguments named after the hyper-parameters;
* the allocating fallback (arrays that are not float64, 0-d, or of different shapes) is printed by
  :func:`function_source` instead of ``lambdify_stable``: same printer, same stable forms.
"""

from __future__ import annotations

import inspect
import itertools
import textwrap

import sympy as sp

from ._source import FunctionSource, function_source

__all__ = ["OPTIMIZERS", "OPTIM_RUNTIME", "optim_runtime", "optimizer_source"]

#: The optimizers that can be exported, each with the switches that change its equations:
#: ``(argument, kind)`` with ``kind`` ``"nonzero"`` (the factory branches on ``value != 0``) or
#: ``"flag"`` (on ``bool(value)``). Read from the factories in ``symlearn/optim/_rules.py``.
OPTIMIZERS: dict[str, tuple[tuple[str, str], ...]] = {
    "sgd": (("momentum", "nonzero"), ("dampening", "nonzero"), ("weight_decay", "nonzero"),
            ("nesterov", "flag")),
    "adagrad": (("lr_decay", "nonzero"), ("weight_decay", "nonzero")),
    "rmsprop": (("weight_decay", "nonzero"), ("momentum", "nonzero"), ("centered", "flag")),
    "adadelta": (("weight_decay", "nonzero"),),
    "adam": (("weight_decay", "nonzero"), ("amsgrad", "flag")),
    "adamw": (("weight_decay", "nonzero"), ("amsgrad", "flag")),
    "nadam": (("weight_decay", "nonzero"), ("decoupled_weight_decay", "flag")),
}

# Valid non-zero example values of the "nonzero" switches (any accepted value gives the same
# equations; the variant only records which ones are zero).
_EXAMPLE = {"momentum": 0.5, "dampening": 0.25, "weight_decay": 0.125, "lr_decay": 0.0625}

# How the module checks each argument: the factories' rules and messages (symlearn/optim/_rules.py).
_CHECKS = {
    "lr": "_check_lr(lr)",
    "betas": "beta1, beta2 = _check_betas(betas)",
    "eps": "_non_negative('eps', eps)",
    "weight_decay": "_non_negative('weight_decay', weight_decay)",
    "momentum": "_non_negative('momentum', momentum)",
    "dampening": "_non_negative('dampening', dampening)",
    "lr_decay": "_non_negative('lr_decay', lr_decay)",
    "initial_accumulator_value": (
        "_non_negative('initial_accumulator_value', initial_accumulator_value)"),
    "momentum_decay": "_non_negative('momentum_decay', momentum_decay)",
    "alpha": "_closed_unit('alpha', alpha)",
    "rho": "_closed_unit('rho', rho)",
}
_NESTEROV = (
    "if nesterov and (momentum <= 0 or dampening != 0):\n"
    "        raise ValueError(f\"{nesterov=} requires momentum > 0 and dampening == 0, got "
    "{momentum=}, {dampening=}\")"
)


def _python_argument(argument: str) -> str:
    """``betas[0]`` -> ``beta1``: the local name the module gives a hyper-parameter."""
    return {"betas[0]": "beta1", "betas[1]": "beta2"}.get(argument, argument)


class _Variant:
    """One structural variant: its rule, and the source of its two compiled functions."""

    def __init__(self, name: str, index: int, optimizer):
        from ..optim._base import GRAD, LR, THETA, T, plan_rule
        from ..optim._rules import HYPERPARAMETER_ARGUMENTS

        rule = optimizer.rule
        self.rule, self.optimizer = rule, optimizer
        prefix = f"_{name}_{index}"
        self.scalars_name, self.arrays_name = f"{prefix}_scalars", f"{prefix}_arrays"
        self.fixed_name = f"{prefix}_fixed"
        # compile_rule's first half, shared with it.
        (forms, array_state, scalar_state, array_symbols, array_outputs, constants,
         hyper_symbols, fixed, per_step) = plan_rule(rule)
        self.array_fields = tuple(s.field for s in array_state)
        self.scalar_fields = tuple(s.field for s in scalar_state)
        # The initial value of each array state, as Python source in the arguments' names.
        self.scalar_initials = [repr(float(sp.sympify(v.initial))) for v in scalar_state]
        self.initials = []
        for var in array_state:
            initial = sp.sympify(var.initial)
            if initial.free_symbols:
                (symbol,) = initial.free_symbols
                assert initial == symbol, "an initial value is a number or one hyper-parameter"
                self.initials.append(repr(HYPERPARAMETER_ARGUMENTS[symbol]))  # read at init
            else:
                self.initials.append(repr(float(initial)))
        # The scalar function: (t, lr, *hyper, *scalar states) -> per-step constants, constants
        # of the hyper-parameters alone (the package's _k*), new scalar states; Python floats.
        renames = {LR: sp.Symbol("lr", positive=True)}
        for symbol in hyper_symbols:
            renames[symbol] = sp.Symbol(_python_argument(HYPERPARAMETER_ARGUMENTS[symbol]),
                                        real=True)
        for var in scalar_state:
            renames[var.current] = sp.Symbol(var.field, real=True)
        self.hyper_names = tuple(str(renames[s]) for s in hyper_symbols)
        # As compile_rule: the per-step constants and new scalar states with CSE, the constants
        # of the hyper-parameters alone without (each is computed once there, at every call here).
        self.n_per_step = len(per_step)
        scalar_args = [T, LR, *hyper_symbols, *(s.current for s in scalar_state)]
        self.scalars = _scalar_source(
            self.scalars_name, [renames.get(a, a) for a in scalar_args],
            [sp.sympify(e).xreplace(renames) for e in [*per_step,
                                                         *(forms[s.next] for s in scalar_state)]],
            cse=True,
        )
        self.fixed = _scalar_source(
            self.fixed_name, [renames[a] for a in hyper_symbols],
            [sp.sympify(e).xreplace(renames) for e in fixed], cse=False,
        )
        # The array function: lambdify_inplace's generator on the arguments compile_rule passes,
        # the fixed constants named _k0, _k1, ... as it names them.
        args = [THETA, GRAD, *(s.current for s in array_state), *constants.values()]
        fixed_symbols = list(fixed.values())
        self.arrays = _inplace_source(self.arrays_name, args, array_outputs,
                                      array_symbols, fixed_symbols)

    def sources(self) -> list[FunctionSource]:
        return [self.scalars, self.fixed, *self.arrays]


def _scalar_source(name: str, args: list, outputs: list, cse: bool) -> FunctionSource:
    """``def name(args): ... return [outputs]`` as ``sympy.lambdify(args, outputs, "math",
    cse=cse)`` prints it (sympy's Python printer, ``x0 = ...`` for common subexpressions), with
    numpy's functions for the math module's: on Python floats they round as math's do."""
    from sympy.printing.pycode import PythonCodePrinter

    class Printer(PythonCodePrinter):
        def _module_format(self, fqn, register=True):
            if fqn.startswith("math."):
                fqn = "numpy." + fqn[len("math."):]
            return super()._module_format(fqn, register)

    printer = Printer({"fully_qualified_modules": True})
    replacements, reduced = sp.cse(outputs) if cse else ([], outputs)
    lines = [f"def {name}({', '.join(str(a) for a in args)}):"]
    lines += [f"    {symbol} = {printer.doprint(value)}" for symbol, value in replacements]
    lines.append(f"    return [{', '.join(printer.doprint(e) for e in reduced)}]")
    return FunctionSource(name, tuple(str(a) for a in args), "\n".join(lines) + "\n")


def _inplace_source(name: str, args: list, outputs: list, array_symbols, fixed: list):
    """The in-place function (``lambdify_inplace``'s ``_inplace`` body, guarded as it guards it)
    and its allocating fallback, as source."""
    from .inplace import inplace_source

    # lambdify_inplace(args, outputs, arrays=array_symbols, cse=True, constants=fixed)'s code
    # (symlearn/codegen/inplace.py), without executing it.
    code = inplace_source(args, list(outputs), arrays=array_symbols, cse=True, constants=fixed)
    lines, names, numbers = code.lines, code.names, code.fixed
    literals = [f"{n}=numpy.array({v!r})" for n, v in code.literals.items()]
    # The module's in-place function takes the fixed constants as trailing arguments.
    ordered = [n for n in names if n not in numbers] + list(numbers)
    signature = ", ".join(ordered + literals)
    passed = ", ".join(ordered)
    guard = " and ".join(code.guard)
    body = "\n".join(f"        {line}" for line in lines)
    # The fallback returns a tuple, or the value for one output; the step reads a sequence.
    # The scalars as Python floats, as the package's fallback has them: numpy then keeps the
    # arrays' dtype (float32 parameters give float32 updates and state), where a 0-d float64
    # array or a numpy float64 would promote them to float64 (NEP 50).
    arrays_passed = {n for a, n in zip(args, names) if a in array_symbols}
    as_floats = [n if n in arrays_passed else f"float({n})" for n in passed.split(", ")]
    call = f"{name}_allocating({', '.join(as_floats)})"
    call = f"[{call}]" if len(outputs) == 1 else call
    text = (f"def {name}({signature}):\n"
            f"    if {guard}:\n{body}\n"
            f"    return {call}\n")
    arrays = FunctionSource(name, tuple(ordered), text)
    # The allocating fallback: the same expressions printed by function_source (the names the
    # in-place body uses are not all valid there, so the arguments are renamed a0, a1, ...).
    order = [a for a in args if a not in fixed] + [a for a in args if a in fixed]
    plain = {a: sp.Symbol(f"a{i}", real=True) for i, a in enumerate(order)}
    fallback = function_source(f"{name}_allocating", [plain[a] for a in order],
                               [sp.sympify(e).xreplace(plain) for e in outputs])
    return [arrays, fallback]


def _variants(name: str):
    """``(variants, table)``: the distinct variants of ``name``'s rule and, for every
    combination of its switches that the factory accepts, the index of its variant."""
    from .. import optim

    factory = getattr(optim, name)
    switches = OPTIMIZERS[name]
    variants: list[_Variant] = []
    seen: dict = {}
    table: dict = {}
    for combination in itertools.product((False, True), repeat=len(switches)):
        kwargs = {}
        for (argument, kind), on in zip(switches, combination):
            kwargs[argument] = (_EXAMPLE[argument] if on else 0.0) if kind == "nonzero" else on
        try:
            optimizer = factory(**kwargs)
        except ValueError:  # a combination the factory refuses (nesterov without momentum)
            continue
        key = (optimizer.rule.equations, tuple(s.field for s in optimizer.rule.state))
        if key not in seen:
            seen[key] = len(variants)
            variants.append(_Variant(name, len(variants), optimizer))
        table[combination] = seen[key]
    return variants, table


def _signature(name: str) -> tuple[list[str], dict]:
    from .. import optim

    parameters = inspect.signature(getattr(optim, name)).parameters
    return list(parameters), {k: p.default for k, p in parameters.items()}


def optimizer_source(name: str) -> tuple[list[FunctionSource], str]:
    """The sources of optimizer ``name`` (state class, variants, ``name_init``,
    ``name_update``) and a one-line description for the module's header."""
    from ..optim import _rules
    from ..printing.latex import latex

    variants, table = _variants(name)
    arguments, defaults = _signature(name)
    first = variants[0].optimizer
    state_type = first.state_type
    state_class = inspect.getsource(state_type).replace(": Any", ": object")
    from .. import optim

    # The factory's own one-line summary (the Optimizer's summary names one configuration).
    doc = " ".join(inspect.getdoc(getattr(optim, name)).split("\n\n")[0].split()).rstrip(".")
    state_class = state_class.replace(
        ":\n", f':\n    r"""{_indent(_prose(f"The state of {name}_init / {name}_update ({doc})."))}'
        '\n    """\n\n', 1)
    sources = [FunctionSource(state_type.__name__, (), state_class)]
    for variant in variants:
        sources.extend(variant.sources())
    upper = name.upper()
    records = []
    for index, variant in enumerate(variants):
        step = _step_source(f"_{name}_{index}_step", variant, state_type)
        sources.append(step)
        records.append(
            f"    ({variant.scalars_name}, {variant.fixed_name}, {variant.arrays_name}, "
            f"{variant.n_per_step}, {variant.array_fields!r}, {variant.scalar_fields!r}, "
            f"{_tuple(variant.initials)}, {_tuple(variant.scalar_initials)}, "
            f"{_tuple([str(state_type._fields.index(f)) for f in variant.array_fields])}, "
            f"{_tuple([str(state_type._fields.index(f)) for f in variant.scalar_fields])}, "
            f"{step.name}),"
        )
    table_text = "\n".join(f"    {key!r}: {index}," for key, index in table.items())
    registry = (
        f"_{upper}_VARIANTS = [\n" + "\n".join(records) + "\n]\n\n"
        f"_{upper}_TABLE = {{\n{table_text}\n}}\n\n"
        f"_{upper}_LAST = [None]  # the last checked hyper-parameters (see _remember)\n"
    )
    sources.append(FunctionSource(f"_{upper}_VARIANTS", (), registry))
    # The arguments that are initial values of a buffer (Adagrad's initial_accumulator_value).
    initial_arguments = sorted({initial for v in variants for initial in v.initials
                                if initial.startswith("'")})
    initial_dict = "{" + ", ".join(f"{a}: {a[1:-1]}" for a in initial_arguments) + "}"
    signature = ", ".join(f"{a}={defaults[a]!r}" for a in arguments)
    checks = [_CHECKS[a] for a in arguments if a in _CHECKS]
    if name == "sgd":
        checks.append(_NESTEROV)
    key_parts = [f"{a} != 0" if kind == "nonzero" else f"bool({a})" for a, kind in OPTIMIZERS[name]]
    key = "(" + ", ".join(key_parts) + ("," if len(key_parts) == 1 else "") + ")"
    hyper_values = ", ".join(variants[0].hyper_names)
    check_lines = "\n".join(f"    {c}" for c in checks)
    select = (f"{check_lines}\n"
              f"    variant = _{upper}_VARIANTS[_{upper}_TABLE[{key}]]\n")
    # Docstrings: the arguments, and each variant's equations in LaTeX.
    described = []
    for variant in variants:
        which = [k for k, v in table.items() if v == variants.index(variant)]
        when = " or ".join(
            "(" + ", ".join(f"{a} {'!= 0' if on else '== 0'}" if kind == "nonzero"
                            else f"{a}={on}" for (a, kind), on in zip(OPTIMIZERS[name], k)) + ")"
            for k in which)
        equations = "\n".join(f"    $$ {latex(e)} $$" for e in variant.rule.equations)
        described.append(f"{_prose(f'When {when}:')}\n\n{equations}")
    symbols = ", ".join(f"${latex(s)}$ = {a}" for s, a in _rules.HYPERPARAMETER_ARGUMENTS.items()
                        if s in first.rule.hyperparameters)
    args_doc = "\n\n".join([
        _prose(f"Keyword arguments (torch.optim.{first.torch_name}'s names and defaults): "
               f"{signature}. lr is a number (or a function of the step count returning one; "
               f"the exported schedules are such functions with their arguments bound). Each is "
               f"checked as symlearn.optim.{name} checks it; a bad value is a ValueError naming "
               f"it."),
        _prose("params and grads: a numpy array, or dicts / lists / tuples of arrays, of the "
               "same structure (dicts matched by key, whatever their order) and leaf shapes; "
               "state: what the last call returned (or the init's). A mismatch is a ValueError "
               "naming the first key path that differs."),
        _prose(f"The update rule (t = count, the number of updates already made; $\\eta_t$ = lr;"
               f" {symbols}):"),
        *described,
    ])
    update_doc = "\n\n".join([
        f"{name}_update(grads, state, params, {signature})",
        _prose(f"One step of {doc}: returns (updates, new_state) as symlearn.optim.{name}(...)"
               f".update does, with new_params = apply_updates(params, updates)."),
        args_doc,
    ])
    init_doc = "\n\n".join([
        f"{name}_init(params, {signature})",
        _prose(f"The {state_type.__name__} before the first step (count = 0), for the same "
               f"keyword arguments as {name}_update (they decide which buffers exist)."),
    ])
    init = (f"def {name}_init(params, {signature}):\n"
            f'    r"""{_indent(init_doc)}\n    """\n'
            + select.replace("beta1, beta2 = _check_betas", "_check_betas") +
            f"    return _optimizer_init({state_type.__name__}, variant, params, {initial_dict})\n")
    # The arguments are checked once for the same objects (the usual loop passes the same
    # numbers every step); _remember keeps them only when none can change in place.
    same = " and ".join(f"last[{i}] is {a}" for i, a in enumerate(arguments))
    hyper = f"({hyper_values}{',' if len(variants[0].hyper_names) == 1 else ''})"
    update = (f"def {name}_update(grads, state, params, {signature}):\n"
              f'    r"""{_indent(update_doc)}\n    """\n'
              f"    last = _{upper}_LAST[0]\n"
              f"    if last is None or not ({same}):\n"
              + textwrap.indent(select, "    ") +
              f"        last = _remember(_{upper}_LAST, {_tuple(arguments)}, variant, {hyper})\n"
              f"    return _optimizer_update({name!r}, {state_type.__name__}, last[-3], grads, "
              f"state, params, lr, last[-2], last[-1])\n")
    sources.append(FunctionSource(f"{name}_init", ("params", *arguments), init))
    sources.append(FunctionSource(f"{name}_update", ("grads", "state", "params", *arguments),
                                  update))
    return sources, f"{name}: {doc} ({len(variants)} variants of its update rule)"


def _step_source(name: str, variant: _Variant, state_type) -> FunctionSource:
    """The variant's step for one array (the common call), written out: the state's fields read
    and the new state built by position, the compiled functions called with their arguments
    named, so that the step costs few Python operations beyond the arithmetic. It returns
    ``None`` when a buffer is not an array of the parameters' shape (the general path then
    reports or handles it)."""
    fields = state_type._fields
    array_at = [fields.index(f) for f in variant.array_fields]
    scalar_at = [fields.index(f) for f in variant.scalar_fields]
    buffers = [f"_b{i}" for i in array_at]
    per_step = [f"_c{j}" for j in range(variant.n_per_step)]
    new_scalars = [f"_s{i}" for i in scalar_at]
    lines = [f"def {name}(state, count, rate, params, grads, hyper, fixed):"]
    lines += [f"    {b} = state[{i}]" for b, i in zip(buffers, array_at)]
    if buffers:
        lines.append("    shape = params.shape")
        guard = " and ".join(f"type({b}) is _ndarray and {b}.shape == shape" for b in buffers)
        lines.append(f"    if not ({guard}):")
        lines.append("        return None")
    outputs = per_step + new_scalars
    scalar_args = ["count", "rate", "*hyper", *(f"state[{i}]" for i in scalar_at)]
    if outputs:
        call = f"{variant.scalars_name}({', '.join(scalar_args)})"
        lines.append(f"    {', '.join(outputs)}, = {call}")
    new_buffers = [f"_n{i}" for i in array_at]
    lines.append(f"    update, {''.join(f'{n}, ' for n in new_buffers)}= {variant.arrays_name}("
                 f"params, grads, {''.join(f'{b}, ' for b in buffers)}"
                 f"{''.join(f'{c}, ' for c in per_step)}*fixed)")
    values = []
    for i in range(len(fields)):
        if i == 0:
            values.append("count + 1")
        elif i in array_at:
            values.append(f"_n{i}")
        elif i in scalar_at:
            values.append(f"float(_s{i})")
        else:
            values.append(f"state[{i}]")
    lines.append(f"    return update, _tuple_new({state_type.__name__}, {_tuple(values)})")
    return FunctionSource(name, ("state", "count", "rate", "params", "grads", "hyper", "fixed"),
                          "\n".join(lines) + "\n")


def _prose(text: str) -> str:
    """A paragraph of a generated docstring, wrapped to fit the module's line length."""
    return textwrap.fill(" ".join(text.split()), 92, break_long_words=False,
                         break_on_hyphens=False)


def _tuple(items) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _indent(doc: str) -> str:
    if '"""' in doc or doc.endswith("\\"):
        raise ValueError("a docstring may not contain triple quotes or end in a backslash")
    return "\n".join(f"    {line}" if line else "" for line in doc.strip().splitlines()).lstrip()


#: The optimizers' runtime in the module (numpy only), less the package's own functions that
#: :func:`optim_runtime` copies into it at the ``{name}`` marks: argument checks with the
#: factories' messages, parameter trees matched by key with the package's messages
#: (symlearn/optim/_base.py), and the step around each variant's compiled functions.
OPTIM_RUNTIME = '''
_ndarray = numpy.ndarray
_float64 = numpy.dtype(numpy.float64)
_add, _subtract, _multiply, _divide = numpy.add, numpy.subtract, numpy.multiply, numpy.divide
_negative, _square, _sqrt, _power = numpy.negative, numpy.square, numpy.sqrt, numpy.power
_exp, _log, _absolute, _sign = numpy.exp, numpy.log, numpy.absolute, numpy.sign
_copy = numpy.copy


{_check_lr}


{_check_betas}


def _non_negative(name, value):
    if not value >= 0.0:
        raise ValueError(f"{name}={value!r} must be non-negative")


def _closed_unit(name, value):
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r} must be in [0, 1]")


def _is_mapping(tree):
    return isinstance(tree, dict) or (
        hasattr(type(tree), "keys") and hasattr(type(tree), "__getitem__")
        and not isinstance(tree, (list, tuple, numpy.ndarray)))


{_sorted_keys}


def _flatten(tree, leaves, paths, path=""):
    """The structure's signature; the leaves and their key paths are appended in the canonical
    order (a mapping's children by sorted key)."""
    if type(tree) is numpy.ndarray:
        leaves.append(tree)
        paths.append(path)
        return "*"
    if _is_mapping(tree):
        keys = _sorted_keys(list(tree))
        return ("dict", keys, *[_flatten(tree[k], leaves, paths, f"{path}[{k!r}]") for k in keys])
    if isinstance(tree, (list, tuple)):
        if hasattr(tree, "_fields"):
            return ("namedtuple", tuple(tree._fields), *[
                _flatten(item, leaves, paths, f"{path}.{field}")
                for field, item in zip(tree._fields, tree)])
        children = [_flatten(item, leaves, paths, f"{path}[{i}]") for i, item in enumerate(tree)]
        return ("list" if isinstance(tree, list) else "tuple", len(children), *children)
    if tree is None:
        return "None"
    leaves.append(tree)
    paths.append(path)
    return "*"


def _rebuild(tree, leaves):
    """``tree``'s structure (containers and key order) with ``leaves`` in canonical order."""
    return _build(tree, iter(leaves))


def _build(tree, leaves):
    if type(tree) is numpy.ndarray:
        return next(leaves)
    if _is_mapping(tree):
        values = {k: _build(tree[k], leaves) for k in _sorted_keys(list(tree))}
        return type(tree)((k, values[k]) for k in tree)
    if isinstance(tree, (list, tuple)):
        children = [_build(item, leaves) for item in tree]
        return type(tree)(*children) if hasattr(tree, "_fields") else type(tree)(children)
    if tree is None:
        return None
    return next(leaves)


def _describe(tree):
    if tree is None:
        return "None"
    if _is_mapping(tree):
        if not tree:
            return f"an empty {type(tree).__name__}"
        keys = ", ".join(repr(k) for k in _sorted_keys(list(tree)))
        return f"a {type(tree).__name__} with keys {keys}"
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return f"a {type(tree).__name__} with fields {', '.join(tree._fields)}"
    if isinstance(tree, (list, tuple)):
        return f"a {type(tree).__name__} of length {len(tree)}"
    return f"an array of shape {numpy.shape(tree)}"


def _signature(tree):
    return _flatten(tree, [], [])


def _structure_error(name, tree, ref_name, reference, path=""):
    """One sentence naming the first place where the two structures differ, or None."""
    mine, theirs = _signature(tree), _signature(reference)
    if mine == theirs:
        return None
    pairs = []
    if _is_mapping(tree) and _is_mapping(reference):
        for key in _sorted_keys(list(reference)):
            if key not in tree:
                return (f"{name}{path} has no key {key!r}, which {ref_name}{path} has "
                        f"({ref_name}{path}[{key!r}] is {_describe(reference[key])})")
        for key in _sorted_keys(list(tree)):
            if key not in reference:
                keys = ", ".join(map(repr, _sorted_keys(list(reference))))
                return (f"{name}{path}[{key!r}] is a key that {ref_name}{path} does not have "
                        f"({ref_name}{path} has keys {keys})")
        pairs = [(f"[{k!r}]", tree[k], reference[k]) for k in _sorted_keys(list(reference))]
    elif (isinstance(mine, tuple) and isinstance(theirs, tuple) and mine[:2] == theirs[:2]
          and len(tree) == len(reference)):
        labels = ([f".{f}" for f in tree._fields] if mine[0] == "namedtuple"
                  else [f"[{i}]" for i in range(len(tree))])
        pairs = list(zip(labels, tree, reference))
    for label, sub, sub_reference in pairs:
        found = _structure_error(name, sub, ref_name, sub_reference, path + label)
        if found is not None:
            return found
    return f"{name}{path} is {_describe(tree)} but {ref_name}{path} is {_describe(reference)}"


def _match(name, tree, ref_name, reference, ref_signature, ref_paths, ref_shapes):
    """``tree``'s leaves in ``reference``'s order, or a ValueError of one sentence."""
    leaves = []
    if _flatten(tree, leaves, []) != ref_signature:
        raise ValueError(_structure_error(name, tree, ref_name, reference))
    shapes = [numpy.shape(leaf) for leaf in leaves]
    if shapes != ref_shapes:
        i = next(i for i, (a, b) in enumerate(zip(shapes, ref_shapes)) if a != b)
        raise ValueError(f"{name}{ref_paths[i]} has shape {shapes[i]} but "
                         f"{ref_name}{ref_paths[i]} has shape {ref_shapes[i]}")
    return leaves


def apply_updates(params, updates):
    """params + updates, leaf by leaf (optax's apply_updates): dicts are matched by key, and
    the result has params' structure and key order. A ValueError names the first key path
    where the two differ in structure or shape."""
    leaves, paths = [], []
    signature = _flatten(params, leaves, paths)
    shapes = [numpy.shape(p) for p in leaves]
    others = _match("updates", updates, "params", params, signature, paths, shapes)
    return _rebuild(params, [p + u for p, u in zip(leaves, others)])


def _optimizer_init(state_type, variant, params, arguments):
    """The state before the first step: count 0 and each buffer at its initial value (a number,
    or the name of the argument that gives it)."""
    _, _, _, _, array_fields, scalar_fields, initials, scalar_initials, _, _, _ = variant
    leaves = []
    _flatten(params, leaves, [])
    values = {"count": 0}
    for field, initial in zip(array_fields, initials):
        initial = float(arguments[initial]) if isinstance(initial, str) else initial
        values[field] = _rebuild(
            params, [numpy.full_like(numpy.asarray(p), initial) for p in leaves])
    values.update(zip(scalar_fields, scalar_initials))
    return state_type(**values)


def _immutable(value):
    """True for values that cannot change in place (numbers, tuples of them, functions)."""
    if type(value) is tuple:
        return all(_immutable(v) for v in value)
    return isinstance(value, (int, float, numpy.generic)) or (
        callable(value) and not isinstance(value, numpy.ndarray))


def _remember(last, arguments, variant, hyper):
    """``(*arguments, variant, hyper, fixed constants)`` for checked ``arguments``, kept in
    ``last[0]`` when none of them can change in place, so that the next call with the same
    objects skips the checks."""
    record = (*arguments, variant, hyper, _fixed_constants(variant[1], hyper))
    if _immutable(arguments):
        last[0] = record
    return record


_FIXED = {}


def _fixed_constants(fixed, hyper):
    """The constants of the hyper-parameters alone, as 0-d float64 arrays (as the package binds
    them: numpy converts a Python float at every ufunc call), computed once per value."""
    key = (fixed, hyper)
    found = _FIXED.get(key)
    if found is None:
        if len(_FIXED) >= 256:  # many hyper-parameter values: start over, do not grow
            _FIXED.clear()
        found = _FIXED[key] = [numpy.array(float(v)) for v in fixed(*hyper)]
    return found


def _optimizer_update(name, state_type, variant, grads, state, params, lr, hyper, fixed):
    """One step of a variant: (updates, new_state), as symlearn's Optimizer.update; ``fixed``
    are the constants of the hyper-parameters alone (see _fixed_constants)."""
    if type(state) is not state_type:
        found = _describe(state) if state is not None else "None"
        raise TypeError(f"state is {found}, not the {state_type.__name__} that {name}'s init "
                        "returns")
    count = state[0]
    rate = lr(count) if callable(lr) else lr
    if type(params) is _ndarray and type(grads) is _ndarray and grads.shape == params.shape:
        # One array (the common case): the variant's step written out, no tree to walk.
        result = variant[10](state, count, rate, params, grads, hyper, fixed)
        if result is not None:
            return result
    (scalars, _, arrays, n_per_step, array_fields, scalar_fields, _, _, array_index,
     scalar_index, _) = variant
    leaves, paths = [], []
    signature = _flatten(params, leaves, paths)
    shapes = [numpy.shape(p) for p in leaves]
    g_leaves = _match("grads", grads, "params", params, signature, paths, shapes)
    buffers = []
    for field in array_fields:
        tree = getattr(state, field)
        if tree is None:
            raise ValueError(f"state.{field} is None: make the state with {name}_init and the "
                             f"hyper-parameters given to {name}_update")
        buffers.append(_match(f"state.{field}", tree, "params", params, signature, paths, shapes))
    outputs = scalars(count, rate, *hyper, *(getattr(state, f) for f in scalar_fields))
    constants = outputs[:n_per_step] + fixed
    updates, new = [], [[] for _ in array_fields]
    for i, (p, g) in enumerate(zip(leaves, g_leaves)):
        result = arrays(p, g, *(b[i] for b in buffers), *constants)
        updates.append(result[0])
        for j, value in enumerate(result[1:]):
            new[j].append(value)
    trees = [_rebuild(params, values) for values in new]
    return _rebuild(params, updates), _new_state(state, count, array_index, trees, scalar_index,
                                                 outputs[n_per_step:])


def _new_state(state, count, array_index, arrays, scalar_index, scalars):
    """The state after a step: count + 1, the new buffers and scalars at their fields'
    positions, the fields the variant does not use unchanged."""
    fields = list(state)
    fields[0] = count + 1
    for i, value in zip(array_index, arrays):
        fields[i] = value
    if scalar_index:
        for i, value in zip(scalar_index, scalars):
            fields[i] = float(value)
    return _tuple_new(type(state), fields)


_tuple_new = tuple.__new__
'''


def optim_runtime() -> str:
    """:data:`OPTIM_RUNTIME` with the package's ``_check_lr``, ``_check_betas`` (the factories'
    checks) and ``_sorted_keys`` (the trees' key order) copied in by ``inspect.getsource``, so
    the module checks and orders exactly as the package does."""
    from ..optim import _base, _rules

    text = OPTIM_RUNTIME
    for function in (_rules._check_lr, _rules._check_betas, _base._sorted_keys):
        text = text.replace("{" + function.__name__ + "}", inspect.getsource(function).strip())
    return text.strip()

