"""FX rates as bars: pair names, inverses, the rate in force at a bar, price conversion.

Rates are stored like any bars (exchange ``FX``, symbol ``USD/KRW``, ``close`` = units of the
quote currency per 1 unit of the base: 1380.5 KRW per USD). The other direction is derived as
1/rate. The rate in force at a time t is the close of the newest FX bar whose *close time*
(open time + its timeframe; a daily bar of date D closes at the end of D, UTC) is <= t, so a
converted price never uses a rate that was not yet known. A stock bar's own close time is its
session's close on the exchange calendar for daily bars (a KRX day closes 06:30 UTC, a US day
21:00 or 20:00 UTC), else its open time + timeframe. Pure functions: no I/O but file reading.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.market.frames import BAR_COLUMNS, normalize_bars, timeframe_ms

FX_EXCHANGE = "FX"
_CODE = r"[A-Z]{3,5}"
_PAIR = re.compile(rf"^({_CODE})\s*[/_-]?\s*({_CODE})$")
# Columns that hold the rate in a close-only file (date,close / date,rate / a pandas export).
RATE_ALIASES = ("close", "rate", "fx", "value", "price")


@dataclass(frozen=True, slots=True)
class FxPair:
    """A currency pair: `quote` units per 1 `base` (USD/KRW: KRW per USD)."""

    base: str
    quote: str

    @classmethod
    def parse(cls, text: str) -> FxPair:
        """`USD/KRW`, `usd/krw`, `USDKRW`, `USD-KRW` -> FxPair("USD", "KRW")."""
        cleaned = str(text).strip().upper()
        match = _PAIR.match(cleaned)
        if match is None and re.fullmatch(r"[A-Z]{6}", cleaned):
            match = _PAIR.match(f"{cleaned[:3]}/{cleaned[3:]}")
        if match is None or match.group(1) == match.group(2):
            raise ValidationError(
                f"not a currency pair: {text!r}; write BASE/QUOTE with ISO codes, e.g. USD/KRW",
                details={"pair": text},
            )
        return cls(match.group(1), match.group(2))

    @property
    def name(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def inverse(self) -> FxPair:
        return FxPair(self.quote, self.base)

    def __str__(self) -> str:
        return self.name

    def yahoo_symbol(self) -> str:
        """Yahoo Finance's chart symbol: USD/KRW -> KRW=X (USD-based pairs drop the base),
        EUR/KRW -> EURKRW=X."""
        return f"{self.quote}=X" if self.base == "USD" else f"{self.base}{self.quote}=X"


def conversion_pair(from_currency: str, to_currency: str) -> FxPair:
    """The pair whose rate turns a `from_currency` price into `to_currency` (USD -> KRW:
    USD/KRW, multiply)."""
    return FxPair(from_currency.upper(), to_currency.upper())


def pair_available(pair: FxPair, stored: Collection[str]) -> bool:
    """Whether `pair` can be read from the stored pairs: itself or its inverse."""
    return pair.name in stored or pair.inverse.name in stored


def invert_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """The bars of the inverse pair: every price is 1/price; the high comes from the low."""
    out = bars.copy()
    out["open"] = 1.0 / bars["open"]
    out["close"] = 1.0 / bars["close"]
    out["high"] = 1.0 / bars["low"]
    out["low"] = 1.0 / bars["high"]
    return out


def bar_close_times(
    index: pd.DatetimeIndex, timeframe: str, exchange: str | None = None
) -> pd.DatetimeIndex:
    """When each bar of `index` (open times, UTC) closes: a daily bar on an exchange with a
    calendar closes at that session's close; any other bar at open + timeframe."""
    from qts.market.calendars import ALWAYS_OPEN, calendar_name, get_calendar

    index = pd.DatetimeIndex(index)
    nominal = index + pd.Timedelta(milliseconds=timeframe_ms(timeframe))
    name = calendar_name(exchange) if exchange else None
    if timeframe != "1d" or name is None or name == ALWAYS_OPEN or not len(index):
        return nominal
    calendar = get_calendar(name, index[0].tz_convert(None).normalize())
    days = index.tz_convert(None).normalize()
    closes = calendar.schedule["close"].reindex(days)
    # A row off the calendar (a holiday placeholder) closes at the end of its date.
    return pd.DatetimeIndex(closes.fillna(pd.Series(nominal, index=days)).to_numpy(), tz="UTC")


