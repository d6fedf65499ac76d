"""The README's flow end to end, with real processes: `qts up` from a fresh data directory,
`qts user create`, login, role checks, and an event published from another process through
Redis reaching a WebSocket client."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

QTS = [sys.executable, "-m", "qts.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTS_")}
    env.update({"QTS_DATA_DIR": str(data_dir), "QTS_RUN_SCHEDULER": "false", **extra})
    return env


def _create_user(env: dict[str, str], name: str, role: str, password: str) -> None:
    r = subprocess.run(
        [*QTS, "user", "create", name, "--role", role, "--password-stdin"],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert password not in r.stdout + r.stderr


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    yield from _server_with(tmp_path, {})


def _flow(base: str, env: dict[str, str]) -> None:
    _create_user(env, "ada", "admin", "ada-password-1")
    _create_user(env, "vic", "viewer", "vic-password-1")
    r = httpx.post(
        base + "/api/v1/auth/login", data={"username": "ada", "password": "ada-password-1"}
    )
    assert r.status_code == 200
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = httpx.post(
        base + "/api/v1/auth/login", data={"username": "vic", "password": "vic-password-1"}
    )
    viewer = {"Authorization": f"Bearer {r.json()['access_token']}"}

    assert httpx.get(base + "/api/v1/strategies").status_code == 401
    assert httpx.get(base + "/api/v1/strategies", headers=viewer).status_code == 200
    body = {"name": "s1", "strategy_class": "sma_cross", "parameters": {"fast": 5, "slow": 20}}
    r = httpx.post(base + "/api/v1/strategies", headers=viewer, json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = httpx.post(
        base + "/api/v1/strategies",
        headers={**admin, "content-type": "application/json"},
        content=b"{bad",
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = httpx.post(base + "/api/v1/strategies", headers=admin, json={**body, "symbols": 5})
    assert r.status_code == 422 and set(r.json()["error"]) == {"code", "message", "details"}
    r = httpx.post(base + "/api/v1/strategies", headers=admin, json=body)
    assert r.status_code == 201
    assert httpx.get(base + "/api/v1/strategies", headers=viewer).json()["total"] == 1


def test_embedded_flow_from_a_fresh_data_dir(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    _flow(base, env)
    assert Path(env["QTS_DATA_DIR"], "qts.db").is_file()
    # The JWT secret was generated on first start and kept private in the data directory.
    secret = Path(env["QTS_DATA_DIR"], "jwt_secret.key")
    assert secret.is_file() and (secret.stat().st_mode & 0o777) == 0o600


@pytest.fixture
def pg_server(tmp_path: Path, pg_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    yield from _server_with(tmp_path, {"QTS_DATABASE_URL": pg_url})


@pytest.fixture
def redis_server(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    yield from _server_with(tmp_path, {"QTS_REDIS_URL": redis_url})


def _server_with(tmp_path: Path, extra: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    env = _env(tmp_path / "var", **extra)
    port = free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*QTS, "up", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 60
            while True:
                try:
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.time() < deadline, log_path.read_text()
                time.sleep(0.2)
            yield base, env
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_flow_on_postgresql_with_migrations(pg_server: tuple[str, dict[str, str]]) -> None:
    base, env = pg_server
    _flow(base, env)
    import sqlalchemy as sa

    engine = sa.create_engine(env["QTS_DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM qts_schema_version")).scalar()
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 2
    engine.dispose()


def test_event_from_another_process_reaches_websocket_via_redis(
    redis_server: tuple[str, dict[str, str]],
) -> None:
    import websockets

    base, env = redis_server
    _create_user(env, "wsu", "viewer", "wsu-password-1")
    token = httpx.post(
        base + "/api/v1/auth/login", data={"username": "wsu", "password": "wsu-password-1"}
    ).json()["access_token"]
    assert httpx.get(base + "/ready").json()["checks"]["redis"]["ok"] is True

    async def run() -> dict:  # type: ignore[type-arg]
        url = base.replace("http", "ws") + f"/ws?token={token}"
        async with websockets.connect(url) as ws:
            assert json.loads(await ws.recv())["type"] == "welcome"
            await ws.send(json.dumps({"action": "subscribe", "topics": ["orders"]}))
            assert json.loads(await ws.recv())["type"] == "subscribed"
            publisher = (
                "from qts.events.redis_bus import RedisEventBus; import sys;"
                "b = RedisEventBus(sys.argv[1]); b.publish('orders', {'id': 42, 'pid': 'other'})"
            )
            r = subprocess.run(
                [sys.executable, "-c", publisher, env["QTS_REDIS_URL"]],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 0, r.stderr
            return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]

    msg = asyncio.run(run())
    assert msg["type"] == "event" and msg["topic"] == "orders"
    assert msg["data"] == {"id": 42, "pid": "other"}


@pytest.fixture
def scheduler_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    yield from _server_with(tmp_path, {"QTS_RUN_SCHEDULER": "true"})


def test_embedded_scheduler_runs_jobs_and_the_api_shows_them(
    scheduler_server: tuple[str, dict[str, str]],
) -> None:
    base, env = scheduler_server
    _create_user(env, "ops", "viewer", "ops-password-1")
    token = httpx.post(
        base + "/api/v1/auth/login", data={"username": "ops", "password": "ops-password-1"}
    ).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    deadline = time.time() + 60
    while True:
        body = httpx.get(base + "/api/v1/system/jobs?job=system_monitor", headers=h).json()
        if any(r["outcome"] == "success" for r in body["runs"]):
            break
        assert time.time() < deadline, body
        time.sleep(0.5)
    names = {j["name"] for j in body["schedule"]}
    assert {"system_monitor", "market_data_crypto", "retraining", "evaluation"} <= names
    monitor = httpx.get(base + "/api/v1/system/monitor", headers=h).json()
    assert monitor  # the monitor's record is shown
    # The packaged sample prices were loaded on first start.
    symbols = {s["symbol"] for s in httpx.get(base + "/api/v1/market/symbols", headers=h).json()}
    assert {"005930", "BTC/USDT"} <= symbols
    metrics = httpx.get(base + "/metrics").text
    assert "qts_http_request" in metrics or "http_request" in metrics
