"""Corporate actions use cases: import an events CSV, fetch from Yahoo (US) or derive from pykrx
(KRX), list them, and the one place bars are adjusted for whoever reads them.

Bars are stored raw. `adjust_stored` is what `read_bars` / `read_bars_with_history` call: with
`prices="adjusted"` (the default for signals, features, ML training and paper/live signals) a
symbol's stored splits and dividends adjust its frame; backtests read raw bars and these actions
(`actions_for`) and let the engine fill at raw prices (`qts.backtest.actions`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from qts.core.errors import ValidationError
from qts.db import Database
from qts.db.repositories.corporate_actions import CorporateActionsRepository
from qts.db.repositories.market import to_epoch_ms
from qts.market.calendars import guess_exchange
from qts.market.corporate_actions import (
    CorporateAction,
    adjust_frame,
    check_mode,
    parse_events_csv,
    splits_from_adjusted,
)


def adjust_stored(
    session: Session, exchange: str, symbol: str, frames: list[pd.DataFrame], prices: str
) -> list[pd.DataFrame]:
    """`frames` (raw bars of one symbol) as `prices` asks: "raw" as stored, "adjusted" with the
    symbol's stored actions (every frame against the same actions, so windows line up)."""
    check_mode(prices)
    if prices == "raw":
        return frames
    # Stored under the bars' exchange, else under any (an events CSV may name it differently):
    # one query, since every bar read comes through here.
    stored = CorporateActionsRepository(session).read(None, symbol)
    actions = [a for a in stored if a.exchange == exchange] or stored
    if not actions:
        return frames
    return [adjust_frame(frame, actions) for frame in frames]


def actions_for(
    db: Database, symbols: list[str], exchanges: dict[str, str]
) -> dict[str, list[CorporateAction]]:
    """Stored actions per symbol (on its stored exchange; any exchange when not known)."""
    out = {}
    with db.session() as s:
        repo = CorporateActionsRepository(s)
        for symbol in symbols:
            found = repo.read(exchanges.get(symbol), symbol)
            if found:
                out[symbol] = found
    return out


def import_csv(db: Database, path: str | Path, exchange: str | None = None) -> dict[str, Any]:
    """Store the events of a CSV (`exchange,symbol,ex_date,kind,ratio,amount[,source]`); every
    row is checked first, so a bad file stores nothing."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValidationError(f"cannot read events CSV {path}: {exc}") from exc
    actions = parse_events_csv(table, source=Path(path).name)
    actions = [
        a if a.exchange else _with_exchange(a, exchange or guess_exchange(a.symbol))
        for a in actions
    ]
    with db.session() as s:
        stored = CorporateActionsRepository(s).upsert(actions)
    return {"file": str(path), "stored": stored, "symbols": sorted({a.symbol for a in actions})}


def store(db: Database, exchange: str, actions: list[CorporateAction]) -> int:
    with db.session() as s:
        return CorporateActionsRepository(s).upsert(actions, exchange=exchange)


def fetch_yahoo(
    db: Database,
    symbol: str,
    since: Any,
    exchange: str | None = None,
    base_url: str | None = None,
) -> dict[str, Any]:
    """Splits and dividends since `since` from Yahoo's chart API, stored."""
    from qts.market.yahoo import YahooChartProvider

    client = YahooChartProvider(base_url) if base_url else YahooChartProvider()
    actions = client.fetch_actions(symbol, to_epoch_ms(since))
    exchange = exchange or guess_exchange(symbol)
    return {"symbol": symbol, "exchange": exchange, "stored": store(db, exchange, actions)}


def derive_krx(
    db: Database,
    symbol: str,
    raw: pd.DataFrame,
    adjusted: pd.DataFrame,
    source: str = "pykrx",
    exchange: str | None = None,
) -> dict[str, Any]:
    """KRX splits from a provider's adjusted vs raw closes (pykrx `adjusted=True/False`)."""
    actions = splits_from_adjusted(symbol, raw, adjusted, source=source)
    exchange = exchange or guess_exchange(symbol)
    stored = store(db, exchange, actions)
    return {"symbol": symbol, "exchange": exchange, "stored": stored,
            "splits": [[a.ex_date.isoformat(), a.ratio] for a in actions]}  # fmt: skip


def fetch_pykrx(
    db: Database, symbol: str, since: Any, exchange: str | None = None
) -> dict[str, Any]:
    """Both pykrx series of a KRX code (network), compared by `derive_krx`."""
    from qts.market.krx_libraries import PykrxProvider

    since_ms = to_epoch_ms(since)
    raw = PykrxProvider(adjusted=False).fetch(symbol, "1d", since_ms)
    adjusted = PykrxProvider(adjusted=True).fetch(symbol, "1d", since_ms)
    return derive_krx(db, symbol, raw, adjusted, exchange=exchange)


def list_actions(
    db: Database, symbol: str | None = None, exchange: str | None = None
) -> list[dict[str, Any]]:
    with db.session() as s:
        found = CorporateActionsRepository(s).read(exchange, symbol)
    return [
        {
            "exchange": a.exchange,
            "symbol": a.symbol,
            "ex_date": a.ex_date.isoformat(),
            "kind": a.kind,
            "ratio": a.ratio,
            "amount": a.amount,
            "source": a.source,
            "known_at": a.known_at.isoformat() if a.known_at else None,
        }
        for a in found
    ]


def store_fetched(db: Database, exchange: str, client: Any) -> int:
    """Actions a bar download reported (Yahoo's splits and dividends), stored beside its bars."""
    actions = list(getattr(client, "actions", None) or [])
    return store(db, exchange, actions) if actions else 0


def _with_exchange(action: CorporateAction, exchange: str) -> CorporateAction:
    from dataclasses import replace

    return replace(action, exchange=exchange)
