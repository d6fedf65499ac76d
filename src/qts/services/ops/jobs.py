"""Running a scheduled job: one wrapper for the embedded runner and for Celery tasks.

`run_job` resolves the job's target (a dotted path to a service function), takes the job's
lock so it never overlaps itself, records the attempt in `job_runs`, times it for the metrics,
and reports a failure that will not be retried to the notification channels.

A job target is called as `target(ctx, **kwargs)` with the process's `AppContext` and returns a
JSON-serialisable dict (a short summary: rows written, symbols fetched, ...) or None. A target
whose module or function cannot be imported yet (it belongs to a feature not installed or not
built) makes the run `skipped` with the reason "not available", never `failed`.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from qts.adapters.job_locks import InProcessJobLocks, RedisJobLocks, key_prefix
from qts.db.base import utcnow
from qts.db.models.jobs import JobRun
from qts.observability import metrics
from qts.services.context import AppContext

log = logging.getLogger(__name__)

Outcome = Literal["success", "failed", "skipped"]
NOT_AVAILABLE = "not available"
LOCKED = "locked"
LOST_WORKER = "worker lost mid-run; the task was delivered again and retried"
ERROR_TEXT_LIMIT = 8000


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What one attempt of a job did; also the result a Celery task returns (as a dict)."""

    job_name: str
    run_id: str
    outcome: Outcome
    attempt: int
    error: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_name": self.job_name,
            "run_id": self.run_id,
            "outcome": self.outcome,
            "attempt": self.attempt,
            "error": self.error,
            "result": self.result,
            "duration_ms": self.duration_ms,
        }


# Target resolution ---------------------------------------------------------------------------
def resolve_target(path: str) -> tuple[Callable[..., Any] | None, str]:
    """Import `package.module.function` (or `package.module:function`).

    Returns (callable, "") or (None, reason) when the module or function does not exist (yet).
    Errors other than a missing import (a syntax error in an existing module) propagate.
    """
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        return None, f"{NOT_AVAILABLE}: {path!r} is not a module.function path"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # ModuleNotFoundError included
        return None, f"{NOT_AVAILABLE}: {exc}"
    target = getattr(module, attr, None)
    if target is None or not callable(target):
        return None, f"{NOT_AVAILABLE}: {module_name} has no function {attr}"
    return target, ""


def target_available(path: str) -> bool:
    try:
        return resolve_target(path)[0] is not None
    except Exception:
        return False


