"""Optimisation runs started from the API: a parameter search (grid or Optuna, in sample or
walk-forward) on stored bars, run in the background with its progress kept on the run
(`trials_done` / `trials_total`) and published on the `optimizations` topic."""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from qts.core.errors import NotFoundError, ValidationError
from qts.db import Database
from qts.db.models import OptimizationRun
from qts.events import EventBus
from qts.services.research.optimization_types import (
    OptimizationRequest,
    OptimizationResult,
    OptimizationRunOut,
    OptimizationRunPage,
)

log = logging.getLogger(__name__)
TOPIC = "optimizations"
PROGRESS_EVERY_S = 0.5  # progress is written and published at most this often
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="optimize")


def submit(
    db: Database, bus: EventBus, request: OptimizationRequest, actor: str
) -> OptimizationRunOut:
    """Check the strategy, its fixed parameters, the grid and the data's market now (a 4xx
    with nothing stored), then search in the background."""
    from qts.services.data.fx_rates import resolve_run
    from qts.services.data.market_data import stored_markets
    from qts.strategies.registry import create_strategy, get_strategy_class

    try:
        cls = get_strategy_class(request.strategy, files=False)
        strategy = create_strategy(request.strategy, request.params, files=False)
    except NotFoundError as e:
        raise ValidationError(e.message) from e
    declared = {p.name for p in cls.params}
    unknown = sorted(set(request.grid or {}) - declared)
    if unknown:
        raise ValidationError(f"grid names unknown parameters: {', '.join(unknown)}")
    if strategy.uses_models:
        raise ValidationError("model strategies are not optimised here: train the model instead")
    _check_stored(db, request.symbols, request.timeframe)
    exchanges, currencies = stored_markets(db, request.symbols, request.timeframe)
    resolve_run(db, request.to_config(), request.symbols, exchanges, currencies, strategy.p)
    run_id = str(uuid.uuid4())
    total = request.trials * max(request.folds, 1) if request.method == "optuna" else None
    with db.session() as s:
        s.add(
            OptimizationRun(
                id=run_id,
                strategy=request.strategy,
                request=request.model_dump(mode="json"),
                trials_total=total,
                created_by=actor,
            )
        )
    _pool.submit(_run, db, bus, run_id, request)
    return get(db, run_id)


def _check_stored(db: Database, symbols: list[str], timeframe: str) -> None:
    from qts.services.data.market_data import list_datasets

    stored = {(d["symbol"], d["timeframe"]) for d in list_datasets(db)}
    missing = [s for s in symbols if (s, timeframe) not in stored]
    if missing:
        raise NotFoundError(f"no stored {timeframe} bars for {', '.join(missing)}")


def _run(db: Database, bus: EventBus, run_id: str, request: OptimizationRequest) -> None:
    _set(db, run_id, status="running", started_at=datetime.now(UTC))
    bus.publish(TOPIC, {"id": run_id, "status": "running"})
    last = [0.0]

    def on_trial(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S and done != total:
            return
        last[0] = now
        _set(db, run_id, trials_done=done, trials_total=total)
        bus.publish(TOPIC, {"id": run_id, "status": "running", "done": done, "total": total})

    try:
        result = search(db, request, on_trial)
        _set(db, run_id, status="done", result=result)
        bus.publish(TOPIC, {"id": run_id, "status": "done"})
    except Exception as e:  # stored with the run, so the caller sees why
        log.exception("optimisation %s failed", run_id)
        message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
        _set(db, run_id, status="failed", error=message)
        bus.publish(TOPIC, {"id": run_id, "status": "failed"})


def search(db: Database, request: OptimizationRequest, on_trial: Any = None) -> dict[str, Any]:
    """The search itself, on the stored bars of the request's symbols and window (adjusted
    for corporate actions; symbols in another currency priced in the run's at stored rates)."""
    from qts.backtest import optimize as opt
    from qts.services.data.fx_rates import convert_run_data, resolve_run
    from qts.services.data.market_data import read_bars, stored_markets
    from qts.strategies.registry import get_strategy_class

    cls = get_strategy_class(request.strategy, files=False)
    universe = {
        s: read_bars(s, request.timeframe, request.start, request.end, db=db)
        for s in request.symbols
    }
    exchanges, currencies = stored_markets(db, request.symbols, request.timeframe)
    config = resolve_run(
        db, request.to_config(), request.symbols, exchanges, currencies, request.params
    )
    if config.symbol_currencies:
        universe = convert_run_data(db, config, universe, request.timeframe, exchanges)
    common = {"objective": request.objective, "fixed": request.params, "on_trial": on_trial}
    if request.folds > 0:
        wf = opt.walk_forward(
            cls, universe, config, folds=request.folds, method=request.method, grid=request.grid,
            n_trials=request.trials, seed=request.seed, **common,
        )  # fmt: skip
        return {"walk_forward": wf.to_dict()}
    if request.method == "grid":
        res = opt.grid_search(cls, universe, config, request.grid, **common)
    else:
        res = opt.optuna_search(cls, universe, config, request.trials, seed=request.seed, **common)
    return {"in_sample": res.to_dict()}


def _set(db: Database, run_id: str, **values: Any) -> None:
    with db.session() as s:
        run = s.get(OptimizationRun, run_id)
        if run is None:
            return
        for key, value in values.items():
            setattr(run, key, value)
        if values.get("status") == "done" and run.trials_total is not None:
            run.trials_done = run.trials_total
        if values.get("status") in ("done", "failed"):
            run.finished_at = datetime.now(UTC)


def _out(run: OptimizationRun, full: bool) -> OptimizationRunOut:
    return OptimizationRunOut(
        id=run.id,
        status=run.status,  # type: ignore[arg-type]
        strategy=run.strategy,
        request=OptimizationRequest.model_validate(run.request),
        trials_done=run.trials_done,
        trials_total=run.trials_total,
        error=run.error,
        created_by=run.created_by,
        created_at=run.created_at.isoformat(),
        started_at=run.started_at.isoformat() if run.started_at else None,
        finished_at=run.finished_at.isoformat() if run.finished_at else None,
        result=OptimizationResult.model_validate(run.result) if full and run.result else None,
    )


def get(db: Database, run_id: str) -> OptimizationRunOut:
    with db.session() as s:
        run = s.get(OptimizationRun, run_id)
        if run is None:
            raise NotFoundError(f"optimisation {run_id} not found")
        return _out(run, full=True)


def list_runs(
    db: Database, limit: int, offset: int, status: str | None = None
) -> OptimizationRunPage:
    with db.session() as s:
        q = select(OptimizationRun)
        count = select(func.count()).select_from(OptimizationRun)
        if status:
            q, count = (
                q.where(OptimizationRun.status == status),
                count.where(OptimizationRun.status == status),
            )
        q = q.order_by(OptimizationRun.created_at.desc()).limit(limit).offset(offset)
        items = [_out(r, full=False) for r in s.scalars(q)]
        total = s.scalar(count) or 0
    return OptimizationRunPage(items=items, total=total, limit=limit, offset=offset)
