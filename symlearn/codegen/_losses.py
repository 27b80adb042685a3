r"""The exported form of the losses of :mod:`symlearn.losses`.

Each exported loss is three functions with ``torch.nn.functional``'s signature (the catalog's
``spec.signature``, byte for byte): ``name(...)``, ``name_grad(...)`` and
``name_value_and_grad(...)``.

* The common call (two float arrays of one shape, 'mean' or 'sum', no options) of a loss the
  package evaluates by its plain path runs the package's own compiled in-place kernels
  (``Loss._kernel`` through ``lambdify_inplace``: the summed value as a dot product or one sum,
  the gradient written into the one array the kernel allocates), their text copied by
  ``inspect.getsource`` (:func:`_plain_kernels`); cross_entropy's common call runs the package's
  fast path, copied with its source.
* Every other call goes through one runtime (:data:`RUNTIME`) whose validation is the package's:
  ``_bound_reduction`` and ``_bind_elementwise`` of :mod:`symlearn.losses._spec` (reduction,
  conversion, broadcasting, shape and domain checks, optional arrays, the reduction's scale) and
  their helpers, copied by ``inspect.getsource``; then one kernel per combination of boolean
  options and present optional arrays, printed by :func:`~symlearn.codegen.function_source`
  from :func:`symlearn.losses._spec.kernel_expressions`, the expressions ``Loss`` compiles.

A loss is exported only when every part of it has a numpy-only form here: its domain checks
(:data:`_CHECKS`, matched by their sentence), its option checks (:data:`_OPTION_CHECKS`) and its
``prepare`` step. The structured losses written by hand in numpy (:data:`STRUCTURED`) are
exported with their own source text; the others are refused by :func:`loss_refusal` in one
sentence.
"""

from __future__ import annotations

import inspect
import itertools

import sympy as sp

from ..printing.latex import latex
from ._source import FunctionSource, function_source

__all__ = ["RUNTIME", "exportable_losses", "loss_refusal", "loss_sources", "runtime_source"]

# The domain checks of the catalog, by the sentence each states, as numpy-only text; a check whose
# sentence is not here makes its loss not exportable (never a check dropped silently).
_CHECKS = {
    "a probability in [0, 1]": "lambda a: (a >= 0) & (a <= 1)",
    "a probability (non-negative)": "lambda a: a >= 0",
    "greater than -1": "lambda a: a > -1",
    "non-zero": "lambda a: a != 0",
    "1 or -1": "lambda a: (a == 1) | (a == -1)",
}

# The numpy-only runtime every exported elementwise loss calls: Loss._elementwise
# (symlearn/losses/_spec.py) around the exported kernels. Its validation is the package's own
# code: _bound_reduction, _bind_elementwise and the helpers they call are copied by
# inspect.getsource (see runtime_source), so the package and the module check, convert, broadcast
# and scale in one text.
RUNTIME = """
np = numpy
REDUCTIONS = ("none", "mean", "sum")
_ndarray = numpy.ndarray
_float64 = numpy.dtype(numpy.float64)


class _LossSpec:
    \"\"\"What the runtime needs of one catalog row (LossSpec's fields of the same names).\"\"\"

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _elementwise_loss(spec, bound, want_value, want_grad):
    \"\"\"(value, gradient with respect to the first array) of an elementwise loss; ``bound`` is
    the call's arguments by name.\"\"\"
    reduction = _bound_reduction(bound, spec.reductions)
    (arrays, options, extra, present, weight, flags, shape, first_shape, scale,
     per_sample) = _bind_elementwise(spec, bound, reduction)
    kernel = spec.kernels[(present, flags)]
    with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value, grad = kernel(*arrays, *options, *extra)
        if weight is not None:
            value, grad = weight * value, weight * grad
        if want_grad:
            grad = scale * grad
    if not want_grad:
        return _reduce(value, reduction, shape, scale, per_sample, spec), None
    if numpy.shape(grad) != shape:
        grad = numpy.array(numpy.broadcast_to(grad, shape))
    if first_shape != shape:
        grad = _sum_to_shape(grad, first_shape)
    if want_value:
        value = _reduce(value, reduction, shape, scale, per_sample, spec)
    return (value if want_value else None), grad
"""


