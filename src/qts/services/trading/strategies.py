"""Strategy definitions stored in the database (CRUD); running them is the execution layer's."""

from __future__ import annotations

from typing import Any

from qts.core.errors import ConflictError, NotFoundError, ValidationError
from qts.db import Database
from qts.db.models import Strategy
from qts.db.repositories.audit import AuditRepository
from qts.db.repositories.strategies import StrategyRepository
from qts.services.schemas import Page
from qts.services.trading.schemas import NewStrategy, StrategyChanges, StrategyRecord


def _check_class(strategy_class: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Resolve the class in the strategy registry and return its validated parameters.

    An unknown class or a bad parameter is a 422 on the request body, not a 404.
    """
    from qts.strategies.registry import create_strategy

    try:
        return dict(create_strategy(strategy_class, parameters, files=False).p)
    except NotFoundError as e:
        raise ValidationError(e.message, {"field": "strategy_class"}) from e


def list_strategies(
    db: Database, limit: int, offset: int, state: str | None
) -> Page[StrategyRecord]:
    with db.session() as s:
        repo = StrategyRepository(s)
        items = [StrategyRecord.from_row(x) for x in repo.list(limit, offset, state)]
        return Page(items=items, total=repo.count(state), limit=limit, offset=offset)


def get_strategy(db: Database, strategy_id: int) -> StrategyRecord:
    with db.session() as s:
        st = StrategyRepository(s).get(strategy_id)
        if st is None:
            raise NotFoundError(f"strategy {strategy_id} not found")
        return StrategyRecord.from_row(st)


def create_strategy(db: Database, new: NewStrategy, actor: str) -> StrategyRecord:
    data = new.model_dump()
    data["parameters"] = _check_class(new.strategy_class, new.parameters)
    with db.session() as s:
        repo = StrategyRepository(s)
        if repo.by_name(new.name) is not None:
            raise ConflictError(f"strategy {new.name!r} already exists")
        st = repo.add(Strategy(**data, created_by=actor))
        AuditRepository(s).record(actor, "strategy.create", st.name, {"id": st.id})
        return StrategyRecord.from_row(st)


def get_strategy_by_name(db: Database, name: str) -> StrategyRecord | None:
    with db.session() as s:
        st = StrategyRepository(s).by_name(name)
        return StrategyRecord.from_row(st) if st is not None else None


COMPARED_FIELDS = ("strategy_class", "symbols", "timeframe")


def differences(stored: StrategyRecord, wanted: NewStrategy) -> dict[str, tuple[Any, Any]]:
    """Field (or `param.NAME`) -> (stored, wanted) for what `wanted` would change."""
    out: dict[str, tuple[Any, Any]] = {}
    for key in COMPARED_FIELDS:
        old_value, new_value = getattr(stored, key), getattr(wanted, key)
        if old_value != new_value:
            out[key] = (old_value, new_value)
    old, new = stored.parameters, wanted.parameters
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            out[f"param.{key}"] = (old.get(key), new.get(key))
    return out


def save_strategy_by_name(
    db: Database, new: NewStrategy, actor: str, update: bool = False
) -> tuple[StrategyRecord, str]:
    """Create the stored strategy `new.name`, or use the stored one when it is the same.

    A stored one that differs is changed only with `update`; otherwise ConflictError, whose
    details list the differences. Returns (strategy, "created" | "unchanged" | "updated")."""
    wanted = new.model_copy(update={"parameters": _check_class(new.strategy_class, new.parameters)})
    stored = get_strategy_by_name(db, wanted.name)
    if stored is None:
        return create_strategy(db, wanted, actor), "created"
    diff = differences(stored, wanted)
    if not diff:
        return stored, "unchanged"
    if not update:
        shown = "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in _rows(diff))
        raise ConflictError(
            f"stored strategy {wanted.name!r} differs: {shown}",
            {"differences": {k: [a, b] for k, a, b in _rows(diff)}},
        )
    changes = StrategyChanges.parse(
        **{k: getattr(wanted, k) for k in (*COMPARED_FIELDS, "parameters")}
    )
    return update_strategy(db, stored.id, changes, actor), "updated"


def _rows(diff: dict[str, tuple[Any, Any]]) -> list[tuple[str, Any, Any]]:
    return [(k, a, b) for k, (a, b) in diff.items()]


def update_strategy(
    db: Database, strategy_id: int, changes: StrategyChanges, actor: str
) -> StrategyRecord:
    given = changes.model_dump(exclude_unset=True)
    with db.session() as s:
        st = StrategyRepository(s).get(strategy_id)
        if st is None:
            raise NotFoundError(f"strategy {strategy_id} not found")
        if st.state == "running" and given:
            raise ConflictError("stop the strategy before changing it")
        if "strategy_class" in given or "parameters" in given:
            cls = given.get("strategy_class") or st.strategy_class
            params = given.get("parameters")
            given["parameters"] = _check_class(cls, st.parameters if params is None else params)
        for key, value in given.items():
            if value is None:
                raise ValidationError(f"field {key!r} cannot be null")
            setattr(st, key, value)
        AuditRepository(s).record(actor, "strategy.update", st.name, {"fields": sorted(given)})
        s.flush()
        return StrategyRecord.from_row(st)


def delete_strategy(db: Database, strategy_id: int, actor: str) -> None:
    with db.session() as s:
        repo = StrategyRepository(s)
        st = repo.get(strategy_id)
        if st is None:
            raise NotFoundError(f"strategy {strategy_id} not found")
        if st.state == "running":
            raise ConflictError("stop the strategy before deleting it")
        repo.delete(st)
        AuditRepository(s).record(actor, "strategy.delete", st.name)


def run_started_strategies(ctx: Any) -> dict[str, Any]:
    """The `strategies` job: run every started live-feed strategy on its newly stored bars."""
    from qts.services.trading.bar_steps import step_live_strategy
    from qts.services.trading.sessions import TradingService

    trading = TradingService(ctx)
    with ctx.db.session() as s:
        rows = [
            (st.id, st.name)
            for st in StrategyRepository(s).list(limit=10_000, state="running")
            if (st.runtime_state or {}).get("feed", {}).get("kind") == "live"
        ]
    processed: dict[str, int] = {}
    errors: dict[str, str] = {}
    for sid, name in rows:
        try:
            processed[name] = step_live_strategy(ctx, trading, sid)  # not beside the stream
        except Exception as e:  # one strategy's failure must not stop the others
            errors[name] = f"{type(e).__name__}: {e}"
    if errors:
        raise RuntimeError(f"strategies failed: {errors}")
    return {"strategies": len(rows), "bars": processed}
