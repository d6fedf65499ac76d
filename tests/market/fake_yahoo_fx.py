"""Yahoo Finance's chart API for FX pairs, in its published JSON shape:
`GET /v8/finance/chart/KRW=X?period1&period2&interval=1d` -> `{"chart": {"result": [{"meta",
"timestamp", "indicators": {"quote": [...]}}], "error": null}}`. FX daily bars are stamped at
00:00 Europe/London (23:00 UTC in summer), every weekday, volume 0; an unknown symbol gets
Yahoo's 404 "No data found" error.

The USD/KRW levels are APPROXIMATE monthly levels (rounded, from memory of the published
monthly averages), interpolated linearly day by day: test data, not market data.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from tests.brokers.fakes.server import Answer, FakeBrokerServer, Received

# KRW per USD around the 15th of each month (approximate).
USD_KRW_MONTHLY = {
    "2023-10": 1350, "2023-11": 1310, "2023-12": 1304, "2024-01": 1323, "2024-02": 1331,
    "2024-03": 1330, "2024-04": 1368, "2024-05": 1365, "2024-06": 1381, "2024-07": 1384,
    "2024-08": 1354, "2024-09": 1334, "2024-10": 1361, "2024-11": 1394, "2024-12": 1435,
    "2025-01": 1455, "2025-02": 1445, "2025-03": 1457, "2025-04": 1444, "2025-05": 1395,
    "2025-06": 1365, "2025-07": 1375,
}  # fmt: skip


def usd_krw_daily() -> pd.Series:
    """Weekday closes of USD/KRW keyed by date (00:00 UTC), rounded to 0.01 KRW."""
    anchors = pd.Series(
        [float(v) for v in USD_KRW_MONTHLY.values()],
        index=pd.DatetimeIndex([f"{m}-15" for m in USD_KRW_MONTHLY], tz="UTC"),
    )
    days = pd.date_range(anchors.index[0], anchors.index[-1], freq="B", tz="UTC")
    x = days.asi8.astype(float)
    values = np.interp(x, anchors.index.asi8.astype(float), anchors.to_numpy())
    return pd.Series(np.round(values, 2), index=days)


class FakeYahooFx(FakeBrokerServer):
    """Serves `KRW=X` (USD/KRW) from `usd_krw_daily()`; other symbols are not found."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.series = {"KRW=X": usd_krw_daily()}

    def rate_limited(self, request: Received) -> Answer:
        return 429, {"Content-Type": "text/plain"}, b"Too Many Requests"

    def handle(self, request: Received) -> Answer:
        prefix = "/v8/finance/chart/"
        symbol = request.path[len(prefix) :] if request.path.startswith(prefix) else ""
        series = self.series.get(symbol)
        if series is None:
            error = {"code": "Not Found", "description": "No data found, symbol may be delisted"}
            body = {"chart": {"result": None, "error": error}}
            return 404, {"Content-Type": "application/json"}, json.dumps(body).encode()
        q = request.query
        lo, hi = int(q.get("period1", "0")), int(q.get("period2", str(2**40)))
        # Stamped at 00:00 London time of each date, as Yahoo stamps FX daily bars.
        stamps = [
            int(pd.Timestamp(f"{day:%Y-%m-%d}", tz="Europe/London").timestamp())
            for day in series.index
        ]
        keep = [i for i, t in enumerate(stamps) if lo <= t <= hi]
        close = [float(series.iloc[i]) for i in keep]
        # Yahoo's FX quotes: open near the previous close, a range around; one quote of the
        # range misses the close now and then (the client widens it).
        quote = {
            "open": [round(c * 0.999, 4) for c in close],
            "high": [round(c * 1.004, 4) for c in close],
            "low": [round(c * 0.995, 4) for c in close],
            "close": close,
            "volume": [0] * len(close),
        }
        if len(close) > 3:
            quote["high"][2] = round(close[2] * 0.9995, 4)  # close above the high
        result = {
            "meta": {
                "currency": "KRW", "symbol": symbol, "exchangeName": "CCY",
                "instrumentType": "CURRENCY", "exchangeTimezoneName": "Europe/London",
                "dataGranularity": q.get("interval", "1d"),
            },
            "timestamp": [stamps[i] for i in keep],
            "indicators": {"quote": [quote], "adjclose": [{"adjclose": close}]},
        }  # fmt: skip
        body = {"chart": {"result": [result], "error": None}}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
