"""A task delivered again after its worker died (acks-late): it takes its own job lock over at
once, the lost attempt is recorded as such, and finished training is never trained twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from qts.adapters.job_locks import RedisJobLocks
from qts.db.models import TrainingRun
from qts.db.models.jobs import JobRun
from qts.services.ml.model_service import run_training
from qts.services.ops.jobs import LOST_WORKER, run_job
from tests.conftest import REDIS_URL, unavailable
from tests.workers.conftest import runs

JOBS = "tests.workers.sample_jobs"


@pytest.fixture
def redis_client() -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as e:
        unavailable("Redis", e)
    yield client
    client.close()


@pytest.mark.redis
def test_the_same_task_takes_its_lock_over_and_another_task_is_kept_out(redis_client) -> None:  # type: ignore[no-untyped-def]
    locks = RedisJobLocks(redis_client, f"qts-test-{uuid.uuid4().hex[:8]}:")
    first = locks.acquire("features", 60, owner="task-1")
    assert first is not None
    assert locks.acquire("features", 60, owner="task-2") is None  # another task: still locked
    assert locks.acquire("features", 60) is None
    redis_client.expire(locks.key("features"), 5)  # time passed in the dead worker's run
    again = locks.acquire("features", 60, owner="task-1")  # the redelivery of task-1
    assert again is not None and redis_client.ttl(locks.key("features")) > 50
    locks.release("features", again)
    assert redis_client.get(locks.key("features")) is None
    assert locks.acquire("features", 60, owner="task-2") is not None


def test_a_lost_attempt_is_recorded_and_the_redelivery_counts_as_the_next(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:  # what a worker killed mid-run leaves behind
        s.add(JobRun(run_id=str(uuid.uuid4()), job_name="adder", task_id="t-42", trigger="schedule",
                     started_at=datetime.now(UTC), outcome="running", attempt=1, final=True,
                     worker_host="gone:1"))  # fmt: skip
    outcome = run_job(ctx, "adder", f"{JOBS}.add", {"a": 1, "b": 2}, task_id="t-42")
    assert outcome.outcome == "success" and outcome.attempt == 2
    lost, retried = runs(ctx, "adder")
    assert (lost.outcome, lost.final, lost.error) == ("failed", False, LOST_WORKER)
    assert lost.finished_at is not None
    assert (retried.outcome, retried.attempt, retried.result) == (
        "success",
        2,
        {"sum": 3, "database": "sqlite"},
    )
    # A task seen for the first time is attempt 1 and closes nothing.
    assert run_job(ctx, "adder", f"{JOBS}.add", {"a": 2, "b": 2}, task_id="t-43").attempt == 1
    assert len(runs(ctx, "adder")) == 3


def test_a_finished_training_run_delivered_again_is_not_trained_twice(ctx) -> None:  # type: ignore[no-untyped-def]
    metrics = {"version": "3", "model_name": "m"}
    with ctx.db.session() as s:
        s.add(TrainingRun(id="run-1", model_type="lightgbm", status="done", params={},
                          metrics=metrics))  # fmt: skip
    assert run_training(ctx, "run-1") == {"version": "3", "already_done": True}
    with ctx.db.session() as s:
        assert s.get(TrainingRun, "run-1").status == "done"  # type: ignore[union-attr]
