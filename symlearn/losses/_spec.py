r"""The machinery behind the loss catalog: :class:`LossSpec` (one row of the table) and
:class:`Loss` (the callable object built from a row).

A loss is a per-element SymPy expression plus a reduction. For an *elementwise* loss the value and
the gradient are compiled from that expression (``lambdify`` with explicit ordered arguments,
``cse=True`` and the stable printer); the reduction is a sum, scaled for ``'mean'``:

.. math::
    L = \frac{1}{N} \sum_i \ell(x_i, y_i), \qquad
    \frac{\partial L}{\partial x_i} = \frac{1}{N}\, \frac{\partial \ell}{\partial x}(x_i, y_i).

The scale $1/N$ is an argument of the compiled gradient, so value and gradient take one pass each.
Losses with structure that an elementwise ``lambdify`` cannot express (softmax over classes, norms
over features, CTC's dynamic programming) give a ``structured`` numpy implementation instead; its
mathematics is still derived symbolically in the loss's document.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

from ..codegen.rewrite import cse_sharing_functions as _cse_sharing_functions
from ..codegen.rewrite import protect_log1p as _protect_log1p
from ..codegen.rewrite import share_softplus as _share_softplus

__all__ = ["Check", "Loss", "LossSpec", "as_float_array", "resolve_reduction"]

REDUCTIONS = ("none", "mean", "sum")
_REDUCTION_ONLY = frozenset({"reduction"})
_FLOAT64 = np.dtype(np.float64)


def _QUIET():
    """A branch not taken may divide by zero or overflow (np.where evaluates both)."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def resolve_reduction(size_average, reduce, reduction, allowed=REDUCTIONS) -> str:
    """``reduction``, after torch's legacy ``size_average``/``reduce`` mapping
    (``torch.nn._reduction.legacy_get_string``)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in allowed:
        raise ValueError(f"{reduction=} must be one of {', '.join(map(repr, allowed))}")
    return reduction


def as_float_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array; a ValueError naming ``name`` if it is not numeric."""
    if type(value) is np.ndarray and value.dtype == np.float64:
        return value
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    return array


class Check(NamedTuple):
    """A domain condition on one array argument, checked before evaluation.

    Attributes:
        argument: the argument's name (``"target"``).
        holds: ``array -> bool array``, true where the value is allowed.
        expected: what is allowed, in words ("in [0, 1]").
    """

    argument: str
    holds: Callable[[np.ndarray], np.ndarray]
    expected: str
    unless: str | None = None  # skip the check when this boolean option is true


def _check_domain(checks, arrays, bound) -> None:
    """A ValueError naming the argument and the first element outside its domain. ``checks``
    are :class:`Check` rows or plain ``(argument, holds, expected, unless)`` tuples (the exported
    modules' tables)."""
    for argument, holds, expected, unless in checks:
        if unless is not None and bound.get(unless):
            continue
        array = arrays.get(argument)
        if array is None:
            continue
        with np.errstate(invalid="ignore"):
            ok = holds(array)
        if not np.all(ok):
            bad = np.argwhere(~np.broadcast_to(ok, array.shape))
            index = tuple(int(i) for i in bad[0]) if bad.size else ()
            raise ValueError(
                f"{argument} must be {expected}; got {argument}[{index}] = "
                f"{array[index]!r} (shape {array.shape})"
            )


def _bound_reduction(bound, allowed) -> str:
    """The call's reduction (``bound["reduction"]``), after torch's legacy ``size_average`` and
    ``reduce`` (checked against ``allowed`` only when it is not a plain one)."""
    reduction = bound["reduction"]
    if (
        reduction not in REDUCTIONS
        or bound.get("size_average") is not None
        or bound.get("reduce") is not None
    ):
        reduction = resolve_reduction(
            bound.get("size_average"), bound.get("reduce"), reduction, allowed
        )
    return reduction


