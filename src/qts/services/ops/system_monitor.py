"""System monitor: health of the database, Redis, workers and disk, kept as a status record.

`run_system_monitor` is the `system_monitor` job (every 30 s). It writes the report to the
`system_status` table under the key `health` (read back by `read_system_status`, which the
API's `/api/v1/system` endpoints show), publishes it on the `system` event topic, and updates
the queue-length gauges. Workers, beat and the embedded runner call `write_heartbeat`
periodically; a heartbeat older than `stale_after` seconds marks its process as down.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from qts.adapters.job_locks import key_prefix
from qts.db.base import utcnow
from qts.db.models.jobs import SystemStatus
from qts.observability import metrics
from qts.services.context import AppContext
from qts.services.ops.health import check_database, check_redis

log = logging.getLogger(__name__)

HEALTH_KEY = "health"
HEARTBEAT_PREFIX = "heartbeat:"
CELERY_QUEUES = ("market", "strategy", "orders", "features", "ml", "system")
DEFAULT_STALE_AFTER = 90.0  # three missed 30 s heartbeats
FORGET_AFTER = timedelta(days=1)  # heartbeats of processes gone for a day are removed
MIN_FREE_FRACTION = 0.05


def put_status(ctx: AppContext, key: str, value: dict[str, Any]) -> None:
    """Insert or replace one status record."""
    for _ in range(2):  # a concurrent first insert of the same key: retry as an update
        try:
            with ctx.db.session() as s:
                row = s.get(SystemStatus, key)
                if row is None:
                    s.add(SystemStatus(key=key, value=value, updated_at=utcnow()))
                else:
                    row.value = value
                    row.updated_at = utcnow()
            return
        except IntegrityError:
            continue


def get_status(ctx: AppContext, key: str) -> dict[str, Any] | None:
    with ctx.db.session() as s:
        row = s.get(SystemStatus, key)
        if row is None:
            return None
        return {"value": row.value, "updated_at": row.updated_at.isoformat()}


def heartbeat_key(role: str, name: str | None = None) -> str:
    return f"{HEARTBEAT_PREFIX}{role}:{name or f'{socket.gethostname()}:{os.getpid()}'}"


def write_heartbeat(ctx: AppContext, role: str, name: str | None = None, **info: Any) -> None:
    """Record that this process (`role`: worker, beat, embedded) is alive."""
    value = {"role": role, "host": socket.gethostname(), "pid": os.getpid(), **info}
    put_status(ctx, heartbeat_key(role, name), value)


def remove_heartbeat(ctx: AppContext, role: str, name: str | None = None) -> None:
    with ctx.db.session() as s:
        s.execute(delete(SystemStatus).where(SystemStatus.key == heartbeat_key(role, name)))


def check_workers(
    ctx: AppContext, stale_after: float = DEFAULT_STALE_AFTER, now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    processes = []
    with ctx.db.session() as s:
        s.execute(
            delete(SystemStatus).where(
                SystemStatus.key.startswith(HEARTBEAT_PREFIX),
                SystemStatus.updated_at < now - FORGET_AFTER,
            )
        )
        rows = s.scalars(
            select(SystemStatus).where(SystemStatus.key.startswith(HEARTBEAT_PREFIX))
        ).all()
        for row in rows:
            age = (now - row.updated_at).total_seconds()
            processes.append(
                {
                    "name": row.key.removeprefix(HEARTBEAT_PREFIX),
                    **row.value,
                    "last_seen": row.updated_at.isoformat(),
                    "age_seconds": round(age, 1),
                    "alive": age <= stale_after,
                }
            )
    alive = sum(p["alive"] for p in processes)
    return {
        "ok": alive > 0,
        "alive": alive,
        "stale": len(processes) - alive,
        "processes": processes,
    }


def check_disk(
    path: str | os.PathLike[str], min_free_fraction: float = MIN_FREE_FRACTION
) -> dict[str, Any]:
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return {"ok": False, "error": type(exc).__name__}
    free_fraction = usage.free / usage.total if usage.total else 0.0
    return {
        "ok": free_fraction >= min_free_fraction,
        "path": str(path),
        "total_bytes": usage.total,
        "free_bytes": usage.free,
        "free_percent": round(free_fraction * 100, 2),
    }


def queue_lengths(ctx: AppContext) -> dict[str, int] | None:
    """Messages waiting per Celery queue when the broker is this Redis; None otherwise."""
    client = ctx.redis()
    broker = os.environ.get("QTS_CELERY_BROKER_URL")
    if client is None or (broker and not broker.startswith("redis")):
        return None
    prefix = key_prefix()
    lengths = {q: int(client.llen(f"{prefix}{q}")) for q in CELERY_QUEUES}
    for queue, length in lengths.items():
        metrics.set_queue_length(queue, length)
    return lengths


def run_system_monitor(ctx: AppContext, stale_after: float = DEFAULT_STALE_AFTER) -> dict[str, Any]:
    """The `system_monitor` job: check everything, store and publish the report."""
    components: dict[str, Any] = {"database": check_database(ctx)}
    redis_status = check_redis(ctx)
    components["redis"] = (
        redis_status if redis_status is not None else {"ok": True, "configured": False}
    )
    components["workers"] = check_workers(ctx, stale_after)
    components["disk"] = check_disk(ctx.settings.ensure_data_dir())
    try:
        queues = queue_lengths(ctx) if redis_status and redis_status.get("ok") else None
    except Exception as exc:
        queues, components["queues_error"] = None, type(exc).__name__
    if queues is not None:
        components["queues"] = queues
    critical = ("database",)
    if any(not components[c].get("ok") for c in critical):
        overall = "down"
    elif any(not components[c].get("ok") for c in ("redis", "workers", "disk")):
        overall = "degraded"
    else:
        overall = "ok"
    report = {"status": overall, "checked_at": utcnow().isoformat(), "components": components}
    put_status(ctx, HEALTH_KEY, report)
    try:
        ctx.bus.publish("system", {"type": "health", "status": overall})
    except Exception as exc:
        log.warning("could not publish the health report: %s", exc)
    return {"status": overall}


def read_system_status(ctx: AppContext) -> dict[str, Any]:
    """The last health report (None before the first monitor run) for the API."""
    record = get_status(ctx, HEALTH_KEY)
    if record is None:
        return {"status": "unknown", "checked_at": None, "components": {}}
    return record["value"]  # type: ignore[no-any-return]
