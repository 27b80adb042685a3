r"""Chain-rule derivations over a computational graph of named intermediates.

A :class:`Graph` is an ordered list of named intermediates, each defined in terms of the inputs and
the intermediates before it (``q = x + y``, ``f = q z``). :meth:`Graph.backward` walks it from the
output back to the inputs, node by node, as micrograd's ``backward`` does, and records for every
edge *child <- parent*

* the upstream gradient $\partial f / \partial \text{child}$,
* the local derivative $\partial \text{child} / \partial \text{parent}$ (from ``sympy.diff``),
* their product, which accumulates into $\partial f / \partial \text{parent}$,

symbolically and with numbers at a given point. SymPy's ``diff`` is the calculus engine: the
graph only names intermediates, orders the work and checks it. Every chain-rule step is checked
symbolically against ``sympy.diff`` of the output written in terms of that node, and every final
partial against ``sympy.diff`` of the whole expression.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from ..derivation import Custom, Derivation, DerivationError, Figure, Rounded, Step, Symbolic

__all__ = ["Graph", "graph", "Backward", "EdgeGradient"]


@dataclass(frozen=True)
class EdgeGradient:
    """One edge of the backward pass: ``child`` consumes ``parent``.

    Attributes:
        child, parent: the two node symbols.
        upstream: $\\partial f/\\partial child$ at the point (exact).
        local_expr: $\\partial child/\\partial parent$ as an expression.
        local: its value at the point (exact).
        product: ``upstream * local`` (exact), the contribution to $\\partial f/\\partial parent$.
    """

    child: sp.Symbol
    parent: sp.Symbol
    upstream: sp.Expr
    local_expr: sp.Expr
    local: sp.Expr
    product: sp.Expr


@dataclass(frozen=True)
class Backward:
    """The numbers of a backward pass at a point.

    Attributes:
        values: every node's forward value (exact).
        grads: $\\partial f / \\partial v$ for every node and input (exact).
        edges: the edges in the order the backward pass visits them.
    """

    values: Mapping
    grads: Mapping
    edges: tuple[EdgeGradient, ...]


@dataclass(frozen=True)
class Graph:
    """An ordered computational graph: ``nodes[i] = (symbol, definition)``.

    Each definition uses the inputs (free symbols that are not nodes) and earlier nodes only.
    The last node is the output.
    """

    nodes: tuple[tuple[sp.Symbol, sp.Expr], ...]

    def __post_init__(self):
        if not self.nodes:
            raise ValueError("a graph needs at least one node")
        seen: set = set()
        names = {symbol for symbol, _ in self.nodes}
        for symbol, definition in self.nodes:
            later = (definition.free_symbols & names) - seen
            if later:
                raise ValueError(
                    f"node {symbol} uses {', '.join(map(str, later))} before it is defined"
                )
            seen.add(symbol)

    # -- structure ---------------------------------------------------------------------------------
    @property
    def output(self) -> sp.Symbol:
        return self.nodes[-1][0]

    @property
    def definitions(self) -> dict:
        return dict(self.nodes)

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        names = set(self.definitions)
        found: list = []
        for _, definition in self.nodes:
            for s in sorted(definition.free_symbols - names, key=sp.default_sort_key):
                if s not in found:
                    found.append(s)
        return tuple(found)

    def parents(self, node: sp.Symbol) -> tuple[sp.Symbol, ...]:
        """The inputs and nodes that ``node``'s definition uses, in a stable order."""
        return tuple(sorted(self.definitions[node].free_symbols, key=sp.default_sort_key))

    def children(self, symbol: sp.Symbol) -> tuple[sp.Symbol, ...]:
        return tuple(n for n, d in self.nodes if symbol in d.free_symbols)

    def expand(self, expr: sp.Expr, keep: sp.Symbol | None = None) -> sp.Expr:
        """``expr`` with node symbols replaced by their definitions, down to the inputs, except
        ``keep`` and whatever ``keep`` is made of (so the result is a function of ``keep``)."""
        definitions = self.definitions
        order = [n for n, _ in self.nodes]
        if keep is None:
            stop = set()
        elif keep in definitions:  # keep the node and everything defined before it
            stop = set(order[: order.index(keep) + 1])
        else:  # an input
            stop = {keep}
        for node in reversed(order):
            if node in stop:
                continue
            expr = expr.xreplace({node: definitions[node]})
        return expr

    def expression(self) -> sp.Expr:
        """The output as one expression of the inputs."""
        return self.expand(self.output)

    def output_in_terms_of(self, node: sp.Symbol) -> sp.Expr:
        """The output written as a function of ``node`` (and inputs not upstream of it)."""
        return self.expand(self.output, keep=node)

    # -- numbers -----------------------------------------------------------------------------------
    def evaluate(self, at: Mapping) -> Backward:
        """Forward and backward pass at the point ``at`` (exact SymPy numbers)."""
        missing = [s for s in self.inputs if s not in at]
        if missing:
            raise ValueError(f"the point must give a value for {', '.join(map(str, missing))}")
        values = {s: sp.nsimplify(v) if isinstance(v, float) else sp.sympify(v) for s, v in at.items()}
        for node, definition in self.nodes:
            values[node] = definition.xreplace(values)
        grads = {self.output: sp.Integer(1)}
        edges = []
        for node, definition in reversed(self.nodes):
            upstream = grads[node]
            for parent in self.parents(node):
                local_expr = sp.diff(definition, parent)
                local = local_expr.xreplace(values)
                product = upstream * local
                grads[parent] = grads.get(parent, sp.Integer(0)) + product
                edges.append(EdgeGradient(node, parent, upstream, local_expr, local, product))
        return Backward(values, grads, tuple(edges))

    # -- the document ------------------------------------------------------------------------------
    def backward(
        self,
        wrt: Sequence[sp.Symbol] | None = None,
        at: Mapping | None = None,
        *,
        name: str,
        title: str,
        summary: str = "",
        digits: int = 2,
        result_digits: int = 4,
    ) -> Derivation:
        """A derivation of the output's partials, node by node, with numbers at ``at``."""
        wrt = tuple(wrt) if wrt is not None else self.inputs
        doc = Derivation(name=name, title=title, summary=summary)
        doc = add_backward(doc, self, wrt, at, digits=digits, result_digits=result_digits)
        return doc

    def to_dot(self, at: Mapping | None = None, digits: int = 2) -> str:
        """Graphviz source: one box per node, ``name = definition | value | grad`` when ``at``
        is given (the way micrograd's ``draw_dot`` labels a node)."""
        numbers = self.evaluate(at) if at is not None else None
        lines = [
            "digraph G {",
            "  rankdir=LR;",
            '  node [shape=record, fontname="Helvetica", fontsize=11];',
            '  edge [color="#555555"];',
        ]
        definitions = self.definitions
        for symbol in (*self.inputs, *definitions):
            label = str(symbol)
            if symbol in definitions:
                label = f"{symbol} = {sp.sstr(definitions[symbol])}"
            label = label.replace("**", "^").replace("{", "\\{").replace("}", "\\}")
            label = label.replace("<", "\\<").replace(">", "\\>").replace("|", "\\|")
            if numbers is not None:
                value = _fmt(numbers.values[symbol], digits)
                grad = _fmt(numbers.grads.get(symbol, 0), digits)
                label = f"{label} | value {value} | grad {grad}"
            fill = "#e8f0fe" if symbol in definitions else "#f5f5f5"
            lines.append(f'  "{symbol}" [label="{label}", style=filled, fillcolor="{fill}"];')
        for node, definition in self.nodes:
            for parent in self.parents(node):
                lines.append(f'  "{parent}" -> "{node}";')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def figure(self, name: str, caption: str, at: Mapping | None = None, digits: int = 2) -> Figure:
        source = self.to_dot(at, digits)

        def draw(path):
            render_dot(source, path)

        return Figure(name=name, caption=caption, draw=draw, requires="dot")


