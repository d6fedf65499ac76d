"""Market data use cases for the CLI, the API and scheduled jobs.

Every function takes a `Database` (or builds one from settings) and returns plain dicts or bars
DataFrames. File imports are validated before the database is touched and stored in one
transaction, so a rejected file leaves stored data exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.db import Database
from qts.db.repositories.fundamentals import FundamentalsRepository
from qts.db.repositories.market import MarketRepository, to_epoch_ms
from qts.market.calendars import guess_exchange
from qts.market.files import load_bars_with_report
from qts.market.frames import infer_timeframe, timeframe_ms
from qts.market.validation import validate_frame
from qts.services.data.corporate_actions import adjust_stored, store_fetched

ProgressCallback = Callable[[int, int | None], None]  # (bars so far, expected total or None)


def resolve_database(db: Database | None) -> Database:
    if db is not None:
        return db
    from qts.config import get_settings

    return Database(get_settings().effective_database_url)


def symbol_defaults(exchange: str, symbol: str) -> dict[str, Any]:
    if "/" in symbol:
        return {"asset_class": "crypto", "currency": symbol.split("/")[1], "quantity_step": 1e-8}
    if exchange.upper() in ("XKRX", "KRX"):
        return {"asset_class": "stock", "currency": "KRW", "tick_size": 1.0}
    return {"asset_class": "index" if symbol.startswith("^") else "stock", "currency": "USD"}


def import_file(
    db: Database | None,
    path: str | Path,
    symbol: str,
    timeframe: str,
    exchange: str | None = None,
    repair: bool = False,
    drop_off_calendar: bool = False,
) -> dict[str, Any]:
    """Validate a bar file and store it (all or nothing). Raises ValidationError with the
    row-level report on a bad file unless `repair`. Bars on days that are not sessions of the
    exchange are reported (and left out with `drop_off_calendar`). Returns the report plus
    stored counts."""
    timeframe_ms(timeframe)
    exchange = exchange or guess_exchange(symbol)
    bars, report = load_bars_with_report(
        path, repair=repair, exchange=exchange, drop_off_calendar=drop_off_calendar
    )
    seen = infer_timeframe(bars.index)
    if seen and timeframe_ms(seen) < timeframe_ms(timeframe):
        raise ValidationError(
            f"{Path(path).name}: bars are {seen} apart, finer than --timeframe {timeframe}",
            details={"inferred_timeframe": seen, "timeframe": timeframe},
        )
    database = resolve_database(db)
    with database.session() as s:
        repo = MarketRepository(s)
        if repo.get_symbol(exchange, symbol) is None:
            repo.upsert_symbol(exchange, symbol, **symbol_defaults(exchange, symbol))
        counts = repo.upsert_bars(exchange, symbol, timeframe, bars)
    return {
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        **counts,
        "report": report.to_dict(),
    }


def read_bars(
    symbol: str,
    timeframe: str,
    start: Any = None,
    end: Any = None,
    exchange: str | None = None,
    db: Database | None = None,
    prices: str = "adjusted",
) -> pd.DataFrame:
    """Stored bars (start <= ts <= end). Without `exchange`, the one exchange holding the
    symbol at that timeframe is used. `prices`: "adjusted" (stored splits and dividends
    applied: what signals and features see) or "raw" (the quotes as stored)."""
    database = resolve_database(db)
    with database.session() as s:
        repo = MarketRepository(s)
        exchange = exchange or _resolve_exchange(repo, symbol, timeframe)
        bars = repo.read_bars(exchange, symbol, timeframe, start, end)
        return adjust_stored(s, exchange, symbol, [bars], prices)[0]


def stored_markets(
    db: Database | None, symbols: list[str], timeframe: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(exchange, currency) per symbol as stored, for resolving a run's market preset; symbols
    stored on no exchange or on several are left out (their names decide)."""
    exchanges: dict[str, str] = {}
    currencies: dict[str, str] = {}
    with resolve_database(db).session() as s:
        repo = MarketRepository(s)
        for symbol in symbols:
            found = repo.exchanges_of(symbol, timeframe)
            if len(found) != 1:
                continue
            exchanges[symbol] = found[0]
            row = repo.get_symbol(found[0], symbol)
            if row is not None and row.currency:
                currencies[symbol] = row.currency
    return exchanges, currencies


