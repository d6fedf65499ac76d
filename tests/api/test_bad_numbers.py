"""Absurd numbers in orders are refused and store nothing (issue 14, defect 9)."""

from __future__ import annotations

from fastapi.testclient import TestClient

BAD_BODIES = [
    '{"symbol": "005930", "side": "buy", "quantity": 1e308}',
    '{"symbol": "005930", "side": "buy", "quantity": 5e-324}',
    '{"symbol": "005930", "side": "buy", "quantity": 1, "type": "limit", "limit_price": 1e400}',
    '{"symbol": "005930", "side": "buy", "quantity": 1, "reference_price": Infinity}',
    '{"symbol": "005930", "side": "buy", "quantity": 1e9, "type": "limit", "limit_price": 1e9}',
]


def test_absurd_order_numbers_are_422_and_store_nothing(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    h = {**auth_headers("trader"), "content-type": "application/json"}
    for body in BAD_BODIES:
        r = client.post("/api/v1/orders", headers=h, content=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "validation_error"
    listed = client.get("/api/v1/orders", headers=h).json()
    assert listed["total"] == 0
