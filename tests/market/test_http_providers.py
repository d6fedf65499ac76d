"""Yahoo chart API and Naver chart API (FinanceDataReader's KRX source) against local fakes."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from conftest import SAMPLE
from qts.core.errors import NotFoundError, RateLimitedError
from qts.market.files import load_bars_file
from qts.market.krx import NaverChartProvider
from qts.market.yahoo import YahooChartProvider

GSPC = load_bars_file(SAMPLE / "us_index_daily" / "GSPC.csv").iloc[:40]
SAMSUNG = load_bars_file(SAMPLE / "kr_daily" / "005930.csv").iloc[:40]


class Fake:
    def __init__(self) -> None:
        self.queue: deque[tuple[int, dict[str, str], str]] = deque()
        self.routes: dict[str, Any] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                fake.seen.append((parts.path, query))
                status, headers, body = (
                    fake.queue.popleft()
                    if fake.queue
                    else fake.routes[parts.path.rsplit("/", 1)[0]](parts.path, query)
                )
                raw = body.encode()
                self.send_response(status)
                for k, v in {"Content-Length": str(len(raw)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def fake() -> Iterator[Fake]:
    f = Fake()
    yield f
    f.server.shutdown()
    f.server.server_close()


def yahoo_chart(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
    symbol = path.rsplit("/", 1)[1]
    if symbol != "^GSPC":
        body = {
            "chart": {
                "result": None,
                "error": {
                    "code": "Not Found",
                    "description": "No data found, symbol may be delisted",
                },
            }
        }
        return 404, {"Content-Type": "application/json"}, json.dumps(body)
    # Yahoo stamps daily bars at the session open, 09:30 New York time
    opens = [
        int((pd.Timestamp(f"{d:%Y-%m-%d} 09:30", tz="America/New_York")).timestamp())
        for d in GSPC.index
    ]
    quote = {c: GSPC[c].tolist() for c in ("open", "high", "low", "close", "volume")}
    opens.append(opens[-1] + 86_400)  # a null row, as Yahoo sends for intervals without data
    for c in quote:
        quote[c].append(None)
    result = {
        "meta": {
            "currency": "USD",
            "symbol": "^GSPC",
            "exchangeTimezoneName": "America/New_York",
            "dataGranularity": query["interval"],
        },
        "timestamp": opens,
        "indicators": {"quote": [quote], "adjclose": [{"adjclose": GSPC["close"].tolist()}]},
    }
    return (
        200,
        {"Content-Type": "application/json"},
        json.dumps({"chart": {"result": [result], "error": None}}),
    )


def naver_sise(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
    lines = ["[['날짜', '시가', '고가', '저가', '종가', '거래량', '외국인소진율'],"]
    for d, r in SAMSUNG.iterrows():
        lines.append(
            f'["{d:%Y%m%d}", {r.open:.0f}, {r.high:.0f}, {r.low:.0f}, '
            f"{r.close:.0f}, {r.volume:.0f}, 55.1],"
        )
    text = "\n " + "\n".join(lines).rstrip(",") + "\n]\n"
    return 200, {"Content-Type": "text/plain;charset=utf-8"}, text


def test_yahoo_daily_keyed_at_session_date(fake: Fake) -> None:
    fake.routes["/v8/finance/chart"] = yahoo_chart
    fake.queue.append((429, {"Retry-After": "2"}, "Too Many Requests"))
    waits: list[float] = []
    bars = YahooChartProvider(fake.url, sleep=waits.append).fetch("^GSPC", "1d", 915_000_000_000)
    pd.testing.assert_frame_equal(bars, GSPC, check_freq=False)
    assert waits == [2.0]
    assert fake.seen[-1][1]["interval"] == "1d" and fake.seen[-1][1]["period1"] == "915000000"
    with pytest.raises(NotFoundError, match="delisted"):
        YahooChartProvider(fake.url).fetch("NOPE", "1d", 0)
    fake.queue.extend([(429, {}, "slow down")] * 3)
    with pytest.raises(RateLimitedError):
        YahooChartProvider(fake.url, max_retries=2, sleep=lambda s: None).fetch("^GSPC", "1d", 0)


def test_naver_krx_daily(fake: Fake) -> None:
    fake.routes[""] = naver_sise
    bars = NaverChartProvider(fake.url).fetch("005930", "1d", 1_700_000_000_000, 1_710_000_000_000)
    pd.testing.assert_frame_equal(bars, SAMSUNG, check_freq=False)
    path, query = fake.seen[-1]
    assert path == "/siseJson.naver" and query["symbol"] == "005930" and query["timeframe"] == "day"
    assert (query["startTime"], query["endTime"]) == ("20231114", "20240309")
