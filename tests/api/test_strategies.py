from __future__ import annotations

from fastapi.testclient import TestClient

BODY = {
    "name": "btc-cross",
    "strategy_class": "sma_cross",
    "parameters": {"fast": 10, "slow": 30},
    "symbols": ["BTC/USDT"],
    "timeframe": "1h",
}


def test_strategies_need_a_token(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/strategies")
    assert r.status_code == 401
    assert r.json() == {
        "error": {"code": "unauthorized", "message": "not authenticated", "details": None}
    }
    r = client.get("/api/v1/strategies", headers=auth_headers("viewer"))
    assert r.status_code == 200
    assert r.json()["items"] == []


def test_viewer_cannot_change_anything(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/strategies", headers=auth_headers("viewer"), json=BODY)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    listed = client.get("/api/v1/strategies", headers=auth_headers("viewer")).json()
    assert listed["total"] == 0


def test_strategy_crud(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    h = auth_headers("trader")
    r = client.post("/api/v1/strategies", headers=h, json=BODY)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["state"] == "stopped"
    assert created["created_by"] == "trader"
    sid = created["id"]
    assert client.post("/api/v1/strategies", headers=h, json=BODY).status_code == 409

    r = client.patch(
        f"/api/v1/strategies/{sid}", headers=h, json={"parameters": {"fast": 5, "slow": 30}}
    )
    assert r.status_code == 200
    assert r.json()["parameters"]["fast"] == 5
    r = client.get(f"/api/v1/strategies/{sid}", headers=auth_headers("viewer"))
    assert r.json()["parameters"]["fast"] == 5

    listing = client.get("/api/v1/strategies?limit=1", headers=h).json()
    assert listing["total"] == 1 and listing["limit"] == 1

    assert (
        client.delete(f"/api/v1/strategies/{sid}", headers=auth_headers("viewer")).status_code
        == 403
    )
    assert client.delete(f"/api/v1/strategies/{sid}", headers=h).status_code == 204
    r = client.get(f"/api/v1/strategies/{sid}", headers=h)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_bad_input_is_422_in_error_shape_and_stores_nothing(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    h = auth_headers("trader")
    r = client.post(
        "/api/v1/strategies",
        headers={**h, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    r = client.post("/api/v1/strategies", headers=h, json={**BODY, "symbols": "BTC/USDT"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["body", "symbols"]
    r = client.post("/api/v1/strategies", headers=h, json={**BODY, "timeframe": "soon"})
    assert r.status_code == 422
    r = client.post("/api/v1/strategies", headers=h, json={**BODY, "unknown_field": 1})
    assert r.status_code == 422
    r = client.get("/api/v1/strategies?limit=abc", headers=h)
    assert r.status_code == 422
    r = client.get("/api/v1/strategies/not-a-number", headers=h)
    assert r.status_code == 422
    assert client.get("/api/v1/strategies", headers=h).json()["total"] == 0


def test_unknown_class_or_bad_parameters_are_rejected(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    h = auth_headers("trader")
    r = client.post("/api/v1/strategies", headers=h, json={**BODY, "strategy_class": "nope"})
    assert r.status_code == 422 and "unknown strategy" in r.json()["error"]["message"]
    # No loading of arbitrary files on the server through the API.
    r = client.post(
        "/api/v1/strategies", headers=h, json={**BODY, "strategy_class": "/tmp/evil.py:Evil"}
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == [
        "body",
        "strategy_class",
    ]
    r = client.post(
        "/api/v1/strategies", headers=h, json={**BODY, "parameters": {"fast": "ten", "slow": 30}}
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/strategies", headers=h, json={**BODY, "parameters": {"fast": 50, "slow": 20}}
    )
    assert r.status_code == 422
    assert client.get("/api/v1/strategies", headers=h).json()["total"] == 0
    # Defaults are filled in from the declared parameters.
    r = client.post("/api/v1/strategies", headers=h, json={**BODY, "parameters": {}})
    assert r.status_code == 201 and set(r.json()["parameters"]) >= {"fast", "slow"}