def graph(*pairs: tuple[sp.Symbol, sp.Expr], **named: sp.Expr) -> Graph:
    """Build a :class:`Graph` from ``(symbol, definition)`` pairs and/or ``name=definition``
    keywords, in order: ``graph(q=x + y, f=q * z)``."""
    nodes = [(sp.Symbol(str(s)) if isinstance(s, str) else s, sp.sympify(e)) for s, e in pairs]
    nodes += [(sp.Symbol(n), sp.sympify(e)) for n, e in named.items()]
    return Graph(tuple(nodes))


def render_dot(source: str, path) -> None:
    """Run Graphviz ``dot`` to write ``path`` (format from its suffix)."""
    dot = shutil.which("dot")
    if dot is None:
        raise DerivationError("Graphviz 'dot' is not installed, so the graph figure cannot be drawn")
    fmt = str(path).rsplit(".", 1)[-1]
    subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=source.encode(), check=True)


def _fmt(value, digits: int) -> str:
    """``value`` as a graph label: exact when it has at most ``digits`` decimals (-4, 0.5), else
    rounded to ``digits`` (the same rule as the documents' numbers)."""
    return str(_num(value, digits))


def _num(value, digits: int) -> sp.Number:
    """``value`` for display: an exact number with at most ``digits`` decimals as itself (-4, not
    -4.00), any other rounded to ``digits`` decimals as a Float that prints that way (-0.1966)."""
    from ..printing.latex import rounded_number

    return rounded_number(sp.Float(value) if isinstance(value, float) else value, digits)


