"""Scale-out end to end, as real processes (issue 20): PostgreSQL, Redis, RabbitMQ (broker),
`mlflow server` on PostgreSQL with served artifacts, two `qts up` started at the same moment on a
fresh database, a CPU worker for market/strategy/orders/features/system, two ML workers, beat,
and the model-serving process (`qts serve-models`) the paper sessions score through.

Flow: import bars → features job (sent to its queue) → training through the API on the `ml`
queue → the ML worker running it is killed with SIGKILL mid-run → RabbitMQ gives the task back
at once and the other ML worker trains it again (recorded in the run's history) → one version
in the MLflow server → promoted through server A → an `ml_signal` paper session started through
server A, its orders visible through server B and over `/ws` on both."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.api.test_server_flow import free_port
from tests.conftest import PG_ADMIN_URL, unavailable
from tests.deploy.topology import (
    QTS,
    REPO,
    Topology,
    bin_of,
    drop_vhost,
    rabbitmq_vhost,
    schedule_json,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SAMPLE = REPO / "src" / "qts" / "sample_data" / "kr_daily"
SYMBOLS = ["005930", "000660", "005380"]
NEXT = "2025-06-18"  # the first session after the shipped samples
MODEL = "scale-lgbm"
SECRET = "scale-out-test-secret-0123456789abcdef"
# A Redis database of its own (flushed first): online features and locks of other tests stay out.
REDIS_URL = os.environ.get("QTS_TEST_SCALE_REDIS_URL", "redis://127.0.0.1:6379/12")


def _admin_engine() -> sa.Engine:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as e:
        unavailable("PostgreSQL", e)
    return engine


def _check_services() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except Exception as e:
        unavailable("Redis", e)
    try:
        import socket

        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as e:
        unavailable("RabbitMQ", e)


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    _check_services()
    admin = _admin_engine()
    suffix = uuid.uuid4().hex[:8]
    dbs = [f"qts_scale_{suffix}", f"mlflow_scale_{suffix}"]
    with admin.connect() as conn:
        for name in dbs:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    vhost = rabbitmq_vhost()
    mlflow_port, serving_port = free_port(), free_port()
    # Nothing inherited from earlier tests in this process (mlflow.set_tracking_uri exports
    # MLFLOW_TRACKING_URI): every process of the topology is configured by QTS_* alone.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QTS_", "MLFLOW_"))}
    env.update({
        "QTS_DATABASE_URL": f"{base}/{dbs[0]}",
        "QTS_REDIS_URL": REDIS_URL,
        "QTS_CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        "QTS_CELERY_RESULT_BACKEND": REDIS_URL,
        "QTS_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{mlflow_port}",
        # Sessions score through the serving process (`qts serve-models`), as in Compose.
        "QTS_INFERENCE_URL": f"http://127.0.0.1:{serving_port}",
        "QTS_JWT_SECRET": SECRET,
        "QTS_WORKERS_KEY_PREFIX": f"qts-scale-{suffix}:",
        "QTS_RUN_SCHEDULER": "false",
        "QTS_SCHEDULE": schedule_json(),
        "QTS_HEARTBEAT_SECONDS": "2",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    })  # fmt: skip
    topo = Topology(tmp_path, env)
    try:
        topo.start("mlflow", [*bin_of("mlflow"), "server", "--host", "127.0.0.1",
                              "--port", str(mlflow_port), "--workers", "1",
                              "--backend-store-uri", f"{base}/{dbs[1]}", "--serve-artifacts",
                              "--artifacts-destination", str(tmp_path / "mlflow-artifacts")])  # fmt: skip
        topo.start("serving", [*QTS, "serve-models", "--port", str(serving_port)])
        yield topo
    finally:
        topo.stop_all()
        drop_vhost(vhost)
        with admin.connect() as conn:
            for name in dbs:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _continuation(tmp: Path, sessions: int = 40) -> list[Path]:
    """Bars after the shipped samples (a seeded random walk on the next XKRX sessions): the
    servers load the samples at first start, the model trains on them, and the paper session
    trades only bars after its training window."""
    import exchange_calendars as xcals
    import numpy as np

    calendar = xcals.get_calendar("XKRX")
    paths = []
    for n, symbol in enumerate(SYMBOLS):
        frame = pd.read_csv(SAMPLE / f"{symbol}.csv")
        last = pd.Timestamp(frame.iloc[-1, 0]).tz_localize(None)
        days = calendar.sessions_window(calendar.date_to_session(last, "next"), sessions + 1)[1:]
        rng = np.random.default_rng(n)
        close = float(frame["close"].iloc[-1]) * np.exp(np.cumsum(rng.normal(0, 0.015, sessions)))
        opens = np.r_[float(frame["close"].iloc[-1]), close[:-1]]
        out = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "open": opens.round(),
                            "high": np.maximum(opens, close).round() + 100,
                            "low": np.minimum(opens, close).round() - 100,
                            "close": close.round(), "volume": 1_000_000})  # fmt: skip
        paths.append(tmp / f"{symbol}-next.csv")
        out.to_csv(paths[-1], index=False)
    return paths


def _login(base: str, user: str) -> dict[str, str]:
    r = httpx.post(
        base + "/api/v1/auth/login", data={"username": user, "password": f"{user}-pw-123"}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _celery(topo: Topology) -> Any:
    from qts.workers.celery_app import create_celery_app
    from qts.workers.schedule import Schedule
    from qts.workers.settings import WorkerSettings

    env = topo.base_env
    return create_celery_app(
        WorkerSettings(_env_file=None, redis_url=REDIS_URL,
                       celery_broker_url=env["QTS_CELERY_BROKER_URL"],
                       workers_key_prefix=env["QTS_WORKERS_KEY_PREFIX"]),
        schedule=Schedule([]),
    )  # fmt: skip


async def _collect_orders(base: str, token: str, topic: str, want: int, into: list[Any]) -> None:
    import websockets

    url = base.replace("http://", "ws://") + "/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"action": "auth", "token": token}))
        await ws.recv()
        await ws.send(json.dumps({"action": "subscribe", "topics": [topic]}))
        while len(into) < want:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if msg.get("type") == "event" and msg.get("topic") == topic:
                into.append(msg["data"])


def _start_servers(topo: Topology) -> list[str]:
    ports = [free_port(), free_port()]
    for n, port in enumerate(ports):  # at the same moment, on a database with no tables yet
        topo.start(f"api{n}", [*QTS, "up", "--port", str(port), "--no-scheduler"])
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    for base in bases:
        topo.wait(f"{base} healthy", lambda b=base: httpx.get(b + "/health", timeout=2).is_success)
    return bases


def _start_workers(topo: Topology) -> None:
    celery = [*QTS]
    common = ["--concurrency", "1", "--loglevel", "INFO"]
    topo.start("worker", [*celery, "worker", "--queues", "market,strategy,orders,features,system",
                          "--hostname", "cpu@%h", *common])  # fmt: skip
    for n in range(2):
        topo.start(
            f"ml{n}", [*celery, "worker", "--queues", "ml", "--hostname", f"ml{n}@%h", *common]
        )
    topo.start("beat", [*celery, "beat"])
    app = _celery(topo)
    topo.wait("3 workers answer", lambda: len(app.control.ping(timeout=1.0) or []) >= 3, 180)


def _features_job(topo: Topology, via: str, check: str, headers: dict[str, str]) -> str:
    """The features job sent to its queue through one server, seen finished through the other."""
    r = httpx.post(via + "/api/v1/system/jobs/features/run", headers=headers)
    assert r.status_code == 200 and r.json()["mode"] == "scale-out", r.text
    task_id = str(r.json()["task_id"])

    def finished() -> bool:
        runs = httpx.get(check + "/api/v1/system/jobs?job=features", headers=headers).json()["runs"]
        return any(run.get("task_id") == task_id and run["outcome"] == "success" for run in runs)

    topo.wait(f"features job {task_id}", finished, 180)
    return task_id


@pytest.mark.timeout(600)
def test_scale_out_topology_end_to_end(topology: Topology) -> None:
    topo = topology
    mlflow = topo.base_env["QTS_MLFLOW_TRACKING_URI"]
    topo.wait("mlflow server", lambda: httpx.get(mlflow + "/health", timeout=2).is_success, 180)
    serving = topo.base_env["QTS_INFERENCE_URL"]
    topo.wait("serving process", lambda: httpx.get(serving + "/health", timeout=2).is_success)
    a, b = _start_servers(topo)
    _start_workers(topo)
    for user, role in (("ada", "admin"), ("tom", "trader"), ("vic", "viewer")):
        topo.run_cli(
            "user", "create", user, "--role", role, "--password-stdin", stdin=f"{user}-pw-123\n"
        )
    late = _continuation(topo.tmp)  # the samples themselves were loaded by the servers
    admin, trader = _login(a, "ada"), _login(b, "tom")

    task_ids = [_features_job(topo, a, b, trader)]

    # Training on the `ml` queue; kill -9 the ML worker that took it, mid-run.
    body = {"model": "lightgbm", "symbols": SYMBOLS, "timeframe": "1d", "features": "basic",
            "epochs": 80, "name": MODEL}  # fmt: skip
    run = httpx.post(b + "/api/v1/ml/train", headers=trader, json=body)
    assert run.status_code == 202, run.text
    run_id = run.json()["id"]
    runs_url = f"{a}/api/v1/ml/runs/{run_id}"
    topo.wait(
        "training started",
        lambda: httpx.get(runs_url, headers=trader).json()["status"] == "running",
    )
    holder = topo.wait("the ML worker with the task", lambda: next(
        (n for n in ("ml0", "ml1") if run_id in topo.procs[n].text()), None))  # fmt: skip
    os.kill(topo.procs[holder].popen.pid, signal.SIGKILL)  # the worker's main process
    topo.procs[holder].popen.wait(10)
    del topo.procs[holder]  # its death is the point, not a failure of the topology
    done = topo.wait("training redelivered and finished",
                     lambda: (j := httpx.get(runs_url, headers=trader).json())["status"] in ("done", "failed") and j, 300)  # fmt: skip
    assert done["status"] == "done", done["error"]
    survivor = "ml1" if holder == "ml0" else "ml0"
    assert run_id in topo.procs[survivor].text()
    assert any(h["message"].startswith("restarted") for h in done["history"]), done["history"]

    # Exactly one version, in the MLflow server (no shared disk: each process has its own dir).
    found = httpx.get(f"{mlflow}/api/2.0/mlflow/model-versions/search",
                      params={"filter": f"name='{MODEL}'"}).json()  # fmt: skip
    assert [v["version"] for v in found.get("model_versions", [])] == ["1"], found
    r = httpx.post(f"{a}/api/v1/ml/models/{MODEL}/promote", headers=admin,
                   json={"version": 1, "alias": "production"})  # fmt: skip
    assert r.status_code == 200, r.text

    for path, symbol in zip(late, SYMBOLS, strict=True):
        topo.run_cli("data", "import", str(path), "--symbol", symbol, "--timeframe", "1d")
    task_ids.append(_features_job(topo, b, a, trader))  # beat's schedule would run it too
    strategy = {"name": "ml-scale", "strategy_class": "ml_signal", "symbols": SYMBOLS,
                "timeframe": "1d", "parameters": {"model": f"{MODEL}@production",
                                                  "enter": -1.0, "exit": -2.0}}  # fmt: skip
    sid = httpx.post(a + "/api/v1/strategies", headers=trader, json=strategy).json()["id"]
    seen: dict[str, list[Any]] = {a: [], b: []}
    token = trader["Authorization"].split()[1]

    async def session() -> None:
        listeners = [asyncio.create_task(_collect_orders(base, token, "orders", 1, seen[base]))
                     for base in (a, b)]  # fmt: skip
        await asyncio.sleep(1.0)  # both subscribed before the first bar
        r = await asyncio.to_thread(httpx.post, f"{a}/api/v1/strategies/{sid}/start",
                                    headers=trader, json={"kind": "replay", "start": NEXT})  # fmt: skip
        assert r.status_code == 200, r.text
        await asyncio.wait_for(asyncio.gather(*listeners), 180)

    try:
        asyncio.run(session())
    except TimeoutError:
        state = httpx.get(f"{b}/api/v1/strategies/{sid}", headers=trader).json()
        preds = httpx.get(f"{b}/api/v1/ml/predictions?model={MODEL}&limit=5", headers=trader).text
        logs = topo.procs["api0"].text()[-4000:]
        raise AssertionError(
            f"no order event on both servers; strategy: {state}\n{preds}\n{logs}"
        ) from None
    assert seen[a] and seen[b]
    assert seen[a][0] == seen[b][0], (seen[a][0], seen[b][0])  # one event, both servers
    topo.wait("session finished", lambda: httpx.get(
        f"{b}/api/v1/strategies/{sid}", headers=trader).json()["state"] == "stopped", 180)  # fmt: skip
    orders = httpx.get(f"{b}/api/v1/orders?strategy_id={sid}&limit=500", headers=trader).json()[
        "items"
    ]
    assert orders and all(o["meta"]["model"] == MODEL for o in orders)
    ids = [o["client_order_id"] for o in orders]
    assert len(ids) == len(set(ids))
    assert "POST /v1/score_history" in topo.procs["serving"].text()  # scored by the server
    # Each features job ran once for its task id: nothing lost, nothing duplicated.
    runs = httpx.get(a + "/api/v1/system/jobs?job=features", headers=trader).json()["runs"]
    assert sorted((r["task_id"], r["outcome"]) for r in runs) == sorted(
        (t, "success") for t in task_ids
    ), runs
