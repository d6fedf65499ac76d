"""Request bodies over the limit get 413 before they are read (issue 14, defect 4)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient

CHUNK = 64 * 1024
LIMIT = 1024 * 1024


def test_large_json_body_without_token_is_413_in_error_shape(sqlite_client: TestClient) -> None:
    body = b'{"symbol": "' + b"A" * (2 * LIMIT) + b'"}'
    r = sqlite_client.post(
        "/api/v1/orders", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert r.json()["error"]["details"] == {"limit_bytes": LIMIT}


def test_small_body_still_reaches_the_route(sqlite_client: TestClient) -> None:
    r = sqlite_client.post("/api/v1/orders", json={"symbol": "X"})
    assert r.status_code == 401  # passed the limit; refused for the missing token


def _run_asgi(app: Any, headers: list[tuple[bytes, bytes]], chunks: int) -> tuple[int, int]:
    """Feed a POST body in 64 KiB chunks; returns (status, chunks the server pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        more = pulled < chunks
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/orders",
        "raw_path": b"/api/v1/orders",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
        "state": {},
        "app": app,
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    return start["status"], pulled


def test_declared_length_over_limit_is_refused_without_reading_a_byte(
    sqlite_client: TestClient,
) -> None:
    size = 200 * LIMIT  # 200 MiB announced
    status, pulled = _run_asgi(sqlite_client.app, [(b"content-length", str(size).encode())], 3200)
    assert status == 413
    assert pulled == 0


def test_streamed_body_is_cut_at_the_limit_not_buffered(sqlite_client: TestClient) -> None:
    # 200 MiB sent chunked (no Content-Length): the server stops pulling just past 1 MiB.
    status, pulled = _run_asgi(sqlite_client.app, [], 3200)
    assert status == 413
    assert pulled <= LIMIT // CHUNK + 1
