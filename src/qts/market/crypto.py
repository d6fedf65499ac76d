"""Crypto OHLCV history through ccxt: any ccxt exchange by name, Binance first.

History is fetched page by page (``fetch_ohlcv`` with ``since``/``limit``); each page is handed
to the caller as soon as it arrives, so a caller that stores pages as they come can resume an
interrupted download from its last stored bar. ccxt's own throttle spaces requests by the
exchange's rate limit; on HTTP 429/418 (ccxt's RateLimitExceeded / DDoSProtection) we wait for
the server's ``Retry-After`` (or back off exponentially) and retry, and give up with
`RateLimitedError` when the exchange asks for a longer pause than ``max_wait_s``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from qts.core.errors import RateLimitedError, ServiceUnavailableError, ValidationError
from qts.market.frames import bars_from_epoch_ms, timeframe_ms
from qts.market.network import FINAL_CAUSES, bad_status, classify, unreachable, url_in

# Candles per call where an exchange caps it below 1000 (Upbit: 200, Bithumb: 200).
PAGE_LIMITS = {"upbit": 200, "bithumb": 200}


class ExchangeUnavailableError(ServiceUnavailableError):
    code = "exchange_unavailable"


def _retarget(urls: Any, base_url: str) -> Any:
    """Point every API URL (nested dicts of strings) at `base_url`, keeping the paths."""
    if isinstance(urls, dict):
        return {k: _retarget(v, base_url) for k, v in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        parts = urlsplit(urls)
        return base_url.rstrip("/") + parts.path
    return urls


class CcxtProvider:
    """OHLCV history from one ccxt exchange (``CcxtProvider("binance")``).

    ``base_url`` re-points the exchange's REST URLs (a proxy, a testnet, or a local fake).
    """

    def __init__(
        self,
        exchange_id: str,
        *,
        base_url: str | None = None,
        config: dict[str, Any] | None = None,
        max_retries: int = 5,
        max_wait_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.exchange_id = exchange_id.lower()
        self.base_url = base_url
        self.config = dict(config or {})
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s
        self._sleep = sleep
        self._client: Any = None
        self.requests = 0
        self.retries = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            import ccxt

            if self.exchange_id not in ccxt.exchanges:
                raise ValidationError(
                    f"unknown ccxt exchange {self.exchange_id!r}",
                    details={"exchange": self.exchange_id},
                )
            options = {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}}
            options.update(self.config.pop("options", {}))
            client = getattr(ccxt, self.exchange_id)(
                {"enableRateLimit": True, "timeout": 30_000, "options": options, **self.config}
            )
            if self.base_url:
                client.urls["api"] = _retarget(client.urls["api"], self.base_url)
            self._client = client
        return self._client

    def _retry_after(self) -> float | None:
        headers = getattr(self.client, "last_response_headers", None) or {}
        for key, value in dict(headers).items():
            if str(key).lower() == "retry-after":
                try:
                    return float(value)
                except (TypeError, ValueError):
                    return None
        return None

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import ccxt

        for attempt in range(self.max_retries + 1):
            try:
                self.requests += 1
                return fn(*args, **kwargs)
            except ccxt.BadSymbol as exc:
                raise ValidationError(
                    f"{self.exchange_id}: unknown symbol: {exc}",
                    details={"exchange": self.exchange_id},
                ) from exc
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
                wait = self._retry_after()
                wait = wait if wait is not None else min(2.0**attempt, 60.0)
                if wait > self.max_wait_s or attempt == self.max_retries:
                    raise RateLimitedError(
                        f"{self.exchange_id} rate limit: asked to wait {wait:g}s",
                        details={"exchange": self.exchange_id, "retry_after_s": wait},
                    ) from exc
                self.retries += 1
                self._sleep(wait)
            except (ccxt.RequestTimeout, ccxt.ExchangeNotAvailable, ccxt.NetworkError) as exc:
                if attempt == self.max_retries or classify(exc) in FINAL_CAUSES:
                    raise self._unreachable(exc) from exc
                self.retries += 1
                self._sleep(min(2.0**attempt, 30.0))
            except ccxt.BadRequest as exc:
                raise ValidationError(f"{self.exchange_id} rejected the request: {exc}") from exc
        raise AssertionError("unreachable")

    def _unreachable(self, exc: BaseException) -> ExchangeUnavailableError:
        url = url_in(str(exc)) or self.base_url
        if url is None:
            api = self.client.urls.get("api")
            url = next(iter(api.values())) if isinstance(api, dict) else api
        status = re.search(r"\b(5\d\d)\b", str(exc))
        info = (
            bad_status(self.exchange_id, str(url), int(status.group(1)))
            if status and (classify(exc) == "connection")
            else unreachable(self.exchange_id, str(url), exc)
        )
        return ExchangeUnavailableError(info.message, info.details)

    def load_markets(self) -> dict[str, Any]:
        return dict(self._call(self.client.load_markets))

    def market_info(self, symbol: str) -> dict[str, Any]:
        """Symbols-table fields (currency, tick size, quantity step) from the exchange's market."""
        markets = self.load_markets()
        if symbol not in markets:
            raise ValidationError(f"{self.exchange_id}: unknown symbol {symbol!r}")
        market = markets[symbol]
        precision = market.get("precision") or {}
        limits = (market.get("limits") or {}).get("amount") or {}
        return {
            "asset_class": "crypto",
            "currency": market.get("quote") or "",
            "tick_size": float(precision.get("price") or 0.01),
            "quantity_step": float(precision.get("amount") or 1e-8),
            "lot_size": float(limits.get("min") or precision.get("amount") or 1e-8),
        }

    def fetch_pages(
        self,
        symbol: str,
        timeframe: str,
        since_ms: int,
        until_ms: int | None = None,
        *,
        limit: int = 1000,
    ) -> Iterator[pd.DataFrame]:
        """Closed bars from `since_ms` (inclusive) to `until_ms` (exclusive), one frame per page.
        The still-forming current candle is never returned."""
        step = timeframe_ms(timeframe)
        # some exchanges serve fewer candles a call than asked and count `since` from the end
        limit = min(limit, PAGE_LIMITS.get(self.exchange_id, limit))
        if timeframe not in (self.client.timeframes or {timeframe: timeframe}):
            raise ValidationError(f"{self.exchange_id} has no {timeframe} candles")
        cursor = since_ms
        while True:
            now_ms = int(time.time() * 1000)
            stop = min(until_ms if until_ms is not None else now_ms, now_ms)
            if cursor >= stop:
                return
            rows = self._call(self.client.fetch_ohlcv, symbol, timeframe, since=cursor, limit=limit)
            if not rows:
                return
            arr = np.asarray(rows, dtype="float64")
            ts = arr[:, 0].astype("int64")
            keep = (ts >= cursor) & (ts < stop) & (ts + step <= now_ms)
            if keep.any():
                yield bars_from_epoch_ms(ts[keep], arr[keep, 1:6])
            last = int(ts.max())
            if last < cursor:  # no progress: the exchange has nothing newer
                return
            cursor = last + step

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> pd.DataFrame:
        pages = list(self.fetch_pages(symbol, timeframe, since_ms, until_ms))
        if not pages:
            from qts.market.frames import empty_bars

            return empty_bars()
        return pd.concat(pages)
