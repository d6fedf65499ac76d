"""The embedded runner runs due jobs with no broker, records every run and never overlaps."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from qts.services.notifications import NotificationSettings, build_notifier, reset_notifier
from qts.services.ops.jobs import NOT_AVAILABLE, run_job
from qts.workers.embedded import EmbeddedRunner
from qts.workers.schedule import Interval, JobSpec, Schedule
from tests.notifications.conftest import SLACK_HOOK
from tests.notifications.fakes import FakeServer
from tests.workers.conftest import runs

JOBS = "tests.workers.sample_jobs"


def wait_for(condition, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def slack() -> Iterator[FakeServer]:
    server = FakeServer("slack", SLACK_HOOK).start()
    notifier = build_notifier(
        NotificationSettings(
            _env_file=None, slack_webhook_url=SecretStr(server.base_url + SLACK_HOOK),
            notify_batch_seconds=0.0,
        )
    )  # fmt: skip
    reset_notifier(notifier)
    yield server
    reset_notifier()
    server.stop()


def test_runs_due_jobs_records_them_and_retries(ctx, slack) -> None:  # type: ignore[no-untyped-def]
    schedule = Schedule([
        JobSpec("adder", f"{JOBS}.add", "system", Interval(0.2), {"a": 2, "b": 3}),
        JobSpec("flaky", f"{JOBS}.fail", "system", Interval(3600), {"message": "broker down"},
                max_retries=2),
        JobSpec("future_feature", "qts.services.not_built_yet.compute", "features", Interval(3600)),
        JobSpec("off", f"{JOBS}.add", "system", Interval(0.1), {"a": 1, "b": 1}, enabled=False),
    ])  # fmt: skip
    assert ctx.settings.redis_url is None
    runner = EmbeddedRunner(ctx, schedule, tick=0.02, retry_backoff=0.05)
    runner.start()
    try:
        assert wait_for(lambda: len(runs(ctx, "flaky")) == 3 and len(runs(ctx, "adder")) >= 3)
    finally:
        runner.stop()

    adder = runs(ctx, "adder")
    assert all(r.outcome == "success" and r.result["sum"] == 5 for r in adder)
    assert adder[0].result["database"] == "sqlite"
    assert all(r.finished_at is not None and r.worker_host for r in adder)
    # Interval 0.2 s with a 0.02 s tick: runs are spaced by the interval, not the tick (the
    # recorded start lags the scheduled one by a variable thread-pool delay, hence the slack).
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(adder)]
    assert min(gaps) >= 0.12

    flaky = runs(ctx, "flaky")
    assert [r.attempt for r in flaky] == [1, 2, 3]
    assert [r.final for r in flaky] == [False, False, True]
    assert all(r.outcome == "failed" and "RuntimeError: broker down" in r.error for r in flaky)

    skipped = runs(ctx, "future_feature")
    assert skipped[0].outcome == "skipped" and skipped[0].error.startswith(NOT_AVAILABLE)
    assert runs(ctx, "off") == []

    # Only the final failure is reported, once.
    assert wait_for(lambda: len(slack.requests) == 1)
    time.sleep(0.2)
    assert len(slack.requests) == 1
    assert "Job flaky failed" in slack.texts()[0] and "broker down" in slack.texts()[0]


def test_a_job_never_overlaps_itself(ctx) -> None:  # type: ignore[no-untyped-def]
    # Due every 0.05 s but each run takes 0.3 s: runs must follow one another.
    schedule = Schedule(
        [JobSpec("slow", f"{JOBS}.sleep", "system", Interval(0.05), {"seconds": 0.3})]
    )
    runner = EmbeddedRunner(ctx, schedule, tick=0.01)
    runner.start()
    try:
        assert wait_for(lambda: runner.states["slow"].running)
        assert runner.trigger("slow") is False  # already running: not started twice
        assert wait_for(lambda: len([r for r in runs(ctx, "slow") if r.finished_at]) >= 3)
    finally:
        runner.stop()
    done = [r for r in runs(ctx, "slow") if r.finished_at]
    assert all(r.outcome == "success" for r in done)
    for a, b in itertools.pairwise(done):
        assert b.started_at >= a.finished_at


def test_lock_skips_a_concurrent_run(ctx) -> None:  # type: ignore[no-untyped-def]
    results = []

    def go() -> None:
        results.append(run_job(ctx, "slow", f"{JOBS}.sleep", {"seconds": 0.4}))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.outcome for r in results) == ["skipped", "success"]
    skipped = next(r for r in results if r.outcome == "skipped")
    assert skipped.error == "locked"
    assert sorted(r.outcome for r in runs(ctx, "slow")) == ["skipped", "success"]


def test_manual_trigger_runs_a_job_at_once(ctx) -> None:  # type: ignore[no-untyped-def]
    schedule = Schedule(
        [JobSpec("adder", f"{JOBS}.add", "system", Interval(3600), {"a": 1, "b": 2})]
    )
    runner = EmbeddedRunner(ctx, schedule, tick=0.02)
    runner.start()
    try:
        # A never-run interval job is due at once; then it waits an hour unless triggered.
        assert wait_for(lambda: len(runs(ctx, "adder")) == 1 and not runner.states["adder"].running)
        assert runner.trigger("adder")
        assert wait_for(lambda: len(runs(ctx, "adder")) == 2)
    finally:
        runner.stop()
    assert [r.trigger for r in runs(ctx, "adder")] == ["schedule", "manual"]


def test_runner_writes_a_heartbeat_the_monitor_sees(ctx) -> None:  # type: ignore[no-untyped-def]
    from qts.services.ops.system_monitor import read_system_status, run_system_monitor

    runner = EmbeddedRunner(ctx, Schedule([]), tick=0.02)
    runner.start()
    try:
        assert wait_for(lambda: run_system_monitor(ctx)["status"] == "ok")
    finally:
        runner.stop()
    status = read_system_status(ctx)
    workers = status["components"]["workers"]
    assert workers["alive"] == 1 and workers["processes"][0]["role"] == "embedded"
    assert status["components"]["database"]["ok"] is True
    assert status["components"]["disk"]["free_bytes"] > 0
    # Stopped: its heartbeat is removed, so the monitor sees no live worker.
    assert run_system_monitor(ctx)["status"] == "degraded"


def test_live_collection_does_nothing_by_default_and_fails_per_symbol(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    target = "qts.services.data.live_collection.collect_live_bars"
    monkeypatch.delenv("QTS_LIVE_SYMBOLS", raising=False)
    idle = run_job(ctx, "market_data_crypto", target, {"calendar": "24/7"})
    assert idle.outcome == "success" and idle.result["symbols"] == 0
    monkeypatch.setenv(
        "QTS_LIVE_SYMBOLS",
        '[{"provider": "nosuch", "exchange": "binance", "symbol": "BTC/USDT"}]',
    )
    # The KRX job ignores a crypto symbol; the crypto job fails and names the symbol.
    assert run_job(ctx, "market_data_xkrx", target, {"calendar": "XKRX"}).result["symbols"] == 0
    failed = run_job(ctx, "market_data_crypto", target, {"calendar": "24/7"})
    assert failed.outcome == "failed"
    assert "binance:BTC/USDT:1m" in failed.error and "unknown provider" in failed.error
