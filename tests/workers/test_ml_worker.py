"""A worker that takes only the `ml` queue (what a GPU host runs) trains a run requested
through the ML service and runs an Optuna study, on real Redis, with MLflow in its data dir."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from qts.config import Settings
from qts.db.migrate import upgrade
from qts.services.context import AppContext
from tests.workers.test_celery_worker import REDIS_URL, REPO, _celery, _stop

SAMPLE = REPO / "src" / "qts" / "sample_data" / "kr_daily"
SYMBOLS = ["005930", "000660"]


def test_ml_queue_worker_trains_and_tunes(tmp_path: Path) -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as exc:
        from tests.conftest import unavailable

        unavailable("Redis", exc)
    from qts.services.data.market_data import import_file
    from qts.services.ml import model_service as ml
    from qts.workers.celery_app import create_celery_app
    from qts.workers.schedule import Schedule
    from qts.workers.settings import WorkerSettings

    db_url = f"sqlite:///{tmp_path / 'qts.db'}"
    upgrade(db_url)
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=db_url, redis_url=REDIS_URL)
    ctx = AppContext.from_settings(settings)
    for s in SYMBOLS:
        import_file(ctx.db, SAMPLE / f"{s}.csv", s, "1d")
    prefix = f"qts-mltest-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ, "QTS_DATABASE_URL": db_url, "QTS_REDIS_URL": REDIS_URL,
        "QTS_DATA_DIR": str(tmp_path), "QTS_WORKERS_KEY_PREFIX": prefix,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }  # fmt: skip
    with open(tmp_path / "worker.log", "wb") as out:
        worker = subprocess.Popen(
            [*_celery(), "-A", "qts.workers.celery_app", "worker", "-Q", "ml", "-c", "1",
             "-n", f"ml-{prefix[11:19]}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    app = create_celery_app(
        WorkerSettings(_env_file=None, redis_url=REDIS_URL, workers_key_prefix=prefix),
        schedule=Schedule([]),
    )
    try:
        run = ml.create_training_run(
            ctx, {"model": "lightgbm", "symbols": SYMBOLS, "timeframe": "1d", "horizon": 1,
                  "epochs": 30, "name": "ml-queue-lgbm"}, "test",
        )  # fmt: skip
        out = app.send_task("qts.train_model", args=[run["id"]], queue="ml").get(timeout=240)
        assert out == {"run_id": run["id"], "version": "1"}
        stored = ml.get_run(ctx, run["id"])
        assert stored["status"] == "done" and stored["metrics"]["version"] == "1"
        tuned = app.send_task(
            "qts.tune_model", args=["lightgbm", SYMBOLS, "1d", 1, 2], queue="ml"
        ).get(timeout=240)
        assert tuned["trials"] == 2 and tuned["version"]
        names = {m["name"] for m in ml.list_models(ctx)}
        assert "ml-queue-lgbm" in names and len(names) == 2
    except Exception:
        print((tmp_path / "worker.log").read_text(errors="replace")[-4000:])
        raise
    finally:
        _stop(worker)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()
        ctx.close()


pytestmark = pytest.mark.slow
