"""Korean stocks (KRX) from Naver Finance's chart API, the source FinanceDataReader reads for
KRX prices: ``GET /siseJson.naver?symbol=005930&requestType=1&startTime=YYYYMMDD&endTime=...&
timeframe=day``. The answer is a JavaScript array whose first row is the Korean header
(날짜, 시가, 고가, 저가, 종가, 거래량, 외국인소진율). Daily bars are keyed at 00:00 UTC of the
trading date; prices are KRW and not adjusted.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.market.frames import BAR_COLUMNS, empty_bars
from qts.market.http_util import USER_AGENT, get_with_retries
from qts.market.network import bad_status

NAVER_URL = "https://api.finance.naver.com"
TIMEFRAMES = {"1d": "day", "1w": "week", "1M": "month"}


class NaverChartProvider:
    def __init__(self, base_url: str = NAVER_URL, timeout: float = 30.0, **retry: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> pd.DataFrame:
        if timeframe not in TIMEFRAMES:
            raise ValidationError(f"KRX prices are daily/weekly/monthly, not {timeframe}")
        end = pd.Timestamp(until_ms, unit="ms", tz="UTC") if until_ms else pd.Timestamp.now("UTC")
        params = {
            "symbol": symbol,
            "requestType": 1,
            "startTime": pd.Timestamp(since_ms, unit="ms", tz="UTC").strftime("%Y%m%d"),
            "endTime": end.strftime("%Y%m%d"),
            "timeframe": TIMEFRAMES[timeframe],
        }
        with httpx.Client(timeout=self.timeout, headers={"User-Agent": USER_AGENT}) as client:
            response = get_with_retries(
                client, f"{self.base_url}/siseJson.naver", params, provider="krx", **self.retry
            )
        if response.status_code >= 500:
            raise bad_status("krx", str(response.url), response.status_code)
        if response.status_code != 200:
            raise ValidationError(f"Naver chart API: HTTP {response.status_code} for {symbol}")
        return parse_sise_json(response.text, symbol)


def parse_sise_json(text: str, symbol: str) -> pd.DataFrame:
    try:
        rows = json.loads(text.strip().replace("'", '"'))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"Naver chart API: unreadable answer for {symbol}") from exc
    if not rows or len(rows) < 2:
        if rows and len(rows) == 1:
            raise NotFoundError(f"Naver chart API: no prices for {symbol}")
        return empty_bars()
    header = [str(h).strip() for h in rows[0]]
    table = pd.DataFrame(rows[1:], columns=header)
    mapping = {
        "날짜": "ts",
        "시가": "open",
        "고가": "high",
        "저가": "low",
        "종가": "close",
        "거래량": "volume",
    }
    table = table.rename(columns=mapping)
    if not set(mapping.values()) <= set(table.columns):
        raise ValidationError(f"Naver chart API: unexpected columns {header}")
    index = pd.to_datetime(table["ts"].astype(str).str.strip(), format="%Y%m%d", utc=True)
    frame = table[list(BAR_COLUMNS)].astype("float64")
    frame.index = pd.DatetimeIndex(index).as_unit("ns").rename("ts")
    return frame.sort_index()