def _partial(output: sp.Symbol, node: sp.Symbol) -> sp.Derivative:
    return sp.Derivative(output, node)


def add_backward(
    doc: Derivation,
    g: Graph,
    wrt: Sequence[sp.Symbol],
    at: Mapping | None,
    *,
    digits: int = 2,
    result_digits: int = 4,
    label: str = "",
) -> Derivation:
    """Append the forward pass, the node-by-node backward pass and the results to ``doc``.

    ``label`` distinguishes two graphs in one document: it suffixes the section titles and the
    figure's name.
    """
    suffix = f" ({label})" if label else ""
    figure_name = f"{doc.name}-graph" + (f"-{label.replace(' ', '-')}" if label else "")
    f = g.output
    full = g.expression()
    definitions = g.definitions

    doc = doc.section("The computational graph" + suffix)
    numbers = g.evaluate(at) if at is not None else None
    if numbers is None:
        doc = doc.table(("node", "definition"), [(s, d) for s, d in g.nodes])
    else:
        doc = doc.text(
            "Each intermediate is named, and its value at the point is computed from the nodes "
            "before it (the forward pass)."
        )
        doc = doc.table(
            ("node", "definition", "value"),
            [(s, "input", _num(numbers.values[s], digits)) for s in g.inputs]
            + [(s, d, _num(numbers.values[s], digits)) for s, d in g.nodes],
        )
        point = ", ".join(f"${sp.latex(s)} = {sp.latex(sp.sympify(at[s]))}$" for s in g.inputs)
        doc = doc.figure(
            g.figure(
                figure_name,
                f"The graph of ${sp.latex(f)}$ at {point}: each box shows a node, its value and "
                "its gradient, as micrograd draws them.",
                at,
                digits,
            )
        )

    doc = doc.section("Backward pass, node by node" + suffix)
    doc = doc.text(
        "Each node receives the upstream gradient $\\partial "
        + sp.latex(f)
        + "/\\partial \\text{node}$, multiplies it by the local derivative of the node with respect "
        "to each of its inputs, and passes the product down; a node used twice adds up what it "
        "receives."
    )
    if numbers is not None:
        rows = []
        for e in numbers.edges:
            rows.append(
                (
                    f"${sp.latex(e.child)} \\to {sp.latex(e.parent)}$",
                    _num(e.upstream, digits),
                    sp.Eq(sp.Derivative(e.child, e.parent), e.local_expr, evaluate=False),
                    _num(e.local, digits),
                    _num(e.product, digits),
                )
            )
        doc = doc.table(
            ("edge", "upstream", "local derivative", "local value", "upstream $\\times$ local"),
            rows,
            caption="Numbers are rounded for display; each product is computed exactly.",
        )

    # The chain rule, one node at a time, each checked against sympy.diff.
    steps = []
    order = [n for n, _ in reversed(g.nodes)][1:] + [s for s in g.inputs]
    for node in order:
        children = g.children(node)
        if not children:
            continue
        display = sp.Add(
            *(
                sp.diff(definitions[c], node) * (1 if c == f else _partial(f, c))
                for c in children
            ),
            evaluate=False,
        )
        truth = sp.diff(g.output_in_terms_of(node), node)
        chained = sum(
            (sp.diff(g.output_in_terms_of(c), c) * sp.diff(definitions[c], node) for c in children),
            sp.Integer(0),
        )
        # Both sides are functions of ``node`` and the graph's other symbols; expanding the graph
        # writes them in the inputs, where sympy.diff of the whole expression is the reference.
        steps.append(
            Step(
                _partial(f, node),
                display,
                "chain rule: upstream times local",
                check=Symbolic(),
                claim=(g.expand(truth), g.expand(chained)),
            )
        )
    if steps:
        doc = doc.steps(*steps)

    doc = doc.section("Result" + suffix)
    results = []
    for w in wrt:
        chained = g.expand(sp.diff(g.output_in_terms_of(w), w))
        direct = sp.diff(full, w)
        results.append(
            Step(
                _partial(f, w),
                sp.factor(direct) if not direct.has(sp.Function) else direct,
                "sympy.diff of the whole expression agrees with the backward pass",
                check=Symbolic(),
                claim=(chained, direct),
            )
        )
    doc = doc.steps(*results)
    if numbers is not None:
        values = []
        for w in wrt:
            exact = sp.diff(full, w).xreplace({s: numbers.values[s] for s in g.inputs})
            shown = _num(exact, result_digits)
            values.append(
                Step(
                    _partial(f, w),
                    shown,
                    "at the point",
                    # "=" when the rounded number is the exact value (an integer gradient).
                    relation="=" if sp.Rational(str(shown)) == exact else "approx",
                    check=Rounded(result_digits),
                    claim=(exact, _num(numbers.grads[w], result_digits)),
                )
            )
        doc = doc.steps(*values)
    return doc