def rates_at(
    rates: pd.Series, times: pd.DatetimeIndex, pair: FxPair | str, rate_timeframe: str = "1d"
) -> np.ndarray:
    """The rate in force at each of `times`: the close of the newest FX bar (`rates`: closes
    by bar open time) whose close time is <= the time. A time before the first rate closes is
    an error naming the pair and that time."""
    name = str(pair)
    series = rates.dropna().sort_index()
    if not len(series):
        raise ValidationError(f"no {name} rates to convert with", details={"pair": name})
    step = pd.Timedelta(milliseconds=timeframe_ms(rate_timeframe))
    closes = pd.DatetimeIndex(series.index) + step
    at = pd.DatetimeIndex(times)
    pos = np.searchsorted(closes.asi8, at.as_unit(closes.unit).asi8, side="right") - 1
    if len(pos) and pos.min() < 0:
        first_bad = at[int(np.argmax(pos < 0))]
        raise ValidationError(
            f"no {name} rate known at {first_bad.isoformat()}: the first stored rate closes at "
            f"{closes[0].isoformat()}; store earlier rates (qts data fx fetch --pair {name} "
            f"--start ...)",
            details={"pair": name, "at": first_bad.isoformat(), "first": closes[0].isoformat()},
        )
    return np.asarray(series.to_numpy(np.float64)[pos])


def convert_bars(bars: pd.DataFrame, rates: np.ndarray) -> pd.DataFrame:
    """`bars` with open, high, low and close multiplied by each row's rate (volume is a count
    of shares and stays)."""
    if len(rates) != len(bars):
        raise ValidationError("one rate per bar is needed to convert prices")
    if not (np.isfinite(rates) & (rates > 0)).all():
        raise ValidationError("FX rates must be finite and > 0")
    out = bars.copy()
    for column in ("open", "high", "low", "close"):
        out[column] = bars[column].to_numpy(np.float64) * rates
    return out


def convert_universe(
    universe: Mapping[str, pd.DataFrame],
    symbol_currencies: Mapping[str, str],
    base_currency: str,
    rates: Mapping[str, pd.Series],
    timeframe: str,
    exchanges: Mapping[str, str] | None = None,
    rate_timeframe: str = "1d",
) -> dict[str, pd.DataFrame]:
    """Each symbol of `symbol_currencies` priced in `base_currency` at the rate in force at
    each of its bars' close (`rates`: closes by pair name, e.g. "USD/KRW"); other symbols as
    they are."""
    from qts.market.calendars import guess_exchange

    out = dict(universe)
    for symbol, currency in symbol_currencies.items():
        if symbol not in universe:
            continue
        pair = conversion_pair(currency, base_currency)
        if pair.name not in rates:
            raise ValidationError(f"no {pair.name} rates given to convert {symbol}")
        bars = universe[symbol]
        exchange = (exchanges or {}).get(symbol) or guess_exchange(symbol)
        times = bar_close_times(pd.DatetimeIndex(bars.index), timeframe, exchange)
        out[symbol] = convert_bars(bars, rates_at(rates[pair.name], times, pair, rate_timeframe))
    return out


def rate_table(table: pd.DataFrame) -> pd.DataFrame:
    """A rate file's table in the bar layout: a close-only file (date,close or date,rate) gets
    open = high = low = close; a file without volume gets volume 0 (FX has none)."""
    by_name = {str(c).strip().lower(): c for c in table.columns}
    out = table.copy()
    if not all(c in by_name for c in ("open", "high", "low", "close")):
        rate = next((by_name[a] for a in RATE_ALIASES if a in by_name), None)
        if rate is None:
            return table  # the bar parser names the missing columns
        for column in ("open", "high", "low", "close"):
            if column not in by_name:
                out[column] = table[rate]
    if not any(str(c).strip().lower().startswith("volume") for c in table.columns):
        out["volume"] = 0.0
    return out


def load_rates_file(path: str | Path) -> tuple[pd.DataFrame, dict[str, object]]:
    """Read and check an FX rate file (CSV: date,close or OHLC). Every row must pass the bar
    rules (parseable dates, prices > 0, in order, no duplicates): a bad file raises
    ValidationError with the row-level report and nothing is returned."""
    from qts.market.files import parse_bar_table
    from qts.market.validation import BarsReport, check_bars

    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"no such file: {path}", details={"source": str(path)})
    try:
        table = pd.read_csv(path, encoding="utf-8-sig", skipinitialspace=True)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValidationError(f"{path.name}: cannot be read as a table: {exc}") from exc
    report = BarsReport(source=str(path))
    raw = parse_bar_table(rate_table(table), report, has_lines=True)
    report.rows_read = len(raw)
    report.errors = check_bars(raw)
    if report.errors:
        raise ValidationError(
            f"{path.name}: rejected, nothing stored ({report.summary()})",
            details=report.to_dict(),
        )
    bars = raw.values.copy()
    bars.index = pd.DatetimeIndex(raw.ts).rename("ts")
    bars = normalize_bars(bars[list(BAR_COLUMNS)])
    report.rows_valid = len(bars)
    return bars, report.to_dict()


def widen_range(bars: pd.DataFrame) -> pd.DataFrame:
    """Quote feeds (Yahoo's FX charts) sometimes leave the open or close outside the day's
    high/low; the range is widened to hold them (the close, the rate used, is kept)."""
    out = bars.copy()
    out["high"] = bars[["open", "high", "close"]].max(axis=1)
    out["low"] = bars[["open", "low", "close"]].min(axis=1)
    return out
