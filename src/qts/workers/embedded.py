"""In-process job runner for embedded mode (`qts up`): the schedule with no broker.

One scheduler thread wakes every `tick` seconds, asks `next_run_time` which jobs are due and
hands them to a small thread pool. A job never overlaps itself: it is not submitted again while
its previous run is in flight, and `run_job` holds its lock as well. Failed attempts of
idempotent jobs are retried with exponential backoff (`retry_backoff` x 2^(attempt-1)
seconds, at most 5 minutes) up to the job's `max_retries`, like the Celery tasks. Every run is
recorded in `job_runs` by `qts.services.ops.jobs.run_job`.

Python threads cannot be killed, so time limits are not enforced here (Celery enforces them in
scale-out); `stop()` waits up to its timeout for running jobs and leaves the rest to finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from qts.services.context import AppContext
from qts.services.ops.jobs import JobOutcome, run_job
from qts.services.ops.system_monitor import remove_heartbeat, write_heartbeat
from qts.workers.schedule import JobSpec, Schedule, get_schedule, next_run_time

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 300.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobState:
    next_run: datetime | None = None
    last_start: datetime | None = None
    running: bool = False
    attempt: int = 1
    manual: bool = False
    last_outcome: str | None = None


class EmbeddedRunner:
    def __init__(
        self,
        ctx: AppContext,
        schedule: Schedule | None = None,
        *,
        max_workers: int = 4,
        tick: float = 0.5,
        retry_backoff: float = 5.0,
        heartbeat_seconds: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.ctx = ctx
        self.schedule = schedule if schedule is not None else get_schedule()
        self.tick = tick
        self.retry_backoff = retry_backoff
        self.heartbeat_seconds = heartbeat_seconds
        self.clock = clock
        self.states: dict[str, JobState] = {job.name: JobState() for job in self.schedule}
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._last_heartbeat: datetime | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="qts-job")
        self._thread = threading.Thread(target=self._loop, name="qts-scheduler", daemon=True)
        self._thread.start()
        log.info("embedded job runner started with %d jobs", len(self.schedule.enabled()))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and any(s.running for s in self.states.values()):
                self._stop.wait(0.05)
            self._pool = None
        try:
            remove_heartbeat(self.ctx, "embedded")
        except Exception as exc:  # the database may already be gone at shutdown
            log.debug("could not remove the runner heartbeat: %s", exc)
        log.info("embedded job runner stopped")

    def trigger(self, name: str) -> bool:
        """Run job `name` now (even if disabled); False if it is running already."""
        self.schedule.get(name)  # NotFoundError for an unknown name
        with self._lock:
            state = self.states.setdefault(name, JobState())
            if state.running:
                return False
            state.manual = True
        self._wake.set()
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
            except Exception:  # the scheduler must outlive any bug in one iteration
                log.exception("embedded scheduler iteration failed")
            self._wake.wait(self.tick)
            self._wake.clear()

    def run_pending(self) -> list[str]:
        """Submit every due job that is not running; returns their names."""
        now = self.clock()
        self._maybe_heartbeat(now)
        submitted = []
        for job in self.schedule:
            with self._lock:
                state = self.states.setdefault(job.name, JobState())
                if state.running or not (job.enabled or state.manual):
                    continue
                if state.next_run is None:
                    state.next_run = next_run_time(job, None, now)
                if not state.manual and state.next_run > now:
                    continue
                trigger = "manual" if state.manual else "schedule"
                state.running, state.manual, state.last_start = True, False, now
                attempt = state.attempt
            if self._pool is None:
                self._execute(job, attempt, trigger)
            else:
                self._pool.submit(self._execute, job, attempt, trigger)
            submitted.append(job.name)
        return submitted

    def _execute(self, job: JobSpec, attempt: int, trigger: str) -> JobOutcome | None:
        retryable = job.idempotent and attempt <= job.max_retries
        outcome: JobOutcome | None = None
        try:
            outcome = run_job(
                self.ctx, job.name, job.target, job.kwargs, lock_seconds=job.lock_seconds,
                attempt=attempt, final=not retryable, trigger=trigger,
            )  # fmt: skip
        except Exception:  # recording itself failed (database down): try again next time
            log.exception("job %s could not be run or recorded", job.name)
        finally:
            self._after_run(job, attempt, retryable, outcome)
        return outcome

    def _after_run(
        self, job: JobSpec, attempt: int, retryable: bool, outcome: JobOutcome | None
    ) -> None:
        now = self.clock()
        with self._lock:
            state = self.states[job.name]
            state.last_outcome = outcome.outcome if outcome else "error"
            if outcome is not None and outcome.outcome == "failed" and retryable:
                delay = min(self.retry_backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
                state.attempt = attempt + 1
                state.next_run = now + timedelta(seconds=delay)
            else:
                state.attempt = 1
                try:
                    state.next_run = next_run_time(job, state.last_start, now)
                except Exception:
                    log.exception("next run time of %s failed", job.name)
                    state.next_run = now + timedelta(minutes=5)
            state.running = False
        self._wake.set()

    def _maybe_heartbeat(self, now: datetime) -> None:
        last = self._last_heartbeat
        if last is not None and (now - last).total_seconds() < self.heartbeat_seconds:
            return
        self._last_heartbeat = now
        try:
            write_heartbeat(self.ctx, "embedded", jobs=len(self.schedule.enabled()))
        except Exception as exc:
            log.warning("could not write the runner heartbeat: %s", exc)

    def snapshot(self) -> list[dict[str, Any]]:
        """Each job's state for the API and the CLI."""
        with self._lock:
            return [
                {
                    "name": name,
                    "next_run": s.next_run.isoformat() if s.next_run else None,
                    "running": s.running,
                    "attempt": s.attempt,
                    "last_outcome": s.last_outcome,
                }
                for name, s in self.states.items()
            ]


def start_embedded_runner(ctx: AppContext) -> EmbeddedRunner | None:
    """What `qts up` calls: run the schedule in process when configured to (embedded mode
    with `run_scheduler`); the runner is kept in `ctx.extras["job_runner"]`."""
    settings = ctx.settings
    if not settings.run_scheduler or settings.mode != "embedded":
        return None
    runner = EmbeddedRunner(ctx)
    runner.start()
    ctx.extras["job_runner"] = runner
    return runner


def start_embedded_stream(ctx: AppContext) -> Any:
    """What `qts up` calls in embedded mode: the bar stream as a thread when some configured
    symbol streams (`qts.services.data.bar_stream`); kept in `ctx.extras["bar_stream"]`. In
    scale-out the stream is its own process (`qts stream`)."""
    from qts.services.data.bar_stream import StreamSettings, run_stream, streamed_symbols

    if ctx.settings.mode != "embedded" or not StreamSettings().stream_embedded:
        return None
    symbols = streamed_symbols()
    if not symbols:
        return None
    try:
        stream = run_stream(ctx, symbols)
    except Exception:  # missing credentials, say: the API still starts, polling carries on
        log.exception("the bar stream could not start; the market data jobs poll instead")
        return None
    ctx.extras["bar_stream"] = stream
    return stream
