r"""The matrix-graph backend: a model's named matrix intermediates and their adjoints as one
numpy function.

A :class:`~symlearn.calculus.matrix.MatrixGraph` is an ordered list of assignments
(``Z = X W + 1 b^T``, ``A = sigma(Z)``, ``L = ...``) and its backward pass another
(``dZ = ...``); each is printed by :class:`~symlearn.codegen.matrix.MatrixNumPyPrinter` as one
statement, each intermediate computed once under its name, and the function is executed with the
stable row-wise helpers (:data:`~symlearn.codegen.matrix.HELPERS`). The code is the printer's
(never user text). Dimension symbols are read from the arguments' shapes at run time.

Nothing here checks a gradient: :func:`symlearn.calculus.matrix.compile_graph` checks the rule
table (and this code, at a small instance) before it returns a function, and is what models use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp

from ..matrix_functions import LogSumExp
from .matrix import HELPERS, MatrixNumPyPrinter

__all__ = ["compile_forward", "compile_loss_and_grad", "loss_and_grad_source"]


def _dimensions(args: Sequence) -> dict:
    """Dimension symbol -> the code that reads it from an argument's shape (``X.shape[0]``)."""
    dims: dict = {}
    for a in args:
        for axis, d in enumerate(a.shape):
            if isinstance(d, sp.Symbol) and d not in dims:
                dims[d] = f"{a.name}.shape[{axis}]"
    return dims


def _forward_lines(nodes: Sequence, dims: dict) -> tuple[list, dict]:
    """The assignments of ``nodes``, in order, and the map definition -> name they set up."""
    named: dict = {}
    lines = []
    for node, definition in nodes:
        # A row log-sum-exp is computed once under its own name: the backward pass's softmax
        # then costs exp(A - lse) instead of a second max, exp and sum.
        for sub in sp.preorder_traversal(definition):
            if isinstance(sub, LogSumExp) and sub not in named:
                temp = f"_lse{len([k for k in named if isinstance(k, LogSumExp)])}"
                code = MatrixNumPyPrinter(dims=dims, named=named).doprint(sub)
                lines.append(f"    {temp} = {code}")
                named[sub] = temp
        lines.append(f"    {node.name} = {MatrixNumPyPrinter(dims=dims, named=named).doprint(definition)}")
        named[definition] = node.name
    return lines, named


def _text(name: str, args: Sequence, body: list) -> str:
    return f"def {name}({', '.join(a.name for a in args)}):\n" + "\n".join(body) + "\n"


def _define(name: str, args: Sequence, body: list, doc: str):
    """Execute the printed function (our printer's code, never user text) with the helpers."""
    source = _text(name, args, body)
    namespace: dict = {"numpy": np}
    exec(compile(HELPERS, "<symlearn:helpers>", "exec"), namespace)
    exec(compile(source, f"<symlearn:{name}>", "exec"), namespace)
    function = namespace[name]
    shapes = ", ".join(f"{a.name}: {a.shape[0]} x {a.shape[1]}" for a in args)
    function.__doc__ = (
        f"{doc}\n\nArguments, in order, with shapes: {shapes}.\n\nGenerated code:\n{source}"
    )
    function.source = source
    return function


def _scalar_or_array(symbol) -> str:
    if symbol.shape == (1, 1):
        return f"float(numpy.asarray({symbol.name}).reshape(-1)[0])"
    return symbol.name


def compile_loss_and_grad(graph, args: Sequence, wrt: Sequence, *, name: str = "loss_and_grad"):
    r"""One numpy function ``f(*args) -> (loss, {symbol name: gradient})`` of ``graph`` (a
    :class:`~symlearn.calculus.matrix.MatrixGraph`: its ``nodes``, ``output``, ``adjoint`` and
    ``backward``), every intermediate and adjoint computed once, in order.

    Unchecked: :func:`symlearn.calculus.matrix.compile_graph` is the entry point that checks the
    rule table's gradients (and this code) before it returns the function."""
    lines = _loss_and_grad_lines(graph, args, wrt)
    doc = (
        f"{name}({', '.join(a.name for a in args)}) -> (loss, gradients); gradients with "
        f"respect to {', '.join(s.name for s in wrt)}."
    )
    return _define(name, args, lines, doc)


def loss_and_grad_source(graph, args: Sequence, wrt: Sequence, *,
                         name: str = "loss_and_grad") -> str:
    """The text of :func:`compile_loss_and_grad`'s function, not executed (it calls the
    helpers of :data:`~symlearn.codegen.matrix.HELPERS` and ``numpy``)."""
    return _text(name, args, _loss_and_grad_lines(graph, args, wrt))


def _loss_and_grad_lines(graph, args: Sequence, wrt: Sequence) -> list:
    dims = _dimensions(args)
    lines, named = _forward_lines(graph.nodes, dims)
    printer = MatrixNumPyPrinter(dims=dims, named=named)
    for adjoint, definition in graph.backward(wrt):
        lines.append(f"    {adjoint.name} = {printer.doprint(definition)}")
    grads = ", ".join(f"{s.name!r}: {graph.adjoint(s).name}" for s in wrt)
    lines.append(f"    return {_scalar_or_array(graph.output)}, {{{grads}}}")
    return lines


def compile_forward(nodes: Sequence, args: Sequence, outputs: Sequence, *, name: str = "forward"):
    """A numpy function of ``args`` computing ``nodes`` in order and returning ``outputs`` as a
    tuple ($1 \\times 1$ outputs as floats): the forward half of :func:`compile_loss_and_grad`."""
    dims = _dimensions(args)
    lines, _ = _forward_lines(nodes, dims)
    lines.append(f"    return ({', '.join(_scalar_or_array(o) for o in outputs)},)")
    doc = f"{name}({', '.join(a.name for a in args)}) -> ({', '.join(o.name for o in outputs)})"
    return _define(name, args, lines, doc)