def _bind_elementwise(spec, bound, reduction: str):
    r"""The checked arguments of one call of an elementwise loss, before its kernel runs.

    ``spec`` is read for plain fields only, so that :func:`symlearn.export` copies this function
    (``inspect.getsource``) into exported modules with a table of the same fields: ``arrays``,
    ``optional_arrays``, ``options``, ``flags`` (names, iterated), ``weight``, ``mean_over``,
    ``broadcast``, ``checks`` (``(argument, holds, expected, unless)`` rows), ``option_checks``
    and ``prepare`` (functions or ``None``).

    Returns:
        ``(arrays, options, extra, present, weight, flags, shape, first_shape, scale,
        per_sample)``: the array arguments as float64 (broadcast to ``shape`` when the loss
        broadcasts), the options as numpy float64 scalars, the present optional arrays and their
        names, the weight (``None`` when absent), ``((flag, bool), ...)``, the shapes, and the
        reduction's scale of the gradient: 1 for 'sum'/'none', $1/N$ for 'mean' (over the
        elements, or the weights' sum for a normalized weight), $1/	ext{batch}$ for
        'batchmean'.
    """
    arrays = [as_float_array(bound[name], name) for name in spec.arrays]
    if spec.prepare is not None:
        prepared = spec.prepare(dict(zip(spec.arrays, arrays)), bound)
        arrays = [prepared[name] for name in spec.arrays]
    first_shape = shape = arrays[0].shape
    if spec.broadcast:
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(spec.arrays, arrays))
            raise ValueError(f"the shapes do not broadcast: {shapes}") from None
        arrays = [a if a.shape == shape else np.broadcast_to(a, shape) for a in arrays]
    for name, array in zip(spec.arrays[1:], arrays[1:]):
        if array.shape != shape:
            raise ValueError(
                f"{name} has shape {array.shape}; expected {shape}, the shape of "
                f"{spec.arrays[0]}"
            )
    named = dict(zip(spec.arrays, arrays))
    present, extra = [], []
    for name in spec.optional_arrays:
        if bound.get(name) is not None:
            extra.append(_broadcastable(as_float_array(bound[name], name), name, shape, spec))
            named[name] = extra[-1]
            present.append(name)
    weight = None
    if spec.weight is not None and bound.get("weight") is not None:
        weight = _broadcastable(as_float_array(bound["weight"], "weight"), "weight", shape, spec)
    # numpy scalars: a division by an option of 0 gives inf in an unused branch, not an error.
    options = [np.float64(bound[name]) for name in spec.options]
    if spec.option_checks is not None:
        # Python floats, so that a message shows -1.0 (not np.float64(-1.0)).
        spec.option_checks({name: float(v) for name, v in zip(spec.options, options)})
    _check_domain(spec.checks, named, bound)
    flags = tuple((name, bool(bound[name])) for name in spec.flags)
    scale = 1.0
    per_sample = spec.mean_over == "last" and len(shape) > 0
    if per_sample:
        scale = 1.0 / shape[-1]
    if reduction == "batchmean":
        scale = 1.0 / (shape[0] if shape else 1)
    elif reduction == "mean":
        if weight is not None and spec.weight == "normalized":
            # Weights summing to 0 give inf, so 0/0 = NaN value and gradient (as PyTorch).
            with np.errstate(divide="ignore"):
                scale = np.float64(1.0) / np.broadcast_to(weight, shape).sum(dtype=np.float64)
        else:
            count = 1
            for n in shape[:-1] if per_sample else shape:
                count *= n
            scale = scale / count if count else float("nan")
    return (arrays, options, extra, tuple(present), weight, flags, shape, first_shape, scale,
            per_sample)


