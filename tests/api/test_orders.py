from __future__ import annotations

from fastapi.testclient import TestClient

from qts.db.models import Order, Position


def _seed(client: TestClient) -> list[int]:
    db = client.app.state.ctx.db  # type: ignore[attr-defined]
    ids = []
    with db.session() as s:
        for i, (symbol, side, status) in enumerate(
            [
                ("005930", "buy", "filled"),
                ("005930", "sell", "submitted"),
                ("BTC/USDT", "buy", "new"),
            ]
        ):
            o = Order(
                client_order_id=f"qts-{i}", symbol=symbol, side=side, quantity=1 + i, status=status
            )
            s.add(o)
            s.flush()
            ids.append(o.id)
        s.add(
            Position(
                account="paper", symbol="005930", quantity=10, average_price=70000, last_price=71000
            )
        )
    return ids


def test_list_filter_page_get_and_cancel(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(client)
    v = auth_headers("viewer")
    page = client.get("/api/v1/orders", headers=v).json()
    assert page["total"] == 3 and len(page["items"]) == 3
    page = client.get("/api/v1/orders?symbol=005930&limit=1", headers=v).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    page = client.get("/api/v1/orders?status=new&status=submitted", headers=v).json()
    assert sorted(o["status"] for o in page["items"]) == ["new", "submitted"]
    assert client.get("/api/v1/orders?status=bogus", headers=v).status_code == 422

    assert client.post(f"/api/v1/orders/{ids[1]}/cancel", headers=v).status_code == 403
    r = client.post(f"/api/v1/orders/{ids[1]}/cancel", headers=auth_headers("trader"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    detail = client.get(f"/api/v1/orders/{ids[1]}", headers=v).json()
    assert detail["events"][-1]["from_status"] == "submitted"
    assert detail["events"][-1]["to_status"] == "cancelled"
    # A filled order cannot be cancelled, and the refusal changes nothing.
    r = client.post(f"/api/v1/orders/{ids[0]}/cancel", headers=auth_headers("trader"))
    assert r.status_code == 409
    assert client.get(f"/api/v1/orders/{ids[0]}", headers=v).json()["status"] == "filled"
    assert client.get("/api/v1/orders/999999", headers=v).status_code == 404

    positions = client.get("/api/v1/positions", headers=v).json()
    assert positions[0]["symbol"] == "005930"
    assert positions[0]["unrealized_pnl"] == 10000
