from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import login


def _recv_event(ws, topic: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    for _ in range(20):
        msg = ws.receive_json()
        if msg["type"] == "event" and msg["topic"] == topic:
            return msg  # type: ignore[no-any-return]
    raise AssertionError(f"no event on {topic}")


def test_ws_rejects_missing_or_bad_token(client: TestClient) -> None:
    with client.websocket_connect("/ws?token=garbage") as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["error"]["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_ws_subscribes_and_receives_only_its_topics(client: TestClient) -> None:
    token = login(client, "viewer")["access_token"]
    bus = client.app.state.ctx.bus  # type: ignore[attr-defined]
    with client.websocket_connect(f"/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "welcome"
        ws.send_json({"action": "subscribe", "topics": ["orders", "bars:005930"]})
        assert ws.receive_json() == {"type": "subscribed", "topics": ["bars:005930", "orders"]}
        bus.publish("positions", {"symbol": "X"})  # not subscribed
        bus.publish("bars:005930", {"close": 71000})
        bus.publish("orders", {"id": 1, "status": "filled"})
        first = ws.receive_json()
        assert first["topic"] == "bars:005930" and first["data"] == {"close": 71000}
        second = ws.receive_json()
        assert second["topic"] == "orders" and second["data"]["status"] == "filled"
        ws.send_json({"action": "subscribe", "topics": ["no-such-topic"]})
        err = ws.receive_json()
        assert err["type"] == "error" and "unknown topics" in err["error"]["message"]
        ws.send_json({"action": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_ws_auth_by_first_message(client: TestClient) -> None:
    token = login(client, "trader")["access_token"]
    bus = client.app.state.ctx.bus  # type: ignore[attr-defined]
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"action": "auth", "token": token})
        assert ws.receive_json()["user"] == "trader"
        ws.send_json({"action": "subscribe", "topics": ["bars:*"]})
        ws.receive_json()
        bus.publish("bars:BTC/USDT", {"close": 1.0})
        assert _recv_event(ws, "bars:BTC/USDT")["data"] == {"close": 1.0}
