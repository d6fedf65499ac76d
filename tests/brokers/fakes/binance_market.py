"""Binance spot public market data in its published formats: `exchangeInfo` symbol entries and
`klines` rows (also the payload of the kline WebSocket stream), served from bars frames."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tests.brokers.fakes.ledger import LedgerError
from tests.brokers.fakes.server import Answer

QUOTES = ("USDT", "BTC")
# Fixed-length kline intervals (Binance also has 1M, which the fake does not serve).
INTERVAL_MS = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
}
KLINES_DEFAULT_LIMIT, KLINES_MAX_LIMIT = 500, 1000


def split_symbol(symbol: str) -> tuple[str, str]:
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise LedgerError("invalid_symbol")


def error(code: int, msg: str, status: int = 400) -> Answer:
    return status, {}, {"code": code, "msg": msg}


def exchange_symbol(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01000000",
                "maxPrice": "1000000.00000000",
                "tickSize": "0.01000000",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001000",
                "maxQty": "9000.00000000",
                "stepSize": "0.00001000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(symbols: list[str]) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": int(time.time() * 1000),
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            }
        ],
        "exchangeFilters": [],
        "symbols": [exchange_symbol(s) for s in symbols],
    }


def kline_row(open_ms: int, interval_ms: int, bar: Mapping[str, Any]) -> list[Any]:
    """One `klines` row: open time, OHLCV as decimal strings, close time, quote volume, trade
    count, taker-buy base and quote volumes, an unused field."""
    volume, close = float(bar["volume"]), float(bar["close"])
    return [
        open_ms,
        f"{bar['open']:.8f}",
        f"{bar['high']:.8f}",
        f"{bar['low']:.8f}",
        f"{close:.8f}",
        f"{volume:.8f}",
        open_ms + interval_ms - 1,
        f"{volume * close:.8f}",
        100,
        f"{volume / 2:.8f}",
        f"{volume * close / 2:.8f}",
        "0",
    ]


def klines(
    bars: Mapping[str, pd.DataFrame], bars_interval: str, query: Mapping[str, str]
) -> Answer:
    """GET /api/v3/klines: the first `limit` bars from `startTime`, else the last `limit` up to
    `endTime` (the most recent when neither is sent); `limit` defaults to 500, capped at 1000."""
    symbol, interval = query.get("symbol", ""), query.get("interval", "")
    if symbol not in bars:
        return error(-1121, "Invalid symbol.")
    if interval not in INTERVAL_MS:
        return error(-1120, "Invalid interval.")
    if interval != bars_interval:  # fail loudly rather than serve bars of the wrong length
        return error(-1000, f"this fake serves {bars_interval} klines only", 501)
    limit = min(int(query.get("limit", KLINES_DEFAULT_LIMIT)), KLINES_MAX_LIMIT)
    frame = bars[symbol]
    opens = frame.index.as_unit("ms").asi8
    mask = np.ones(len(opens), dtype=bool)
    if "endTime" in query:
        mask &= opens <= int(query["endTime"])
    if "startTime" in query:
        mask &= opens >= int(query["startTime"])
        chosen = frame[mask].head(limit)
    else:
        chosen = frame[mask].tail(limit)
    step = INTERVAL_MS[interval]
    rows = [
        kline_row(int(t), step, bar)
        for t, bar in zip(chosen.index.as_unit("ms").asi8, chosen.to_dict("records"), strict=True)
    ]
    return 200, {}, rows
