"""FX rates in the bars table: import, fetch from Yahoo, read (inverse derived), the daily job,
and the FX side of a backtest (resolving the run spec against stored pairs, converting bars).

Pairs are stored under exchange `FX` as BASE/QUOTE with close = QUOTE per BASE
(`qts.market.fx`). A rejected file or feed stores nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.db import Database
from qts.db.repositories.market import MarketRepository, to_epoch_ms
from qts.market.frames import timeframe_ms
from qts.market.fx import FX_EXCHANGE, FxPair, invert_bars, load_rates_file, widen_range
from qts.market.validation import validate_frame
from qts.services.data.market_data import resolve_database

if TYPE_CHECKING:
    from qts.backtest.config import BacktestConfig
    from qts.services.context import AppContext

DEFAULT_PAIRS = ("USD/KRW",)
FIRST_FETCH_DAYS = 5 * 365  # history a pair's first fetch takes when no start is given
JOB_DAYS = 10  # the daily job re-reads this many days (a late or revised quote is updated)


def _store(db: Database, pair: FxPair, timeframe: str, bars: pd.DataFrame) -> dict[str, int]:
    with db.session() as s:
        repo = MarketRepository(s)
        if repo.get_symbol(FX_EXCHANGE, pair.name) is None:
            repo.upsert_symbol(
                FX_EXCHANGE, pair.name, name=f"{pair.quote} per {pair.base}",
                asset_class="fx", currency=pair.quote, quantity_step=1e-8,
            )  # fmt: skip
        return repo.upsert_bars(FX_EXCHANGE, pair.name, timeframe, bars)


def import_rates(
    db: Database | None, path: str | Path, pair: str, timeframe: str = "1d"
) -> dict[str, Any]:
    """Validate an FX rate file (date,close or OHLC) and store it as the pair's bars, all or
    nothing."""
    fx_pair = FxPair.parse(pair)
    timeframe_ms(timeframe)
    bars, report = load_rates_file(path)
    counts = _store(resolve_database(db), fx_pair, timeframe, bars)
    return {"pair": fx_pair.name, "timeframe": timeframe, **counts, "report": report}


def fetch_rates(
    db: Database | None,
    pair: str,
    start: Any = None,
    end: Any = None,
    timeframe: str = "1d",
    base_url: str | None = None,
) -> dict[str, Any]:
    """Download a pair's rates from Yahoo's chart API (USD/KRW is `KRW=X`) and store them.
    Without a start it continues after the last stored bar (or takes five years)."""
    from qts.market.yahoo import YAHOO_URL, YahooChartProvider

    fx_pair = FxPair.parse(pair)
    database = resolve_database(db)
    step = timeframe_ms(timeframe)
    if start is not None:
        since_ms = to_epoch_ms(start)
    else:
        with database.session() as s:
            last = MarketRepository(s).last_bar_ms(FX_EXCHANGE, fx_pair.name, timeframe)
        now_ms = int(pd.Timestamp.now("UTC").value // 1_000_000)
        since_ms = last + step if last is not None else now_ms - FIRST_FETCH_DAYS * 86_400_000
    until_ms = to_epoch_ms(end) if end is not None else None
    url = base_url or os.environ.get("QTS_YAHOO_URL") or YAHOO_URL
    symbol = fx_pair.yahoo_symbol()
    # Yahoo stamps FX days at 00:00 London, 23:00 UTC the day before in summer: ask a day
    # earlier so the first day is not missed, and keep the days from the start on.
    bars = YahooChartProvider(url).fetch(
        symbol, timeframe, since_ms - 86_400_000, until_ms, with_actions=False
    )
    bars = widen_range(bars[bars.index >= pd.Timestamp(since_ms, unit="ms", tz="UTC").floor("D")])
    validate_frame(bars, f"yahoo:{symbol}:{timeframe}")
    counts = _store(database, fx_pair, timeframe, bars)
    first = bars.index[0].isoformat() if len(bars) else None
    last_ts = bars.index[-1].isoformat() if len(bars) else None
    return {
        "pair": fx_pair.name, "source": f"yahoo:{symbol}", "timeframe": timeframe,
        "fetched": len(bars), "first": first, "last": last_ts, **counts,
    }  # fmt: skip


def read_rates(
    db: Database | None,
    pair: str | FxPair,
    start: Any = None,
    end: Any = None,
    timeframe: str = "1d",
) -> pd.DataFrame:
    """The pair's rate bars (start <= open time <= end): stored as such, else derived from
    the inverse pair (1/rate). NotFoundError names the pair when neither is stored."""
    fx_pair = pair if isinstance(pair, FxPair) else FxPair.parse(pair)
    with resolve_database(db).session() as s:
        repo = MarketRepository(s)
        for candidate, inverted in ((fx_pair, False), (fx_pair.inverse, True)):
            if repo.count_bars(FX_EXCHANGE, candidate.name, timeframe):
                bars = repo.read_bars(FX_EXCHANGE, candidate.name, timeframe, start, end)
                return invert_bars(bars) if inverted else bars
    raise NotFoundError(
        f"no {timeframe} FX rates stored for {fx_pair.name} (nor {fx_pair.inverse.name}): "
        f"qts data fx fetch --pair {fx_pair.name}",
        details={"pair": fx_pair.name},
    )


def stored_pairs(db: Database | None, pairs: list[str], timeframe: str = "1d") -> list[str]:
    """Those of `pairs` with stored rates (in either direction)."""
    out = []
    with resolve_database(db).session() as s:
        repo = MarketRepository(s)
        for name in pairs:
            pair = FxPair.parse(name)
            if any(repo.count_bars(FX_EXCHANGE, p.name, timeframe) for p in (pair, pair.inverse)):
                out.append(pair.name)
    return out


def collect_fx_rates(
    ctx: AppContext, pairs: list[str] | None = None, days: int = JOB_DAYS
) -> dict[str, Any]:
    """The `fx_rates` job: the last `days` of daily rates of each configured pair. One pair's
    failure does not stop the others; the run fails (and is retried) if any failed."""
    start = pd.Timestamp.now("UTC").normalize() - pd.Timedelta(days=days)
    fetched: dict[str, int] = {}
    errors: dict[str, str] = {}
    for pair in pairs or list(DEFAULT_PAIRS):
        try:
            fetched[pair] = int(fetch_rates(ctx.db, pair, start=start)["fetched"])
        except Exception as exc:
            errors[pair] = f"{type(exc).__name__}: {exc}"
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(errors) + len(fetched)} pairs failed: {errors}")
    return {"pairs": fetched}


# Backtests --------------------------------------------------------------------------------------
DatabaseSource = Database | Callable[[], Database] | None  # a callable opens it only if needed


def _database(db: DatabaseSource) -> Database:
    return db() if callable(db) else resolve_database(db)


def resolve_run(
    db: DatabaseSource,
    config: BacktestConfig,
    symbols: list[str],
    exchanges: Mapping[str, str] | None = None,
    currencies: Mapping[str, str] | None = None,
    strategy_params: Mapping[str, Any] | None = None,
) -> BacktestConfig:
    """`config.resolve(...)` against the FX pairs stored: a run with symbols in another
    currency than its base resolves when their pairs are stored, and is refused naming the
    missing ones otherwise."""
    try:
        resolved = config.resolve(symbols, exchanges, currencies, strategy_params)
    except ValidationError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        needed = details.get("missing_fx_pairs")
        if not needed:
            raise
        available = stored_pairs(_database(db), list(needed))
        resolved = config.resolve(
            symbols, exchanges, currencies, strategy_params, fx_pairs=available
        )
    if resolved.fx_pairs:  # a spec given resolved in full was not checked against the store
        stored = stored_pairs(_database(db), resolved.fx_pairs)
        missing = [p for p in resolved.fx_pairs if p not in stored]
        if missing:
            raise ValidationError(
                f"run in {resolved.currency} needs FX rates; none stored for "
                f"{', '.join(missing)}: store them with qts data fx fetch --pair {missing[0]}",
                details={"missing_fx_pairs": missing},
            )
    return resolved


def convert_run_data(
    db: DatabaseSource,
    config: BacktestConfig,
    universe: Mapping[str, pd.DataFrame],
    timeframe: str,
    exchanges: Mapping[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """The run's bars priced in its base currency: each foreign symbol's OHLC times the FX
    rate in force at each bar's close (daily rates; the newest that had closed)."""
    from qts.market.fx import convert_universe

    if not config.symbol_currencies:
        return dict(universe)
    frames = [universe[s] for s in config.symbol_currencies if s in universe and len(universe[s])]
    if not frames:
        return dict(universe)
    first = min(f.index[0] for f in frames) - pd.Timedelta(days=14)  # the rate in force then
    last = max(f.index[-1] for f in frames) + pd.Timedelta(days=2)
    database = _database(db)
    rates = {pair: read_rates(database, pair, first, last)["close"] for pair in config.fx_pairs}
    return convert_universe(
        universe, config.symbol_currencies, str(config.currency), rates, timeframe, exchanges
    )


