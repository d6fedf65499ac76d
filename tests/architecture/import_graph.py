"""Every `qts` import in src/qts, read with `ast`: module level, inside functions and classes,
and under `if TYPE_CHECKING:` alike (an import hidden in a function still ties the files)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass(frozen=True, slots=True)
class Import:
    source: str  # importing module, e.g. "qts.backtest.engine"
    target: str  # imported module (the longest existing module prefix of the name)
    line: int


def find_modules(src: Path = SRC) -> dict[str, Path]:
    """Module name -> file, for every .py file under src/qts (packages by their __init__)."""
    modules = {}
    for path in sorted((src / "qts").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _known_prefix(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_modules(
    node: ast.Import | ast.ImportFrom, package: str, modules: dict[str, Path]
) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        parts = package.split(".")
        base = parts[: len(parts) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    # `from pkg import name` imports the submodule pkg.name when there is one, else pkg itself.
    return [
        f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
        for alias in node.names
    ]


def find_imports(src: Path = SRC) -> list[Import]:
    modules = find_modules(src)
    found: set[Import] = set()
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for imported in _imported_modules(node, package, modules):
                if imported != "qts" and not imported.startswith("qts."):
                    continue
                target = _known_prefix(imported, modules)
                if target is not None and target != name:
                    found.add(Import(name, target, node.lineno))
    return sorted(found, key=lambda i: (i.source, i.line, i.target))


def file_cycles(imports: list[Import]) -> list[list[Import]]:
    """Strongly connected groups of files (Tarjan), each as the imports inside the group."""
    graph: dict[str, list[str]] = {}
    for imp in imports:
        graph.setdefault(imp.source, []).append(imp.target)
        graph.setdefault(imp.target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # recursion depth is bounded by the number of files
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [[i for i in imports if i.source in g and i.target in g] for g in groups]
