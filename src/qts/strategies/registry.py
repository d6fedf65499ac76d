"""Find strategies by name, or load a user's class from `path/to/file.py:Class` / `module:Class`."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qts.core.errors import ValidationError
from qts.strategies.base import Strategy
from qts.strategies.registration import REGISTERED, register

__all__ = [
    "check_strategy_allowed",
    "create_strategy",
    "get_strategy_class",
    "list_strategies",
    "register",
]
# Our own package: its classes are registered by name and may also be written module:Class.
ALWAYS_ALLOWED_PACKAGES = ("qts.strategies",)


def _ensure_builtins() -> None:
    import qts.strategies.builtin
    import qts.strategies.ml_builtin
    import qts.strategies.rl_builtin  # noqa: F401


def list_strategies() -> list[dict[str, Any]]:
    _ensure_builtins()
    return [cls.describe() for _, cls in sorted(REGISTERED.items())]


def unknown_strategy(spec: str, files: bool) -> ValidationError:
    """The refusal of an unknown name: a near miss first, then only the forms the caller
    accepts (the API never loads a file, so it is not offered there)."""
    import difflib

    names = sorted(REGISTERED)
    near = difflib.get_close_matches(spec, names, n=1, cutoff=0.6)
    forms = "path/to/file.py:Class or module:Class" if files else "an installed module:Class"
    hint = f"did you mean {near[0]!r}? " if near else ""
    return ValidationError(
        f"unknown strategy {spec!r}; {hint}registered: {', '.join(names)}; or give {forms}",
        {"strategy": spec, "available": names, "did_you_mean": near[0] if near else None},
    )


def get_strategy_class(spec: str, *, files: bool = True) -> type[Strategy]:
    """Resolve a registered name, `file.py:Class` or `package.module:Class` (`files=False`:
    the caller does not load files, so its error messages do not offer them)."""
    _ensure_builtins()
    spec = spec.strip()
    if not spec:
        raise ValidationError("strategy name is empty")
    if spec in REGISTERED:
        return REGISTERED[spec]
    if ":" not in spec:
        raise unknown_strategy(spec, files)
    target, _, class_name = spec.rpartition(":")
    module = _load_file(target) if target.endswith(".py") else _load_module(target)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ValidationError(f"{target} has no class {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ValidationError(f"{spec} is not a qts Strategy subclass")
    return cls


def check_strategy_allowed(spec: str, packages: Sequence[str]) -> None:
    """For a spec from a remote client: a registered name, or `module:Class` inside one of
    `packages` (QTS_STRATEGY_PACKAGES). Decided on the text alone, before anything is imported,
    so a refused spec never runs a module's top-level code."""
    _ensure_builtins()
    spec = spec.strip()
    if spec in REGISTERED or ":" not in spec:
        return  # a name: resolved in the registry only, nothing to import
    module = spec.rpartition(":")[0]
    allowed = (*ALWAYS_ALLOWED_PACKAGES, *packages)
    if not any(module == p or module.startswith(p + ".") for p in allowed):
        raise ValidationError(
            f"strategy module {module!r} is not in an allowed package; add its package to "
            "QTS_STRATEGY_PACKAGES or register the class",
            {"field": "strategy_class", "allowed_packages": list(packages)},
        )


def create_strategy(
    spec: str, params: dict[str, Any] | None = None, *, files: bool = True
) -> Strategy:
    """Resolve `spec` and instantiate it with validated parameters."""
    cls = get_strategy_class(spec, files=files)
    return cls(**(params or {}))


def _load_file(path_text: str) -> Any:
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise ValidationError(f"strategy file not found: {path_text}")
    # A stable, unique module name per file so re-loading the same file reuses it.
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    mod_name = f"qts_user_strategy_{path.stem}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ValidationError(f"cannot import strategy file {path_text}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[mod_name]
        raise ValidationError(f"error importing {path_text}: {exc}") from exc
    return module


def _load_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ValidationError(f"cannot import strategy module {name!r}: {exc}") from exc