def job_locks(ctx: AppContext) -> InProcessJobLocks | RedisJobLocks:
    locks = ctx.extras.get("job_locks")
    if locks is None:
        client = ctx.redis()
        locks = RedisJobLocks(client, key_prefix()) if client is not None else InProcessJobLocks()
        ctx.extras["job_locks"] = locks
    return locks  # type: ignore[no-any-return]


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# Run records -------------------------------------------------------------------------------------
def _json_safe(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        value = {"value": value}
    return json.loads(json.dumps(value, default=str))  # type: ignore[no-any-return]


def _record_instant(
    ctx: AppContext,
    name: str,
    outcome: Outcome,
    reason: str,
    attempt: int,
    trigger: str,
    task_id: str | None,
    final: bool = True,
) -> JobOutcome:
    """A run that ended before it started: skipped (locked, not available) or a broken import."""
    now = utcnow()
    run = JobRun(
        run_id=str(uuid.uuid4()),
        job_name=name,
        task_id=task_id,
        trigger=trigger,
        started_at=now,
        finished_at=now,
        duration_ms=0,
        outcome=outcome,
        error=reason,
        attempt=attempt,
        final=final,
        worker_host=worker_identity(),
    )
    with ctx.db.session() as s:
        s.add(run)
    metrics.observe_job(name, outcome, 0.0)
    if outcome == "failed" and final:
        _report_failure(name, run.run_id, attempt, reason)
    return JobOutcome(name, run.run_id, outcome, attempt, error=reason)


def run_job(
    ctx: AppContext,
    name: str,
    target: str,
    kwargs: dict[str, Any] | None = None,
    *,
    lock_seconds: float = 600.0,
    attempt: int = 1,
    final: bool = True,
    trigger: str = "schedule",
    task_id: str | None = None,
    reraise: bool = False,
) -> JobOutcome:
    """Run one attempt of job `name`, recording it; never raises for the job's own errors
    unless `reraise` (Celery's soft time limit must reach the task)."""
    try:
        func, reason = resolve_target(target)
    except Exception as exc:  # the module exists but is broken: a real failure
        reason = f"import failed: {type(exc).__name__}: {exc}"
        return _record_instant(ctx, name, "failed", reason, attempt, trigger, task_id, final)
    if func is None:
        return _record_instant(ctx, name, "skipped", reason, attempt, trigger, task_id)

    locks = job_locks(ctx)
    token = locks.acquire(name, lock_seconds, owner=task_id)
    if token is None:
        log.info("job %s skipped: already running", name)
        return _record_instant(ctx, name, "skipped", LOCKED, attempt, trigger, task_id)
    try:
        if task_id is not None:
            attempt = max(attempt, _close_lost_attempts(ctx, task_id) + 1)
        return _run_locked(ctx, name, func, kwargs or {}, attempt, final, trigger, task_id, reraise)
    finally:
        locks.release(name, token)


def _close_lost_attempts(ctx: AppContext, task_id: str) -> int:
    """A task delivered again after its worker died left its attempt `running`: record that
    attempt as lost (not final: this delivery retries it). Returns the attempts made so far."""
    with ctx.db.session() as s:
        earlier = list(s.scalars(select(JobRun).where(JobRun.task_id == task_id)))
        for run in earlier:
            if run.outcome == "running":
                run.outcome, run.final = "failed", False
                run.finished_at = utcnow()
                run.error = LOST_WORKER
                log.warning(
                    "job %s: attempt %s was lost with its worker", run.job_name, run.attempt
                )
        return len(earlier)


def _run_locked(
    ctx: AppContext,
    name: str,
    func: Callable[..., Any],
    kwargs: dict[str, Any],
    attempt: int,
    final: bool,
    trigger: str,
    task_id: str | None,
    reraise: bool,
) -> JobOutcome:
    run_id = str(uuid.uuid4())
    started = utcnow()
    with ctx.db.session() as s:
        s.add(
            JobRun(
                run_id=run_id,
                job_name=name,
                task_id=task_id,
                trigger=trigger,
                started_at=started,
                outcome="running",
                attempt=attempt,
                final=final,
                worker_host=worker_identity(),
            )
        )
    t0 = time.perf_counter()
    outcome: Outcome = "success"
    error = ""
    result: dict[str, Any] = {}
    pending: BaseException | None = None
    try:
        result = _json_safe(func(ctx, **kwargs))
    except Exception as exc:
        outcome = "failed"
        error = "".join(traceback.format_exception(exc))[-ERROR_TEXT_LIMIT:]
        log.error("job %s attempt %d failed: %s: %s", name, attempt, type(exc).__name__, exc)
        if reraise:
            pending = exc
    except BaseException as exc:  # a hard stop (time limit, shutdown) is still recorded
        outcome, error, pending = "failed", f"interrupted: {type(exc).__name__}", exc
    seconds = time.perf_counter() - t0
    duration_ms = int(seconds * 1000)
    with ctx.db.session() as s:
        run = s.scalars(select(JobRun).where(JobRun.run_id == run_id)).one()
        run.finished_at = utcnow()
        run.duration_ms = duration_ms
        run.outcome = outcome
        run.error = error
        run.result = result
    metrics.observe_job(name, outcome, seconds)
    _publish(ctx, name, run_id, outcome, attempt)
    if outcome == "failed" and final:
        _report_failure(name, run_id, attempt, error)
    if pending is not None:
        raise pending
    return JobOutcome(name, run_id, outcome, attempt, error, result, duration_ms)


def _publish(ctx: AppContext, name: str, run_id: str, outcome: str, attempt: int) -> None:
    try:
        ctx.bus.publish(
            "system",
            {
                "type": "job_run",
                "job": name,
                "run_id": run_id,
                "outcome": outcome,
                "attempt": attempt,
            },
        )
    except Exception as exc:  # the bus going down must not fail the job
        log.warning("could not publish job run event: %s", exc)


def _report_failure(name: str, run_id: str, attempt: int, error: str) -> None:
    from qts.services.notifications import EventKind, notify

    last_line = error.strip().splitlines()[-1] if error.strip() else "unknown error"
    try:
        notify(
            EventKind.JOB_FAILURE,
            f"Job {name} failed",
            last_line,
            job=name,
            run_id=run_id,
            attempt=attempt,
        )
    except Exception as exc:
        log.warning("could not report the failure of job %s: %s", name, exc)


# Queries for the API and the CLI ----------------------------------------------------------------
def run_as_dict(run: JobRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "run_id": run.run_id,
        "job_name": run.job_name,
        "task_id": run.task_id,
        "trigger": run.trigger,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_ms": run.duration_ms,
        "outcome": run.outcome,
        "error": run.error,
        "attempt": run.attempt,
        "final": run.final,
        "worker_host": run.worker_host,
        "result": run.result,
    }


def list_job_runs(
    ctx: AppContext,
    job_name: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first; page with `before_id` (the smallest `id` of the previous page)."""
    q = select(JobRun).order_by(JobRun.id.desc()).limit(max(1, min(limit, 500)))
    if job_name:
        q = q.where(JobRun.job_name == job_name)
    if outcome:
        q = q.where(JobRun.outcome == outcome)
    if before_id is not None:
        q = q.where(JobRun.id < before_id)
    with ctx.db.session() as s:
        return [run_as_dict(r) for r in s.scalars(q)]


def last_run_per_job(ctx: AppContext) -> dict[str, dict[str, Any]]:
    from sqlalchemy import func

    latest = select(func.max(JobRun.id)).group_by(JobRun.job_name).scalar_subquery()
    with ctx.db.session() as s:
        return {
            r.job_name: run_as_dict(r)
            for r in s.scalars(select(JobRun).where(JobRun.id.in_(latest)))
        }


def last_started(ctx: AppContext, job_name: str) -> datetime | None:
    with ctx.db.session() as s:
        return s.scalars(
            select(JobRun.started_at)
            .where(JobRun.job_name == job_name, JobRun.outcome != "skipped")
            .order_by(JobRun.id.desc())
            .limit(1)
        ).first()
