"""A paper session of `ml_signal` started through the API: its orders name the model version
that decided them, its predictions are stored in `ml_predictions` and stream on `/ws`
(`predictions:<model>` and `signals`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qts.db.models import Prediction
from qts.ml.inference import fit_in_memory
from qts.ml.samples import load_bars
from qts.services.data.market_data import import_file
from qts.services.ml.model_service import registry
from tests.api.conftest import login
from tests.api.helpers import finished_backtest_run

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data" / "kr_daily"
SYMBOLS = ["005930", "000660"]
MODEL = "tiny-krx2"


def _register_tiny_model(ctx) -> None:  # type: ignore[no-untyped-def]
    model, recipe = fit_in_memory(
        "lightgbm", load_bars(SYMBOLS, "1d"), end="2025-01-31",
        overrides={"epochs": 30, "num_threads": 1},
    )  # fmt: skip
    reg = registry(ctx)
    with reg.start_run("qts-training") as run:
        uri = reg.log_model(run.run_id, model, np.zeros((5, len(recipe.columns))), recipe=recipe)
    version = reg.register(uri, MODEL, run.run_id, tags=recipe.tags())
    reg.promote(MODEL, version, "production", who="test")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ml_signal_paper_session_orders_name_the_model_and_predictions_stream(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    for symbol in SYMBOLS:
        import_file(ctx.db, SAMPLE / f"{symbol}.csv", symbol, "1d")
    _register_tiny_model(ctx)
    h = auth_headers("trader")
    sid = client.post("/api/v1/strategies", headers=h, json={
        "name": "ml-krx2", "strategy_class": "ml_signal", "symbols": SYMBOLS, "timeframe": "1d",
        "parameters": {"model": f"{MODEL}@production", "enter": 0.0, "exit": -0.0002},
    }).json()["id"]  # fmt: skip
    token = login(client, "viewer")["access_token"]
    seen: dict[str, list[dict]] = {"orders": [], f"predictions:{MODEL}": [], "signals": []}
    with client.websocket_connect(f"/ws?token={token}") as ws:
        ws.receive_json()
        ws.send_json({"action": "subscribe", "topics": list(seen)})
        assert ws.receive_json()["type"] == "subscribed"
        r = client.post(f"/api/v1/strategies/{sid}/start", headers=h,
                        json={"kind": "replay", "start": "2025-05-02"})  # fmt: skip
        assert r.status_code == 200, r.text
        while len(seen[f"predictions:{MODEL}"]) < 2 * 20 or not seen["orders"]:
            msg = ws.receive_json()
            if msg["type"] == "event":
                seen[msg["topic"]].append(msg["data"])
    deadline = time.time() + 120
    while client.get(f"/api/v1/strategies/{sid}", headers=h).json()["state"] == "running":
        assert time.time() < deadline
        time.sleep(0.2)
    state = client.get(f"/api/v1/strategies/{sid}", headers=h).json()
    assert state["state"] == "stopped", state

    first = seen[f"predictions:{MODEL}"][0]
    assert first["model"] == MODEL and first["version"] == "1" and first["ts"] >= "2025-05-02"
    assert first["signal"]["label"] in ("buy", "sell", "hold") and first["latency_ms"] > 0
    assert seen["signals"][0] == first
    orders = client.get(f"/api/v1/orders?strategy_id={sid}&limit=500", headers=h).json()["items"]
    assert orders and all(
        o["meta"]["model"] == MODEL and o["meta"]["model_version"] == "1" for o in orders
    )
    bars = state["runtime_state"]["runner"]["bars_seen"]
    with ctx.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(Prediction)
                          .where(Prediction.model_name == MODEL, Prediction.model_version == 1))  # fmt: skip
    assert bars >= 20 and stored == bars * len(SYMBOLS)


def _backtest(client: TestClient, h: dict, start: str) -> dict:  # type: ignore[type-arg]
    body = {"strategy": "ml_topk", "symbols": SYMBOLS, "timeframe": "1d", "start": start,
            "params": {"model": f"{MODEL}@production", "k": 1}}  # fmt: skip
    return finished_backtest_run(client, h, body)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ml_topk_backtest_through_the_api_is_frozen_after_the_window(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    for symbol in SYMBOLS:
        import_file(ctx.db, SAMPLE / f"{symbol}.csv", symbol, "1d")
    _register_tiny_model(ctx)
    h = auth_headers("trader")
    run = _backtest(client, h, "2025-02-03")
    assert run["status"] == "done", run["error"]
    model = run["result"]["model"]
    assert model["mode"].startswith("frozen")
    assert model["models"][f"{MODEL}@production"]["model_version"] == "1"
    assert run["result"]["trades"] and run["result"]["start"].startswith("2025-02-03")
    refused = _backtest(client, h, "2025-01-02")
    assert refused["status"] == "failed" and "training window" in refused["error"]