@dataclass(frozen=True)
class LossSpec:
    r"""One row of the loss catalog.

    Attributes:
        name: the ``torch.nn.functional`` name (or the catalog's own, without a twin).
        title: the loss in words ("Mean squared error").
        latex_name: its name in formulas (``\operatorname{MSE}``).
        signature: a function with the loss's exact signature (torch's names, order and defaults)
            that returns its bound arguments as a dict; the :class:`Loss` calls it first.
        arrays: the array arguments in order; the gradient is taken in the first.
        symbols: the SymPy symbols standing for one element of each array (same order).
        expr: the per-element loss in ``symbols`` and ``options`` (for structured losses, the
            per-sample loss, for display).
        options: scalar options (``{"delta": delta_symbol}``), passed to compiled functions.
        optional_arrays: optional array arguments inside ``expr`` (``{"pos_weight": symbol}``);
            absent ones are replaced by ``defaults_for_absent``.
        grad_expr: the per-element derivative with PyTorch's convention at kinks, when it differs
            from ``diff(expr, symbols[0])`` (whose value at a kink SymPy leaves undecided); the
            document checks that it equals ``diff`` away from the kinks.
        compiled_expr: the value as compiled, when PyTorch clamps it (BCE's log clamp at -100).
        weight: how an elementwise ``weight`` enters: ``None`` (no weight argument),
            ``"normalized"`` (mean divides by the sum of weights: mse, l1) or ``"elementwise"``
            (mean divides by the element count).
        mean_over: ``"elements"`` or ``"last"`` (mean over the last axis per sample, then the
            reduction: multilabel soft margin). KL's ``'batchmean'`` divides by the first axis.
        checks: domain checks on the array arguments.
        option_checks: ``options dict -> None`` raising ValueError for bad options.
        domain: argument -> its domain in words, for the catalog table.
        absent_forms: ``{"pos_weight": (value, grad)}``: a simpler equal form of the value and the
            derivative compiled when that optional array is absent (the document checks it).
        broadcast: the array arguments broadcast against each other (torch's rule; the loss has
            the broadcast shape and the gradient is summed back to the first argument's shape);
            otherwise they must have one shape.
        prepare: ``(arrays dict, bound) -> arrays dict``, run before the shape checks: a loss's
            own argument rules (gaussian_nll_loss's var: a float, or one axis short).
        stability: the document's paragraph on numerical stability, where the generic one (the
            stable printer's log-sum-exp forms) does not apply.
        flags: boolean options that change the expression: ``{"log_target": (expr, grad)}`` is the
            per-element loss and its derivative when that option is true; or a function
            ``(expr, grad, on) -> (expr, grad)`` applied for either value, in order (poisson's
            ``log_input`` and ``full``: see :func:`apply_flag`).
        structured: numpy implementation ``(bound, reduction, want_value, want_grad) ->
            (value, grad)`` for losses that are not elementwise.
        fast: for a structured loss, ``(input, target, reduction, want_value, want_grad) ->
            (value, grad)`` or ``None``: the common call ``loss(input, target[, reduction=...])``
            without binding arguments; ``None`` (inputs it does not handle) takes the general path.
        torch: the twin's dotted name, or ``None``.
        reductions: the reductions it accepts.
        kink: one sentence on the subgradient convention at kinks, or ``""``.
        notes: one sentence for the document (source, convention).
        matrix_form: the loss over a batch as a matrix expression, for training
            (:mod:`symlearn.neurons`): ``(Z, T, n, k) -> expr`` with the model's output ``Z`` and
            the targets ``T`` both matrix symbols of shape ``(n, k)``, returning a $1 \times 1$
            matrix expression equal to the loss with ``reduction='mean'``; ``None``: the loss
            cannot be trained on.
        matrix_targets: with a matrix form, what ``T`` holds: ``"labels"`` (integer classes,
            one-hot encoded into ``T``), ``"binary"`` (a 0/1 column, ``k = 1``) or ``"values"``
            (real targets).
    """

    name: str
    title: str
    latex_name: str
    signature: Callable[..., dict]
    arrays: tuple[str, ...]
    symbols: tuple
    expr: Any
    options: Mapping = field(default_factory=dict)
    optional_arrays: Mapping = field(default_factory=dict)
    defaults_for_absent: Mapping = field(default_factory=dict)
    grad_expr: Any = None
    textbook_grad: Any = None
    compiled_expr: Any = None
    weight: str | None = None
    mean_over: str = "elements"
    checks: tuple = ()
    option_checks: Callable | None = None
    domain: Mapping = field(default_factory=dict)
    numeric_domain: Mapping = field(default_factory=dict)
    structured: Callable | None = None
    fast: Callable | None = None
    torch: str | None = None
    reductions: tuple = REDUCTIONS
    kink: str = ""
    notes: str = ""
    flags: Mapping = field(default_factory=dict)
    absent_forms: Mapping = field(default_factory=dict)
    broadcast: bool = False
    prepare: Callable | None = None
    stability: str = ""
    matrix_form: Callable | None = None
    matrix_targets: str | None = None

    @property
    def is_elementwise(self) -> bool:
        return self.structured is None

    @cached_property
    def derivative(self):
        """The per-element derivative in the first argument, with PyTorch's kink convention."""
        if self.grad_expr is not None:
            return self.grad_expr
        return sp.diff(self.expr, self.symbols[0])


