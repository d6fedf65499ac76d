"""The one schedule of background jobs, read by Celery beat and by the embedded runner.

Each job is data: a name, the dotted path of the service function it runs (called as
`fn(ctx, **kwargs)`, see `qts.services.ops.jobs`), the Celery queue it goes to, its trigger and its
limits. `DEFAULT_JOBS` holds the defaults; `load_schedule()` applies the configuration overrides
(`qts.workers.settings`) and `get_schedule()` keeps the result once per process, so beat's
entries and the embedded runner's jobs are the same objects. `next_run_time` is the only place
that turns a trigger into a time.

Triggers:
- `Interval(seconds)`: every N seconds.
- `Cron("m h dom mon dow")`: cron-like, in UTC.
- `AfterClose(exchange, offset_minutes)`: once a day, N minutes after the exchange's session
  closes per its exchange_calendars calendar (holidays and half days included); for crypto
  (24/7) at 00:00 UTC plus the offset.
- `InSession(exchange, seconds)`: every N seconds while the exchange is open; the first run of
  a session is at its open. Crypto (24/7) is always open.
Missed runs are not caught up: after a stop, a job runs at its next time from now.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from qts.core.errors import ConfigurationError, NotFoundError, ValidationError
from qts.services.ops.system_monitor import CELERY_QUEUES
from qts.workers.cron import CronSpec
from qts.workers.settings import JobOverride, WorkerSettings

QUEUES = CELERY_QUEUES  # market, strategy, orders, features, ml, system
ALWAYS_OPEN = "24/7"


@dataclass(frozen=True, slots=True)
class Interval:
    seconds: float

    def describe(self) -> str:
        return f"every {self.seconds:g}s"


@dataclass(frozen=True, slots=True)
class Cron:
    expr: str

    @property
    def spec(self) -> CronSpec:
        return CronSpec.parse(self.expr)

    def describe(self) -> str:
        return f"cron {self.expr} (UTC)"


@dataclass(frozen=True, slots=True)
class AfterClose:
    exchange: str
    offset_minutes: int = 30

    def describe(self) -> str:
        return f"daily {self.offset_minutes} min after {self.exchange} close"


@dataclass(frozen=True, slots=True)
class InSession:
    exchange: str
    seconds: float = 60.0

    def describe(self) -> str:
        if _calendar_name(self.exchange) == ALWAYS_OPEN:
            return f"every {self.seconds:g}s (24/7)"
        return f"every {self.seconds:g}s during {self.exchange} session"


Trigger = Interval | Cron | AfterClose | InSession


@dataclass(frozen=True)
class JobSpec:
    name: str
    target: str  # dotted path of the service function
    queue: str
    trigger: Trigger
    kwargs: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    soft_time_limit: float = 300.0  # seconds: the task gets SoftTimeLimitExceeded
    time_limit: float = 360.0  # seconds: the worker process is killed
    max_retries: int = 3  # only idempotent jobs are retried
    idempotent: bool = True
    description: str = ""

    @property
    def lock_seconds(self) -> float:
        """How long the job's lock lives if its holder dies: past the hard time limit."""
        return self.time_limit + 30.0