def runtime_source(gaussian: bool = False) -> str:
    """The runtime's text: :data:`RUNTIME`, the package's own helpers it calls and the
    catalog's option checks (:data:`_OPTION_CHECKS`)."""
    from ..losses import _catalog, _spec

    helpers = [_spec.resolve_reduction, _spec.as_float_array, _spec._check_domain,
               _spec._bound_reduction, _spec._bind_elementwise, _spec._sum_to_shape,
               _spec._broadcastable, _spec._reduce]
    helpers += [getattr(_catalog, name) for name in _OPTION_CHECKS]
    if gaussian:
        helpers.append(_catalog._gaussian_var)
    texts = [inspect.getsource(h).strip() for h in helpers]
    return RUNTIME.strip() + "\n\n\n" + "\n\n\n".join(texts) + "\n"


#: The catalog's option checks (factories in symlearn/losses/_catalog.py whose check is
#: ``check(options)``), copied into the module by inspect.getsource.
_OPTION_CHECKS = ("_nonnegative_option", "_positive_option")


def _option_check(spec) -> str | None:
    """The text that makes ``spec.option_checks`` in the module (``_positive_option('delta')``),
    ``"None"`` without one, ``None`` when it has no exported form."""
    check = spec.option_checks
    if check is None:
        return "None"
    qualname = getattr(check, "__qualname__", "")
    factory = qualname.removesuffix(".<locals>.check")
    if factory not in _OPTION_CHECKS or not check.__closure__:
        return None
    return f"{factory}({check.__closure__[0].cell_contents!r})"


def loss_refusal(spec) -> str | None:
    """``None`` when ``spec`` can be exported, else one sentence saying why not."""
    if not spec.is_elementwise:
        if spec.name in STRUCTURED and _structured_parts(spec) is not None:
            return None
        return (f"{spec.name} is computed by hand-written numpy code in symlearn (not from one "
                "elementwise expression) and cannot be exported yet")
    unknown = [c.expected for c in spec.checks if c.expected not in _CHECKS]
    if unknown:
        return f"{spec.name}'s check {unknown[0]!r} has no exported form yet"
    if _option_check(spec) is None:
        return f"{spec.name}'s option check has no exported form yet"
    if spec.prepare is not None and spec.name != "gaussian_nll_loss":
        return f"{spec.name}'s argument preparation has no exported form yet"
    return None


#: The losses written by hand in numpy (symlearn/losses/_structured.py) that are exported with
#: their own source text (inspect.getsource), so the module runs the code the package runs.
STRUCTURED = (
    "cross_entropy", "nll_loss", "multi_margin_loss", "multilabel_margin_loss",
    "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
    "linf_distance", "minkowski_distance", "ctc_loss",
)