def apply_flag(entry, on: bool, value, grad):
    """The (value, derivative) after a boolean option: ``entry`` is ``(value, grad)`` used when
    the option is true, or a function ``(value, grad, on) -> (value, grad)``."""
    if callable(entry):
        return tuple(sp.sympify(e) for e in entry(value, grad, on))
    if on:
        return tuple(sp.sympify(e) for e in entry)
    return value, grad


def kernel_expressions(spec: LossSpec, present: tuple = (), flags: tuple = ()):
    """The per-element value and derivative (in ``spec.symbols[0]``) that are compiled for the
    optional arrays ``present`` and the boolean options ``flags`` (``((name, on), ...)``), before
    the weight and the reduction's scale. :class:`Loss` compiles these expressions and
    :func:`symlearn.export` prints them, so both evaluate the same formulas (PyTorch's clamps,
    the flags' forms, the simpler forms for absent optional arrays)."""
    absent = {
        symbol: spec.defaults_for_absent[name]
        for name, symbol in spec.optional_arrays.items()
        if name not in present
    }
    value = sp.sympify(spec.compiled_expr if spec.compiled_expr is not None else spec.expr)
    grad = sp.sympify(spec.derivative)
    for name, on in flags:
        value, grad = apply_flag(spec.flags[name], on, value, grad)
    value, grad = value.subs(absent), grad.subs(absent)
    for name, form in spec.absent_forms.items():
        if name not in present:
            value, grad = (sp.sympify(e) for e in form)
    return value, grad


class _Kernel(NamedTuple):
    value: Callable
    grad: Callable
    both: Callable
    quiet: bool  # evaluate under np.errstate: a branch not taken may divide by zero or overflow
    # For plain losses: scale * (the sum of the value), with and without scale * grad; see
    # summed_value. None when not compiled.
    reduced_both: Callable | None
    reduced_value: Callable | None
    # value_and_grad and grad may call reduced_both.inplace and grad.inplace directly (see
    # Loss._plain_entry): a summed value, no errstate needed, and an array gradient.
    direct: bool = False


def summed_value(value, arrays):
    r"""The value summed over the elements, written so that it is never formed element by element:
    a term $c\,u\,v$ with two array factors ($u = v$ for a square) becomes
    $c \langle u, v\rangle$, one BLAS dot product; any other term $c\,t$ becomes $c \sum_i t_i$.

    ``None`` when a term holds no array (its sum would need the element count).
    """
    from ._functions import elementsum, inner

    arrays = set(arrays)
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.sympify(value)):
        coefficient, factors = term.as_coeff_mul()
        body = sp.Mul(*factors)
        if not body.free_symbols & arrays:
            return None
        if body.is_Pow and body.exp == 2:
            total += coefficient * inner(body.base, body.base)
        elif len(factors) == 2 and all(f.free_symbols & arrays for f in factors):
            total += coefficient * inner(*factors)
        else:
            total += coefficient * elementsum(body)
    return total


def _compile(args, exprs, arrays=None):
    """The compiled function of ``exprs``; with ``arrays`` (the arguments that are arrays, all
    of one shape), evaluated in place (:func:`symlearn.compile.lambdify_inplace`)."""
    from ..compile import lambdify_inplace, lambdify_stable

    # factor_terms turns 2*x - 2*y back into 2*(x - y), so CSE shares x - y with the value.
    # A tuple stays a tuple: its compiled function returns a tuple, as value_and_grad does.
    exprs = type(exprs)(sp.factor_terms(_protect_log1p(sp.sympify(e))) for e in exprs)
    if arrays is not None:
        return lambdify_inplace(args, exprs, arrays=arrays, cse=_cse_sharing_functions)
    return lambdify_stable(args, exprs, cse=_cse_sharing_functions)