DEFAULT_JOBS: tuple[JobSpec, ...] = (
    JobSpec("system_monitor", "qts.services.ops.system_monitor.run_system_monitor", "system",
            Interval(30), soft_time_limit=20, time_limit=25, max_retries=0,
            description="health of database, Redis, workers, disk; writes the status record"),
    JobSpec("market_data_xkrx", "qts.services.data.live_collection.collect_live_bars", "market",
            InSession("XKRX", 60), {"calendar": "XKRX"}, soft_time_limit=50, time_limit=55,
            description="new bars for live symbols traded on KRX"),
    JobSpec("market_data_xnys", "qts.services.data.live_collection.collect_live_bars", "market",
            InSession("XNYS", 60), {"calendar": "XNYS"}, soft_time_limit=50, time_limit=55,
            description="new bars for live symbols traded on NYSE/NASDAQ"),
    JobSpec("market_data_crypto", "qts.services.data.live_collection.collect_live_bars", "market",
            InSession(ALWAYS_OPEN, 60), {"calendar": ALWAYS_OPEN}, soft_time_limit=50,
            time_limit=55, description="new bars for live crypto symbols"),
    JobSpec("fx_rates", "qts.services.data.fx_rates.collect_fx_rates", "market",
            Cron("30 0 * * *"), {"pairs": ["USD/KRW"]}, enabled=False, soft_time_limit=100,
            time_limit=120, description="daily FX rates of the configured pairs (Yahoo; "
            "needs the network, so off until enabled)"),
    JobSpec("news", "qts.services.data.news.collect_news", "market", Interval(900),
            soft_time_limit=240, time_limit=280,
            description="poll the RSS/Atom feeds of QTS_NEWS_FEEDS (nothing when none is set)"),
    JobSpec("strategies", "qts.services.trading.strategies.run_started_strategies", "strategy",
            Interval(60), soft_time_limit=50, time_limit=55, max_retries=0, idempotent=False,
            description="run started strategies on new bars"),
    JobSpec("order_follow_up", "qts.services.trading.live.follow_up_open_orders", "orders",
            Interval(15), soft_time_limit=12, time_limit=14, max_retries=0, idempotent=False,
            description="poll venues for open orders' fills and status"),
    JobSpec("account_snapshots", "qts.services.trading.accounts.record_account_snapshots",
            "orders", Interval(60), soft_time_limit=50, time_limit=55, max_retries=0,
            description="equity and P&L of each account, kept when they change"),
    JobSpec("features", "qts.services.ml.features.compute_online_features", "features",
            Interval(60), soft_time_limit=50, time_limit=55,
            description="compute the latest features into the online store"),
    JobSpec("batch_inference", "qts.services.ml.ml_jobs.run_batch_inference", "ml",
            Interval(300), soft_time_limit=240, time_limit=280,
            description="predictions of production models for all symbols"),
    JobSpec("retraining", "qts.services.ml.ml_jobs.retrain_production_models", "ml",
            AfterClose("XKRX", 60), soft_time_limit=3 * 3600, time_limit=3 * 3600 + 300,
            max_retries=1, description="daily retraining after the market closes"),
    JobSpec("evaluation", "qts.services.ml.ml_jobs.evaluate_production_models", "ml",
            Cron("0 2 * * 6"), soft_time_limit=3600, time_limit=3900,
            description="weekly model evaluation and drift check"),
    JobSpec("fundamentals_opendart", "qts.services.data.fundamentals.collect_fundamentals",
            "market", Cron("30 10 * * 1-5"), soft_time_limit=900, time_limit=960,
            description="new OpenDART filings of stored KRX symbols (off without an API key)"),
)  # fmt: skip


class Schedule:
    """The jobs, by name, in definition order."""

    def __init__(self, jobs: list[JobSpec] | tuple[JobSpec, ...]) -> None:
        self.jobs: dict[str, JobSpec] = {}
        for job in jobs:
            validate_job(job)
            self.jobs[job.name] = job

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(self.jobs.values())

    def __len__(self) -> int:
        return len(self.jobs)

    def get(self, name: str) -> JobSpec:
        try:
            return self.jobs[name]
        except KeyError:
            raise NotFoundError(f"no scheduled job named {name!r}") from None

    def enabled(self) -> list[JobSpec]:
        return [j for j in self.jobs.values() if j.enabled]


def validate_job(job: JobSpec) -> None:
    if job.queue not in QUEUES:
        raise ConfigurationError(f"job {job.name}: queue {job.queue!r} is not one of {QUEUES}")
    if not job.target or "." not in job.target:
        raise ConfigurationError(f"job {job.name}: target must be a dotted module.function path")
    trigger = job.trigger
    if isinstance(trigger, Cron):
        try:
            trigger.spec  # noqa: B018 - parses, raising on a bad expression
        except ValidationError as exc:
            raise ConfigurationError(f"job {job.name}: {exc.message}") from None
    elif isinstance(trigger, Interval | InSession) and trigger.seconds <= 0:
        raise ConfigurationError(f"job {job.name}: interval must be positive")
    if isinstance(trigger, AfterClose | InSession) and _calendar_name(trigger.exchange) is None:
        raise ConfigurationError(f"job {job.name}: no calendar for exchange {trigger.exchange!r}")
    if job.soft_time_limit > job.time_limit:
        raise ConfigurationError(f"job {job.name}: soft time limit exceeds the hard limit")


