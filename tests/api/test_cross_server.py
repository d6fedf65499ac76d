"""Two real `qts up` servers on one PostgreSQL database (issue 14, defects 2 and 3): one executor
submission per client order id however the retries are split between them, and risk limits
(order rate, exposure with working orders counted) that hold across both."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.api.test_server_flow import QTS, _create_user, _env, free_port

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data" / "kr_daily"
LIMITS = {"max_orders_per_minute": 50, "max_position_notional": 1e6, "max_gross_exposure": 1e6}
CLOSE = float(pd.read_csv(SAMPLE / "005930.csv").iloc[-1]["close"])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.time() < deadline, log.read_text()
        time.sleep(0.2)


@pytest.fixture
def two_servers(tmp_path: Path, pg_url: str) -> Iterator[tuple[list[str], dict[str, str]]]:
    env = _env(
        tmp_path / "var",
        QTS_DATABASE_URL=pg_url,
        QTS_JWT_SECRET="cross-server-test-secret-0123456789abcdef",
        QTS_RISK_LIMITS=json.dumps(LIMITS),
    )
    r = subprocess.run(
        [*QTS, "data", "import", str(SAMPLE / "005930.csv"), "--symbol", "005930"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    _create_user(env, "tina", "trader", "tina-password-1")
    procs, bases = [], []
    try:
        for n in range(2):  # one after the other: the start-up race is another test's subject
            port, log = free_port(), tmp_path / f"server{n}.log"
            with open(log, "w") as out:
                proc = subprocess.Popen(
                    [*QTS, "up", "--port", str(port)], env=env, stdout=out, stderr=out
                )
            procs.append(proc)
            bases.append(f"http://127.0.0.1:{port}")
            _wait_healthy(bases[-1], proc, log)
        yield bases, env
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _post_all(bases: list[str], token: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every body at once, alternating between the servers."""
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=b, headers=headers, timeout=60) for b in bases]
    try:
        with ThreadPoolExecutor(len(bodies)) as pool:
            jobs = [
                pool.submit(clients[i % len(clients)].post, "/api/v1/orders", json=body)
                for i, body in enumerate(bodies)
            ]
            return [j.result() for j in jobs]
    finally:
        for c in clients:
            c.close()


def test_two_servers_send_each_order_once_and_share_risk_limits(
    two_servers: tuple[list[str], dict[str, str]],
) -> None:
    bases, env = two_servers
    r = httpx.post(
        bases[0] + "/api/v1/auth/login", data={"username": "tina", "password": "tina-password-1"}
    )
    token = r.json()["access_token"]
    order = {"symbol": "005930", "quantity": 1, "type": "limit", "limit_price": CLOSE}

    # 10 rounds of 50 concurrent submissions of one client order id (a sell from no position:
    # it reaches the paper executor, which refuses it, and uses no exposure).
    for n in range(10):
        body = {**order, "side": "sell", "client_order_id": f"round-{n:04d}"}
        answers = _post_all(bases, token, [body] * 50)
        assert {a.status_code for a in answers} == {201}, answers[0].text
        assert len({a.json()["id"] for a in answers}) == 1

    # 200 concurrent buys of CLOSE each: exposure (working orders counted) allows 17 under 1 M.
    buys = [{**order, "side": "buy", "client_order_id": f"buy-{n:06d}"} for n in range(200)]
    answers = [a.json() for a in _post_all(bases, token, buys)]
    filled = [a for a in answers if a["status"] == "filled"]
    outcome = Counter((a["status"], a["reject_rule"], a["reject_reason"][:60]) for a in answers)
    assert len(filled) == int(LIMITS["max_position_notional"] // CLOSE) == 17, outcome
    rules = {a["reject_rule"] for a in answers if a["status"] == "rejected"}
    assert rules <= {"max_position_notional", "max_gross_exposure"}, rules

    # 200 concurrent sells: they reduce (size rules pass), but the rate of 50 a minute holds:
    # 10 + 17 claimed already, so 23 more at most.
    sells = [{**order, "side": "sell", "client_order_id": f"sell-{n:06d}"} for n in range(200)]
    answers = [a.json() for a in _post_all(bases, token, sells)]
    by_rate = [a for a in answers if a["reject_rule"] == "max_orders_per_minute"]
    assert len(answers) - len(by_rate) == 50 - 10 - 17

    engine = sa.create_engine(env["QTS_DATABASE_URL"])
    with engine.connect() as conn:
        sent = dict(
            conn.execute(
                sa.text(
                    "SELECT target, count(*) FROM audit_log WHERE action = 'paper.submit' "
                    "GROUP BY target"
                )
            ).all()
        )
        position = conn.execute(
            sa.text("SELECT quantity FROM positions WHERE account = 'paper'")
        ).scalar()
        claims = conn.execute(
            sa.text("SELECT count(*) FROM order_events WHERE to_status = 'submitting'")
        ).scalar()
    engine.dispose()
    assert all(sent[f"round-{n:04d}"] == 1 for n in range(10)), sent  # one submission per id
    assert max(sent.values()) == 1 and len(sent) == 50
    assert claims == 50
    assert position == 17 - 17  # 17 bought; the first 17 of the 23 sells closed them
