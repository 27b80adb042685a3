r"""``symlearn.export``: the source of a numpy-only module of what the engine derives.

The module imports ``numpy`` and nothing else, so it runs where SymPy and symlearn are not
installed. Its functions are printed by :mod:`symlearn.codegen`, the same printer and the same
source text symlearn executes for itself, and each exported gradient is checked against central
finite differences of the exported value before the text is returned.

What can be exported today:

* ``functions={"name": (args, expr), ...}``: any SymPy expression in the symbols ``args``
  (evaluated elementwise, numpy broadcasting); the module gets ``name(*args)``,
  ``name_grad(*args)`` (the partial derivative with respect to the first argument, by
  ``sympy.diff``) and ``name_value_and_grad(*args)``;
* ``schedules=("cosine_annealing", ...)``: the learning-rate schedules of
  :mod:`symlearn.optim` whose formula has one shape for every argument value, each as
  ``name(t, <the factory's arguments>)`` returning $\eta_t$, validating its arguments as the
  factory does.

* ``losses=("mse_loss", ...)`` (or ``("all",)``): the losses of the catalog, each as
  ``name(...)``, ``name_grad(...)`` and ``name_value_and_grad(...)`` with
  ``torch.nn.functional``'s arguments (see :mod:`symlearn.codegen._losses`). The losses written
  by hand in numpy (cross_entropy, nll_loss, ctc_loss, ...) carry the package's own source; a
  loss that cannot be exported is refused with a sentence naming it, and ``"all"`` leaves it
  out and lists it in the module's header.

* ``optimizers=("adam", ...)`` (or ``("all",)``): the optimizers of :mod:`symlearn.optim`, each
  as its state NamedTuple, ``name_init(params, **hyper)`` and ``name_update(grads, state, params,
  **hyper)`` returning ``(updates, new_state)`` as the package's ``Optimizer.update`` does, with
  ``torch.optim``'s hyper-parameter names and defaults taken at run time, plus
  ``apply_updates(params, updates)`` (see :mod:`symlearn.codegen._optim`: one compiled step per
  structural variant of the update rule, printed by the package's own in-place generator).
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Iterable, Mapping

import sympy as sp

from .codegen import FunctionSource, compile_source, function_source, python_name
from .codegen._losses import (
    STRUCTURED_RUNTIME,
    loss_refusal,
    loss_sources,
    runtime_source,
    structured_source,
)
from .codegen._optim import OPTIMIZERS, optim_runtime, optimizer_source
from .codegen._source import PRELUDE
from .printing.latex import latex

__all__ = ["export", "exportable_schedules"]

# Schedules whose formula has the same shape for every value of the factory's arguments, with
# each argument's check (the factories' own rules, see symlearn/optim/_schedules.py) and a valid
# example value of each, distinct, so that each formula symbol can be matched to its argument.
_SCHEDULES: dict[str, dict[str, tuple[str, object]]] = {
    "constant": {"init_value": ("non_negative", 0.5)},
    "step_decay": {
        "init_value": ("non_negative", 0.5), "step_size": ("positive_int", 3),
        "decay_rate": ("unit_interval", 0.7),
    },
    "exponential_decay": {"init_value": ("non_negative", 0.5), "decay_rate": ("unit_interval", 0.7)},
    "inverse_time_decay": {
        "init_value": ("non_negative", 0.5), "decay_rate": ("non_negative", 0.25),
        "decay_steps": ("positive_int", 3),
    },
    "cosine_annealing": {
        "init_value": ("non_negative", 0.5), "T_max": ("positive_int", 7),
        "eta_min": ("non_negative", 0.125),
    },
    "linear_warmup": {
        "init_value": ("non_negative", 0.5), "total_iters": ("positive_int", 7),
        "start_factor": ("unit_interval", 0.25), "end_factor": ("closed_unit_interval", 0.875),
    },
}

_CHECKS = '''
def _check(name, value, kind):
    """The learning-rate factories' argument rules; a ValueError names the argument."""
    integral = isinstance(value, (int, numpy.integer)) and not isinstance(value, bool)
    real = integral or (isinstance(value, (float, numpy.floating)) and not isinstance(value, bool))
    ok = {
        "non_negative": real and value >= 0,
        "positive_int": integral and value > 0,
        "unit_interval": real and 0 < value <= 1,
        "closed_unit_interval": real and 0 <= value <= 1,
    }[kind]
    if not ok:
        rule = {
            "non_negative": "must be non-negative",
            "positive_int": "must be a positive integer",
            "unit_interval": "must be in (0, 1]",
            "closed_unit_interval": "must be in [0, 1]",
        }[kind]
        raise ValueError(f"{name}={value!r} {rule}")


