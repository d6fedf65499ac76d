"""US stock quotes and daily bars from the KIS Open API's overseas quotation endpoints.

- `GET /uapi/overseas-price/v1/quotations/price` (tr_id HHDFS00000300; EXCD NAS | NYS | AMS,
  SYMB) -> output.last, empty when the symbol is not listed on that exchange;
- `GET /uapi/overseas-price/v1/quotations/dailyprice` (HHDFS76240000; GUBN "0" daily, BYMD the
  newest date wanted, MODP "1" adjusted) -> output2 rows (xymd, open, high, low, clos, tvol),
  newest first, 100 a call: paged backwards by BYMD.

Token, pacing and error handling are `KisQuotations`'. Daily bars are keyed by their date at
00:00 UTC, as qts stores daily bars; a day's bar is closed once 16:00 America/New_York of that
date has passed (daylight saving included).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from qts.core.errors import ValidationError
from qts.market.frames import BAR_COLUMNS, empty_bars, timeframe_ms
from qts.market.kis import KisQuotations

PRICE_PATH = "/uapi/overseas-price/v1/quotations/price"
DAILY_PATH = "/uapi/overseas-price/v1/quotations/dailyprice"
PRICE_TR, DAILY_TR = "HHDFS00000300", "HHDFS76240000"
QUOTE_CODES = {"NASD": "NAS", "NYSE": "NYS", "AMEX": "AMS", "NAS": "NAS", "NYS": "NYS",
               "AMS": "AMS", "NASDAQ": "NAS", "XNAS": "NAS", "XNYS": "NYS", "ARCA": "AMS"}  # fmt: skip
DAILY_FIELDS = ("open", "high", "low", "clos", "tvol")


def quote_code(exchange: str) -> str:
    code = QUOTE_CODES.get(exchange.strip().upper())
    if code is None:
        raise ValidationError(f"not a US exchange KIS quotes: {exchange!r} (NAS, NYS or AMS)")
    return code


class KisOverseasQuotations(KisQuotations):
    """`KisOverseasQuotations(key, secret, exchange="NASD").fetch("AAPL", "1d", since_ms)`."""

    def __init__(self, app_key: str, app_secret: str, *, exchange: str = "NASD", **kw: Any):
        super().__init__(app_key, app_secret, **kw)
        self.exchange = quote_code(exchange)

    def last_price(self, symbol: str, exchange: str | None = None) -> float | None:
        """The last trade price, None where the exchange does not quote the symbol."""
        params = {"AUTH": "", "EXCD": quote_code(exchange or self.exchange), "SYMB": symbol}
        last = str((self._get(PRICE_PATH, PRICE_TR, params).get("output") or {}).get("last", ""))
        return float(last) if last.strip() and float(last) > 0 else None

    def fetch_pages(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """Closed daily bars in [since_ms, until_ms), one frame per call, newest first."""
        if timeframe_ms(timeframe) != 86_400_000:
            raise ValidationError(f"KIS overseas daily prices: use 1d, not {timeframe}")
        now_ms = int(self.clock() * 1000)
        end_ms = min(until_ms or now_ms, now_ms)
        cursor = pd.Timestamp(end_ms, unit="ms", tz="UTC").tz_convert("America/New_York")
        for _ in range(200):
            params = {"AUTH": "", "EXCD": self.exchange, "SYMB": symbol, "GUBN": "0",
                      "BYMD": cursor.strftime("%Y%m%d"), "MODP": "1"}  # fmt: skip
            rows = self._get(DAILY_PATH, DAILY_TR, params).get("output2") or []
            bars = _daily_rows(rows)
            closes = (bars.index.tz_localize(None) + pd.Timedelta(hours=16)).tz_localize(
                "America/New_York"
            )
            keep = (
                (bars.index >= pd.Timestamp(since_ms, unit="ms", tz="UTC"))
                & (bars.index < pd.Timestamp(end_ms, unit="ms", tz="UTC"))
                & (closes <= pd.Timestamp(now_ms, unit="ms", tz="UTC"))
            )
            page = bars[keep]
            if len(page):
                yield page
            if len(bars) == 0 or bars.index[0].value // 1_000_000 <= since_ms:
                return
            cursor = bars.index[0] - pd.Timedelta(days=1)

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> pd.DataFrame:
        pages = list(self.fetch_pages(symbol, timeframe, since_ms, until_ms))
        return pd.concat(pages).sort_index() if pages else empty_bars()


def _daily_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    kept = [r for r in rows if str(r.get("xymd", "")).strip()]
    if not kept:
        return empty_bars()
    days = pd.to_datetime([r["xymd"] for r in kept], format="%Y%m%d").tz_localize("UTC")
    values = [[float(str(r.get(f) or 0).replace(",", "")) for f in DAILY_FIELDS] for r in kept]
    frame = pd.DataFrame(values, columns=list(BAR_COLUMNS), index=days)
    return frame.rename_axis("ts").sort_index().astype("float64")
