"""Running a job on demand (the API's "run now", `qts schedule run`), in either mode."""

from __future__ import annotations

from typing import Any

from qts.services.context import AppContext
from qts.workers.schedule import get_schedule


def trigger_job(ctx: AppContext, name: str) -> dict[str, Any]:
    """Embedded mode: ask the in-process runner; scale-out: send the task to the job's queue.

    Raises NotFoundError for an unknown job name.
    """
    job = get_schedule().get(name)
    runner = ctx.extras.get("job_runner")
    if runner is not None:
        accepted = runner.trigger(name)
        return {"job": name, "mode": "embedded", "accepted": accepted,
                "detail": "queued" if accepted else "already running"}  # fmt: skip
    from qts.workers.celery_app import app, job_options

    result = app.send_task("qts.run_job", args=(name,), kwargs={"trigger": "manual"},
                           **job_options(job))  # fmt: skip
    return {"job": name, "mode": "scale-out", "accepted": True, "task_id": result.id}
