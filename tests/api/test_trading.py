"""Trading through the API: manual orders, the kill switch, and a replayed paper session that
ends with exactly the backtest's fills while its orders and bars stream over the WebSocket."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from qts.backtest.engine import run_backtest
from qts.services.trading.paper_accounts import paper_config
from qts.strategies.registry import create_strategy
from tests.api.conftest import login

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def test_manual_orders_and_kill_switch(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    from qts.db.models import Order

    h = auth_headers("trader")
    body = {
        "symbol": "005930",
        "side": "buy",
        "quantity": 10,
        "type": "limit",
        "limit_price": 50000,
    }
    assert (
        client.post("/api/v1/orders", headers=auth_headers("viewer"), json=body).status_code == 403
    )
    r = client.post("/api/v1/orders", headers=h, json={**body, "client_order_id": "manual-0001"})
    assert r.status_code == 201 and r.json()["status"] == "rejected"
    assert "no stored bars for 005930" in r.json()["reject_reason"]
    again = client.post(
        "/api/v1/orders", headers=h, json={**body, "client_order_id": "manual-0001"}
    )
    assert again.json()["id"] == r.json()["id"]
    assert client.get("/api/v1/orders", headers=h).json()["total"] == 1
    bad = client.post("/api/v1/orders", headers=h, json={**body, "quantity": -5})
    assert bad.status_code == 422
    bad = client.post("/api/v1/orders", headers=h, json={**body, "type": "stop"})
    assert bad.status_code == 422 and "stop_price" in bad.json()["error"]["message"]

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.db.session() as s:  # a working order (as a session leaves them) for the switch
        s.add(Order(client_order_id="resting-1", symbol="005930", side="buy", quantity=1,
                    status="submitted"))  # fmt: skip
    r = client.post("/api/v1/system/kill-switch", headers=h, json={"on": True})
    assert r.status_code == 200 and r.json()["cancelled_orders"] == 1
    assert client.get("/api/v1/system/kill-switch", headers=h).json() == {"on": True}
    r = client.post("/api/v1/orders", headers=h, json={**body, "client_order_id": "manual-0002"})
    assert r.json()["status"] == "rejected" and r.json()["reject_rule"] == "kill_switch"
    client.post("/api/v1/system/kill-switch", headers=h, json={"on": False})


def test_manual_paper_orders_fill_at_the_latest_stored_close(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    last = pd.read_csv(SAMPLE / "kr_daily" / "005930.csv").iloc[-1]
    h = auth_headers("trader")
    buy = {"symbol": "005930", "side": "buy", "quantity": 10, "type": "market"}
    r = client.post("/api/v1/orders", headers=h, json=buy)
    assert r.status_code == 201 and r.json()["status"] == "filled", r.json()
    assert r.json()["filled_quantity"] == 10
    # The paper run spec's costs: the price is the close moved against the buyer by slippage.
    price = r.json()["average_fill_price"]
    assert last["close"] <= price < last["close"] * 1.01
    positions = {p["symbol"]: p for p in client.get("/api/v1/positions", headers=h).json()}
    assert positions["005930"]["quantity"] == 10
    # A limit away from the close would never fill here: refused, and nothing else changes.
    away = {**buy, "type": "limit", "limit_price": float(last["close"]) * 0.5}
    r = client.post("/api/v1/orders", headers=h, json=away)
    assert (
        r.json()["status"] == "rejected"
        and "away from the latest close" in r.json()["reject_reason"]
    )
    sell = {**buy, "side": "sell", "type": "limit", "limit_price": float(last["close"]) * 0.9}
    r = client.post("/api/v1/orders", headers=h, json=sell)
    assert r.json()["status"] == "filled"
    positions = {p["symbol"]: p for p in client.get("/api/v1/positions", headers=h).json()}
    assert positions.get("005930", {"quantity": 0})["quantity"] == 0


def test_a_manual_paper_order_pays_its_own_markets_costs(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d", "XKRX")
    import_file(ctx.db, SAMPLE / "us_daily" / "AAPL.csv", "AAPL", "1d", "XNAS")
    aapl_close = float(pd.read_csv(SAMPLE / "us_daily" / "AAPL.csv").iloc[-1]["close"])
    h = auth_headers("trader")
    for symbol, side in (("005930", "buy"), ("AAPL", "buy"), ("AAPL", "sell")):
        body = {"symbol": symbol, "side": side, "quantity": 10, "type": "market"}
        r = client.post("/api/v1/orders", headers=h, json=body)
        assert r.json()["status"] == "filled", r.json()
        if symbol == "AAPL":  # the US preset: no slippage, at the close in USD
            assert r.json()["average_fill_price"] == pytest.approx(aapl_close, rel=1e-12)
    rows = client.get("/api/v1/positions?include_flat=true", headers=h).json()
    positions = {p["symbol"]: p for p in rows}
    # The shared account's spec is KRX: 005930 pays its 0.015% commission; AAPL, a US stock,
    # pays the US preset's costs (commission-free) and no KRX sell tax on its sale.
    samsung = positions["005930"]
    assert samsung["fees"] == pytest.approx(0.00015 * 10 * samsung["average_price"], rel=1e-9)
    assert positions["AAPL"]["quantity"] == 0 and positions["AAPL"]["fees"] == 0.0


def test_replayed_paper_session_streams_and_matches_the_backtest(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    h = auth_headers("trader")
    params = {"fast": 5, "slow": 20}
    sid = client.post(
        "/api/v1/strategies",
        headers=h,
        json={
            "name": "samsung-x",
            "strategy_class": "sma_cross",
            "parameters": params,
            "symbols": ["005930"],
            "timeframe": "1d",
        },
    ).json()["id"]

    token = login(client, "viewer")["access_token"]
    seen: dict[str, int] = {"bars:005930": 0, "orders": 0, "positions": 0}
    with client.websocket_connect(f"/ws?token={token}") as ws:
        ws.receive_json()
        ws.send_json({"action": "subscribe", "topics": list(seen)})
        ws.receive_json()
        r = client.post(
            f"/api/v1/strategies/{sid}/start",
            headers=h,
            json={"kind": "replay", "speed": 20_000_000},
        )
        assert r.status_code == 200 and r.json()["state"] == "running"
        assert client.post(f"/api/v1/strategies/{sid}/start", headers=h).status_code == 409
        while seen["bars:005930"] < 100:
            msg = ws.receive_json()
            if msg["type"] == "event":
                seen[msg["topic"]] += 1
        # While it runs, its orders are visible through the API.
        assert client.get(f"/api/v1/orders?strategy_id={sid}", headers=h).json()["total"] > 0
    deadline = time.time() + 60
    while client.get(f"/api/v1/strategies/{sid}", headers=h).json()["state"] == "running":
        assert time.time() < deadline
        time.sleep(0.2)
    assert seen["orders"] > 0 and seen["positions"] > 0
    state = client.get(f"/api/v1/strategies/{sid}", headers=h).json()
    assert state["state"] == "stopped" and state["runtime_state"]["runner"]["bars_seen"] == 370

    frame = pd.read_csv(SAMPLE / "kr_daily" / "005930.csv", index_col=0)
    frame.index = pd.to_datetime(frame.index, utc=True)
    config = paper_config(ctx.settings)
    expected = run_backtest(
        create_strategy("sma_cross", params), frame.astype(float), config, symbol="005930"
    ).fills
    orders = client.get(
        f"/api/v1/orders?strategy_id={sid}&status=filled&limit=500", headers=h
    ).json()["items"]
    fills = []
    for o in sorted(orders, key=lambda o: o["id"]):
        fills += client.get(f"/api/v1/orders/{o['id']}", headers=h).json()["fills"]
    assert len(fills) == len(expected) > 4
    assert [pd.Timestamp(f["ts"]) for f in fills] == list(expected["ts"])
    signed = [(1 if f["side"] == "buy" else -1) * f["quantity"] for f in fills]
    np.testing.assert_allclose(signed, expected["quantity"])
    np.testing.assert_allclose([f["price"] for f in fills], expected["price"])
    np.testing.assert_allclose([f["fee"] for f in fills], expected["fee"])
    positions = client.get(
        "/api/v1/positions?account=paper:samsung-x&include_flat=true", headers=h
    ).json()
    assert positions[0]["quantity"] == float(expected["quantity"].sum())


def test_market_endpoints_serve_imported_bars(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    h = auth_headers("viewer")
    assert client.get("/api/v1/market/bars?symbol=005930", headers=h).status_code == 404
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    symbols = client.get("/api/v1/market/symbols", headers=h).json()
    assert [(s["exchange"], s["symbol"], s["currency"]) for s in symbols] == [
        ("XKRX", "005930", "KRW")
    ]
    frame = pd.read_csv(SAMPLE / "kr_daily" / "005930.csv")
    page = client.get("/api/v1/market/bars?symbol=005930&timeframe=1d&limit=300", headers=h).json()
    rest = client.get(
        "/api/v1/market/bars",
        params={"symbol": "005930", "timeframe": "1d", "limit": 300, "after": page["next_after"]},
        headers=h,
    ).json()
    assert rest["next_after"] is None
    rows = page["items"] + rest["items"]
    assert len(rows) == len(frame) == 370
    assert [r["close"] for r in rows] == frame["close"].astype(float).tolist()
    assert client.get("/api/v1/market/bars?symbol=005930&limit=0", headers=h).status_code == 422
    assert (
        client.get("/api/v1/market/bars?symbol=005930&start=yesterday", headers=h).status_code
        == 422
    )


def test_backtest_api_runs_in_the_background_and_stores_the_result(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    h = auth_headers("trader")
    body = {
        "strategy": "sma_cross",
        "params": {"fast": 10, "slow": 20},
        "symbols": ["005930"],
        "timeframe": "1d",
        "cash": 10_000_000,
        "commission": 0.002,
    }
    assert (
        client.post("/api/v1/backtests", headers=auth_headers("viewer"), json=body).status_code
        == 403
    )
    bad = client.post("/api/v1/backtests", headers=h, json={**body, "strategy": "nope"})
    assert bad.status_code == 422
    bad = client.post(
        "/api/v1/backtests", headers=h, json={**body, "params": {"fast": 30, "slow": 20}}
    )
    assert bad.status_code == 422
    r = client.post("/api/v1/backtests", headers=h, json=body)
    assert r.status_code == 202
    run_id = r.json()["id"]
    deadline = time.time() + 60
    while (run := client.get(f"/api/v1/backtests/{run_id}", headers=h).json())["status"] not in (
        "done",
        "failed",
    ):
        assert time.time() < deadline
        time.sleep(0.1)
    assert run["status"] == "done", run["error"]
    frame = pd.read_csv(SAMPLE / "kr_daily" / "005930.csv", index_col=0)
    frame.index = pd.to_datetime(frame.index, utc=True)
    from qts.backtest.config import BacktestConfig

    expected = run_backtest(
        create_strategy("sma_cross", {"fast": 10, "slow": 20}),
        {"005930": frame.astype(float)},
        # The request left the sell tax to the KRX preset (dated).
        BacktestConfig(cash=10_000_000, commission=0.002, timeframe="1d"),
    )
    assert run["metrics"]["final_equity"] == expected.metrics["final_equity"]
    assert len(run["result"]["trades"]) == len(expected.trades)
    assert client.get("/api/v1/backtests", headers=h).json()["total"] == 1
    missing = client.post(
        "/api/v1/backtests", headers=h, json={**body, "symbols": ["999999"]}
    ).json()
    while (m := client.get(f"/api/v1/backtests/{missing['id']}", headers=h).json())["status"] in (
        "queued",
        "running",
    ):
        time.sleep(0.1)
    assert m["status"] == "failed" and "no 1d bars stored for 999999" in m["error"]
    catalog = {c["name"] for c in client.get("/api/v1/strategies-catalog", headers=h).json()}
    assert {"sma_cross", "ts_momentum", "rsi_reversion", "bollinger_zscore"} <= catalog
