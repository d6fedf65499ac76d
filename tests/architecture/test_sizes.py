"""Modules stay under ~400 lines and functions under ~80 (COMMON.md): small enough to read whole.
The allow-list is explicit and short; each entry says why it may be longer."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "qts"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

# Alembic revisions are fixed once released: they are history, not code to maintain.
EXEMPT_DIRS = ("db/migrations/versions",)
LONG_FUNCTIONS = {
    # numba kernel: one compiled loop; splitting it costs calls in the hot path.
    "backtest/kernel.py:rebalance_kernel": "numba kernel",
    # The epoch loop with AMP, clipping, schedules, checkpoints and early stopping.
    "ml/training/trainer.py:fit": "not split yet (time ran out in the structure branch)",
}
LONG_MODULES: dict[str, str] = {}


def _files() -> list[tuple[str, Path]]:
    files = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith(EXEMPT_DIRS):
            files.append((rel, path))
    return files


def long_modules() -> dict[str, int]:
    found = {}
    for rel, path in _files():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            found[rel] = lines
    return found


def long_functions() -> dict[str, int]:
    found = {}
    for rel, path in _files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found[f"{rel}:{node.name}"] = lines
    return found


def test_modules_are_short() -> None:
    over = {k: v for k, v in long_modules().items() if k not in LONG_MODULES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split them): " + ", ".join(
        f"{k} ({v})" for k, v in sorted(over.items())
    )


def test_functions_are_short() -> None:
    over = {k: v for k, v in long_functions().items() if k not in LONG_FUNCTIONS}
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines (split them): " + ", ".join(
        f"{k} ({v})" for k, v in sorted(over.items())
    )


def test_the_allow_list_holds_only_what_is_still_long() -> None:
    stale = (set(LONG_FUNCTIONS) - set(long_functions())) | (
        set(LONG_MODULES) - set(long_modules())
    )
    assert not stale, f"now short enough, remove from the allow-list: {sorted(stale)}"
