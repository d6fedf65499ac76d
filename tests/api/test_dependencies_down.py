"""With Redis down the server says so on /ready, and logins and writes still work without
half-applied changes (issue 14, defect 10); with the database unreachable `qts up` fails in one
line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from qts.api.app import create_app
from tests.api.conftest import PASSWORDS, make_settings, seed_users
from tests.api.fuzzing import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_redis_down_is_reported_and_writes_still_work(tmp_path: Path) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'qts.db'}", redis_url=closed)
    seed_users(settings)
    app = create_app(settings)
    with TestClient(app) as client:
        r = client.get("/ready")
        assert r.status_code == 503
        assert r.json()["error"]["details"]["redis"]["ok"] is False
        assert r.json()["error"]["details"]["database"]["ok"] is True
        r = client.post(
            "/api/v1/auth/login", data={"username": "trader", "password": PASSWORDS["trader"]}
        )
        assert r.status_code == 200, r.text  # the throttle counts in process meanwhile
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        order = {"symbol": "005930", "side": "buy", "quantity": 1, "type": "limit",
                 "limit_price": 70000, "client_order_id": "redis-down-1"}  # fmt: skip
        r = client.post("/api/v1/orders", headers=h, json=order)
        assert r.status_code == 201, r.text
        stored = client.get("/api/v1/orders", headers=h).json()
        assert [o["client_order_id"] for o in stored["items"]] == ["redis-down-1"]
        assert stored["items"][0]["status"] == r.json()["status"]
        r = client.post("/api/v1/system/kill-switch", headers=h, json={"on": True})
        assert r.status_code == 200, r.text
        assert client.get("/api/v1/system/kill-switch", headers=h).json() == {"on": True}
    app.state.ctx.close()


def test_qts_up_with_an_unreachable_database_fails_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "QTS_DATABASE_URL": f"postgresql+psycopg://postgres:secret-pw@127.0.0.1:{free_port()}/qts",
        "QTS_DATA_DIR": str(tmp_path / "data"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "qts.cli", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 1
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: cannot use the database postgresql+psycopg://postgres:***@")
    assert "Connection refused" in lines[0] and "secret-pw" not in lines[0]
