"""KRX daily prices through the maintained libraries: pykrx and FinanceDataReader.

Both read Naver's chart service for KRX stocks: `GET https://fchart.stock.naver.com/sise.nhn?
symbol=005930&timeframe=day&count=N&requestType=0`, XML whose `<item data="YYYYMMDD|open|high|
low|close|volume"/>` rows are split-adjusted (수정주가) prices. pykrx does that for
`get_market_ohlcv(..., adjusted=True)` (its default; unadjusted prices come from data.krx.co.kr,
which now asks for a KRX login); FinanceDataReader does it for a bare KRX code. The libraries
have no base-URL setting: `base_url` (a proxy, or a local fake in tests) re-points their Naver
host for the duration of one call (pykrx: its Naver reader's URL; FinanceDataReader: the host of
its module's `requests.get`), so nothing else in the process is affected. Bars are keyed at
00:00 UTC of the trading date, KRW.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from qts.core.errors import ConfigurationError, ValidationError
from qts.market.frames import BAR_COLUMNS, empty_bars

NAVER_CHART_HOST = "https://fchart.stock.naver.com"
_patch_lock = threading.Lock()  # one re-pointed call at a time


def _daily_only(timeframe: str) -> None:
    if timeframe != "1d":
        raise ValidationError(f"pykrx / FinanceDataReader give daily KRX prices, not {timeframe}")


def _dates(since_ms: int, until_ms: int | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first, last) trading dates asked for; `until_ms` is exclusive, like every provider's."""
    start = pd.Timestamp(since_ms, unit="ms", tz="UTC").tz_convert(None).normalize()
    end = pd.Timestamp(until_ms - 1, unit="ms", tz="UTC") if until_ms else pd.Timestamp.now("UTC")
    return start, end.tz_convert(None).normalize()


def _to_bars(frame: pd.DataFrame, names: dict[str, str], start: Any, end: Any) -> pd.DataFrame:
    if frame is None or frame.empty:
        return empty_bars()
    table = frame.rename(columns=names)
    missing = set(BAR_COLUMNS) - set(table.columns)
    if missing:
        raise ValidationError(f"unexpected columns from the library: {list(frame.columns)}")
    out = table[list(BAR_COLUMNS)].astype("float64")
    index = pd.DatetimeIndex(pd.to_datetime(out.index)).tz_localize("UTC").as_unit("ns")
    out.index = index.rename("ts")
    out = out.sort_index()
    return out[(out.index >= start.tz_localize("UTC")) & (out.index <= end.tz_localize("UTC"))]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pykrx prints a KRX-login notice on import and warns about a deprecated resource API:
    keep both out of qts's output."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


class PykrxProvider:
    """`pykrx.stock.get_market_ohlcv(from, to, code, adjusted=True)` as a bars frame
    (`adjusted=False`: the raw quotes, from data.krx.co.kr)."""

    def __init__(self, base_url: str | None = None, adjusted: bool = True) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.adjusted = adjusted

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> pd.DataFrame:
        _daily_only(timeframe)
        start, end = _dates(since_ms, until_ms)
        try:
            with _quiet():
                from pykrx import stock
                from pykrx.website.naver import core
        except ImportError as exc:
            raise ConfigurationError("pykrx is not installed: pip install 'qts[data]'") from exc
        with _patch_lock, _quiet():
            original = core.NaverWebIo.url
            if self.base_url:
                core.NaverWebIo.url = property(lambda _self: f"{self.base_url}/sise.nhn")  # type: ignore[method-assign,assignment]
            try:
                frame = stock.get_market_ohlcv(
                    start.strftime("%Y%m%d"), end.strftime("%Y%m%d"), symbol, adjusted=self.adjusted
                )
            finally:
                core.NaverWebIo.url = original  # type: ignore[method-assign]
        names = {"시가": "open", "고가": "high", "저가": "low", "종가": "close", "거래량": "volume"}
        return _to_bars(frame, names, start, end)


class _Repointed:
    """A stand-in for a module's `requests` whose `get` goes to `base_url`'s host instead."""

    def __init__(self, real: Any, base_url: str) -> None:
        self._real, self._base = real, urlsplit(base_url)

    def get(self, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        moved = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
        kwargs.setdefault("timeout", 30)
        return self._real.get(moved, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class FdrProvider:
    """`FinanceDataReader.DataReader(code, start, end)` (Naver for KRX codes) as a bars frame."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> pd.DataFrame:
        _daily_only(timeframe)
        start, end = _dates(since_ms, until_ms)
        try:
            import FinanceDataReader as fdr
            from FinanceDataReader.naver import data as naver_data
        except ImportError as exc:
            raise ConfigurationError(
                "FinanceDataReader is not installed: pip install 'qts[data]'"
            ) from exc
        with _patch_lock, _quiet():
            real = naver_data.requests
            if self.base_url:
                naver_data.requests = _Repointed(real, self.base_url)
            try:
                frame = fdr.DataReader(symbol, start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d"))
            finally:
                naver_data.requests = real
        names = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}
        return _to_bars(frame, names, start, end)