def read_bars_with_history(
    symbol: str,
    timeframe: str,
    start: Any,
    end: Any,
    history_bars: int,
    db: Database | None = None,
    prices: str = "adjusted",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history, bars): the stored bars start..end, and up to `history_bars` stored bars before
    `start` that warm a strategy's indicators up (none without a start); `prices` as in
    `read_bars`."""
    database = resolve_database(db)
    with database.session() as s:
        repo = MarketRepository(s)
        exchange = _resolve_exchange(repo, symbol, timeframe)
        bars = repo.read_bars(exchange, symbol, timeframe, start, end)
        first = (
            repo.history_start_ms(exchange, symbol, timeframe, start, history_bars)
            if start is not None and history_bars > 0
            else None
        )
        if first is None:
            return bars.iloc[:0], adjust_stored(s, exchange, symbol, [bars], prices)[0]
        history = repo.read_bars(exchange, symbol, timeframe, first, to_epoch_ms(start) - 1)
        history, bars = adjust_stored(s, exchange, symbol, [history, bars], prices)
        return history, bars


def _resolve_exchange(repo: MarketRepository, symbol: str, timeframe: str) -> str:
    found = repo.exchanges_of(symbol, timeframe)
    if not found:
        raise NotFoundError(f"no {timeframe} bars stored for {symbol}")
    if len(found) > 1:
        raise ValidationError(
            f"{symbol} {timeframe} is stored for several exchanges; pick one",
            details={"exchanges": found},
        )
    return found[0]


def page_bars(
    symbol: str,
    timeframe: str,
    start: Any = None,
    end: Any = None,
    *,
    exchange: str | None = None,
    limit: int = 1000,
    offset: int = 0,
    after: Any = None,
    db: Database | None = None,
) -> dict[str, Any]:
    """A page of bars as plain dicts, for the API (`next_after` continues the keyset)."""
    database = resolve_database(db)
    with database.session() as s:
        repo = MarketRepository(s)
        exchange = exchange or _resolve_exchange(repo, symbol, timeframe)
        return repo.page_bars(
            exchange, symbol, timeframe, start, end, limit=limit, offset=offset, after=after
        )


def list_datasets(db: Database | None = None) -> list[dict[str, Any]]:
    with resolve_database(db).session() as s:
        return MarketRepository(s).list_datasets()


def list_symbols(db: Database | None = None) -> list[dict[str, Any]]:
    with resolve_database(db).session() as s:
        return MarketRepository(s).list_symbols()


def store_bars(
    db: Database | None, exchange: str, symbol: str, timeframe: str, bars: pd.DataFrame
) -> dict[str, int]:
    database = resolve_database(db)
    with database.session() as s:
        repo = MarketRepository(s)
        if repo.get_symbol(exchange, symbol) is None:
            repo.upsert_symbol(exchange, symbol, **symbol_defaults(exchange, symbol))
        return repo.upsert_bars(exchange, symbol, timeframe, bars)


def fetch(
    provider: str,
    exchange: str,
    symbol: str,
    timeframe: str,
    since: Any,
    progress_cb: ProgressCallback | None = None,
    *,
    until: Any = None,
    db: Database | None = None,
    provider_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Download history and store it. ccxt pages are stored as they arrive and a re-run resumes
    after the last stored bar, so an interrupted download loses nothing and repeats nothing."""
    database = resolve_database(db)
    options = dict(provider_options or {})
    step = timeframe_ms(timeframe)
    since_ms = to_epoch_ms(since)
    until_ms = to_epoch_ms(until) if until is not None else None
    with database.session() as s:
        last = MarketRepository(s).last_bar_ms(exchange, symbol, timeframe)
    resumed_from = None
    if last is not None and last + step > since_ms:
        since_ms = resumed_from = last + step
    expected = None
    end_ms = until_ms if until_ms is not None else int(pd.Timestamp.now("UTC").value // 1_000_000)
    if end_ms > since_ms:
        expected = (end_ms - since_ms) // step
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}
    fetched = 0
    name = provider.lower()
    from qts.services.data.providers import make_provider

    client = make_provider(name, exchange, options)
    if name == "ccxt":
        info = client.market_info(symbol)  # type: ignore[attr-defined]
        with database.session() as s:
            MarketRepository(s).upsert_symbol(exchange, symbol, **info)
    pages = client.fetch_pages(symbol, timeframe, since_ms, until_ms)
    for page in pages:
        validate_frame(page, f"{name}:{exchange}:{symbol}:{timeframe}")
        counts = store_bars(database, exchange, symbol, timeframe, page)
        for key in totals:
            totals[key] += counts[key]
        fetched += len(page)
        if progress_cb is not None:
            progress_cb(fetched, expected)
    # Yahoo reports splits and dividends with the bars (which it returns raw): store them too.
    actions = store_fetched(database, exchange, client)
    return {
        "provider": name,
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "fetched": fetched,
        "resumed_from": pd.Timestamp(resumed_from, unit="ms", tz="UTC").isoformat()
        if resumed_from is not None
        else None,
        **totals,
        **({"corporate_actions": actions} if actions else {}),
    }