def _structured_parts(spec) -> list[str] | None:
    """The source texts the structured loss's function needs (itself, the helpers it calls in
    symlearn/losses/_structured.py and _ctc.py, their module constants), in source order;
    ``None`` when it uses anything else than numpy, those and the runtime's ``as_float_array``."""
    import ast
    import builtins
    import dis
    import types

    from ..losses import _ctc, _structured

    # The modules a structured loss's code may come from; their texts go into one module, so a
    # name that two of them define differently makes the loss not exportable.
    modules = {m.__name__: m for m in (_structured, _ctc)}
    constants: dict[tuple[str, str], tuple[tuple[int, int], str]] = {}
    for order, module in enumerate(modules.values()):
        module_source = inspect.getsource(module)
        for node in ast.parse(module_source).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name
            ):
                constants[module.__name__, node.targets[0].id] = (
                    (order, node.lineno), ast.get_source_segment(module_source, node))
    found: dict[str, tuple[tuple[int, int], str]] = {}
    origin: dict[str, str] = {}

    def names_of(code):
        """The global names the code reads; an import makes it not exportable (None)."""
        names = set()
        for instruction in dis.get_instructions(code):
            if instruction.opname == "IMPORT_NAME":
                return None
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                names.add(instruction.argval)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                inner = names_of(const)
                if inner is None:
                    return None
                names |= inner
        return names

    def one_origin(name: str, module_name: str) -> bool:
        return origin.setdefault(name, module_name) == module_name

    def visit(function) -> bool:
        module = modules.get(function.__module__)
        if module is None or not one_origin(function.__name__, module.__name__):
            return False
        if function.__name__ in found:
            return True
        order = list(modules).index(module.__name__)
        lineno = inspect.getsourcelines(function)[1]
        found[function.__name__] = ((order, lineno), inspect.getsource(function).strip())
        names = names_of(function.__code__)
        if names is None:
            return False
        for name in sorted(names):
            if name not in vars(module):
                if hasattr(builtins, name):
                    continue
                return False
            value = vars(module)[name]
            if name in ("np", "as_float_array"):
                continue
            if isinstance(value, types.FunctionType) and value.__module__ in modules:
                if not visit(value):
                    return False
            elif (module.__name__, name) in constants:
                if not one_origin(name, module.__name__):
                    return False
                found[name] = constants[module.__name__, name]
            else:
                return False
        return True

    if not visit(spec.structured):
        return None
    if spec.fast is not None and not visit(spec.fast):
        return None
    return [text for _, text in sorted(found.values())]


def structured_source(specs) -> str:
    """The hand-written numpy functions of the structured losses ``specs``, each once."""
    texts: list[str] = []
    for spec in specs:
        for text in _structured_parts(spec) or ():
            if text not in texts:
                texts.append(text)
    return "\n\n\n".join(texts) + "\n" if texts else ""


STRUCTURED_RUNTIME = '''
def _structured_loss(function, reductions, bound, want_value, want_grad):
    """(value, gradient) of a loss written by hand in numpy, as Loss._evaluate calls it."""
    reduction = _bound_reduction(bound, reductions)
    value, grad = function(bound, reduction, want_value, want_grad)
    return (value if want_value else None), (grad if want_grad else None)
'''


def exportable_losses() -> tuple[str, ...]:
    """The catalog's losses that :func:`symlearn.export` can write, in the catalog's order."""
    from ..losses import _catalog

    return tuple(s.name for s in _catalog.SPECS if loss_refusal(s) is None)


def _combinations(spec):
    """Every (present optional arrays, flag values) the runtime may ask for, in a fixed order."""
    optional = list(spec.optional_arrays)
    subsets = [tuple(c) for k in range(len(optional) + 1)
               for c in itertools.combinations(optional, k)]
    flag_values = list(itertools.product((False, True), repeat=len(spec.flags)))
    return [(present, values) for present in subsets for values in flag_values]


def kernel_source(spec, present: tuple, values: tuple, index: int) -> FunctionSource:
    """The kernel ``(arrays..., options..., present optional arrays...) -> (value, derivative)``
    printed from :func:`symlearn.losses._spec.kernel_expressions`."""
    from ..losses._spec import kernel_expressions
    from .rewrite import protect_log1p as _protect_log1p
    from .rewrite import share_softplus as _share_softplus

    flags = tuple(zip(spec.flags, values))
    value, grad = kernel_expressions(spec, present, flags)
    # The package's own preparation before it compiles (Loss._kernel, _compile): sigmoid through
    # a softplus that also occurs, log(1 + u) as log1p, and factor_terms so that CSE shares
    # x - y between 2*(x - y) and (x - y)**2.
    value, grad = (sp.factor_terms(_protect_log1p(e)) for e in _share_softplus([value, grad]))
    args = [*spec.symbols, *spec.options.values()]
    args += [spec.optional_arrays[n] for n in present]
    settings = ", ".join([*(f"{n} given" for n in present),
                          *(f"{n}={on}" for n, on in flags)]) or "no options"
    doc = (f"The per-element value and derivative of {spec.name} ({settings}):\n\n"
           f"$$ {latex(value)} $$\n\n$$ {latex(grad)} $$")
    return function_source(f"_{spec.name}_kernel{index}", args, [value, grad], doc=doc,
                           broadcast=True)


