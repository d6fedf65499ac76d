from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

import qts
from qts.api.deps import Ctx, CurrentUser, Trader
from qts.api.responses.system import (
    JobsOut,
    JobTriggered,
    MonitorReport,
    SystemStatusOut,
    VersionOut,
)
from qts.api.schemas import OptionalDbId
from qts.services.ops.health import component_status

router = APIRouter(prefix="/system", tags=["system"])


@router.get("/version", response_model=VersionOut)
def version(_user: CurrentUser) -> dict[str, Any]:
    return {"version": qts.__version__}


@router.get("", response_model=SystemStatusOut)
@router.get("/status", response_model=SystemStatusOut)
def status(ctx: Ctx, _user: CurrentUser) -> dict[str, Any]:
    """Version, mode and the state of each component. Never returns a secret."""
    return {
        "version": qts.__version__,
        **ctx.settings.public_summary(),
        "components": component_status(ctx),
    }


@router.get("/monitor", response_model=MonitorReport)
def monitor(ctx: Ctx, _user: CurrentUser) -> dict[str, Any]:
    """The system monitor's last report: database, Redis, workers' heartbeats, disk, queues."""
    from qts.services.ops.system_monitor import read_system_status

    return read_system_status(ctx)


@router.get("/jobs", response_model=JobsOut)
def jobs(
    ctx: Ctx,
    _user: CurrentUser,
    job: str | None = None,
    outcome: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: OptionalDbId = None,
) -> dict[str, Any]:
    """Job runs, newest first (page with `before_id`), each job's last run, and the schedule."""
    from datetime import UTC, datetime

    from qts.services.ops.jobs import last_run_per_job, list_job_runs, target_available
    from qts.workers.schedule import get_schedule, next_run_time

    now = datetime.now(UTC)
    last = last_run_per_job(ctx)
    schedule = []
    for spec in get_schedule():
        started = last.get(spec.name, {}).get("started_at")
        last_start = datetime.fromisoformat(started) if started else None
        schedule.append(
            {
                "name": spec.name,
                "queue": spec.queue,
                "trigger": spec.trigger.describe(),
                "enabled": spec.enabled,
                "available": target_available(spec.target),
                "next_run": max(next_run_time(spec, last_start, now), now).isoformat()
                if spec.enabled
                else None,
                "description": spec.description,
            }
        )
    return {
        "runs": list_job_runs(ctx, job, outcome, limit, before_id),
        "last": last,
        "schedule": schedule,
    }


@router.post("/jobs/{name}/run", response_model=JobTriggered, response_model_exclude_unset=True)
def run_job_now(ctx: Ctx, _user: Trader, name: str) -> dict[str, Any]:
    """Run a scheduled job now (embedded: in process; scale-out: sent to its Celery queue)."""
    from qts.workers.dispatch import trigger_job

    return trigger_job(ctx, name)
