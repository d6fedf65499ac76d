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


def send_training(run_id: str) -> str:
    """Scale-out: send a stored training run to the `ml` queue through qts's own Celery app,
    so it reaches the configured broker (a bare `task.apply_async` in a process that never
    imported the app would use Celery's default broker instead)."""
    from qts.workers.celery_app import app

    return str(app.send_task("qts.train_model", args=[run_id], queue="ml").id)
