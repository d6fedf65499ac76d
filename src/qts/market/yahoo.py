"""US (and other) stocks from Yahoo Finance's chart JSON API, the endpoint yfinance itself reads.

A thin httpx client of ``GET /v8/finance/chart/<symbol>?period1&period2&interval`` so it can be
pointed at any base URL (tests use a local fake). Daily bars are keyed at 00:00 UTC of the
session date in the exchange's time zone (see `qts.market.files`); intraday bars keep their UTC
open time. ``close`` is Yahoo's split-adjusted close; ``adjclose`` is not applied.
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.market.frames import BAR_COLUMNS, empty_bars, is_daily_or_longer
from qts.market.http_util import USER_AGENT, get_with_retries
from qts.market.network import bad_status

YAHOO_URL = "https://query2.finance.yahoo.com"
INTERVALS = {
    "1m": "1m",
    "2m": "2m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "60m",
    "90m": "90m",
    "1d": "1d",
    "5d": "5d",
    "1w": "1wk",
    "1M": "1mo",
}


class YahooChartProvider:
    def __init__(self, base_url: str = YAHOO_URL, timeout: float = 30.0, **retry: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> pd.DataFrame:
        if timeframe not in INTERVALS:
            raise ValidationError(f"Yahoo has no {timeframe} bars; use one of {list(INTERVALS)}")
        until_ms = until_ms or int(pd.Timestamp.now("UTC").value // 1_000_000)
        params = {
            "period1": since_ms // 1000,
            "period2": until_ms // 1000,
            "interval": INTERVALS[timeframe],
            "includePrePost": "false",
            "events": "div,splits",
        }
        with httpx.Client(timeout=self.timeout, headers={"User-Agent": USER_AGENT}) as client:
            response = get_with_retries(
                client,
                f"{self.base_url}/v8/finance/chart/{symbol}",
                params,
                provider="yahoo",
                **self.retry,
            )
        try:
            payload = response.json()
        except ValueError as exc:
            if response.status_code >= 500:
                raise bad_status("yahoo", str(response.url), response.status_code) from exc
            raise ValidationError(
                f"Yahoo answered HTTP {response.status_code} without JSON"
            ) from exc
        chart = payload.get("chart") or {}
        error = chart.get("error")
        if error or response.status_code != 200:
            message = (error or {}).get("description") or f"HTTP {response.status_code}"
            if response.status_code == 404 or (error or {}).get("code") == "Not Found":
                raise NotFoundError(f"Yahoo: {symbol}: {message}", details=error)
            raise ValidationError(f"Yahoo: {symbol}: {message}", details=error)
        return parse_chart_result(chart["result"][0], timeframe)


def parse_chart_result(result: dict[str, Any], timeframe: str) -> pd.DataFrame:
    stamps = result.get("timestamp") or []
    if not stamps:
        return empty_bars()
    quote = result["indicators"]["quote"][0]
    values = np.array(
        [[np.nan if x is None else float(x) for x in quote[c]] for c in BAR_COLUMNS],
        dtype="float64",
    ).T
    index = pd.to_datetime(np.asarray(stamps, dtype="int64"), unit="s", utc=True)
    if is_daily_or_longer(timeframe):
        tz = result.get("meta", {}).get("exchangeTimezoneName") or "UTC"
        local_dates = index.tz_convert(tz).strftime("%Y-%m-%d")
        index = pd.to_datetime(local_dates, utc=True)
    frame = pd.DataFrame(
        values, index=pd.DatetimeIndex(index).as_unit("ns").rename("ts"), columns=list(BAR_COLUMNS)
    )
    # Yahoo sends null rows for intervals without trades; they are not bars.
    frame = frame.dropna(how="any")
    return frame[~frame.index.duplicated(keep="last")].sort_index()