def _docstring(spec, kind: str) -> str:
    signature = str(inspect.signature(spec.signature))
    first = spec.arrays[0]
    twin = f"PyTorch twin: {spec.torch}." if spec.torch else "No PyTorch twin."
    domains = "\n".join(f"    {k}: {v}" for k, v in spec.domain.items()) or "    all reals"
    parameters = inspect.signature(spec.signature).parameters
    options = "".join(f"\n    {name}: a real number (default {parameters[name].default!r})"
                      for name in spec.options)
    flags = "".join(f"\n    {name}: a boolean option (default {parameters[name].default!r})"
                    for name in spec.flags)
    shapes = ("the arrays broadcast together (torch's rule); the gradient is summed back to "
              f"{first}'s shape" if spec.broadcast
              else f"every array argument has {first}'s shape")
    weight = {
        "normalized": "weight: optional, broadcastable to the input's shape; 'mean' divides by "
                      "the sum of the weights",
        "elementwise": "weight: optional, broadcastable to the input's shape, multiplies each "
                       "element; 'mean' divides by the element count",
    }.get(spec.weight, "")
    mean = ("'mean' averages over the last axis per sample, then over the samples"
            if spec.mean_over == "last" else "'mean' divides the sum by the element count")
    means = "'mean'/'sum'/'batchmean'" if "batchmean" in spec.reductions else "'mean'/'sum'"
    returns = {
        "value": f"The loss: a float for {means}, an array of the elements' losses for 'none'.",
        "grad": f"The gradient with respect to {first} ({first}'s shape); for 'none', the "
                "gradient of the sum of the outputs.",
        "both": "(value, gradient), computed in one pass.",
    }[kind]
    suffix = {"value": "", "grad": "_grad", "both": "_value_and_grad"}[kind]
    text = (
        f"{spec.name}{suffix}{signature}\n\n"
        f"{spec.title}. {twin}\n\n"
        f"Arguments (numpy arrays or numbers, converted to float64), with their domains:\n"
        f"{domains}{options}{flags}\n"
        + (f"    {weight}\n" if weight else "")
        + f"    reduction: one of {', '.join(map(repr, spec.reductions))} (default 'mean'); "
        f"{mean}\n    size_average, reduce: PyTorch's legacy arguments, mapped to reduction\n\n"
        f"Shapes: {shapes}.\n\n"
        f"Per element, where {_symbols(spec)}:\n\n$$ {latex(spec.expr)} $$\n\n"
        f"Its derivative in {first}:\n\n$$ {latex(spec.derivative)} $$\n\n"
        f"Returns: {returns}\n\n"
        "Raises ValueError, naming the argument, for a shape mismatch, a bad reduction, a value "
        "outside its domain or a bad option."
        + (f"\n\nAt kinks: {spec.kink}" if spec.kink else "")
    )
    if "size_average" not in inspect.signature(spec.signature).parameters:
        text = text.replace("\n    size_average, reduce: PyTorch's legacy arguments, mapped to "
                            "reduction", "")
    return text


def _symbols(spec) -> str:
    """``$x$ is one element of input, ...``: the formula's symbols named by their arguments."""
    named = [(symbol, f"one element of {name}") for name, symbol in zip(spec.arrays, spec.symbols)]
    named += [(symbol, f"the option {name}") for name, symbol in spec.options.items()]
    named += [(symbol, f"one element of {name}") for name, symbol in spec.optional_arrays.items()]
    return ", ".join(f"${latex(symbol)}$ is {what}" for symbol, what in named)


