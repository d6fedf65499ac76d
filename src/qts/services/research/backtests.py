"""Backtests requested through the API: validated at once, run in the background, stored."""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from qts.core.errors import NotFoundError, ValidationError
from qts.db import Database
from qts.db.models import BacktestRun
from qts.events import EventBus
from qts.services.research.backtest_types import (
    BacktestRequest,
    BacktestResultOut,
    BacktestRunOut,
    BacktestRunPage,
)

if TYPE_CHECKING:
    from qts.backtest.config import BacktestConfig

log = logging.getLogger(__name__)
MAX_POINTS = 5000
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backtest")
        return _pool


def _summary(run: BacktestRun, full: bool = False) -> BacktestRunOut:
    return BacktestRunOut(
        id=run.id,
        status=run.status,  # type: ignore[arg-type]
        strategy=run.strategy,
        params=run.params,
        request=run.request,
        metrics=run.metrics,
        error=run.error,
        created_by=run.created_by,
        created_at=run.created_at.isoformat(),
        finished_at=run.finished_at.isoformat() if run.finished_at else None,
        result=BacktestResultOut.model_validate(run.result) if full and run.result else None,
    )


def submit(
    db: Database, bus: EventBus, request: BacktestRequest, actor: str, settings: Any = None
) -> BacktestRunOut:
    """Check the strategy, the data's market and the run options now (4xx on bad input, with
    nothing stored), then run in the background. `settings` (default: the process's) say
    where a model strategy's registry and feature store are."""
    from qts.services.data.fx_rates import resolve_run
    from qts.services.data.market_data import stored_markets
    from qts.strategies.registry import create_strategy

    try:
        strategy = create_strategy(request.strategy, request.params, files=False)
    except NotFoundError as e:
        raise ValidationError(e.message) from e
    exchanges, currencies = stored_markets(db, request.symbols, request.timeframe)
    config = resolve_run(
        db, request.to_config(), request.symbols, exchanges, currencies, strategy.p
    )
    run_id = str(uuid.uuid4())
    with db.session() as s:
        s.add(
            BacktestRun(
                id=run_id,
                strategy=request.strategy,
                params=dict(strategy.p),
                request=request.model_dump(mode="json"),
                created_by=actor,
            )
        )
    _executor().submit(_run, db, bus, run_id, request, config, dict(strategy.p), settings)
    return get(db, run_id)


def _run(
    db: Database,
    bus: EventBus,
    run_id: str,
    request: BacktestRequest,
    config: BacktestConfig,
    params: dict[str, Any],
    settings: Any = None,
) -> None:
    from qts.backtest.engine import run_backtest
    from qts.services.data.run_data import read_run_data
    from qts.strategies.registry import create_strategy

    _set(db, run_id, status="running")
    bus.publish("backtests", {"id": run_id, "status": "running"})
    try:
        strategy = create_strategy(request.strategy, params, files=False)
        models = _bind_models(db, bus, strategy, request.start, settings)
        warmup = strategy.warmup_bars if request.start is not None else 0
        # Raw quotes and their corporate actions (the engine shows the strategy adjusted bars).
        run = read_run_data(
            db, request.symbols, request.timeframe, request.start, request.end, warmup
        )
        rates: dict[str, Any] = {}
        if config.symbol_currencies:  # priced in the run's currency at stored FX rates
            from qts.services.data.fx_rates import (
                conversion_rates,
                convert_run_actions,
                convert_run_data,
            )

            raw = run.universe
            run.universe = convert_run_data(db, config, raw, request.timeframe, run.exchanges)
            run.actions = convert_run_actions(config, raw, run.universe, run.actions)
            rates = conversion_rates(config, raw, run.universe)
        # Bars before the start only warm indicators up (the CLI does the same).
        trade_start = request.start if warmup else None
        result = run_backtest(
            strategy,
            run.universe,
            config,
            trade_start=trade_start,
            actions=run.actions,
            fx_rates=rates,
        )
        data = result.to_dict(max_points=MAX_POINTS)
        if models is not None:  # which versions, and whether frozen or a walk-forward refit
            data["model"] = models.describe()
        _set(db, run_id, status="done", metrics=data.get("metrics", {}), result=data)
        bus.publish("backtests", {"id": run_id, "status": "done"})
    except Exception as e:  # stored with the run, so the caller sees why
        log.exception("backtest %s failed", run_id)
        message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
        _set(db, run_id, status="failed", error=message)
        bus.publish("backtests", {"id": run_id, "status": "failed"})


def _bind_models(db: Database, bus: EventBus, strategy: Any, start: Any, settings: Any) -> Any:
    """A model strategy reads the deployment's registry and feature store (None otherwise)."""
    if not strategy.uses_models:
        return None
    from qts.config import get_settings
    from qts.services.context import AppContext
    from qts.services.ml.model_strategies import bind_for_backtest

    return bind_for_backtest(AppContext(settings or get_settings(), db, bus), strategy, start)


def _set(db: Database, run_id: str, **values: Any) -> None:
    with db.session() as s:
        run = s.get(BacktestRun, run_id)
        if run is None:
            return
        for key, value in values.items():
            setattr(run, key, value)
        if values.get("status") in ("done", "failed"):
            run.finished_at = datetime.now(UTC)


def get(db: Database, run_id: str) -> BacktestRunOut:
    with db.session() as s:
        run = s.get(BacktestRun, run_id)
        if run is None:
            raise NotFoundError(f"backtest {run_id} not found")
        return _summary(run, full=True)


def list_runs(db: Database, limit: int, offset: int) -> BacktestRunPage:
    with db.session() as s:
        q = select(BacktestRun).order_by(BacktestRun.created_at.desc()).limit(limit).offset(offset)
        items = [_summary(r) for r in s.scalars(q)]
        total = s.scalar(select(func.count()).select_from(BacktestRun)) or 0
    return BacktestRunPage(items=items, total=total, limit=limit, offset=offset)