def _step(t):
    if isinstance(t, bool) or not isinstance(t, (int, float, numpy.integer, numpy.floating)):
        raise TypeError(f"t={t!r} must be a step number")
    if not t >= 0:
        raise ValueError(f"t={t!r} must be non-negative")
    return t
'''


def exportable_schedules() -> tuple[str, ...]:
    """The schedule names :func:`export` accepts."""
    return tuple(_SCHEDULES)


def export(
    losses: Iterable[str] = (),
    optimizers: Iterable[str] = (),
    schedules: Iterable[str] = (),
    functions: Mapping[str, tuple] | None = None,
) -> str:
    r"""The source of a numpy-only Python module (see the module docstring for what it holds).

    Args:
        losses: names of elementwise catalog losses, or ``("all",)`` for every one.
        optimizers: optimizer names of :mod:`symlearn.optim` (``sgd``, ``adagrad``,
            ``rmsprop``, ``adadelta``, ``adam``, ``adamw``, ``nadam``), or ``("all",)``.
        schedules: schedule names from :func:`exportable_schedules`, or ``("all",)``.
        functions: ``{"name": (args, expr)}``: ``args`` a sequence of SymPy symbols (the first is
            the one differentiated), ``expr`` a SymPy expression in them.

    Returns:
        The module's text. The same request always gives the same text, byte for byte.
    """
    losses = tuple(losses)
    optimizers = _chosen_names(optimizers, OPTIMIZERS, "optimizer")
    losses, skipped = _loss_specs(losses)
    schedules = _chosen_names(schedules, _SCHEDULES, "exportable schedule")
    functions = dict(functions or {})
    if not schedules and not functions and not losses and not optimizers:
        raise ValueError("nothing to export: name at least one loss, optimizer, schedule or "
                         "function")
    sources: list[FunctionSource] = []
    listing: list[str] = []
    for spec in losses:
        made, formula = loss_sources(spec)
        sources.extend(made)
        listing.append(formula)
    for name, spec in functions.items():
        made, formula = _function_sources(name, spec)
        sources.extend(made)
        listing.append(f"{name}: {formula}")
    for name in schedules:
        source, formula = _schedule_source(name)
        sources.append(source)
        listing.append(f"{name}: {formula}")
    for name in optimizers:
        made, description = optimizer_source(name)
        # adam and adamw share AdamState: one class.
        sources.extend(m for m in made if m.name not in {s.name for s in sources})
        listing.append(description)
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two exported functions are both named {duplicate!r}")
    prelude = PRELUDE + ("\n" + _CHECKS if schedules else "")
    if losses:
        gaussian = any(spec.name == "gaussian_nll_loss" for spec in losses)
        prelude += "\n\n" + runtime_source(gaussian=gaussian)
        structured = [spec for spec in losses if not spec.is_elementwise]
        if structured:
            prelude += "\n\n" + STRUCTURED_RUNTIME.strip() + "\n\n\n" + structured_source(
                structured
            )
    if optimizers:
        prelude += "\n\n" + optim_runtime()
    # The module's header imports NamedTuple when there are optimizers; so does the executed text.
    compiled = compile_source(
        sources, ("from typing import NamedTuple\n" if optimizers else "") + prelude)
    for name, spec in functions.items():
        _check_gradient(name, spec, compiled)
    if skipped:
        listing.append("not exported (computed by hand-written numpy code in symlearn): "
                       + ", ".join(skipped))
    return _module_text(sources, listing, prelude, named_tuple=bool(optimizers))


def _did_you_mean(name: str, names: Iterable[str]) -> str:
    """``"; did you mean a or b?"`` for the names close to ``name``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _chosen_names(requested: Iterable[str], known, what: str) -> tuple[str, ...]:
    """The names asked for, each once (``all``: every one of ``known``); an unknown name is a
    ValueError with the close matches and the list of ``what``s that can be exported."""
    requested = tuple(requested)
    if "all" in requested:
        return tuple(known)
    for name in requested:
        if name not in known:
            raise ValueError(
                f"there is no {what} called {name!r}{_did_you_mean(name, known)} "
                f"(exportable: {', '.join(known)})"
            )
    return tuple(dict.fromkeys(requested))


def _loss_specs(requested: Iterable[str]) -> tuple[list, list[str]]:
    """The catalog rows asked for (``all``: every exportable one) and, for ``all``, the names
    left out. A named loss that cannot be exported is a ValueError saying why."""
    from .losses._catalog import SPECS

    requested = tuple(requested)
    by_name = {spec.name: spec for spec in SPECS}
    if "all" in requested:
        refusals = {s.name: loss_refusal(s) for s in SPECS}
        return ([s for s in SPECS if refusals[s.name] is None],
                [name for name, refusal in refusals.items() if refusal is not None])
    chosen = []
    for name in dict.fromkeys(requested):
        if name not in by_name:
            raise ValueError(f"there is no loss called {name!r} in the catalog"
                             f"{_did_you_mean(name, by_name)}")
        refusal = loss_refusal(by_name[name])
        if refusal is not None:
            raise ValueError(refusal)
        chosen.append(by_name[name])
    return chosen, []


def _function_sources(name: str, spec) -> tuple[list[FunctionSource], str]:
    python_name(name)  # the name itself must be an identifier
    try:
        args, expr = spec
    except (TypeError, ValueError):
        raise ValueError(f"functions[{name!r}] must be a pair (args, expr)") from None
    args = list(args)
    if not args or not all(isinstance(a, sp.Symbol) for a in args):
        raise ValueError(f"functions[{name!r}]: args must be a non-empty sequence of SymPy symbols")
    expr = sp.sympify(expr) if not isinstance(expr, sp.Basic) else expr
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"functions[{name!r}]: the expression must be a SymPy expression")
    grad = sp.diff(expr, args[0])
    names = [python_name(a) for a in args]
    shape = "numpy arrays (or numbers), broadcast together"
    formula = f"{latex(expr)}"
    prologue = [f"{n} = _as_float_array({n}, {n!r})" for n in names]
    listed = ", ".join(names)
    value_doc = (f"{name}({listed})\n\nArguments, in order: {listed} ({shape}).\n\n"
                 f"Returns the elementwise value of\n\n$$ {formula} $$")
    grad_doc = (f"{name}_grad({listed})\n\nArguments, in order: {listed} ({shape}).\n\n"
                f"Returns the partial derivative with respect to {names[0]}, elementwise:\n\n"
                f"$$ {latex(grad)} $$")
    both_doc = (f"{name}_value_and_grad({listed})\n\nArguments, in order: {listed} ({shape}).\n\n"
                f"Returns ({name}({listed}), {name}_grad({listed})), computed together.")
    common = {"prologue": prologue, "broadcast": True}
    made = [
        function_source(name, args, [expr], doc=value_doc, **common),
        function_source(f"{name}_grad", args, [grad], doc=grad_doc, **common),
        function_source(f"{name}_value_and_grad", args, [expr, grad], doc=both_doc, **common),
    ]
    return made, f"${formula}$"


def _schedule_source(name: str) -> tuple[FunctionSource, str]:
    from .optim import _schedules

    factory = getattr(_schedules, name)
    checks = _SCHEDULES[name]
    example = factory(**{arg: value for arg, (_, value) in checks.items()})
    # Each formula symbol is the argument with the same (distinct) example value.
    by_value = {value: arg for arg, (_, value) in checks.items()}
    renames = {}
    for symbol, value in example.parameters.items():
        renames[symbol] = sp.Symbol(by_value[value], real=True)
    t = sp.Symbol("t", real=True)
    expression = example.expression.xreplace({**renames, _schedules.T: t})
    signature = inspect.signature(factory)
    defaults = {
        arg: parameter.default
        for arg, parameter in signature.parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    args = [t] + [sp.Symbol(arg, real=True) for arg in signature.parameters]
    prologue = ["t = _step(t)"] + [f"_check({arg!r}, {arg}, {kind!r})" for arg, (kind, _) in
                                   checks.items()]
    where = ", ".join(
        f"${latex(symbol)}$ = {by_value[value]}" for symbol, value in example.parameters.items()
    )
    shown = example.expression.xreplace({_schedules.T: sp.Symbol("t")})
    doc = (f"{name}(t, {', '.join(signature.parameters)})\n\n"
           f"The learning rate at step t = 0, 1, 2, ... (a float), as symlearn.optim.{name}\n"
           f"computes it (PyTorch's torch.optim.lr_scheduler formula):\n\n"
           f"$$ \\eta_t = {latex(shown)} $$\n\nwith {where}.")
    # The value is a Python float, as the package's schedules return.
    source = function_source(
        name, args, [expression], doc=doc, defaults=defaults, prologue=prologue, convert="float"
    )
    return source, f"$\\eta_t = {latex(shown)}$ ({where})"


def _check_gradient(name: str, spec, compiled: Mapping) -> None:
    """The exported gradient against central differences of the exported value, at random
    points of several scales; a disagreement is an error, never a module written."""
    args, _ = spec
    value, grad = compiled[name], compiled[f"{name}_grad"]
    rng = random.Random(0)
    compared = 0
    for _ in range(60):
        scale = rng.choice((0.1, 1.0, 10.0))
        point = [rng.uniform(-1, 1) * scale for _ in args]
        x = point[0]
        h = 1e-6 * max(1.0, abs(x))
        try:
            upper = float(value(x + h, *point[1:]))
            lower = float(value(x - h, *point[1:]))
            claimed = float(grad(*point))
        except (ArithmeticError, ValueError):
            continue
        if not all(map(math.isfinite, (upper, lower, claimed))):
            continue
        estimate = (upper - lower) / (2 * h)
        if abs(estimate - claimed) > 1e-4 * max(1.0, abs(estimate), abs(claimed)):
            raise ValueError(
                f"{name}_grad disagrees with finite differences at {dict(zip(map(str, args), point))}: "
                f"{claimed!r} against {estimate!r}; nothing was exported"
            )
        compared += 1
    if compared < 10:
        raise ValueError(
            f"{name}_grad could be compared with finite differences at only {compared} of 60 random "
            "points (the value is not finite there); nothing was exported"
        )


def _module_text(sources: list[FunctionSource], listing: list[str], prelude: str,
                 named_tuple: bool = False) -> str:
    from ._version import __version__

    public = [s.name for s in sources if not s.name.startswith("_")]
    if named_tuple:
        public.append("apply_updates")
    contents = "\n".join(f"    {line}" for line in listing)
    header = (
        f'r"""Numpy functions generated by symlearn {__version__} (symlearn.export).\n\n'
        + ("This module imports numpy only (and typing.NamedTuple, from the standard library, for\n"
           "the optimizers' states). " if named_tuple else "This module imports numpy only. ")
        + "Do not edit it: generate it again instead.\n"
        "Each function was printed from these SymPy expressions (in LaTeX):\n\n"
        f"{contents}\n"
        '"""\n'
    )
    body = "\n\n".join(s.text for s in sources)
    names = ",\n".join(f"    {n!r}" for n in sorted(public))
    return (
        f"{header}\n{'from typing import NamedTuple' + chr(10) + chr(10) if named_tuple else ''}"
        f"import numpy\n\n__all__ = [\n{names},\n]\n\n\n{prelude.strip()}\n\n\n{body}"
    )
