"""The layer rule (ARCHITECTURE.md, Layers): a package imports its own files and packages of a
strictly lower rank, never a peer or a higher one; and no two files import each other, even
through a chain or an import inside a function."""

from __future__ import annotations

from pathlib import Path

from tests.architecture.import_graph import Import, file_cycles, find_imports, find_modules

# Keep in step with ARCHITECTURE.md's Layers section.
RANKS: dict[str, int] = {
    "qts": 0,  # the root package: __version__ only
    "core": 0,
    "market": 1,
    "strategies": 1,
    "backtest": 2,
    "execution": 3,
    "ml": 3,
    "config": 4,
    "events": 4,
    "observability": 4,
    "db": 5,
    "adapters": 6,
    "services": 7,
    "workers": 8,
    "api": 9,
    "cli": 10,
}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "qts"


def layer_violations(imports: list[Import]) -> list[str]:
    problems = []
    for imp in imports:
        src, dst = package_of(imp.source), package_of(imp.target)
        if src == dst or dst == "qts":
            continue
        if RANKS[dst] >= RANKS[src]:
            kind = "a peer" if RANKS[dst] == RANKS[src] else "a higher layer"
            problems.append(
                f"{imp.source}:{imp.line} imports {imp.target} "
                f"({kind}: {src}={RANKS[src]} -> {dst}={RANKS[dst]})"
            )
    return problems


def describe_cycles(cycles: list[list[Import]]) -> list[str]:
    lines = []
    for group in cycles:
        files = sorted({i.source for i in group})
        lines.append("files importing each other: " + ", ".join(files))
        lines += [f"    {i.source}:{i.line} -> {i.target}" for i in group]
    return lines


def test_every_package_has_a_rank() -> None:
    packages = {package_of(m) for m in find_modules()}
    assert packages - RANKS.keys() == set(), "add the new package to RANKS and ARCHITECTURE.md"


def test_imports_only_go_down_the_layers() -> None:
    problems = layer_violations(find_imports())
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_no_import_cycles_between_files() -> None:
    cycles = file_cycles(find_imports())
    assert not cycles, "import cycles:\n" + "\n".join(describe_cycles(cycles))


def test_the_checks_see_hidden_imports_and_cycles(tmp_path: Path) -> None:
    """The walker finds imports inside functions and under TYPE_CHECKING, relative ones too,
    and reports a cycle they close and an upward import they make."""
    pkg = tmp_path / "qts"
    (pkg / "core").mkdir(parents=True)
    (pkg / "api").mkdir()
    for init in (pkg, pkg / "core", pkg / "api"):
        (init / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from qts.api.routes import x\n"
    )
    (pkg / "api" / "routes.py").write_text("def f():\n    from ..core import a\n")
    imports = find_imports(tmp_path)
    assert [(i.source, i.target, i.line) for i in imports] == [
        ("qts.api.routes", "qts.core.a", 2),
        ("qts.core.a", "qts.api.routes", 3),
    ]
    assert layer_violations(imports) == [
        "qts.core.a:3 imports qts.api.routes (a higher layer: core=0 -> api=9)"
    ]
    assert describe_cycles(file_cycles(imports)) == [
        "files importing each other: qts.api.routes, qts.core.a",
        "    qts.api.routes:2 -> qts.core.a",
        "    qts.core.a:3 -> qts.api.routes",
    ]
