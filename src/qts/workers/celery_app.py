"""The Celery application (scale-out mode): `celery -A qts.workers.celery_app worker|beat`.

Broker and result backend default to `QTS_REDIS_URL`; set `QTS_CELERY_BROKER_URL=amqp://...`
for RabbitMQ (and `QTS_CELERY_RESULT_BACKEND` if results should not go to Redis). One queue per
kind of work (`market`, `strategy`, `orders`, `features`, `ml`, `system`), so a GPU machine can
consume only `ml` (`qts worker -Q ml`). Tasks are acknowledged late (after they finish) and
re-queued if their worker dies; retries back off exponentially; every job carries its soft and
hard time limits. Beat's schedule is built here from `get_schedule()`, the very objects the
embedded runner uses, through `JobSchedule`, which asks `next_run_time` when a job is due.
All Redis keys (queues, results, locks) start with `QTS_WORKERS_KEY_PREFIX` (default `qts:`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from celery import Celery, signals
from celery.schedules import BaseSchedule, schedstate
from kombu import Exchange, Queue

from qts.workers.schedule import (
    QUEUES,
    InSession,
    Interval,
    JobSpec,
    Schedule,
    get_schedule,
    next_run_time,
)
from qts.workers.settings import WorkerSettings

log = logging.getLogger(__name__)


class JobSchedule(BaseSchedule):
    """A Celery beat schedule that defers to the job's trigger in `qts.workers.schedule`."""

    def __init__(self, job: JobSpec, nowfun: Any = None, app: Any = None) -> None:
        super().__init__(nowfun=nowfun, app=app)
        self.job = job

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        now = self.now()
        return next_run_time(self.job, last_run_at, now) - now

    def is_due(self, last_run_at: datetime) -> schedstate:
        now = self.now()
        due_at = next_run_time(self.job, last_run_at, now)
        if due_at <= now:
            following = next_run_time(self.job, now, now)
            return schedstate(True, max((following - now).total_seconds(), 1.0))
        return schedstate(False, (due_at - now).total_seconds())

    def __reduce__(self) -> tuple[type, tuple[JobSpec]]:
        return (self.__class__, (self.job,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobSchedule) and other.job == self.job

    def __hash__(self) -> int:
        return hash(self.job.name)

    def __repr__(self) -> str:
        return f"<JobSchedule {self.job.name}: {self.job.trigger.describe()}>"


def job_options(job: JobSpec) -> dict[str, Any]:
    """apply_async options of a job: its queue and time limits; a frequent job's message
    expires after one interval, since the next run supersedes it."""
    options: dict[str, Any] = {
        "queue": job.queue,
        "soft_time_limit": job.soft_time_limit,
        "time_limit": job.time_limit,
    }
    if isinstance(job.trigger, Interval | InSession):
        options["expires"] = job.trigger.seconds
    return options


def build_beat_schedule(schedule: Schedule) -> dict[str, dict[str, Any]]:
    return {
        job.name: {
            "task": "qts.run_job",
            "schedule": JobSchedule(job),
            "args": (job.name,),
            "options": job_options(job),
        }
        for job in schedule.enabled()
    }


def create_celery_app(
    settings: WorkerSettings | None = None, schedule: Schedule | None = None
) -> Celery:
    settings = settings or WorkerSettings()
    schedule = schedule if schedule is not None else get_schedule()
    app = Celery("qts", include=["qts.workers.tasks"])
    ml_limit = settings.ml_task_time_limit_seconds
    prefix = (
        {"global_keyprefix": settings.workers_key_prefix} if settings.workers_key_prefix else {}
    )
    app.conf.update(
        broker_url=settings.broker_url,
        result_backend=settings.result_backend,
        broker_transport_options=(
            {**prefix, "visibility_timeout": settings.visibility_timeout}
            if settings.broker_url.startswith("redis")
            else {}
        ),
        result_backend_transport_options=dict(prefix),
        broker_connection_retry_on_startup=True,
        # Each queue on its own direct exchange and key: a message reaches exactly one queue.
        task_queues=[
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES
        ],
        task_default_queue="system",
        task_routes={"qts.run_job": {"queue": "system"}, "qts.ping": {"queue": "system"}},
        task_acks_late=True,  # a task lost with its worker is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # long ML tasks must not hold short ones hostage
        task_soft_time_limit=300,
        task_time_limit=360,
        task_annotations={
            task: {"time_limit": ml_limit, "soft_time_limit": ml_limit - 60}
            for task in ("qts.train_model", "qts.tune_model")
        },
        task_track_started=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=24 * 3600,
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        beat_schedule=build_beat_schedule(schedule),
        qts_retry_backoff=settings.retry_backoff_seconds,
        qts_max_retry_backoff=settings.max_retry_backoff_seconds,
    )
    return app


app = create_celery_app()


# Heartbeats of worker and beat processes ---------------------------------------------------------
class _Heartbeat:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.role = ""
        self.name: str | None = None

    def start(self, role: str, name: str | None, **info: Any) -> None:
        from qts.services.ops.system_monitor import write_heartbeat
        from qts.workers.tasks import worker_context

        self.role, self.name = role, name
        interval = WorkerSettings().heartbeat_seconds

        def beat() -> None:
            while True:
                try:
                    write_heartbeat(worker_context(), role, name, **info)
                except Exception as exc:
                    log.warning("heartbeat failed: %s", exc)
                if self.stop.wait(interval):
                    return

        self.thread = threading.Thread(target=beat, name="qts-heartbeat", daemon=True)
        self.thread.start()

    def end(self) -> None:
        from qts.services.ops.system_monitor import remove_heartbeat
        from qts.workers.tasks import worker_context

        self.stop.set()
        if self.thread is not None:
            self.thread.join(5)
            try:
                remove_heartbeat(worker_context(), self.role, self.name)
            except Exception as exc:
                log.debug("could not remove heartbeat: %s", exc)


_heartbeat = _Heartbeat()


@signals.worker_ready.connect
def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    consumer = getattr(sender, "controller", None) or sender
    queues: list[str] = []
    with contextlib.suppress(Exception):  # informational only
        queues = sorted(q.name for q in sender.task_consumer.queues)  # type: ignore[union-attr]
    _heartbeat.start("worker", getattr(consumer, "hostname", None), queues=queues)


@signals.worker_shutdown.connect
def _on_worker_shutdown(**_: Any) -> None:
    _heartbeat.end()


@signals.beat_init.connect
def _on_beat_init(**_: Any) -> None:
    _heartbeat.start("beat", None, jobs=len(app.conf.beat_schedule))


@signals.worker_process_init.connect
def _on_child_start(**_: Any) -> None:
    from qts.workers.tasks import forget_inherited_context

    forget_inherited_context()


@signals.setup_logging.connect
def _on_setup_logging(loglevel: Any = None, **_: Any) -> None:
    """Workers and beat log like `qts up`: JSON when QTS_LOG_JSON is set, else readable."""
    from qts.config import get_settings
    from qts.observability.logging_setup import configure_logging

    settings = get_settings()
    level = loglevel if isinstance(loglevel, str) else logging.getLevelName(loglevel or 20)
    configure_logging(level or settings.log_level, settings.log_json)
