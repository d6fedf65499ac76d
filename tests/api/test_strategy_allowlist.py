"""Strategy classes from the API come from the registry or an allowed package, decided before
any import (issue 14, defect 8: `this:X`, `os:system` were imported, then refused)."""

from __future__ import annotations

import sys

from fastapi.testclient import TestClient

BODY = {"name": "s1", "symbols": ["005930"], "timeframe": "1d", "parameters": {}}


def test_module_outside_allowed_packages_is_refused_without_import(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    h = auth_headers("trader")
    # `antigravity` opens a web browser on import and nothing in qts imports it.
    assert "antigravity" not in sys.modules
    for spec in ("antigravity:Strategy", "os:system", "subprocess:Popen"):
        r = client.post("/api/v1/strategies", headers=h, json={**BODY, "strategy_class": spec})
        assert r.status_code == 422, r.text
        assert "not in an allowed package" in r.json()["error"]["message"]
        r = client.post(
            "/api/v1/backtests",
            headers=h,
            json={"strategy": spec, "symbols": ["005930"], "timeframe": "1d"},
        )
        assert r.status_code == 422, r.text
    assert "antigravity" not in sys.modules
    created = client.post(
        "/api/v1/strategies", headers=h, json={**BODY, "strategy_class": "sma_cross"}
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    r = client.patch(
        f"/api/v1/strategies/{sid}", headers=h, json={"strategy_class": "antigravity:Strategy"}
    )
    assert r.status_code == 422
    assert "antigravity" not in sys.modules
    # Our own package's classes stay reachable as module:Class.
    r = client.patch(
        f"/api/v1/strategies/{sid}",
        headers=h,
        json={"strategy_class": "qts.strategies.builtin:SmaCross"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["strategy_class"] == "qts.strategies.builtin:SmaCross"
