"""A small threaded HTTP server base for the fake brokers, with fault injection.

Faults (`inject(kind, count, api=...)`), consumed by the next matching requests:
- "rate_limit": answer with the broker's rate-limit response instead of handling it;
- "server_error": answer HTTP 500 without handling it;
- "hang_after_accept": handle the request (the order is booked), then wait `hang_s` and drop
  the connection without answering: the client cannot know the outcome;
- "drop_before": drop the connection without handling the request;
- "answer": send the scripted `answer` (status, headers, body) without handling the request,
  e.g. a 418 ban with Retry-After or an error JSON. Faults are consumed in the order injected.
`max_per_second` makes the fake enforce a real sliding-window rate limit; `latency_s` (path ->
seconds) delays handling requests to that path, as a slow network or venue would.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Answer = tuple[int, dict[str, str], Any]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    raw_query: str
    raw_body: bytes
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    kind: str
    count: int
    api: str | None
    hang_s: float
    answer: Answer | None = None


FAULT_KINDS = ("rate_limit", "server_error", "hang_after_accept", "drop_before", "answer")


class FakeBrokerServer:
    def __init__(self, *, max_per_second: float | None = None, token_ttl_s: float = 86_400) -> None:
        self.requests: list[Received] = []
        self.faults: list[Fault] = []
        self.latency_s: dict[str, float] = {}
        self.max_per_second = max_per_second
        self.token_ttl_s = token_ttl_s
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.token_requests = 0
        self.rate_limited_count = 0
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    # Lifecycle -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self.httpd is not None, "call start() first"
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBrokerServer:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self) -> FakeBrokerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Faults and tokens -----------------------------------------------------------------------
    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        api: str | None = None,
        hang_s: float = 0.0,
        answer: Answer | None = None,
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if (kind == "answer") != (answer is not None):
            raise ValueError("an `answer` is given with the 'answer' fault, and only with it")
        with self._lock:
            self.faults.append(Fault(kind, count, api, hang_s, answer))

    def issue_token(self) -> tuple[str, float]:
        token = secrets.token_urlsafe(24)
        expires = time.time() + self.token_ttl_s
        with self._lock:
            self.tokens[token] = expires
            self.token_requests += 1
        return token, expires

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as if its 24 hours had passed)."""
        with self._lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def token_ok(self, request: Received) -> bool:
        header = request.headers.get("authorization", "")
        token = header.split(" ", 1)[1] if " " in header else ""
        with self._lock:
            return self.tokens.get(token, 0.0) > time.time()

    def requests_for_path(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def requests_for(self, api: str) -> list[Received]:
        return [r for r in self.requests if self.api_of(r) == api]

    # To override -----------------------------------------------------------------------------
    def api_of(self, request: Received) -> str:
        return request.path

    def handle(self, request: Received) -> Answer:
        raise NotImplementedError

    def rate_limited(self, request: Received) -> Answer:
        raise NotImplementedError

    # Dispatch --------------------------------------------------------------------------------
    def _take_fault(self, request: Received) -> Fault | None:
        api = self.api_of(request)
        with self._lock:
            for fault in self.faults:
                if fault.api is None or fault.api == api:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _over_limit(self) -> bool:
        if self.max_per_second is None:
            return False
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.max_per_second:
                return True
            self._recent.append(now)
        return False

    def dispatch(self, request: Received) -> Answer | None:
        """The answer to send, or None to drop the connection without one."""
        with self._lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None and fault.kind == "drop_before":
            return None
        if (fault is not None and fault.kind == "rate_limit") or self._over_limit():
            self.rate_limited_count += 1
            return self.rate_limited(request)
        if fault is not None and fault.kind == "server_error":
            return 500, {}, {"message": "Internal Server Error"}
        if fault is not None and fault.answer is not None:
            return fault.answer
        if request.path in self.latency_s:
            time.sleep(self.latency_s[request.path])
        answer = self.handle(request)
        if fault is not None and fault.kind == "hang_after_accept":
            time.sleep(fault.hang_s)
            return None
        return answer

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per answer (headers + body): no delayed-ACK stalls
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                body: dict[str, Any] = {}
                if raw:
                    ctype = self.headers.get("Content-Type", "")
                    if "json" in ctype:
                        try:
                            loaded = json.loads(raw)
                            body = loaded if isinstance(loaded, dict) else {}
                        except ValueError:
                            body = {}
                    else:
                        body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
                request = Received(
                    method=self.command,
                    path=parts.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    raw_query=parts.query,
                    raw_body=raw,
                    body=body,
                )
                answer = server.dispatch(request)
                if answer is None:
                    self.close_connection = True
                    return
                status, headers, payload = answer
                raw = isinstance(payload, bytes)  # a non-JSON body (XML, text) as given
                data = payload if raw else json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json;charset=UTF-8")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        return Handler