def synth(
    db: Database | None = None,
    symbols: int = 3,
    bars: int = 1000,
    timeframe: str = "1m",
    *,
    start: str = "2024-01-01",
    seed: int = 0,
    exchange: str = "SYNTH",
) -> dict[str, Any]:
    """Generate seeded synthetic bars and store them under exchange `SYNTH`."""
    from qts.market.synthetic import generate_bars

    generated = generate_bars(symbols, bars, timeframe, start=start, seed=seed)
    database = resolve_database(db)
    stored = {}
    with database.session() as s:
        repo = MarketRepository(s)
        for name, frame in generated.items():
            if repo.get_symbol(exchange, name) is None:
                repo.upsert_symbol(
                    exchange, name, name=f"synthetic {name}", asset_class="synthetic"
                )
            stored[name] = repo.upsert_bars(exchange, name, timeframe, frame)
    return {
        "exchange": exchange,
        "timeframe": timeframe,
        "bars_per_symbol": bars,
        "symbols": stored,
    }


async def replay_to_bus(
    bus: Any,
    symbols: list[str],
    timeframe: str,
    *,
    start: Any = None,
    end: Any = None,
    speed: float | None = None,
    exchange: str | None = None,
    db: Database | None = None,
) -> int:
    """Play stored bars through a ReplayFeed and publish each on `bars:<symbol>`; returns the
    number of bars published."""
    from qts.market.feeds import bar_to_event
    from qts.market.replay import ReplayFeed

    database = resolve_database(db)
    frames = {
        s: read_bars(s, timeframe, start, end, exchange=exchange, db=database) for s in symbols
    }
    return await publish_feed(
        bus, ReplayFeed(frames, timeframe, speed=speed, exchange=exchange or ""), bar_to_event
    )


async def publish_feed(bus: Any, feed: Any, to_event: Callable[[Any], dict[str, Any]]) -> int:
    """Publish every bar a feed (replay or live) yields on `bars:<symbol>`."""
    count = 0
    async for bar in feed:
        bus.publish(f"bars:{bar.symbol}", to_event(bar))
        count += 1
    return count


def import_fundamentals(
    db: Database | None,
    path: str | Path,
    exchange: str,
    symbol: str | None = None,
    lag_days: float = 1.0,
) -> dict[str, Any]:
    from qts.market.fundamentals import parse_fundamentals_csv

    rows = parse_fundamentals_csv(path, exchange=exchange, symbol=symbol, lag_days=lag_days)
    with resolve_database(db).session() as s:
        return {"stored": FundamentalsRepository(s).upsert_fundamentals(rows)}


def symbol_in_session(symbol: str, now: datetime) -> bool:
    """Whether `symbol`'s exchange is in session at `now` (crypto: always)."""
    from qts.market.calendars import ALWAYS_OPEN, calendar_name, get_calendar

    name = calendar_name(guess_exchange(symbol))
    if name is None or name == ALWAYS_OPEN:
        return True
    minute = pd.Timestamp(now).floor("min")
    return bool(get_calendar(name).is_open_on_minute(minute))
