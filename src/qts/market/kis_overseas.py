"""US stock quotes and daily bars from the KIS Open API's overseas quotation endpoints, and
the one KIS market-data client of provider `kis`: KRX codes (6 characters, a digit first) go to
the domestic minute chart (`KisQuotations`), every other symbol to these endpoints.

- `GET /uapi/overseas-price/v1/quotations/price` (tr_id HHDFS00000300; EXCD NAS | NYS | AMS,
  SYMB) -> output.last, empty when the symbol is not listed on that exchange; a symbol's
  exchange is found by asking NAS, NYS then AMS (as the KIS broker does) unless given;
- `GET /uapi/overseas-price/v1/quotations/dailyprice` (HHDFS76240000; GUBN "0" daily, BYMD the
  newest date wanted, MODP "0" raw: qts stores the prices printed, with splits and dividends as
  corporate actions beside them, `qts data actions fetch`) -> output2 rows (xymd, open, high, low, clos, tvol), newest
  first, 100 a call: paged backwards by BYMD until the start wanted.

Token, pacing (one budget for both markets) and error handling (EGW00201 waited out, an expired
token renewed once) are `KisQuotations`'. Daily bars are keyed by their trading date (xymd, New
York) at 00:00 UTC, as Yahoo's US daily bars are stored, so both providers' bars share one
index; a day's bar is closed once 16:00 America/New_York of that date has passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.market.frames import BAR_COLUMNS, empty_bars, timeframe_ms
from qts.market.kis import KisQuotations

PRICE_PATH = "/uapi/overseas-price/v1/quotations/price"
DAILY_PATH = "/uapi/overseas-price/v1/quotations/dailyprice"
PRICE_TR, DAILY_TR = "HHDFS00000300", "HHDFS76240000"
QUOTE_CODES = {"NASD": "NAS", "NYSE": "NYS", "AMEX": "AMS", "NAS": "NAS", "NYS": "NYS",
               "AMS": "AMS", "NASDAQ": "NAS", "XNAS": "NAS", "XNYS": "NYS", "ARCA": "AMS"}  # fmt: skip
DAILY_FIELDS = ("open", "high", "low", "clos", "tvol")
KRX_CODE = re.compile(r"^[0-9][0-9A-Z]{5}$")
# Names that say where a US symbol is listed; XNYS (the calendar of every US stock, what qts
# guesses for any US symbol) and US say nothing, so the exchange is looked up instead.
LISTING_HINTS = frozenset(QUOTE_CODES) - {"XNYS"}


def is_krx_code(symbol: str) -> bool:
    """A KRX stock code (005930, or the newer 0001A0 form), traded through KIS's domestic API."""
    return bool(KRX_CODE.match(symbol))


def listing_hint(exchange: str | None) -> str | None:
    """The KIS quote code an exchange name pins a US symbol to, None where it pins nothing."""
    key = (exchange or "").strip().upper()
    return QUOTE_CODES[key] if key in LISTING_HINTS else None


def quote_code(exchange: str) -> str:
    code = QUOTE_CODES.get(exchange.strip().upper())
    if code is None:
        raise ValidationError(f"not a US exchange KIS quotes: {exchange!r} (NAS, NYS or AMS)")
    return code


class KisOverseasQuotations(KisQuotations):
    """`KisOverseasQuotations(key, secret).fetch("AAPL", "1d", since_ms)`; `exchange` (NASD,
    NYSE, AMEX or their quote codes) pins every US symbol to one exchange, else each symbol's
    is looked up once."""

    def __init__(self, app_key: str, app_secret: str, *, exchange: str | None = None, **kw: Any):
        super().__init__(app_key, app_secret, **kw)
        self.exchange = quote_code(exchange) if exchange else None
        self._listings: dict[str, str] = {}

    def exchange_of(self, symbol: str) -> str:
        """The quote code (NAS, NYS, AMS) of the exchange listing `symbol` (NotFoundError if
        KIS quotes it on none)."""
        if self.exchange:
            return self.exchange
        if symbol not in self._listings:
            for code in ("NAS", "NYS", "AMS"):
                if self.last_price(symbol, code) is not None:
                    self._listings[symbol] = code
                    break
            else:
                raise NotFoundError(
                    f"kis: no US stock {symbol!r}: not quoted on NASD, NYSE or AMEX "
                    "(KRX stocks go by their 6-character code, e.g. 005930)"
                )
        return self._listings[symbol]

    def last_price(self, symbol: str, exchange: str | None = None) -> float | None:
        """The last trade price, None where the exchange does not quote the symbol."""
        code = quote_code(exchange) if exchange else self.exchange_of(symbol)
        params = {"AUTH": "", "EXCD": code, "SYMB": symbol}
        last = str((self._get(PRICE_PATH, PRICE_TR, params).get("output") or {}).get("last", ""))
        return float(last) if last.strip() and float(last) > 0 else None

    def fetch_pages(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """KRX codes: `KisQuotations.fetch_pages` (minute bars). US symbols: the closed daily
        bars in [since_ms, until_ms), one frame per call, oldest first: KIS answers newest
        first, so every call is made before the first frame is given (an interrupted download
        then stores nothing rather than leave a hole that a resumed one would skip)."""
        if is_krx_code(symbol):
            yield from super().fetch_pages(symbol, timeframe, since_ms, until_ms)
            return
        if timeframe_ms(timeframe) != 86_400_000:
            raise ValidationError(f"KIS serves US stocks as daily bars: use 1d, not {timeframe}")
        yield from reversed(list(self._daily_pages(symbol, since_ms, until_ms)))

    def _daily_pages(
        self, symbol: str, since_ms: int, until_ms: int | None
    ) -> Iterator[pd.DataFrame]:
        exchange = self.exchange_of(symbol)
        now_ms = int(self.clock() * 1000)
        end_ms = min(until_ms or now_ms, now_ms)
        since, end = (pd.Timestamp(ms, unit="ms", tz="UTC") for ms in (since_ms, end_ms))
        cursor = end.tz_convert("America/New_York")
        for _ in range(200):  # 100 rows a call: 80 years
            params = {"AUTH": "", "EXCD": exchange, "SYMB": symbol, "GUBN": "0",
                      "BYMD": cursor.strftime("%Y%m%d"), "MODP": "0", "KEYB": ""}  # fmt: skip
            bars = _daily_rows(self._get(DAILY_PATH, DAILY_TR, params).get("output2") or [])
            closes = (bars.index.tz_localize(None) + pd.Timedelta(hours=16)).tz_localize(
                "America/New_York"
            )
            keep = (bars.index >= since) & (bars.index < end)
            page = bars[keep & (closes <= pd.Timestamp(now_ms, unit="ms", tz="UTC"))]
            if len(page):
                yield page
            if len(bars) == 0 or bars.index[0] <= since:
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
