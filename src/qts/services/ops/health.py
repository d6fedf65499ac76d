"""Component checks used by /ready and the system status endpoint."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from qts.services.context import AppContext


def _timed(fn: Any) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        fn()
    except Exception as e:  # a health check reports, it does not raise
        return {"ok": False, "error": type(e).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 2)}


def check_database(ctx: AppContext) -> dict[str, Any]:
    def ping() -> None:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    return {"backend": ctx.db.engine.dialect.name, **_timed(ping)}


def check_redis(ctx: AppContext) -> dict[str, Any] | None:
    client = ctx.redis()
    if client is None:
        return None
    return _timed(client.ping)


def readiness(ctx: AppContext) -> dict[str, Any]:
    """The checks `/ready` needs: the database, and Redis when it is configured."""
    checks: dict[str, Any] = {"database": check_database(ctx)}
    redis_status = check_redis(ctx)
    if redis_status is not None:
        checks["redis"] = redis_status
    return checks


def component_status(ctx: AppContext) -> dict[str, Any]:
    out = readiness(ctx)
    out.setdefault("redis", {"ok": True, "configured": False})
    out["event_bus"] = {"backend": "redis" if ctx.settings.redis_url else "in-process"}
    return out
