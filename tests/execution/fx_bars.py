"""FX rates stored as the team's convention has them: bars of exchange FX, symbol BASE/QUOTE,
close = QUOTE per 1 BASE."""

from __future__ import annotations

import pandas as pd

from qts.db import Database
from qts.db.repositories.market import MarketRepository


def store_fx(db: Database, pair: str, rate: float, day: str = "2020-01-02") -> None:
    """One daily FX bar of `pair` opening on `day` (in force from the end of that day)."""
    index = pd.DatetimeIndex([pd.Timestamp(day, tz="UTC")], name="ts")
    frame = pd.DataFrame(
        {"open": rate, "high": rate, "low": rate, "close": rate, "volume": 0.0}, index=index
    )
    with db.session() as s:
        MarketRepository(s).upsert_bars("FX", pair, "1d", frame)
