"""Optimisation runs through the API: a grid search and a walk-forward Optuna search on stored
bars, in the background with progress, listed newest first; bad requests refused up front."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qts.services.data.market_data import import_file
from tests.api.conftest import login

AAPL = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data" / "us_daily" / "AAPL.csv"
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def finished(client: TestClient, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    deadline = time.time() + 120
    while (run := client.get(f"/api/v1/optimizations/{run_id}", headers=headers).json())[
        "status"
    ] not in ("done", "failed"):
        assert time.time() < deadline
        time.sleep(0.1)
    return run  # type: ignore[no-any-return]


def test_grid_and_walk_forward_searches(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    import_file(client.app.state.ctx.db, AAPL, "AAPL", "1d")  # type: ignore[attr-defined]
    h = auth_headers("trader")
    grid = {"fast": [5, 10], "slow": [20, 40]}
    token = login(client, "viewer")["access_token"]
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"action": "auth", "token": token})
        ws.receive_json()
        ws.send_json({"action": "subscribe", "topics": ["optimizations"]})
        ws.receive_json()
        r = client.post(
            "/api/v1/optimizations",
            headers=h,
            json={"strategy": "sma_cross", "symbols": ["AAPL"], "grid": grid},
        )
        assert r.status_code == 202, r.text
        queued = r.json()
        assert queued["status"] in ("queued", "running") and queued["trials_total"] is None
        statuses = []
        while statuses[-1:] != ["done"]:
            msg = ws.receive_json()
            if msg["type"] == "event" and msg["data"]["id"] == queued["id"]:
                statuses.append(msg["data"]["status"])
            assert "failed" not in statuses
    run = finished(client, h, queued["id"])
    search = run["result"]["in_sample"]
    assert run["trials_done"] == run["trials_total"] == 4
    assert {(t["params"]["fast"], t["params"]["slow"]) for t in search["trials"]} == {
        (5, 20), (5, 40), (10, 20), (10, 40)
    }  # fmt: skip
    best = max(search["trials"], key=lambda t: t["score"])
    assert search["best_params"] == best["params"] and search["best_score"] == best["score"]
    assert run["request"]["grid"] == grid and run["result"]["walk_forward"] is None

    r = client.post(
        "/api/v1/optimizations",
        headers=h,
        json={"strategy": "sma_cross", "symbols": ["AAPL"], "method": "optuna", "trials": 3,
              "folds": 2, "seed": 3, "objective": "total_return"},
    )  # fmt: skip
    assert r.status_code == 202 and r.json()["trials_total"] == 6
    wf = finished(client, h, r.json()["id"])
    assert wf["status"] == "done", wf["error"]
    folds = wf["result"]["walk_forward"]["folds"]
    assert [f["fold"] for f in folds] == [0, 1] and wf["trials_done"] == 6
    assert folds[0]["test_end"] < folds[1]["test_start"]
    assert wf["result"]["walk_forward"]["objective"] == "total_return"

    page = client.get("/api/v1/optimizations", headers=auth_headers("viewer")).json()
    assert page["total"] == 2 and [i["id"] for i in page["items"]] == [wf["id"], run["id"]]
    assert all(i["result"] is None for i in page["items"])  # listings leave results out
    done = client.get("/api/v1/optimizations?status=failed", headers=h).json()
    assert done["total"] == 0 and done["items"] == []


def test_bad_searches_are_refused_with_nothing_stored(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    import_file(client.app.state.ctx.db, AAPL, "AAPL", "1d")  # type: ignore[attr-defined]
    h = auth_headers("trader")
    body = {"strategy": "sma_cross", "symbols": ["AAPL"]}
    cases = [
        ({**body, "grid": {"nope": [1, 2]}}, 422, "nope"),
        ({**body, "strategy": "no_such"}, 422, "unknown strategy"),
        ({**body, "strategy": "evil.py:X"}, 422, "command line"),
        ({**body, "symbols": ["ZZZZ"]}, 404, "ZZZZ"),
        ({**body, "method": "random"}, 422, "method"),
        ({**body, "trials": 0}, 422, "trials"),
        ({**body, "folds": 11}, 422, "folds"),
    ]
    for payload, code, text in cases:
        r = client.post("/api/v1/optimizations", headers=h, json=payload)
        assert r.status_code == code and text in r.text, (payload, r.text)
    viewer = client.post("/api/v1/optimizations", headers=auth_headers("viewer"), json=body)
    assert viewer.status_code == 403
    assert client.get("/api/v1/optimizations", headers=h).json()["total"] == 0
    assert client.get("/api/v1/optimizations/nope", headers=h).status_code == 404
