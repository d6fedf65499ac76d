"""A local stand-in for Binance's public REST API (spot, /api/v3), in its published formats.

Serves `exchangeInfo` and `klines` (array rows, `startTime`/`endTime`/`limit` paging, limit
capped at 1000) from a real bars DataFrame, and can be told to answer the next requests with
429 + Retry-After, 418, or an error JSON such as {"code": -1121, "msg": "Invalid symbol."}.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
from tests.brokers.fakes.binance import exchange_symbol

INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "1h": 3_600_000, "1d": 86_400_000}


def symbol_info(base: str, quote: str) -> dict[str, Any]:
    """One `exchangeInfo` symbol entry, in the same form as the trading fake's."""
    return exchange_symbol(base + quote)


class FakeBinance:
    def __init__(self, bars: dict[str, pd.DataFrame]) -> None:
        """`bars` maps Binance symbol ids (`BTCUSDT`) to 1h bars frames."""
        self.bars = bars
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.scripted: deque[tuple[int, dict[str, str], Any]] = deque()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeBinance:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.scripted.append((status, headers or {}, body))

    def klines_requests(self) -> list[dict[str, str]]:
        return [q for path, q in self.requests if path == "/api/v3/klines"]

    def exchange_info(self) -> dict[str, Any]:
        infos = [symbol_info(s[:-4], s[-4:]) for s in self.bars]
        return {
            "timezone": "UTC",
            "serverTime": 1_760_000_000_000,
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
            ],
            "exchangeFilters": [],
            "symbols": infos,
        }

    def klines(self, query: dict[str, str]) -> tuple[int, Any]:
        symbol = query.get("symbol", "")
        if symbol not in self.bars:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        interval = query.get("interval", "")
        if interval not in INTERVAL_MS:
            return 400, {"code": -1120, "msg": "Invalid interval."}
        step = INTERVAL_MS[interval]
        limit = min(int(query.get("limit", 500)), 1000)
        frame = self.bars[symbol]
        ts = frame.index.as_unit("ms").asi8
        mask = ts >= int(query.get("startTime", 0))
        if "endTime" in query:
            mask &= ts <= int(query["endTime"])
        rows = []
        for t, row in zip(ts[mask][:limit], frame[mask].head(limit).itertuples(), strict=True):
            rows.append(
                [
                    int(t),
                    f"{row.open:.8f}",
                    f"{row.high:.8f}",
                    f"{row.low:.8f}",
                    f"{row.close:.8f}",
                    f"{row.volume:.8f}",
                    int(t) + step - 1,
                    f"{row.volume * row.close:.8f}",
                    100,
                    "0.0",
                    "0.0",
                    "0",
                ]
            )
        return 200, rows

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                fake.requests.append((parts.path, query))
                if parts.path == "/api/v3/klines" and fake.scripted:
                    status, headers, body = fake.scripted.popleft()
                    self._send(status, body, headers)
                elif parts.path == "/api/v3/exchangeInfo":
                    self._send(200, fake.exchange_info())
                elif parts.path == "/api/v3/klines":
                    self._send(*fake.klines(query))
                elif parts.path == "/api/v3/time":
                    self._send(200, {"serverTime": 1_760_000_000_000})
                else:
                    self._send(404, {"code": -1, "msg": f"no route {parts.path}"})

        return Handler