def _plain_kernels(spec):
    """``(sources, (value, grad, both, quiet))`` for a loss the package evaluates by its plain
    path (``Loss._plain_entry``/``_plain_arrays``: two float64 arrays of one shape, no options,
    a 'mean' or 'sum' reduction): the package's own compiled in-place kernels (``Loss._kernel``
    through ``lambdify_inplace``), their text copied by ``inspect.getsource`` as the structured
    losses' is, so that the module runs the package's code on its common call. ``None`` when
    the package has no such path for ``spec``."""
    from ..losses import catalog

    loss = catalog.get(spec.name)
    if loss is None or not getattr(loss, "_plain", False) or spec.prepare is not None:
        return None
    kernel = loss._kernel((), ())
    if kernel.reduced_both is None or kernel.reduced_value is None:
        return None
    prefix = f"_{spec.name}_plain"
    sources = [
        _inplace_copy(kernel.reduced_value.inplace, f"{prefix}_value"),
        _inplace_copy(kernel.grad.inplace, f"{prefix}_grad"),
        _inplace_copy(kernel.reduced_both.inplace, f"{prefix}_both"),
    ]
    return sources, (*(s.name for s in sources), kernel.quiet)


def _inplace_copy(function, name: str) -> FunctionSource:
    """The source of one of the package's in-place kernels (``lambdify_inplace``'s ``_inplace``,
    executed from text and registered with linecache) under ``name``: its body unchanged, the
    names it reads from its namespace (numpy's ufuncs as ``_multiply``..., the numbers of its
    expressions as 0-d arrays) bound as keyword defaults. Anything else it reads is an error,
    never a silently different function."""
    import dis

    import numpy

    header, body = inspect.getsource(function).split("\n", 1)
    parameters = header[header.index("(") + 1:header.rindex(")")]
    bound = []
    seen = set()
    for instruction in dis.get_instructions(function):
        if instruction.opname != "LOAD_GLOBAL" or instruction.argval in seen:
            continue
        seen.add(instruction.argval)
        value = function.__globals__.get(instruction.argval)
        if value is numpy:
            continue
        if type(value) is numpy.ndarray and value.shape == () and value.dtype == numpy.float64:
            bound.append(f"{instruction.argval}=numpy.array({float(value)!r})")
        elif getattr(numpy, getattr(value, "__name__", ""), None) is value and callable(value):
            bound.append(f"{instruction.argval}=numpy.{value.__name__}")
        else:
            raise ValueError(f"the compiled kernel {name} reads {instruction.argval!r}, which has "
                             "no exported form")
    text = f"def {name}({', '.join([parameters, *sorted(bound)])}):\n{body}"
    return FunctionSource(name, tuple(p.strip() for p in parameters.split(",")), text)


def _plain_call(spec, signature, kind: str, kernels) -> str:
    """The first lines of a public function of a plain loss: the call ``name(x, y)`` (or with
    ``reduction='sum'``) on two float arrays of one shape with at least one element goes to the
    package's in-place kernel at once (after a conversion to float64, as the package's), as
    ``Loss._plain_entry`` does; anything else takes the runtime (which checks and converts)."""
    value, grad, both, quiet = kernels
    first, second = spec.arrays
    others = [f"{name} is None" for name, p in signature.parameters.items()
              if name not in spec.arrays and name != "reduction"]
    assert all(signature.parameters[name.split()[0]].default is None for name in others)
    condition = " and ".join([
        f"type({first}) is _ndarray and type({second}) is _ndarray",
        f"{first}.shape == {second}.shape and {first}.ndim and {first}.size",
        *others,
        "(reduction == 'mean' or reduction == 'sum')",
    ])
    # float64 arrays go straight to the kernel; other float dtypes (float32...) are converted as
    # the package converts them (as_float_array), then take the same kernel.
    same = f"        if {first}.dtype is _float64 and {second}.dtype is _float64:\n"
    convert = "".join(f"        if {a}.dtype is not _float64 and {a}.dtype.kind == 'f':\n"
                      f"            {a} = {a}.astype(_float64)\n" for a in (first, second))
    scale = f"1.0 / {first}.size if reduction == 'mean' else 1.0"
    call = {
        "value": f"{value}({first}, {second}, 1.0, {scale})[0]",
        "grad": f"{grad}({first}, {second}, 1.0, {scale})[0]",
        "both": f"{both}({first}, {second}, 1.0, {scale})",
    }[kind]
    if quiet:  # as Loss._plain_arrays: a branch not taken may divide by zero or overflow
        call = ('    with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):\n'
                f"                return {call}\n")
    else:
        call = f"return {call}\n"
    return f"    if {condition}:\n{same}            {call}{convert}{same}            {call}"


