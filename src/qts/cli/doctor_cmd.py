"""`qts doctor`: is this machine ready? Python, extras, database, Redis, MLflow, the data
directory, TA-Lib, CUDA and the optional data sources (OpenDART, a Korean sentiment model),
each with what to do when it is not. Exits 1 when something required fails (optional parts
only warn)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import typer

from qts.cli.guard import EXTRA_OF_MODULE
from qts.cli.output import make_console, print_json

# One module that shows each extra is installed.
EXTRA_PROBES = {"ml": "torch", "rl": "stable_baselines3", "brokers": "ccxt",
                "workers": "celery", "data": "yfinance"}  # fmt: skip


@dataclass(slots=True)
class Check:
    name: str
    status: str  # ok, warn or fail
    detail: str
    fix: str = ""


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    # qts needs 3.11 to import at all, so reaching here means the version is fine.
    return Check("python", "ok", f"Python {version} at {sys.executable}")


def _extras() -> list[Check]:
    assert set(EXTRA_PROBES.values()) <= set(EXTRA_OF_MODULE)
    checks = []
    for extra, module in EXTRA_PROBES.items():
        if importlib.util.find_spec(module) is not None:
            checks.append(Check(f"extra {extra}", "ok", f"{module} installed"))
        else:
            checks.append(Check(f"extra {extra}", "warn", f"{module} not installed",
                                f"pip install 'qts[{extra}]' (./scripts/up.sh installs all)"))  # fmt: skip
    return checks


def _data_dir(settings: Any) -> Check:
    path = settings.data_dir.resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".qts-doctor"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check("data directory", "fail", f"{path}: {exc.strerror or exc}",
                     "make it writable, or choose another with QTS_DATA_DIR / --data-dir")  # fmt: skip
    return Check("data directory", "ok", f"{path} is writable")


def _database(settings: Any) -> Check:
    from qts.db.engine import make_engine
    from qts.db.migrate import current_revision, head_revision

    url = settings.effective_database_url
    where = settings.public_summary()["database"]
    try:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            engine.dispose()
        revision = current_revision(url)
    except Exception as exc:
        return Check("database", "fail", f"{where}: {str(exc).splitlines()[0][:160]}",
                     "start the database server, or fix QTS_DATABASE_URL")  # fmt: skip
    if revision != head_revision():
        return Check("database", "warn", f"{where} at revision {revision or 'none'}",
                     "qts db upgrade (qts up does it too)")  # fmt: skip
    return Check("database", "ok", f"{where} reachable, schema current")


def _redis(settings: Any) -> Check:
    if not settings.redis_url:
        return Check("redis", "ok", "not configured: embedded mode (in-process bus and cache)")
    import redis

    from qts.market.network import CAUSES, classify, host_of

    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:
        cause = CAUSES[classify(exc)]
        return Check("redis", "fail", f"{host_of(settings.redis_url)}: {cause}",
                     "start Redis, or fix QTS_REDIS_URL (unset it for embedded mode)")  # fmt: skip
    return Check("redis", "ok", f"{host_of(settings.redis_url)} answers PING")


def _mlflow(settings: Any) -> Check:
    uri = settings.mlflow_tracking_uri or ""
    if not uri.startswith(("http://", "https://")):
        return Check("mlflow", "ok", uri or "local store in the data directory")
    import httpx

    from qts.market.network import CAUSES, classify, host_of

    try:
        response = httpx.get(uri.rstrip("/") + "/health", timeout=3)
    except httpx.HTTPError as exc:
        return Check("mlflow", "fail", f"{host_of(uri)}: {CAUSES[classify(exc)]}",
                     "start the MLflow server, or fix QTS_MLFLOW_TRACKING_URI")  # fmt: skip
    if response.status_code != 200:
        return Check("mlflow", "fail", f"{host_of(uri)} answered HTTP {response.status_code}",
                     "check the MLflow server's logs")  # fmt: skip
    return Check("mlflow", "ok", f"{host_of(uri)} healthy")


def _talib() -> Check:
    try:
        import talib
    except ImportError:
        return Check("ta-lib", "fail", "the talib module does not import",
                     "pip install ta-lib (wheels bundle the C library)")  # fmt: skip
    return Check("ta-lib", "ok", f"TA-Lib {getattr(talib, '__version__', '')}".strip())


def _cuda() -> Check:
    if importlib.util.find_spec("torch") is None:
        return Check("cuda", "warn", "torch not installed", "pip install 'qts[ml]'")
    import torch

    if torch.cuda.is_available():
        return Check(
            "cuda", "ok", f"{torch.cuda.device_count()} GPU(s): {torch.cuda.get_device_name(0)}"
        )
    return Check("cuda", "ok", "no GPU: models train on the CPU")


def _data_sources(settings: Any) -> list[Check]:
    """Optional sources of model inputs: OpenDART (fundamentals) and a Korean sentiment model."""
    if settings.opendart_api_key is None:
        dart = Check("opendart", "warn", "no API key: `qts data fundamentals fetch` is off",
                     "a free key from opendart.fss.or.kr in QTS_OPENDART_API_KEY")  # fmt: skip
    else:
        dart = Check("opendart", "ok", f"key set, {settings.opendart_base_url}")
    model = settings.kr_sentiment_model
    if model is None:
        korean = Check("korean sentiment", "warn", "no model: Korean headlines stay unscored",
                       "a KR-FinBERT style folder in QTS_KR_SENTIMENT_MODEL")  # fmt: skip
    elif not (model / "config.json").is_file():
        korean = Check("korean sentiment", "warn", f"{model}: no config.json there",
                       "point QTS_KR_SENTIMENT_MODEL at a transformers checkpoint folder")  # fmt: skip
    else:
        korean = Check("korean sentiment", "ok", f"model at {model}")
    return [dart, korean]


def run_checks() -> list[Check]:
    from qts.config import get_settings

    settings = get_settings()
    checks: list[Callable[[], Check | list[Check]]] = [
        _python, _extras, lambda: _data_dir(settings), lambda: _database(settings),
        lambda: _redis(settings), lambda: _mlflow(settings), _talib, _cuda,
        lambda: _data_sources(settings),
    ]  # fmt: skip
    found: list[Check] = []
    for check in checks:
        result = check()
        found.extend(result if isinstance(result, list) else [result])
    return found


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON")] = False,
) -> None:
    """Check this machine: Python, extras, database, Redis, MLflow, data directory, TA-Lib,
    CUDA; says what to do for each problem and exits 1 when something required fails."""
    checks = run_checks()
    failed = any(c.status == "fail" for c in checks)
    if as_json:
        print_json([asdict(c) for c in checks])
    else:
        from rich.markup import escape
        from rich.table import Table

        marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}
        table = Table("check", "", "detail", "what to do", title="qts doctor")
        table.columns[0].no_wrap = True
        for c in checks:
            table.add_row(c.name, marks[c.status], escape(c.detail), escape(c.fix))
        make_console().print(table)
        if os.environ.get("QTS_PROFILE") == "production" and not failed:
            make_console().print("production profile: secrets are checked at `qts up`")
    if failed:
        raise typer.Exit(1)
