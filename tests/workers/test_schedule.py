"""The schedule: triggers, next run times from the exchange calendars, configuration overrides,
and beat's entries built from the same objects the embedded runner uses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qts.core.errors import ConfigurationError, NotFoundError, ValidationError
from qts.workers import schedule as sched
from qts.workers.cron import CronSpec
from qts.workers.schedule import (
    AfterClose,
    Cron,
    InSession,
    Interval,
    JobSpec,
    load_schedule,
    next_run_time,
)
from qts.workers.settings import WorkerSettings


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def job(trigger) -> JobSpec:  # type: ignore[no-untyped-def]
    return JobSpec("j", "tests.workers.sample_jobs.add", "system", trigger)


def test_interval_is_due_at_once_then_every_n_seconds() -> None:
    now = utc(2026, 11, 20, 3, 0, 0)
    assert next_run_time(job(Interval(30)), None, now) == now
    assert next_run_time(job(Interval(30)), now, now) == utc(2026, 11, 20, 3, 0, 30)


def test_session_job_runs_only_while_krx_is_open() -> None:
    j = job(InSession("XKRX", 60))
    # Friday 2026-11-20, 12:00 KST (03:00 UTC): open, every minute.
    assert next_run_time(j, utc(2026, 11, 20, 3, 0), utc(2026, 11, 20, 3, 0, 5)) == utc(
        2026, 11, 20, 3, 1
    )
    # 15:30 KST close: the next run is Monday's 09:00 KST open (00:00 UTC), not Saturday.
    assert next_run_time(j, utc(2026, 11, 20, 6, 29), utc(2026, 11, 20, 6, 29)) == utc(
        2026, 11, 23, 0, 0
    )


def test_session_job_for_nyse_skips_thanksgiving() -> None:
    j = job(InSession("XNYS", 60))
    # Thanksgiving, Thursday 2026-11-26: closed; next open Friday 09:30 ET = 14:30 UTC.
    assert next_run_time(j, None, utc(2026, 11, 26, 15, 0)) == utc(2026, 11, 27, 14, 30)


def test_crypto_session_is_24_7() -> None:
    j = job(InSession("24/7", 60))
    sunday_night = utc(2026, 11, 22, 23, 59)
    assert next_run_time(j, sunday_night, sunday_night) == utc(2026, 11, 23, 0, 0)


def test_after_close_uses_the_calendar() -> None:
    j = job(AfterClose("XKRX", 60))
    # Friday before the close: today 15:30 KST + 60 min = 07:30 UTC.
    assert next_run_time(j, None, utc(2026, 11, 20, 3, 0)) == utc(2026, 11, 20, 7, 30)
    # Just ran Friday: next is Monday's close + 60 min.
    assert next_run_time(j, utc(2026, 11, 20, 7, 30), utc(2026, 11, 20, 7, 31)) == utc(
        2026, 11, 23, 7, 30
    )
    # NYSE half day after Thanksgiving closes at 13:00 ET = 18:00 UTC.
    nyse = job(AfterClose("XNYS", 30))
    assert next_run_time(nyse, None, utc(2026, 11, 27, 15, 0)) == utc(2026, 11, 27, 18, 30)
    crypto = job(AfterClose("crypto", 15))
    assert next_run_time(crypto, None, utc(2026, 11, 27, 15, 0)) == utc(2026, 11, 28, 0, 15)


def test_cron_weekly_and_ranges() -> None:
    weekly = job(Cron("0 2 * * 6"))  # Saturdays 02:00 UTC
    assert next_run_time(weekly, None, utc(2026, 11, 20, 3, 0)) == utc(2026, 11, 21, 2, 0)
    assert next_run_time(weekly, utc(2026, 11, 21, 2, 0), utc(2026, 11, 21, 2, 0)) == utc(
        2026, 11, 28, 2, 0
    )
    spec = CronSpec.parse("*/15 9-10 * * 1-5")
    assert spec.next_after(utc(2026, 11, 20, 10, 50)) == utc(2026, 11, 23, 9, 0)
    assert spec.next_after(utc(2026, 11, 23, 9, 0)) == utc(2026, 11, 23, 9, 15)
    # day-of-month OR day-of-week when both are restricted, as in cron
    either = CronSpec.parse("0 0 1 * 1")
    assert either.next_after(utc(2026, 11, 20)) == utc(2026, 11, 23)
    for bad in ("* * * *", "61 * * * *", "a * * * *", "5-1 * * * *"):
        with pytest.raises(ValidationError):
            CronSpec.parse(bad)


def test_defaults_have_the_issue_cadence() -> None:
    s = load_schedule(WorkerSettings(_env_file=None))
    assert s.get("system_monitor").trigger == Interval(30)
    assert s.get("features").trigger == Interval(60)
    assert s.get("batch_inference").trigger == Interval(300)
    assert isinstance(s.get("retraining").trigger, AfterClose)
    assert s.get("evaluation").trigger == Cron("0 2 * * 6")
    assert s.get("market_data_crypto").trigger == InSession("24/7", 60)
    assert {j.queue for j in s} <= set(sched.QUEUES)
    with pytest.raises(NotFoundError):
        s.get("nope")


def test_environment_overrides(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("QTS_SCHEDULE__FEATURES__ENABLED", "false")
    monkeypatch.setenv("QTS_SCHEDULE__BATCH_INFERENCE__INTERVAL_SECONDS", "600")
    monkeypatch.setenv("QTS_SCHEDULE__RETRAINING__AFTER_CLOSE", "XNYS")
    monkeypatch.setenv("QTS_SCHEDULE__MARKET_DATA_XKRX__INTERVAL_SECONDS", "120")
    monkeypatch.setenv(
        "QTS_SCHEDULE__NIGHTLY_REPORT",
        '{"target": "mypkg.reports.nightly", "queue": "system", "cron": "0 22 * * *"}',
    )
    s = load_schedule(WorkerSettings(_env_file=None))
    assert s.get("features").enabled is False
    assert s.get("batch_inference").trigger == Interval(600)
    assert s.get("retraining").trigger == AfterClose("XNYS", 30)
    assert s.get("market_data_xkrx").trigger == InSession("XKRX", 120)
    report = s.get("nightly_report")
    assert report.trigger == Cron("0 22 * * *") and report.queue == "system"


@pytest.mark.parametrize(
    "override",
    [
        {"features": {"queue": "gpu"}},
        {"features": {"cron": "99 * * * *"}},
        {"brand_new": {"interval_seconds": 5}},  # no target
        {"retraining": {"after_close": "NOWHERE"}},
    ],
)
def test_bad_overrides_are_refused_clearly(override) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError):
        load_schedule(WorkerSettings(_env_file=None, schedule=override))


def test_beat_and_embedded_runner_share_one_schedule(ctx) -> None:  # type: ignore[no-untyped-def]
    from celery.beat import Scheduler

    from qts.workers.celery_app import JobSchedule, app
    from qts.workers.embedded import EmbeddedRunner

    schedule = sched.get_schedule()
    runner = EmbeddedRunner(ctx)
    assert runner.schedule is schedule
    beat_entries = app.conf.beat_schedule
    assert set(beat_entries) == {j.name for j in schedule.enabled()}
    for j in schedule.enabled():
        entry = beat_entries[j.name]
        assert isinstance(entry["schedule"], JobSchedule)
        assert entry["schedule"].job is j  # the same object, not a copy
        assert entry["args"] == (j.name,) and entry["options"]["queue"] == j.queue
    # Beat's scheduler, fed that config, asks the same next_run_time.
    beat = Scheduler(app=app, lazy=True)
    beat.setup_schedule()
    monitor = beat.schedule["system_monitor"]
    last = datetime.now(UTC)
    due, wait = monitor.schedule.is_due(last)
    assert not due and 29 <= wait <= 30
    expected = next_run_time(schedule.get("retraining"), None, datetime.now(UTC))
    remaining = beat.schedule["retraining"].schedule.remaining_estimate(datetime.now(UTC))
    assert abs((datetime.now(UTC) + remaining - expected).total_seconds()) < 2
