from __future__ import annotations

import json

from fastapi.testclient import TestClient

import qts


def test_health_and_ready_are_public(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = client.get("/ready")
    assert r.status_code == 200
    assert r.json()["checks"]["database"]["ok"] is True


def test_system_status_shows_mode_and_no_secret(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/system").status_code == 401
    r = client.get("/api/v1/system", headers=auth_headers("viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == qts.__version__
    assert body["mode"] == "embedded"
    assert body["components"]["database"]["ok"] is True
    text = json.dumps(body)
    assert "test-secret" not in text
    assert "postgres@" not in text and "qts.db" not in text


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/auth/login" in spec["paths"]
    assert "/api/v1/strategies" in spec["paths"]


def test_unknown_route_is_404_in_error_shape(client: TestClient) -> None:
    r = client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    r = client.put("/health")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
