"""Accounts' equity and P&L through the API: figures now, snapshots kept by the job only when
they change, the history with its time filter; and the WebSocket channels the dashboard uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qts.services.data.market_data import import_file
from qts.services.ops.jobs import run_job
from qts.services.trading.accounts import record_account_snapshots
from qts.workers.schedule import get_schedule
from tests.api.conftest import login
from tests.execution.fx_bars import store_fx

AAPL = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data" / "us_daily" / "AAPL.csv"


def test_paper_equity_and_pnl_now_and_over_time(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    import_file(ctx.db, AAPL, "AAPL", "1d")
    viewer = auth_headers("viewer")
    [paper] = [a for a in client.get("/api/v1/accounts", headers=viewer).json()]
    assert paper["account"] == "paper" and paper["kind"] == "paper"
    start = paper["initial_cash"]
    assert start > 0 and paper["now"]["equity"] == start and paper["now"]["pnl"] == 0
    assert record_account_snapshots(ctx) == {"accounts": 1, "written": 1}
    assert record_account_snapshots(ctx)["written"] == 0  # unchanged: no new row
    store_fx(ctx.db, "USD/KRW", 1_000.0)  # the paper account is in KRW, AAPL in USD

    order = client.post(
        "/api/v1/orders",
        headers=auth_headers("trader"),
        json={"symbol": "AAPL", "side": "buy", "quantity": 10},
    ).json()
    assert order["status"] == "filled"
    price = order["average_fill_price"]
    assert record_account_snapshots(ctx)["written"] == 1
    history = client.get("/api/v1/accounts/equity?account=paper", headers=viewer).json()
    first, last = history["points"]
    assert first["equity"] == start and first["open_positions"] == 0
    assert last["open_positions"] == 1
    assert last["positions_value"] == pytest.approx(10 * price * 1_000.0)
    assert last["currency"] == "KRW" and history["now"]["fx_rates"] == {"USD/KRW": 1_000.0}
    fees = last["fees"]
    assert fees >= 0 and last["cash"] == pytest.approx(start - 10 * price * 1_000.0 - fees)
    assert last["equity"] == pytest.approx(start - fees)  # marked at the fill's close
    assert last["pnl"] == pytest.approx(-fees) and last["unrealized_pnl"] == pytest.approx(0)
    assert history["now"]["equity"] == pytest.approx(last["equity"])
    assert first["ts"] < last["ts"]

    later = client.get(
        "/api/v1/accounts/equity", headers=viewer, params={"account": "paper", "since": last["ts"]}
    ).json()
    assert [p["ts"] for p in later["points"]] == [last["ts"]]
    one = client.get("/api/v1/accounts/equity?account=paper&limit=1", headers=viewer).json()
    assert [p["ts"] for p in one["points"]] == [last["ts"]]  # the latest, not the first
    missing = client.get("/api/v1/accounts/equity?account=paper:nobody", headers=viewer)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/accounts/equity", headers=viewer).status_code == 422
    assert client.get("/api/v1/accounts").status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_snapshots_are_a_scheduled_job(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    job = get_schedule().get("account_snapshots")
    assert job.enabled and job.trigger.describe() == "every 60s"
    outcome = run_job(ctx, job.name, job.target)
    assert outcome.outcome == "success" and outcome.result == {"accounts": 1, "written": 1}
    runs = client.get("/api/v1/system/jobs?job=account_snapshots", headers=auth_headers("viewer"))
    assert runs.json()["runs"][0]["result"] == {"accounts": 1, "written": 1}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ws_channels_the_dashboard_uses(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    """Auth by the first message (no token in the URL); orders, fills and positions of a
    manual order arrive live; every channel a page subscribes to is accepted."""
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    import_file(ctx.db, AAPL, "AAPL", "1d")
    token = login(client, "viewer")["access_token"]
    channels = [
        "orders", "fills", "positions", "accounts", "system", "jobs", "backtests",
        "optimizations", "signals", "bars:AAPL", "training:0b5e9d1c-8b1f-4a39-9d7e-1f2a3b4c5d6e",
        "predictions:krx-lgbm",
    ]  # fmt: skip
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"action": "auth", "token": token})
        assert ws.receive_json()["type"] == "welcome"
        ws.send_json({"action": "subscribe", "topics": channels})
        assert ws.receive_json() == {"type": "subscribed", "topics": sorted(channels)}
        order = client.post(
            "/api/v1/orders",
            headers=auth_headers("trader"),
            json={"symbol": "AAPL", "side": "buy", "quantity": 3},
        ).json()
        seen: dict[str, dict] = {}  # type: ignore[type-arg]
        while not {"fills", "positions"} <= seen.keys():
            msg = ws.receive_json()
            if msg["type"] == "event":
                seen[msg["topic"]] = msg["data"]
    fill = seen["fills"]
    assert fill["order_id"] == order["id"] and fill["account"] == "paper"
    assert fill["quantity"] == 3 and fill["price"] == pytest.approx(order["average_fill_price"])
    assert fill["symbol"] == "AAPL" and fill["side"] == "buy" and fill["fee"] >= 0
    assert seen["positions"]["quantity"] == 3 and seen["orders"]["id"] == order["id"]