def _literal_tuple(items) -> str:
    return repr(tuple(items))


def loss_sources(spec) -> tuple[list[FunctionSource], str]:
    """The kernels, the spec table and the three public functions of one loss, and the
    listing line for the module's header."""
    from ..printing.latex import latex as _latex

    if not spec.is_elementwise:
        return _structured_sources(spec), f"{spec.name}: ${_latex(spec.expr)}$"
    sources = []
    entries = []
    for index, (present, values) in enumerate(_combinations(spec)):
        kernel = kernel_source(spec, present, values, index)
        sources.append(kernel)
        flags = tuple(zip(spec.flags, values))
        entries.append(f"        ({_literal_tuple(present)}, {_literal_tuple(flags)}): "
                       f"{kernel.name},")
    checks = []
    for check in spec.checks:
        checks.append(f"        ({check.argument!r}, {_CHECKS[check.expected]}, "
                      f"{check.expected!r}, {check.unless!r}),")
    table_name = f"_{spec.name.upper()}"
    lines = [
        f"{table_name} = _LossSpec(",
        f"    arrays={_literal_tuple(spec.arrays)},",
        f"    options={_literal_tuple(spec.options)},",
        f"    optional_arrays={_literal_tuple(spec.optional_arrays)},",
        f"    flags={_literal_tuple(spec.flags)},",
        f"    weight={spec.weight!r},",
        f"    mean_over={spec.mean_over!r},",
        f"    broadcast={spec.broadcast!r},",
        f"    reductions={_literal_tuple(spec.reductions)},",
        f"    option_checks={_option_check(spec)},",
        "    checks=(",
        *checks,
        "    ),",
        f"    prepare={'_gaussian_var' if spec.prepare is not None else None},",
        "    kernels={",
        *entries,
        "    },",
        ")",
    ]
    sources.append(FunctionSource(table_name, (), "\n".join(lines) + "\n"))
    fast = _plain_kernels(spec)
    if fast is not None:
        sources.extend(fast[0])
    signature = inspect.signature(spec.signature)
    params = str(signature)[1:-1]
    for kind, suffix, call in (
        ("value", "", "[0]"), ("grad", "_grad", "[1]"), ("both", "_value_and_grad", ""),
    ):
        doc = _docstring(spec, kind)
        want = {"value": "True, False", "grad": "False, True", "both": "True, True"}[kind]
        body = "\n".join(f"    {line}" if line else "" for line in doc.splitlines())
        shortcut = "" if fast is None else _plain_call(spec, signature, kind, fast[1])
        text = (f"def {spec.name}{suffix}({params}):\n"
                f'    r"""{body.lstrip()}\n    """\n'
                f"{shortcut}"
                f"    return _elementwise_loss({table_name}, locals(), {want}){call}\n")
        sources.append(FunctionSource(f"{spec.name}{suffix}", tuple(signature.parameters), text))
    return sources, f"{spec.name}: ${_latex(spec.expr)}$"


