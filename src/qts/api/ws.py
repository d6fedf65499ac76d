"""`/ws`: authenticated WebSocket where clients subscribe to event-bus topics.

Authenticate with a first message `{"action": "auth", "token": "<access token>"}`, which keeps
the token out of URLs. `?token=` still works for older clients; the server's logs redact it
(qts.api.access_log), but proxies in between may log it. Then send
`{"action": "subscribe" | "unsubscribe", "topics": [...]}` or `{"action": "ping"}`.
Events arrive as `{"type": "event", "topic", "data", "ts"}`. Topics: orders, fills, positions,
accounts, system, jobs, backtests, optimizations, signals, bars:<symbol> (or bars:*),
training:<run id>, predictions:<model>.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from qts.core.errors import AuthenticationError
from qts.events import Event, Subscription
from qts.services.auth.schemas import UserRecord

router = APIRouter()

TOPIC_RE = re.compile(
    r"^(orders|fills|positions|accounts|system|jobs|backtests|optimizations|signals"
    r"|bars:[^\s]{1,64}|bars:\*|training:[\w*-]{1,64}|predictions:[\w.*-]{1,128})$"
)
AUTH_TIMEOUT_S = 10
POLICY_VIOLATION = 1008


async def _authenticate(ws: WebSocket) -> UserRecord:
    auth = ws.app.state.auth
    token = ws.query_params.get("token")
    if not token:
        msg = await asyncio.wait_for(ws.receive_json(), AUTH_TIMEOUT_S)
        if not isinstance(msg, dict) or msg.get("action") != "auth":
            raise AuthenticationError("first message must be an auth message")
        token = str(msg.get("token", ""))
    user: UserRecord = await asyncio.to_thread(auth.current_user, token)
    return user


async def _pump(ws: WebSocket, sub: Subscription) -> None:
    while True:
        event: Event = await sub.queue.get()
        await ws.send_json(
            {"type": "event", "topic": event.topic, "data": event.data, "ts": event.ts}
        )


def _topics(msg: dict[str, Any]) -> list[str]:
    topics = msg.get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ValueError("topics must be a list of strings")
    bad = [t for t in topics if not TOPIC_RE.match(t)]
    if bad:
        raise ValueError(f"unknown topics: {', '.join(bad)}")
    return topics


@router.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    try:
        user = await _authenticate(ws)
    except (
        AuthenticationError,
        TimeoutError,
        WebSocketDisconnect,
        ValueError,
        json.JSONDecodeError,
    ):
        with contextlib.suppress(Exception):
            await ws.send_json(
                {
                    "type": "error",
                    "error": {"code": "unauthorized", "message": "authentication failed"},
                }
            )
            await ws.close(code=POLICY_VIOLATION)
        return
    bus = ws.app.state.ctx.bus
    sub = await bus.subscribe([])
    pump = asyncio.create_task(_pump(ws, sub))
    await ws.send_json({"type": "welcome", "user": user.username, "role": user.role})
    try:
        while True:
            try:
                msg = await ws.receive_json()
            except (json.JSONDecodeError, KeyError):
                await ws.send_json(
                    {
                        "type": "error",
                        "error": {
                            "code": "bad_request",
                            "message": "messages must be JSON objects",
                        },
                    }
                )
                continue
            action = msg.get("action") if isinstance(msg, dict) else None
            try:
                if action == "subscribe":
                    await sub.add_topics(_topics(msg))
                    await ws.send_json({"type": "subscribed", "topics": sorted(sub.topics)})
                elif action == "unsubscribe":
                    await sub.remove_topics(_topics(msg))
                    await ws.send_json({"type": "subscribed", "topics": sorted(sub.topics)})
                elif action == "ping":
                    await ws.send_json({"type": "pong"})
                else:
                    raise ValueError("action must be subscribe, unsubscribe or ping")
            except ValueError as e:
                await ws.send_json(
                    {"type": "error", "error": {"code": "bad_request", "message": str(e)}}
                )
    except WebSocketDisconnect:
        pass
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
        await sub.close()