class Loss:
    r"""A loss of the catalog, called like its ``torch.nn.functional`` twin on numpy arrays.

    ``loss(*args, **kwargs)`` returns the value, ``loss.grad(...)`` the gradient with respect to
    the first argument (for ``reduction='none'``, the gradient of the sum of the outputs),
    ``loss.value_and_grad(...)`` both. ``loss.expr`` is the SymPy expression, ``loss.spec`` the
    catalog row, ``loss.derivation()`` the checked :class:`~symlearn.Derivation`.
    """

    def __init__(self, spec: LossSpec):
        self.spec = spec
        self.name = spec.name
        self.__name__ = spec.name
        self.__signature__ = __import__("inspect").signature(spec.signature)
        self.__doc__ = _docstring(spec)
        self._kernels: dict = {}
        # The common case (two same-shape arrays, no options, weights or domain checks) takes a
        # short path: at n = 1e3 the Python overhead is comparable to the arithmetic.
        self._plain = (
            spec.structured is None and len(spec.arrays) == 2 and not spec.options
            and not spec.flags and not spec.checks and spec.mean_over == "elements"
        )
        self._optional = tuple(spec.optional_arrays) + (("weight",) if spec.weight else ())
        self._plain_kernel: _Kernel | None = None  # compiled on the first plain call
        if self._plain:  # the methods' shortest paths, bound to this loss
            self.value_and_grad = self._plain_entry(want_value=True)
            self.grad = self._plain_entry(want_value=False)

    def __repr__(self) -> str:
        return f"<Loss {self.name}{self.__signature__}>"

    # -- the expression ----------------------------------------------------------------------------
    @property
    def expr(self):
        """The per-element (or per-sample) SymPy expression of the loss."""
        return self.spec.expr

    @property
    def torch(self) -> str | None:
        return self.spec.torch

    def derivation(self):
        """The checked :class:`~symlearn.Derivation` of this loss (built on first call).

        The document's builder is course content, not library code: it is
        ``derivations/_loss_documents.py``, loaded through the registry from the derivations
        folder (``symlearn.registry.default_source()``; when that is a user's own folder without
        it, the bundled one beside the package or installed from the wheel).
        """
        if "derivation" not in self._kernels:
            from ..registry import find_helper

            documents = find_helper("_loss_documents")
            self._kernels["derivation"] = documents.build_document(self.spec)
        return self._kernels["derivation"]

    # -- numbers -----------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        return self._dispatch(args, kwargs, True, False)[0]

    def grad(self, *args, **kwargs) -> np.ndarray:
        """The gradient with respect to the first argument (same arguments as the loss)."""
        return self._dispatch(args, kwargs, False, True)[1]

    def value_and_grad(self, *args, **kwargs):
        """``(value, grad)`` in one evaluation."""
        return self._dispatch(args, kwargs, True, True)

    def _plain_entry(self, want_value: bool) -> Callable:
        """``value_and_grad`` (``want_value``) or ``grad`` of a plain loss. The call
        ``f(x, y)`` with two float64 arrays of one shape (at least one dimension and one
        element) goes straight to the compiled in-place kernel with the mean's scale; anything
        else takes :meth:`_dispatch`, which checks (a shape mismatch raises there) and converts."""
        dispatch, ndarray, float64 = self._dispatch, np.ndarray, _FLOAT64
        fast = None  # the kernel's in-place function once compiled; False if it needs more care

        def entry(*args, **kwargs):
            nonlocal fast
            if not kwargs and len(args) == 2:
                x, y = args
                if type(x) is ndarray is type(y) and x.dtype is float64 is y.dtype:
                    # Equal shapes, at least one dimension, at least one element; for vectors
                    # without building the shape tuples (a third of this function's time).
                    if x.ndim == 1 == y.ndim:
                        size = len(x) if len(x) == len(y) else 0
                    else:
                        size = x.size if x.shape == y.shape != () else 0
                    if size:
                        if fast is None:
                            kernel = self._plain_kernel or self._compile_plain_kernel()
                            fast = kernel.direct and (
                                kernel.reduced_both if want_value else kernel.grad
                            ).inplace
                        if fast:
                            if want_value:
                                return fast(x, y, 1.0, 1.0 / size)
                            return fast(x, y, 1.0, 1.0 / size)[0]
            result = dispatch(args, kwargs, want_value, True)
            return result if want_value else result[1]

        entry.__name__ = "value_and_grad" if want_value else "grad"
        entry.__doc__ = (Loss.value_and_grad if want_value else Loss.grad).__doc__
        return entry

    def _dispatch(self, args, kwargs, want_value, want_grad):
        # The fast path: loss(x, y) or loss(x, y, reduction=...). For a plain loss with two
        # float64 ndarrays it needs no argument binding and no conversion, only the shape check
        # (in _plain_arrays); a structured loss's ``fast`` does its own cheap checks. At n = 1e3
        # the general path's Python work costs as much as the arithmetic. Anything else (options,
        # legacy arguments, lists, other dtypes) goes the general way, which validates and
        # converts.
        if len(args) == 2 and (not kwargs or kwargs.keys() == _REDUCTION_ONLY):
            reduction = kwargs["reduction"] if kwargs else "mean"
            if reduction in REDUCTIONS:
                x, y = args
                if self._plain:
                    # ``is``: the native float64 dtype is a singleton; others go the general way.
                    if (
                        type(x) is np.ndarray and type(y) is np.ndarray
                        and x.dtype is _FLOAT64 is y.dtype
                    ):
                        return self._plain_arrays(x, y, reduction, want_value, want_grad)
                elif self.spec.fast is not None and reduction in self.spec.reductions:
                    result = self.spec.fast(x, y, reduction, want_value, want_grad)
                    if result is not None:
                        return result
        return self._evaluate(args, kwargs, want_value, want_grad)

    def _evaluate(self, args, kwargs, want_value, want_grad):
        spec = self.spec
        bound = spec.signature(*args, **kwargs)
        reduction = _bound_reduction(bound, spec.reductions)
        if self._plain and all(bound[name] is None for name in self._optional):
            return self._plain_elementwise(bound, reduction, want_value, want_grad)
        if spec.structured is not None:
            return spec.structured(bound, reduction, want_value, want_grad)
        return self._elementwise(bound, reduction, want_value, want_grad)

    def _kernel(self, present: tuple, flags: tuple = ()) -> _Kernel:
        kernel = self._kernels.get((present, flags))
        if kernel is None:
            spec = self.spec
            value, grad = kernel_expressions(spec, present, flags)
            weight, scale = sp.Symbol("weight_"), sp.Symbol("scale_")
            if "weight" in present:
                value, grad = weight * value, weight * grad
            args = [*spec.symbols, *spec.options.values()]
            args += [spec.optional_arrays[n] for n in present if n in spec.optional_arrays]
            args += [weight, scale]
            # Without optional arrays, every array argument has the input's shape: in place.
            # (Broadcast arrays are read-only views with zero strides: not in place.)
            arrays = None if present or spec.broadcast else set(spec.symbols)
            value_c, grad_c = _share_softplus([value, scale * grad])
            both = _compile(args, [value_c, grad_c], arrays)
            quiet = any(
                e.has(sp.Piecewise, sp.Max, sp.Min, sp.Heaviside) or e.has(sp.log)
                or any(p.exp.is_negative for p in e.atoms(sp.Pow))
                for e in (value, grad)
            )
            reduced_both = reduced_value = None
            total = summed_value(value, spec.symbols) if self._plain and not present else None
            if total is not None:
                reduced_both = _compile(
                    args, tuple(_share_softplus([scale * total, scale * grad])), arrays
                )
                reduced_value = _compile(args, [scale * total], arrays)
            # The gradient alone in the form value_and_grad computes it (sigmoid through the
            # value's softplus), so that grad(...) equals value_and_grad(...)[1] bit for bit.
            kernel = _Kernel(
                _compile(args, [value], arrays), _compile(args, [grad_c], arrays), both,
                quiet, reduced_both, reduced_value,
                direct=reduced_both is not None and not quiet
                and bool(grad.free_symbols & set(spec.symbols)),
            )
            self._kernels[(present, flags)] = kernel
        return kernel

    def _plain_elementwise(self, bound, reduction, want_value, want_grad):
        first, second = self.spec.arrays
        return self._plain_arrays(
            as_float_array(bound[first], first), as_float_array(bound[second], second),
            reduction, want_value, want_grad,
        )

    def _plain_arrays(self, x, y, reduction, want_value, want_grad):
        """The plain elementwise loss of two float64 arrays: one shape comparison, then the
        compiled kernel. With a reduction, the compiled value is the sum itself (a dot product
        for a product or a square, see :func:`summed_value`), never formed element by element."""
        if x.shape != y.shape:
            first, second = self.spec.arrays
            raise ValueError(
                f"{second} has shape {y.shape}; expected {x.shape}, the shape of {first}"
            )
        kernel = self._plain_kernel or self._compile_plain_kernel()
        scale = 1.0
        if reduction == "mean":
            scale = 1.0 / x.size if x.size else math.nan
        quiet = _QUIET() if kernel.quiet else None
        if quiet is not None:
            quiet.__enter__()
        try:
            if want_value and reduction != "none" and kernel.reduced_both is not None:
                if not want_grad:
                    return kernel.reduced_value(x, y, 1.0, scale)[0], None
                value, grad = kernel.reduced_both(x, y, 1.0, scale)
            elif want_value:
                value, grad = kernel.both(x, y, 1.0, scale)
                if reduction != "none":
                    value = value.sum() * scale
                elif np.shape(value) != x.shape:
                    value = np.array(np.broadcast_to(value, x.shape))
            else:
                value, (grad,) = None, kernel.grad(x, y, 1.0, scale)
        finally:
            if quiet is not None:
                quiet.__exit__(None, None, None)
        if want_grad and (type(grad) is not np.ndarray or grad.shape != x.shape):
            grad = np.array(np.broadcast_to(grad, x.shape))
        return value, grad

    def _compile_plain_kernel(self) -> _Kernel:
        self._plain_kernel = self._kernel((), ())
        return self._plain_kernel

    def _elementwise(self, bound, reduction, want_value, want_grad):
        (arrays, options, extra, present, weight, flags, shape, first_shape, scale,
         per_sample) = _bind_elementwise(self.spec, bound, reduction)
        spec = self.spec
        if weight is not None:
            present += ("weight",)
        else:
            weight = 1.0
        kernel = self._kernel(present, flags)
        call = (*arrays, *options, *extra, weight, scale)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if want_value and want_grad:
                value, grad = kernel.both(*call)
            elif want_value:
                (value,), grad = kernel.value(*call), None
            else:
                value, (grad,) = None, kernel.grad(*call)
        if not want_value:
            value = None
        if grad is not None and np.shape(grad) != shape:
            grad = np.array(np.broadcast_to(grad, shape))
        if grad is not None and first_shape != shape:
            grad = _sum_to_shape(grad, first_shape)
        if value is not None:
            value = _reduce(value, reduction, shape, scale, per_sample, spec)
        return value, grad


