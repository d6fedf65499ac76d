"""Celery tasks: thin wrappers over `qts.services.ops.jobs.run_job`.

`qts.run_job(job_name)` runs any job of the schedule by name (beat sends it with the job's
queue and time limits; `qts.workers.dispatch.trigger_job` sends it on demand). A failed attempt
of an idempotent job is retried with exponential backoff and jitter up to the job's
`max_retries`; the last attempt is recorded as final and reported to the notification channels,
and the task ends in FAILURE with the job's error, so nothing fails silently.
"""

from __future__ import annotations

import random
import socket
import threading
from typing import Any

from celery import shared_task

from qts.core.errors import QtsError
from qts.services.context import AppContext
from qts.services.ops.jobs import run_job
from qts.workers.schedule import get_schedule

_ctx: AppContext | None = None
_ctx_lock = threading.Lock()


class JobFailedError(QtsError):
    code = "job_failed"


def worker_context() -> AppContext:
    """One AppContext per worker process, built on first use (after the fork)."""
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            _ctx = AppContext.from_settings()
        return _ctx


def forget_inherited_context() -> None:
    """In a freshly forked pool process: drop the parent's context without closing its
    connections (they belong to the parent)."""
    global _ctx
    if _ctx is not None:
        _ctx.db.engine.dispose(close=False)
    _ctx = None


def retry_countdown(retries: int, base: float, cap: float) -> float:
    """Exponential backoff with up to 20% jitter, so failed jobs do not retry in lockstep."""
    delay = min(base * 2**retries, cap)
    return delay * (1 + random.random() * 0.2)


@shared_task(bind=True, name="qts.run_job", acks_late=True, reject_on_worker_lost=True)
def run_scheduled_job(self: Any, job_name: str, trigger: str = "schedule") -> dict[str, Any]:
    job = get_schedule().get(job_name)
    retries = int(self.request.retries or 0)
    retryable = job.idempotent and retries < job.max_retries
    outcome = run_job(
        worker_context(),
        job.name,
        job.target,
        job.kwargs,
        lock_seconds=job.lock_seconds,
        attempt=retries + 1,
        final=not retryable,
        trigger=trigger,
        task_id=self.request.id,
    )
    if outcome.outcome == "failed":
        if retryable:
            conf = self.app.conf
            countdown = retry_countdown(
                retries,
                conf.get("qts_retry_backoff", 10.0),
                conf.get("qts_max_retry_backoff", 600.0),
            )
            raise self.retry(countdown=countdown, max_retries=job.max_retries)
        last_line = outcome.error.strip().splitlines()[-1] if outcome.error.strip() else "failed"
        raise JobFailedError(f"job {job.name} failed (run {outcome.run_id}): {last_line}")
    return outcome.as_dict()


@shared_task(name="qts.ping")
def ping() -> dict[str, str]:
    """Cheap liveness check of a worker (and of the broker path to it)."""
    return {"pong": socket.gethostname()}


@shared_task(name="qts.train_model", acks_late=True, reject_on_worker_lost=True)
def train_model(run_id: str) -> dict[str, Any]:
    """A training run requested through the API, on the `ml` queue (a GPU host takes only it).
    Not retried: a run that fails is kept with its error for the user to look at."""
    from qts.services.ml.model_service import run_training

    result = run_training(worker_context(), run_id)
    return {"run_id": run_id, "version": result.get("version")}


@shared_task(name="qts.tune_model", acks_late=True, reject_on_worker_lost=True)
def tune_model(
    model: str, symbols: list[str], timeframe: str = "1d", horizon: int = 1, trials: int = 10
) -> dict[str, Any]:
    """An Optuna study on the `ml` queue; the study lives in the qts database, so another
    worker (or a retry) continues it."""
    from qts.services.ml.tuning_runs import run_tuning

    result = run_tuning(worker_context(), model, symbols, timeframe, horizon, trials)
    return {k: result.get(k) for k in ("study", "trials", "best_value", "best_params", "version")}