def conversion_rates(
    config: BacktestConfig,
    raw: Mapping[str, pd.DataFrame],
    converted: Mapping[str, pd.DataFrame],
) -> dict[str, pd.Series]:
    """The rate each converted symbol's bars were priced in the run's currency with (converted
    close / raw close, by bar time): it converts the fee amounts of a symbol from another
    market (`run_backtest(fx_rates=...)`)."""
    return {
        symbol: converted[symbol]["close"].astype(float) / raw[symbol]["close"].astype(float)
        for symbol in config.symbol_currencies
        if symbol in converted and symbol in raw
    }


def convert_run_actions(
    config: BacktestConfig,
    raw: Mapping[str, pd.DataFrame],
    converted: Mapping[str, pd.DataFrame],
    actions: Mapping[str, list[Any]],
) -> dict[str, list[Any]]:
    """Dividends of the run's foreign symbols in its base currency, at the rate its bars were
    converted with on the ex-date (converted close / raw close); splits need no rate."""
    from dataclasses import replace

    out = {}
    for symbol, items in actions.items():
        if symbol not in config.symbol_currencies or symbol not in converted:
            out[symbol] = list(items)
            continue
        before, after = raw[symbol]["close"], converted[symbol]["close"]
        moved = []
        for action in items:
            if action.kind == "dividend" and len(before):
                at = min(
                    int(before.index.searchsorted(pd.Timestamp(action.ex_date))), len(before) - 1
                )
                rate = float(after.iloc[at]) / float(before.iloc[at])
                action = replace(action, amount=action.amount * rate)
            moved.append(action)
        out[symbol] = moved
    return out