def _sum_to_shape(grad, shape):
    """The gradient of a broadcast argument: summed over the axes that broadcasting added or
    stretched (as autograd does)."""
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def _broadcastable(array, name, shape, spec):
    try:
        if np.broadcast_shapes(array.shape, shape) == shape:
            return array
    except ValueError:
        pass
    raise ValueError(
        f"{name} has shape {array.shape}; expected a shape that broadcasts to {shape}, the shape "
        f"of {spec.arrays[0]}"
    )


def _reduce(value, reduction, shape, scale, per_sample, spec):
    value = np.asarray(value, dtype=np.float64)
    if value.shape != shape:
        value = np.broadcast_to(value, shape)
    if per_sample:
        value = value.sum(axis=-1) / shape[-1]
        if reduction == "none":
            return value
        total = value.sum()
        return total if reduction == "sum" else total * (scale * shape[-1])
    if reduction == "none":
        return value
    total = value.sum()
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore"):  # 0 * inf: weights summing to 0 (NaN, as PyTorch)
        return total * scale  # 'mean' and 'batchmean'



def _docstring(spec: LossSpec) -> str:
    import inspect

    from ..printing.latex import latex

    twin = f"PyTorch twin: ``{spec.torch}``." if spec.torch else "No PyTorch twin."
    domain = "; ".join(f"{k}: {v}" for k, v in spec.domain.items())
    return (
        f"{spec.name}{inspect.signature(spec.signature)}\n\n"
        f"{spec.title}. {twin}\n\n"
        f"Per element: $${latex(spec.expr)}$$\n\n"
        f"Arguments (numpy arrays): {', '.join(spec.arrays)}; domains: {domain or 'all reals'}.\n"
        f"Reduction: 'mean' (default), 'sum' or 'none'. ``.grad(...)`` (same arguments) returns "
        f"the gradient with respect to {spec.arrays[0]}; ``.value_and_grad(...)`` both.\n"
        + (f"\nAt kinks: {spec.kink}\n" if spec.kink else "")
        + (f"\n{spec.notes}\n" if spec.notes else "")
    )
