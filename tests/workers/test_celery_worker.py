"""A real Celery worker (and beat) on the real Redis, with run records in an SQLite file."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import qts.db.models  # noqa: F401 - registers every table
from qts.db.migrate import upgrade
from qts.db.models.jobs import JobRun, SystemStatus
from tests.conftest import unavailable
from tests.notifications.conftest import SLACK_HOOK
from tests.notifications.fakes import FakeServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

REDIS_URL = os.environ.get("QTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REPO = Path(__file__).resolve().parents[2]
JOBS = "tests.workers.sample_jobs"
SCHEDULE = {
    "test_add": {"target": f"{JOBS}.add", "queue": "system", "interval_seconds": 3600,
                 "kwargs": {"a": 20, "b": 22}},
    "test_fail": {"target": f"{JOBS}.fail", "queue": "market", "interval_seconds": 3600,
                  "max_retries": 2, "kwargs": {"message": "venue unreachable"}},
    "test_sleep": {"target": f"{JOBS}.sleep", "queue": "system", "interval_seconds": 3600,
                   "kwargs": {"seconds": 1.5}},
    "test_missing": {"target": "qts.services.not_built_yet.compute", "queue": "features",
                     "interval_seconds": 3600},
    "system_monitor": {"interval_seconds": 1},
}  # fmt: skip


@dataclass
class Cluster:
    env: dict[str, str]
    db_url: str
    tmp: Path
    client: Any
    slack: FakeServer
    worker_log: Path
    prefix: str

    def runs(self, **where: Any) -> list[JobRun]:
        engine = create_engine(self.db_url)
        with Session(engine) as s:
            q = select(JobRun).order_by(JobRun.id)
            for k, v in where.items():
                q = q.where(getattr(JobRun, k) == v)
            out = list(s.scalars(q))
        engine.dispose()
        return out

    def send(self, job: str, queue: str) -> Any:
        return self.client.send_task("qts.run_job", args=(job,), queue=queue)


def _celery() -> list[str]:
    exe = shutil.which("celery", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "celery"]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # warm shutdown
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
    except Exception as exc:
        unavailable("Redis", exc)
    from qts.workers.celery_app import create_celery_app
    from qts.workers.schedule import Schedule
    from qts.workers.settings import WorkerSettings

    tmp = tmp_path_factory.mktemp("celery")
    db_url = f"sqlite:///{tmp / 'qts.db'}"
    upgrade(db_url)
    engine = create_engine(db_url)
    engine.dispose()
    prefix = f"qts-test-{uuid.uuid4().hex[:8]}:"
    slack = FakeServer("slack", SLACK_HOOK).start()
    env = {
        **os.environ,
        "QTS_DATABASE_URL": db_url,
        "QTS_REDIS_URL": REDIS_URL,
        "QTS_DATA_DIR": str(tmp),
        "QTS_WORKERS_KEY_PREFIX": prefix,
        "QTS_SCHEDULE": json.dumps(SCHEDULE),
        "QTS_RETRY_BACKOFF_SECONDS": "0.2",
        "QTS_HEARTBEAT_SECONDS": "1",
        "QTS_SLACK_WEBHOOK_URL": slack.base_url + SLACK_HOOK,
        "QTS_NOTIFY_BATCH_SECONDS": "0",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    worker_log = tmp / "worker.log"
    with open(worker_log, "wb") as out:
        worker = subprocess.Popen(
            [*_celery(), "-A", "qts.workers.celery_app", "worker", "-Q", "system,market,features",
             "-c", "2", "-n", f"qtstest-{prefix[9:17]}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "INFO"],
            env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    app = create_celery_app(
        WorkerSettings(_env_file=None, redis_url=REDIS_URL, workers_key_prefix=prefix),
        schedule=Schedule([]),
    )
    try:
        app.send_task("qts.ping", queue="system").get(timeout=90)
        yield Cluster(env, db_url, tmp, app, slack, worker_log, prefix)
    finally:
        _stop(worker)
        slack.stop()
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


def test_worker_runs_a_task_and_records_it(cluster: Cluster) -> None:
    result = cluster.send("test_add", "system")
    value = result.get(timeout=30)
    assert value["outcome"] == "success" and value["result"]["sum"] == 42
    [run] = cluster.runs(task_id=result.id)
    assert run.outcome == "success" and run.job_name == "test_add"
    assert run.result == {"sum": 42, "database": "sqlite"}
    assert run.finished_at is not None and run.worker_host
    assert run.worker_host.split(":")[1] != str(os.getpid())  # ran in the worker process


def test_failed_task_is_retried_with_backoff_then_kept_and_reported(cluster: Cluster) -> None:
    result = cluster.send("test_fail", "market")
    with pytest.raises(Exception, match="venue unreachable"):
        result.get(timeout=30)
    attempts = cluster.runs(task_id=result.id)
    assert [r.attempt for r in attempts] == [1, 2, 3]
    assert [r.final for r in attempts] == [False, False, True]
    assert all(
        r.outcome == "failed" and "RuntimeError: venue unreachable" in r.error for r in attempts
    )
    # Backoff: 0.2 s then 0.4 s (plus jitter) between attempts.
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("test_fail" in t for t in cluster.slack.texts()):
        time.sleep(0.1)
    reports = [t for t in cluster.slack.texts() if "Job test_fail failed" in t]
    assert len(reports) == 1 and "venue unreachable" in reports[0]
    assert "slacksecret" not in cluster.worker_log.read_text(errors="replace")


def test_a_job_never_overlaps_itself_across_worker_processes(cluster: Cluster) -> None:
    first, second = cluster.send("test_sleep", "system"), cluster.send("test_sleep", "system")
    outcomes = sorted([first.get(timeout=30)["outcome"], second.get(timeout=30)["outcome"]])
    assert outcomes == ["skipped", "success"]
    skipped = [r for r in cluster.runs(job_name="test_sleep") if r.outcome == "skipped"]
    assert skipped[0].error == "locked"


def test_each_queue_gets_only_its_own_messages(cluster: Cluster) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        # Nobody consumes `ml` in this test (as on a machine without a GPU worker).
        cluster.send("test_add", "ml")
        lengths = {q: client.llen(f"{cluster.prefix}{q}") for q in ("ml", "orders", "strategy")}
        assert lengths == {"ml": 1, "orders": 0, "strategy": 0}
    finally:
        client.delete(f"{cluster.prefix}ml")
        client.close()


def test_unavailable_target_is_skipped_not_failed(cluster: Cluster) -> None:
    result = cluster.send("test_missing", "features")
    value = result.get(timeout=30)
    assert value["outcome"] == "skipped" and value["error"].startswith("not available")
    [run] = cluster.runs(task_id=result.id)
    assert run.outcome == "skipped"


def test_beat_sends_the_schedule_and_the_monitor_sees_the_worker(cluster: Cluster) -> None:
    with open(cluster.tmp / "beat.log", "wb") as out:
        beat = subprocess.Popen(
            [*_celery(), "-A", "qts.workers.celery_app", "beat", "-l", "INFO",
             "--schedule", str(cluster.tmp / "beat-schedule")],
            env=cluster.env, cwd=cluster.tmp, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 45
        monitor_runs: list[JobRun] = []
        while time.monotonic() < deadline and len(monitor_runs) < 2:
            time.sleep(0.5)
            monitor_runs = [
                r for r in cluster.runs(job_name="system_monitor") if r.outcome == "success"
            ]
    finally:
        _stop(beat)
    assert len(monitor_runs) >= 2, (cluster.tmp / "beat.log").read_text(errors="replace")[-2000:]
    assert all(r.trigger == "schedule" and r.task_id for r in monitor_runs)
    engine = create_engine(cluster.db_url)
    with Session(engine) as s:
        health = s.get(SystemStatus, "health")
        assert health is not None
        components = health.value["components"]
        roles = {p["role"] for p in components["workers"]["processes"] if p["alive"]}
    engine.dispose()
    assert {"worker", "beat"} <= roles
    assert components["redis"]["ok"] is True and components["database"]["ok"] is True
    assert set(components["queues"]) == {"market", "strategy", "orders", "features", "ml", "system"}
