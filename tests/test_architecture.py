"""The package's shape: no import circles inside ``fpliif/``.

Every ``import`` and ``from ... import`` in every module counts, wherever it stands (module level,
inside a function, under ``if TYPE_CHECKING``), relative or absolute. ``from pkg import x`` where
``x`` is a submodule of ``pkg`` is an edge to ``pkg.x``, not to ``pkg``: a package ``__init__`` that
imports its submodules while a submodule imports a sibling through the package is ordinary package
structure, not a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``root/package``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (self-imports left out)."""
    modules = module_names(root, package)

    def target(name: str) -> str | None:
        """The module ``name`` stands for, or the nearest enclosing one (``pkg.func`` -> ``pkg``)."""
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_package else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # `from source import x`: the submodule source.x when there is one, else source
                names = [
                    f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names
                ]
            for name in names:
                if name == package or name.startswith(package + "."):
                    dest = target(name)
                    if dest is not None and dest != mod:
                        graph[mod].add(dest)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component with more than one module (``[a, b, ..., a]``)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)

    def circle(component: list[str]) -> list[str]:
        """The shortest path from the component's first module back to itself, inside the component."""
        members, start = set(component), component[0]
        paths = {start: [start]}
        frontier = [start]
        while frontier:  # breadth first
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & members):
                    if w == start:
                        return paths[v] + [start]
                    if w not in paths:
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
            frontier = nxt
        return component

    return [circle(c) for c in sorted(components)]


def test_no_import_circles_in_the_package():
    found = cycles(import_graph(ROOT, "fpliif"))
    assert not found, "import circles in fpliif/:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_check_finds_circles_through_functions_and_relative_imports(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from .b import f\n",
            "pkg/b.py": "def f():\n    from pkg.sub import c\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from .. import a\n",
            "pkg/d.py": "import pkg.a\n",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.d"] == {"pkg.a"} and graph["pkg.sub.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]


def test_package_structure_is_not_a_circle(tmp_path):
    """An ``__init__`` importing its submodules, and submodules importing siblings through the package."""
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from . import a, b\nfrom .b import g\n",
            "pkg/a.py": "from . import b\nfrom pkg import b as bb\n",
            "pkg/b.py": "def g():\n    pass\n",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert graph == {"pkg": {"pkg.a", "pkg.b"}, "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert cycles(graph) == []