def _structured_sources(spec) -> list[FunctionSource]:
    signature = inspect.signature(spec.signature)
    params = str(signature)[1:-1]
    function = spec.structured.__name__
    sources = []
    for kind, suffix, call in (
        ("value", "", "[0]"), ("grad", "_grad", "[1]"), ("both", "_value_and_grad", ""),
    ):
        doc = _structured_docstring(spec, kind)
        want = {"value": "True, False", "grad": "False, True", "both": "True, True"}[kind]
        body = "\n".join(f"    {line}" if line else "" for line in doc.splitlines())
        shortcut = _fast_call(spec, signature, want, call)
        text = (f"def {spec.name}{suffix}({params}):\n"
                f'    r"""{body.lstrip()}\n    """\n'
                f"{shortcut}"
                f"    return _structured_loss({function}, {_literal_tuple(spec.reductions)}, "
                f"locals(), {want}){call}\n")
        sources.append(FunctionSource(f"{spec.name}{suffix}", tuple(signature.parameters), text))
    return sources


def _fast_call(spec, signature, want: str, call: str) -> str:
    """The first lines of a public function of a structured loss with a ``fast`` path: the
    call with every option at its default goes to the package's ``spec.fast`` (copied with the
    loss's source), as ``Loss._dispatch`` does; ``fast`` returns ``None`` for inputs it does not
    take, which then go the general way."""
    if spec.fast is None:
        return ""
    conditions = []
    for name, parameter in signature.parameters.items():
        if name in spec.arrays[:2] or name == "reduction":
            continue
        default = parameter.default
        if default is None:
            conditions.append(f"{name} is None")
        elif type(default) in (int, float):  # the type first: an array is never compared
            conditions.append(f"type({name}) is {type(default).__name__} and {name} == {default!r}")
        else:
            return ""
    reductions = [r for r in spec.reductions if r in ("none", "mean", "sum")]
    conditions.append("(" + " or ".join(f"reduction == {r!r}" for r in reductions) + ")")
    first, second = spec.arrays[:2]
    return (f"    if {' and '.join(conditions)}:\n"
            f"        result = {spec.fast.__name__}({first}, {second}, reduction, {want})\n"
            "        if result is not None:\n"
            f"            return result{call}\n")


def _structured_docstring(spec, kind: str) -> str:
    signature = str(inspect.signature(spec.signature))
    suffix = {"value": "", "grad": "_grad", "both": "_value_and_grad"}[kind]
    twin = f"PyTorch twin: {spec.torch}." if spec.torch else "No PyTorch twin."
    domains = "\n".join(f"    {k}: {v}" for k, v in spec.domain.items())
    returns = {
        "value": "The loss: a float for 'mean'/'sum', the per-sample losses for 'none'.",
        "grad": f"The gradient with respect to {spec.arrays[0]} ({spec.arrays[0]}'s shape); for "
                "'none', the gradient of the sum of the outputs.",
        "both": "(value, gradient), computed in one pass.",
    }[kind]
    doc = (spec.structured.__doc__ or "").strip()
    doc = "\n".join(line.strip() for line in doc.splitlines())
    parameters = inspect.signature(spec.signature).parameters
    mean = ("'mean' divides by the total weight of the targets not ignored"
            if "ignore_index" in parameters else "'mean' averages over the samples")
    others = "".join(
        f"\n    {name}: default {parameter.default!r}" for name, parameter in parameters.items()
        if name not in spec.arrays and name not in ("reduction", "size_average", "reduce")
        and name not in spec.domain
    )
    return (
        f"{spec.name}{suffix}{signature}\n\n{spec.title}. {twin}\n\n"
        f"Arguments, with their shapes and domains:\n{domains}{others}\n"
        + ("    weight: optional, one per class, shape (C,)\n"
           if "weight" in parameters and "weight" not in spec.domain else "")
        + f"    reduction: one of 'none', 'mean', 'sum' (default 'mean'); {mean}\n"
        + ("    size_average, reduce: PyTorch's legacy arguments, mapped to reduction\n"
           if "size_average" in parameters else "")
        + "\n"
        f"Per sample:\n\n$$ {latex(spec.expr)} $$\n\n{doc}\n\n"
        f"Returns: {returns}\n\n"
        "Raises ValueError, naming the argument, for a shape mismatch, a bad reduction, "
        "non-integer or out-of-range class indices or a bad option."
    )
