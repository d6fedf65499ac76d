"""Integers in paths and queries beyond what the database holds are a 422, never a 500
(issue 14, defect 5: `/orders/2147483648` was a 500 on PostgreSQL, 2**63 on SQLite)."""

from __future__ import annotations

from fastapi.testclient import TestClient

TOO_BIG = ["2147483648", str(2**63)]


ROUTES = [
    ("GET", "/api/v1/orders/{n}"),
    ("POST", "/api/v1/orders/{n}/cancel"),
    ("GET", "/api/v1/strategies/{n}"),
    ("DELETE", "/api/v1/strategies/{n}"),
    ("POST", "/api/v1/strategies/{n}/stop"),
    ("DELETE", "/api/v1/users/{n}"),
    ("GET", "/api/v1/orders?offset={n}"),
    ("GET", "/api/v1/orders?strategy_id={n}"),
    ("GET", "/api/v1/strategies?offset={n}"),
    ("GET", "/api/v1/backtests?offset={n}"),
    ("GET", "/api/v1/system/jobs?before_id={n}"),
    ("GET", "/api/v1/market/bars?symbol=X&offset={n}"),
]


def test_out_of_range_integers_are_422(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    for method, path in ROUTES:
        for n in TOO_BIG:
            r = client.request(method, path.format(n=n), headers=auth_headers("admin"))
            assert r.status_code == 422, (path, n, r.text)
            assert r.json()["error"]["code"] == "validation_error"
    r = client.get("/api/v1/orders/2147483647", headers=auth_headers("viewer"))
    assert r.status_code == 404  # the largest id the database holds is an ordinary miss


def test_times_pandas_cannot_hold_and_nul_bytes_are_refused(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    h = auth_headers("viewer")
    r = client.get("/api/v1/market/bars?symbol=X&start=0041-10-17T07:47:20Z", headers=h)
    assert r.status_code == 422, r.text
    r = client.get("/api/v1/orders?since=2262-05-01T00:00:00Z", headers=h)
    assert r.status_code == 422, r.text
    # PostgreSQL text cannot hold NUL: a 422 there; SQLite stores it, so just no match.
    r = client.get("/api/v1/ml/predictions?symbol=a%00b", headers=h)
    sqlite = client.app.state.ctx.db.is_sqlite  # type: ignore[attr-defined]
    assert (r.status_code, r.json() if sqlite else r.json()["error"]["code"]) == (
        (200, []) if sqlite else (422, "validation_error")
    )
