"""Helpers shared by API tests."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient


def finished_backtest_run(
    client: TestClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """Submit a backtest and return the stored run once it is done or failed."""
    r = client.post("/api/v1/backtests", headers=headers, json=body)
    assert r.status_code == 202, r.text
    deadline = time.time() + 60
    while (run := client.get(f"/api/v1/backtests/{r.json()['id']}", headers=headers).json())[
        "status"
    ] not in ("done", "failed"):
        assert time.time() < deadline
        time.sleep(0.1)
    return run  # type: ignore[no-any-return]


def backtest_through_api(
    client: TestClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """Submit a backtest, wait until it finishes, and return its stored result."""
    run = finished_backtest_run(client, headers, body)
    assert run["status"] == "done", run["error"]
    return run["result"]  # type: ignore[no-any-return]
