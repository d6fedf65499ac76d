"""What every command shares: a one-line error for a missing extra or an unreachable service
(`-v` shows the traceback), and the documented exit codes.

Exit codes: 0 success, 1 the command failed, 2 usage or invalid input, 3 network (a provider
or service could not be reached), 4 a needed extra is not installed.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NETWORK = 3
EXIT_MISSING_EXTRA = 4

# The top-level module -> the extra of pyproject.toml that installs it.
EXTRA_OF_MODULE = {
    "torch": "ml",
    "lightgbm": "ml",
    "mlflow": "ml",
    "optuna": "ml",
    "sklearn": "ml",
    "transformers": "ml",
    "vaderSentiment": "ml",
    "matplotlib": "ml",
    "ccxt": "brokers",
    "cryptography": "brokers",
    "celery": "workers",
    "kombu": "workers",
    "yfinance": "data",
    "pykrx": "data",
    "stable_baselines3": "rl",
    "gymnasium": "rl",
}
# Third-party loggers that talk at INFO about things a user did not ask about.
NOISY_LOGGERS = ("alembic", "httpx", "mlflow", "optuna", "urllib3", "numba", "git", "botocore")

# MLflow reads these when it is imported: no INFO lines, no `Downloading artifacts` bars.
QUIET_ENV = {"MLFLOW_LOGGING_LEVEL": "ERROR", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}

F = TypeVar("F", bound=Callable[..., Any])
_state = {"verbose": False}


def set_verbose(verbose: bool) -> None:
    """`-v`: tracebacks on errors and third-party INFO logs; else quiet third parties."""
    _state["verbose"] = verbose
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    for variable, quiet in QUIET_ENV.items():
        if not verbose:
            os.environ.setdefault(variable, quiet)
        elif os.environ.get(variable) == quiet:
            del os.environ[variable]
    if not verbose:
        import warnings

        # MLflow and friends warn about their own internals (e.g. pip resolution, pydantic).
        for module in ("mlflow", "optuna", "lightgbm", "torch", "transformers"):
            warnings.filterwarnings("ignore", module=module)
        # MLflow's advice on pyfunc type hints, raised from its helpers with our frame on top.
        warnings.filterwarnings("ignore", message=".*type hints to the `predict` method")


def is_verbose() -> bool:
    return _state["verbose"]


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The extra that would install the module `exc` could not import, if one does."""
    top = (exc.name or "").split(".")[0]
    return EXTRA_OF_MODULE.get(top)


def missing_extra_message(command: str, exc: ModuleNotFoundError) -> str | None:
    extra = missing_extra(exc)
    if extra is None:
        return None
    module = (exc.name or "").split(".")[0]
    return (
        f"{command} needs the '{extra}' extra ({module} is not installed): "
        f"pip install 'qts[{extra}]' (or rerun ./scripts/up.sh, which installs every extra)"
    )


def network_message(exc: BaseException) -> str | None:
    """One line for an error that says a network service could not be reached, else None."""
    from qts.core.errors import QtsError

    if isinstance(exc, QtsError) and isinstance(exc.details, dict) and "network" in exc.details:
        return exc.message
    return None


def _emit(message: str) -> None:
    if is_verbose():
        traceback.print_exc(file=sys.stderr)
    typer.echo(f"error: {message}", err=True)


def guarded(fn: F, command: str = "qts") -> F:
    """Wrap a command: a missing extra or an unreachable service ends in one line."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ModuleNotFoundError as exc:
            message = missing_extra_message(command, exc)
            if message is None:
                raise
            _emit(message)
            raise typer.Exit(EXIT_MISSING_EXTRA) from None
        except Exception as exc:
            message = network_message(exc)
            if message is None:
                raise
            _emit(message)
            raise typer.Exit(EXIT_NETWORK) from None

    return wrapper  # type: ignore[return-value]


def guard_all(app: typer.Typer, path: str = "qts") -> None:
    """Apply `guarded` to every command of `app` and of its sub-apps (once)."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_qts_guarded", False):
            name = info.name or info.callback.__name__.replace("_", "-")
            info.callback = guarded(info.callback, f"{path} {name}")
            info.callback._qts_guarded = True  # type: ignore[attr-defined]
    for group in app.registered_groups:
        if group.typer_instance is not None:
            guard_all(group.typer_instance, f"{path} {group.name}")
