"""Live market data collection (the `market_data_*` jobs): new closed bars of the configured
symbols, fetched while their exchange is in session (24/7 for crypto)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from qts.services.context import AppContext

log = logging.getLogger(__name__)


class LiveSymbol(BaseModel):
    provider: str  # ccxt | yahoo | krx (see qts.services.data.market_data.fetch)
    exchange: str  # binance, XKRX, XNYS, ...: also picks the calendar, hence the job
    symbol: str
    timeframe: str = "1m"


class LiveCollectionSettings(BaseSettings):
    """`QTS_LIVE_SYMBOLS` (JSON list of {provider, exchange, symbol, timeframe}); empty by
    default, so the market data jobs do nothing until symbols are configured."""

    model_config = SettingsConfigDict(env_prefix="QTS_", env_file=".env", extra="ignore")

    live_symbols: list[LiveSymbol] = Field(default_factory=list)
    live_backfill_bars: int = Field(default=500, ge=1)  # first fetch of a symbol with no bars


def collect_live_bars(ctx: AppContext, calendar: str) -> dict[str, Any]:
    """Fetch the closed bars that are new since the last stored one, for every configured live
    symbol whose exchange trades on `calendar`. One symbol's failure does not stop the others;
    the run fails (and is retried) if any symbol failed."""
    from qts.market.calendars import calendar_name
    from qts.market.frames import timeframe_ms
    from qts.services.data import market_data

    settings = LiveCollectionSettings()
    wanted = calendar_name(calendar)
    symbols = [s for s in settings.live_symbols if calendar_name(s.exchange) == wanted]
    now_ms = int(time.time() * 1000)
    fetched: dict[str, int] = {}
    errors: dict[str, str] = {}
    for spec in symbols:
        key = f"{spec.exchange}:{spec.symbol}:{spec.timeframe}"
        step = timeframe_ms(spec.timeframe)
        until_ms = now_ms // step * step - 1  # the still-forming bar is left for the next run
        since_ms = until_ms - step * settings.live_backfill_bars
        try:
            out = market_data.fetch(
                spec.provider, spec.exchange, spec.symbol, spec.timeframe,
                datetime.fromtimestamp(since_ms / 1000, UTC),
                until=datetime.fromtimestamp(until_ms / 1000, UTC), db=ctx.db,
            )  # fmt: skip
            fetched[key] = int(out.get("inserted", 0))
        except Exception as exc:
            errors[key] = f"{type(exc).__name__}: {exc}"
            log.warning("live bars for %s failed: %s", key, errors[key])
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(symbols)} symbols failed: {errors}")
    return {"calendar": calendar, "symbols": len(symbols), "inserted": fetched}
