"""Local fake Slack incoming-webhook and Telegram Bot API servers (127.0.0.1, port 0).

They answer as the real services document: Slack returns `ok` (text/plain, 200), 429 with a
Retry-After header when rate-limited, 404 `no_service` for an unknown hook; Telegram returns
`{"ok": true, "result": {...Message...}}`, and errors as `{"ok": false, "error_code": N,
"description": ...}` with `parameters.retry_after` for 429.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    at: float


@dataclass
class FakeServer:
    """Records every request; `script` holds (status, headers, body) answers to give first."""

    kind: str
    secret_path: str
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def texts(self) -> list[str]:
        with self.lock:
            return [r.body.get("text", "") for r in self.requests]

    def start(self) -> FakeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with server.lock:
                    scripted = server.script.pop(0) if server.script else None
                    server.requests.append(Received(self.path, body, time.monotonic()))
                status, headers, payload = scripted or server.answer(self.path, body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if self.kind == "slack":
            if path != self.secret_path:
                return 404, {"Content-Type": "text/plain"}, b"no_service"
            if not body.get("text"):
                return 400, {"Content-Type": "text/plain"}, b"no_text"
            return 200, {"Content-Type": "text/plain"}, b"ok"
        js = {"Content-Type": "application/json"}
        if path != self.secret_path:
            return 401, js, b'{"ok":false,"error_code":401,"description":"Unauthorized"}'
        if str(body.get("chat_id")) != "4242":
            return (
                400,
                js,
                b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}',
            )
        result = {
            "ok": True,
            "result": {
                "message_id": len(self.requests),
                "from": {"id": 1, "is_bot": True, "first_name": "qts", "username": "qts_bot"},
                "chat": {"id": 4242, "type": "private", "first_name": "Trader"},
                "date": int(time.time()),
                "text": body.get("text", ""),
            },
        }
        return 200, js, json.dumps(result).encode()


SLACK_429 = (429, {"Content-Type": "text/plain", "Retry-After": "1"}, b"rate_limited")
TELEGRAM_429 = (
    429,
    {"Content-Type": "application/json"},
    b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1",'
    b'"parameters":{"retry_after":1}}',
)
