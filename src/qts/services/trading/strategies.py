"""Strategy definitions stored in the database (CRUD); running them is the execution layer's."""

from __future__ import annotations

from typing import Any

from qts.core.errors import ConflictError, NotFoundError, ValidationError
from qts.db import Database
from qts.db.models import Strategy
from qts.db.repositories.audit import AuditRepository
from qts.db.repositories.strategies import StrategyRepository

EDITABLE_FIELDS = ("description", "parameters", "symbols", "timeframe", "mode", "strategy_class")


def strategy_to_dict(st: Strategy) -> dict[str, Any]:
    return {
        "id": st.id,
        "name": st.name,
        "strategy_class": st.strategy_class,
        "description": st.description,
        "parameters": st.parameters,
        "symbols": st.symbols,
        "timeframe": st.timeframe,
        "mode": st.mode,
        "state": st.state,
        "runtime_state": st.runtime_state,
        "created_by": st.created_by,
        "created_at": st.created_at.isoformat(),
        "updated_at": st.updated_at.isoformat(),
    }


def _check_class(strategy_class: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Resolve the class in the strategy registry and return its validated parameters.

    An unknown class or a bad parameter is a 422 on the request body, not a 404.
    """
    from qts.strategies.registry import create_strategy

    try:
        return dict(create_strategy(strategy_class, parameters).p)
    except NotFoundError as e:
        raise ValidationError(e.message, {"field": "strategy_class"}) from e


def list_strategies(db: Database, limit: int, offset: int, state: str | None) -> dict[str, Any]:
    with db.session() as s:
        repo = StrategyRepository(s)
        items = [strategy_to_dict(x) for x in repo.list(limit, offset, state)]
        return {"items": items, "total": repo.count(state), "limit": limit, "offset": offset}


def get_strategy(db: Database, strategy_id: int) -> dict[str, Any]:
    with db.session() as s:
        st = StrategyRepository(s).get(strategy_id)
        if st is None:
            raise NotFoundError(f"strategy {strategy_id} not found")
        return strategy_to_dict(st)


def create_strategy(db: Database, data: dict[str, Any], actor: str) -> dict[str, Any]:
    data = dict(data)
    data["parameters"] = _check_class(data["strategy_class"], data.get("parameters") or {})
    with db.session() as s:
        repo = StrategyRepository(s)
        if repo.by_name(data["name"]) is not None:
            raise ConflictError(f"strategy {data['name']!r} already exists")
        st = repo.add(Strategy(**data, created_by=actor))
        AuditRepository(s).record(actor, "strategy.create", st.name, {"id": st.id})
        return strategy_to_dict(st)


def get_strategy_by_name(db: Database, name: str) -> dict[str, Any] | None:
    with db.session() as s:
        st = StrategyRepository(s).by_name(name)
        return strategy_to_dict(st) if st is not None else None


COMPARED_FIELDS = ("strategy_class", "symbols", "timeframe")


def differences(stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Field (or `param.NAME`) -> (stored, wanted) for what `wanted` would change."""
    out: dict[str, tuple[Any, Any]] = {}
    for key in COMPARED_FIELDS:
        if key in wanted and stored.get(key) != wanted[key]:
            out[key] = (stored.get(key), wanted[key])
    old, new = stored.get("parameters") or {}, wanted.get("parameters") or {}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            out[f"param.{key}"] = (old.get(key), new.get(key))
    return out


def save_strategy_by_name(
    db: Database, data: dict[str, Any], actor: str, update: bool = False
) -> tuple[dict[str, Any], str]:
    """Create the stored strategy `data["name"]`, or use the stored one when it is the same.

    A stored one that differs is changed only with `update`; otherwise ConflictError, whose
    details list the differences. Returns (strategy, "created" | "unchanged" | "updated")."""
    wanted = dict(data)
    wanted["parameters"] = _check_class(wanted["strategy_class"], wanted.get("parameters") or {})
    stored = get_strategy_by_name(db, wanted["name"])
    if stored is None:
        return create_strategy(db, wanted, actor), "created"
    diff = differences(stored, wanted)
    if not diff:
        return stored, "unchanged"
    if not update:
        shown = "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in _rows(diff))
        raise ConflictError(
            f"stored strategy {wanted['name']!r} differs: {shown}",
            {"differences": {k: [a, b] for k, a, b in _rows(diff)}},
        )
    changes = {k: wanted[k] for k in (*COMPARED_FIELDS, "parameters") if k in wanted}
    return update_strategy(db, int(stored["id"]), changes, actor), "updated"


def _rows(diff: dict[str, tuple[Any, Any]]) -> list[tuple[str, Any, Any]]:
    return [(k, a, b) for k, (a, b) in diff.items()]


def update_strategy(
    db: Database, strategy_id: int, changes: dict[str, Any], actor: str
) -> dict[str, Any]:
    with db.session() as s:
        st = StrategyRepository(s).get(strategy_id)
        if st is None:
            raise NotFoundError(f"strategy {strategy_id} not found")
        if st.state == "running" and changes:
            raise ConflictError("stop the strategy before changing it")
        if "strategy_class" in changes or "parameters" in changes:
            cls = changes.get("strategy_class", st.strategy_class)
            params = changes.get("parameters", st.parameters)
            changes["parameters"] = _check_class(cls, params)
        for key, value in changes.items():
            if key not in EDITABLE_FIELDS:
                raise ValidationError(f"field {key!r} cannot be changed")
            setattr(st, key, value)
        AuditRepository(s).record(actor, "strategy.update", st.name, {"fields": sorted(changes)})
        s.flush()
        return strategy_to_dict(st)


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
            processed[name] = trading.step_stored_bars(sid)
        except Exception as e:  # one strategy's failure must not stop the others
            errors[name] = f"{type(e).__name__}: {e}"
    if errors:
        raise RuntimeError(f"strategies failed: {errors}")
    return {"strategies": len(rows), "bars": processed}
