"""Exchange trading calendars (exchange_calendars): sessions, holidays and gap checks.

Stock exchanges map to their ISO MIC calendars (KRX -> XKRX, NYSE/NASDAQ -> XNYS); crypto
exchanges (any ccxt id, or ``crypto``) trade around the clock and use the ``24/7`` calendar.
Ranges are clamped to a calendar's bounds: exchange_calendars raises ``DateOutOfBounds`` for a
start before its first session.
"""

from __future__ import annotations

import re
import threading
import warnings
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from qts.market.frames import timeframe_ms

ALWAYS_OPEN = "24/7"
ALIASES = {
    "KRX": "XKRX",
    "KOSPI": "XKRX",
    "KOSDAQ": "XKRX",
    "KRX_KOSPI": "XKRX",
    "XKRX": "XKRX",
    "NYSE": "XNYS",
    "NASDAQ": "XNYS",
    "XNAS": "XNYS",
    "AMEX": "XNYS",
    "ARCA": "XNYS",
    "US": "XNYS",
    "XNYS": "XNYS",
    "NASD": "XNYS",  # KIS's order codes for US exchanges (NASD / NYSE / AMEX) ...
    "NAS": "XNYS",  # ... and its quote codes (NAS / NYS / AMS)
    "NYS": "XNYS",
    "AMS": "XNYS",
    "CRYPTO": ALWAYS_OPEN,
    "24/7": ALWAYS_OPEN,
}
CRYPTO_EXCHANGES = frozenset(
    {
        "binance",
        "binanceus",
        "binanceusdm",
        "bybit",
        "okx",
        "kraken",
        "coinbase",
        "bitget",
        "kucoin",
        "upbit",
        "bithumb",
        "gateio",
        "gate",
        "huobi",
        "htx",
        "mexc",
        "bitfinex",
        "bitstamp",
        "gemini",
        "cryptocom",
        "bingx",
        "deribit",
    }
)

# Quote currencies that mark "BASE_QUOTE" / "BASE-QUOTE" names (a file stem) as crypto pairs.
CRYPTO_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "BTC", "ETH", "BNB", "EUR", "KRW")

_cache: dict[tuple[str, int | None], Any] = {}
_lock = threading.Lock()


def calendar_name(exchange: str | None) -> str | None:
    """The exchange_calendars name for an exchange, or None when no calendar is known."""
    if not exchange:
        return None
    key = exchange.strip()
    if key.upper() in ALIASES:
        return ALIASES[key.upper()]
    if key.lower() in CRYPTO_EXCHANGES:
        return ALWAYS_OPEN
    import exchange_calendars as xc

    return key.upper() if key.upper() in xc.get_calendar_names() else None


def guess_exchange(symbol: str) -> str:
    """KRX 6-digit codes -> XKRX; BASE/QUOTE pairs (or BASE_QUOTE with a crypto quote such as
    USDT) -> binance; anything else -> XNYS."""
    if re.fullmatch(r"\d{6}", symbol):
        return "XKRX"
    if "/" in symbol or crypto_quote(symbol) is not None:
        return "binance"
    return "XNYS"


def crypto_quote(symbol: str) -> str | None:
    """The quote currency of a pair name (BTC/USDT, BTC_USDT, BTC-USDT), or None."""
    if "/" in symbol:
        return symbol.rsplit("/", 1)[1].split(":")[0].upper() or None
    match = re.fullmatch(r"[A-Za-z0-9]+[_-]([A-Za-z]+)", symbol)
    if match and match.group(1).upper() in CRYPTO_QUOTES:
        return match.group(1).upper()
    return None


def get_calendar(name: str, start: pd.Timestamp | None = None) -> Any:
    """A cached calendar; built back to `start`'s year when that is before the default bounds."""
    import exchange_calendars as xc

    default = _cached(name, None)
    if start is None or start >= default.first_session:
        return default
    try:
        return _cached(name, start.year)
    except (ValueError, xc.errors.DateOutOfBounds):  # calendar has a hard earliest date
        return default


def _cached(name: str, start_year: int | None) -> Any:
    import exchange_calendars as xc

    with _lock:
        key = (name, start_year)
        if key not in _cache:
            kwargs = {"start": f"{start_year}-01-01"} if start_year else {}
            with warnings.catch_warnings():  # exchange_calendars vs pandas 3 deprecation noise
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                _cache[key] = xc.get_calendar(name, **kwargs)
        return _cache[key]


def _as_day(value: date | datetime | str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return (ts.tz_convert(None) if ts.tzinfo else ts).normalize()


def sessions(exchange: str, start: Any, end: Any) -> pd.DatetimeIndex:
    """Session dates (naive midnight labels) between start and end, clamped to the calendar."""
    name = calendar_name(exchange)
    if name is None:
        raise ValueError(f"no trading calendar known for exchange {exchange!r}")
    lo, hi = _as_day(start), _as_day(end)
    cal = get_calendar(name, lo)
    lo, hi = max(lo, cal.first_session), min(hi, cal.last_session)
    if lo > hi:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(cal.sessions_in_range(lo, hi))


def is_session(exchange: str, day: Any) -> bool:
    return len(sessions(exchange, day, day)) == 1


def session_close(exchange: str, day: Any) -> pd.Timestamp | None:
    """UTC close time of the session on `day` (None if the market is shut that day)."""
    name = calendar_name(exchange)
    if name is None or not is_session(exchange, day):
        return None
    cal = get_calendar(name, _as_day(day))
    return pd.Timestamp(cal.session_close(_as_day(day)))


def missing_session_warnings(
    index: pd.DatetimeIndex, exchange: str, timeframe: str | None
) -> list[dict[str, Any]]:
    """Warnings (not errors: real data has gaps) for sessions or bars absent from `index`."""
    name = calendar_name(exchange)
    if name is None:
        return [{"rule": "no_calendar", "message": f"no trading calendar for {exchange!r}"}]
    if len(index) == 0:
        return []
    if name == ALWAYS_OPEN and timeframe and timeframe_ms(timeframe) < 86_400_000:
        return _grid_gaps(index, timeframe)
    days = index.tz_convert(None).normalize().unique()
    expected = sessions(exchange, days[0], days[-1])
    warnings: list[dict[str, Any]] = [
        {
            "rule": "missing_session",
            "ts": d.strftime("%Y-%m-%d"),
            "message": f"no bar for {name} session {d:%Y-%m-%d}",
        }
        for d in expected.difference(days)
    ]
    if len(expected):
        inside = days[(days >= expected[0]) & (days <= expected[-1])]
        warnings += [
            {
                "rule": "not_a_session",
                "ts": d.strftime("%Y-%m-%d"),
                "message": f"bar on {d:%Y-%m-%d}, which is not a {name} session",
            }
            for d in inside.difference(expected)
        ]
    return warnings


def _grid_gaps(index: pd.DatetimeIndex, timeframe: str) -> list[dict[str, Any]]:
    step = timeframe_ms(timeframe) * 1_000_000
    ns = pd.DatetimeIndex(index).as_unit("ns").asi8
    gaps = np.flatnonzero(np.diff(ns) > step)
    out = []
    for g in gaps:
        first, last = pd.Timestamp(ns[g] + step, tz="UTC"), pd.Timestamp(ns[g + 1] - step, tz="UTC")
        count = int((ns[g + 1] - ns[g]) // step) - 1
        out.append(
            {
                "rule": "missing_bars",
                "start": first.isoformat(),
                "end": last.isoformat(),
                "count": count,
                "message": f"{count} missing {timeframe} bar(s) {first} .. {last}",
            }
        )
    return out