def _override_trigger(job: JobSpec | None, o: JobOverride) -> Trigger | None:
    if o.cron is not None:
        return Cron(o.cron)
    if o.after_close is not None:
        return AfterClose(o.after_close, o.offset_minutes if o.offset_minutes is not None else 30)
    if o.session is not None:
        return InSession(o.session, o.interval_seconds or 60.0)
    if o.interval_seconds is not None:
        if job is not None and isinstance(job.trigger, InSession):
            return InSession(job.trigger.exchange, o.interval_seconds)
        return Interval(o.interval_seconds)
    if o.offset_minutes is not None and job is not None and isinstance(job.trigger, AfterClose):
        return AfterClose(job.trigger.exchange, o.offset_minutes)
    return None


def apply_override(job: JobSpec | None, name: str, o: JobOverride) -> JobSpec:
    trigger = _override_trigger(job, o)
    if job is None:
        if not o.target or trigger is None or not o.queue:
            raise ConfigurationError(f"new job {name!r} needs target, queue and a trigger")
        job = JobSpec(name, o.target, o.queue, trigger)
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "enabled": o.enabled,
            "target": o.target,
            "queue": o.queue,
            "kwargs": o.kwargs,
            "soft_time_limit": o.soft_time_limit,
            "time_limit": o.time_limit,
            "max_retries": o.max_retries,
            "trigger": trigger,
        }.items()
        if v is not None
    }
    return replace(job, **changes)


def load_schedule(settings: WorkerSettings | None = None) -> Schedule:
    """The default jobs with the configured overrides applied."""
    settings = settings or WorkerSettings()
    jobs = {j.name: j for j in DEFAULT_JOBS}
    for name, override in settings.schedule.items():
        key = name.lower()
        try:
            jobs[key] = apply_override(jobs.get(key), key, override)
        except ValidationError as exc:
            raise ConfigurationError(f"schedule override for {key}: {exc.message}") from None
    return Schedule(list(jobs.values()))


_schedule: Schedule | None = None
_schedule_lock = threading.Lock()


def get_schedule() -> Schedule:
    """The process's schedule, loaded once: beat and the embedded runner both read this."""
    global _schedule
    with _schedule_lock:
        if _schedule is None:
            _schedule = load_schedule()
        return _schedule


def reset_schedule() -> None:
    global _schedule
    with _schedule_lock:
        _schedule = None


# Next run times -----------------------------------------------------------------------------------
def _calendar_name(exchange: str) -> str | None:
    from qts.market.calendars import calendar_name

    return calendar_name(exchange)


def _calendar(exchange: str) -> Any:
    from qts.market.calendars import get_calendar

    name = _calendar_name(exchange)
    if name is None:
        raise ConfigurationError(f"no calendar for exchange {exchange!r}")
    return get_calendar(name)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _next_close_after(exchange: str, t: datetime) -> datetime:
    import pandas as pd

    if _calendar_name(exchange) == ALWAYS_OPEN:
        return (t + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    cal = _calendar(exchange)
    minute = pd.Timestamp(t).floor("min")
    close = cal.next_close(minute)
    return close.to_pydatetime()  # type: ignore[no-any-return]


def _session_time(exchange: str, t: datetime) -> datetime:
    """`t` when the exchange is open then, else the next open after it."""
    import pandas as pd

    if _calendar_name(exchange) == ALWAYS_OPEN:
        return t
    cal = _calendar(exchange)
    minute = pd.Timestamp(t).floor("min")
    if cal.is_open_on_minute(minute):
        return t
    return cal.next_open(minute).to_pydatetime()  # type: ignore[no-any-return]


def next_run_time(job: JobSpec, last_run: datetime | None, now: datetime) -> datetime:
    """When `job` should run next, given when it last started (None: never in this process).

    Interval jobs that never ran are due at once; other triggers wait for their next time.
    """
    now = _utc(now)
    last = _utc(last_run) if last_run is not None else None
    trigger = job.trigger
    if isinstance(trigger, Interval):
        return now if last is None else last + timedelta(seconds=trigger.seconds)
    if isinstance(trigger, InSession):
        candidate = now if last is None else last + timedelta(seconds=trigger.seconds)
        return _utc(_session_time(trigger.exchange, candidate))
    if isinstance(trigger, Cron):
        return trigger.spec.next_after(last if last is not None else now)
    # AfterClose: the first close+offset strictly after the last run (or now).
    offset = timedelta(minutes=trigger.offset_minutes)
    ref = last if last is not None else now
    close = _utc(_next_close_after(trigger.exchange, ref - offset))
    return close + offset
