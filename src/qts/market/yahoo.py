"""US (and other) stocks from Yahoo Finance's chart JSON API, the endpoint yfinance itself reads.

A thin httpx client of ``GET /v8/finance/chart/<symbol>?period1&period2&interval`` so it can be
pointed at any base URL (tests use a local fake). Daily bars are keyed at 00:00 UTC of the
session date in the exchange's time zone (see `qts.market.files`); intraday bars keep their UTC
open time.

Yahoo's quotes (and dividend amounts) are split-adjusted as of the request. `fetch` turns them
back into the raw quotes a broker printed, using the splits Yahoo reports (``events=div,splits``
up to now), and keeps the splits and dividends it saw in `actions`, so they are stored beside the
raw bars (`qts.market.corporate_actions`); ``adjclose`` is not used.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import numpy as np
import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.market.corporate_actions import CorporateAction, split_divisors
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
        self.actions: list[CorporateAction] = []  # of the last `fetch`

    def fetch(
        self,
        symbol: str,
        timeframe: str,
        since_ms: int,
        until_ms: int | None = None,
        *,
        with_actions: bool = True,
    ) -> pd.DataFrame:
        """Raw bars since..until; the splits and dividends since then are left in `actions`
        (`with_actions=False`, for series without any such as FX rates: the quotes as given,
        one request)."""
        if timeframe not in INTERVALS:
            raise ValidationError(f"Yahoo has no {timeframe} bars; use one of {list(INTERVALS)}")
        now_ms = int(pd.Timestamp.now("UTC").value // 1_000_000)
        result = self._chart(symbol, since_ms, until_ms or now_ms, INTERVALS[timeframe])
        bars = parse_chart_result(result, timeframe)
        actions = parse_chart_events(result, symbol) if with_actions else []
        if (
            with_actions and until_ms is not None and until_ms < now_ms
        ):  # later splits adjust these quotes too
            later = self._chart(symbol, until_ms + 1, now_ms, "1mo")
            actions = _unique([*actions, *parse_chart_events(later, symbol)])
        self.actions = raw_actions(actions)
        return unadjust_splits(bars, actions)

    def fetch_actions(self, symbol: str, since_ms: int) -> list[CorporateAction]:
        """The splits and dividends (per raw share) since `since_ms`, from the chart API."""
        now_ms = int(pd.Timestamp.now("UTC").value // 1_000_000)
        return raw_actions(parse_chart_events(self._chart(symbol, since_ms, now_ms, "1mo"), symbol))

    def _chart(self, symbol: str, since_ms: int, until_ms: int, interval: str) -> dict[str, Any]:
        params = {
            "period1": since_ms // 1000,
            "period2": until_ms // 1000,
            "interval": interval,
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
        return dict(chart["result"][0])


def parse_chart_events(result: dict[str, Any], symbol: str) -> list[CorporateAction]:
    """`events.splits` {date, numerator, denominator} and `events.dividends` {date, amount}
    as actions ex-dated at the session date (the exchange's time zone). Dividend amounts are
    as Yahoo gives them: per share after later splits (see `raw_actions`)."""
    events = result.get("events") or {}
    tz = (result.get("meta") or {}).get("exchangeTimezoneName") or "UTC"

    def day(stamp: Any) -> Any:
        return pd.Timestamp(int(stamp), unit="s", tz="UTC").tz_convert(tz).date()

    out = []
    for item in (events.get("splits") or {}).values():
        ratio = float(item["numerator"]) / float(item["denominator"])
        out.append(CorporateAction(symbol, day(item["date"]), "split", ratio=ratio, source="yahoo"))
    for item in (events.get("dividends") or {}).values():
        amount = float(item["amount"])
        out.append(
            CorporateAction(symbol, day(item["date"]), "dividend", amount=amount, source="yahoo")
        )
    return sorted(out, key=lambda a: (a.ex_date, a.kind))


def raw_actions(actions: list[CorporateAction]) -> list[CorporateAction]:
    """Dividends per share of their own day: Yahoo's amounts x the splits after them."""
    splits = [a for a in actions if a.kind == "split"]
    out = []
    for a in actions:
        if a.kind == "dividend":
            later = [s.ratio for s in splits if s.ex_date > a.ex_date]
            a = replace(a, amount=a.amount * float(np.prod(later)) if later else a.amount)
        out.append(a)
    return out


def unadjust_splits(bars: pd.DataFrame, actions: list[CorporateAction]) -> pd.DataFrame:
    """Yahoo's split-adjusted bars back to the quotes of their day (prices x later splits,
    volumes / them); the bars themselves when no split follows any of them."""
    splits = [a for a in actions if a.kind == "split"]
    if not splits or bars.empty:
        return bars
    divisor = split_divisors(pd.DatetimeIndex(bars.index), splits)
    if (divisor == 1.0).all():
        return bars
    out = bars.copy()
    for column in ("open", "high", "low", "close"):
        out[column] = out[column].to_numpy(np.float64) * divisor
    out["volume"] = out["volume"].to_numpy(np.float64) / divisor
    return out


def _unique(actions: list[CorporateAction]) -> list[CorporateAction]:
    return list({(a.ex_date, a.kind): a for a in actions}.values())


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
