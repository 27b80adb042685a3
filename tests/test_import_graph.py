"""The package's import graph has no circle: no module of ``symlearn`` imports (directly or
through others) a module that imports it back.

Every ``import`` statement of every module is read with :mod:`ast`, at module level and inside
functions alike (a lazy import is still a dependency: it only hides the circle until run time),
relative and absolute; ``from package import name`` counts as an import of the submodule
``package.name`` when that is a module. A package's ``__init__`` is the node ``package``.
Tarjan's algorithm finds the strongly connected components; one with more than one module is a
circle, and the test names its modules and the imports that close it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "symlearn"

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (anywhere in its body)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, name, is_package)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                # ``import symlearn.a.b`` depends on symlearn.a.b: the longest known prefix.
                parts = target.split(".")
                while parts and ".".join(parts) not in modules:
                    parts.pop()
                if parts and ".".join(parts) != name:
                    graph[name].add(".".join(parts))
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components, each a sorted list of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """One line per circle: its modules and the imports among them."""
    found = []
    for component in strongly_connected(graph):
        if len(component) > 1:
            members = set(component)
            edges = sorted(f"{a} -> {b}" for a in component for b in graph[a] & members)
            found.append(f"{', '.join(component)}: {'; '.join(edges)}")
    return found


def test_the_package_has_no_import_circle():
    found = cycles(import_graph())
    assert not found, "modules that import each other in a circle:\n" + "\n".join(found)


def test_the_walker_finds_a_circle_and_every_kind_of_import():
    """The checker itself: a lazy import inside a function, a relative ``from . import name``
    that names a submodule, and a circle through three modules are all seen."""
    graph = import_graph()
    # Lazy, function-level imports are edges (parse.py imports the matrix nodes on use).
    assert any("matrix" in target for target in graph["symlearn.parse"])
    # ``from .. import _parser_cache`` resolves to the submodule, not to the package.
    assert "symlearn._parser_cache" in graph["symlearn.commands.verify"]
    circle = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(circle) == ["a, b, c: a -> b; b -> c; c -> a"]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_printers_and_the_rewrite_table_reach_nothing_in_calculus():
    """codegen's printers and rewrites sit below the calculus: neither they nor anything they
    import (transitively) is a module of ``symlearn.calculus``."""
    graph = import_graph()
    for start in ("symlearn.codegen.printer", "symlearn.codegen.matrix", "symlearn.codegen.rewrite"):
        seen, todo = set(), [start]
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        assert not {m for m in seen if m.startswith("symlearn.calculus")}, start
