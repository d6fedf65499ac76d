"""The bars a paper or live session runs on: the raw quotes orders fill at, the adjusted bars
the strategy decides from, and the symbols' stored corporate actions.

Bars are stored raw. A session shows its strategy the series adjusted for every stored split
and dividend (`adjust_frame` over warm-up history and feed together, as a backtest adjusts its
data), fills its paper orders at the raw quotes a broker would, and applies the actions to the
paper account as the feed passes their ex-dates (`qts.execution.paper_actions`). A symbol
without actions is read and fed exactly as before: its view is its raw bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from qts.core.types import Bar
from qts.db import Database
from qts.db.repositories.corporate_actions import CorporateActionsRepository
from qts.market.corporate_actions import CorporateAction, adjust_frame
from qts.market.feeds import make_bar

COLUMNS = ["open", "high", "low", "close", "volume"]
Frames = dict[str, pd.DataFrame]


@dataclass
class SessionBars:
    history: Frames  # raw bars before the feed (warm-up; after a resume, all bars processed)
    frames: Frames  # raw bars still to feed
    actions: dict[str, list[CorporateAction]] = field(default_factory=dict)
    view_history: Frames = field(default_factory=dict)  # adjusted, symbols with actions only
    view_frames: Frames = field(default_factory=dict)

    @classmethod
    def build(
        cls, history: Frames, frames: Frames, actions: dict[str, list[CorporateAction]]
    ) -> SessionBars:
        out = cls(history, frames, {s: a for s, a in actions.items() if a})
        for symbol in out.actions:
            before = history.get(symbol)
            after = frames.get(symbol, pd.DataFrame(columns=COLUMNS))
            whole = pd.concat([before, after]) if before is not None and len(before) else after
            adjusted = adjust_frame(whole, out.actions[symbol])
            cut = len(whole) - len(after)
            out.view_history[symbol], out.view_frames[symbol] = adjusted[:cut], adjusted[cut:]
        return out

    def resume_after(self, cut: pd.Timestamp) -> SessionBars:
        """Bars up to `cut` (processed before a restart) become history."""

        def split(before: Frames, after: Frames) -> tuple[Frames, Frames]:
            whole = {
                s: pd.concat([before[s], f]) if s in before and len(before[s]) else f
                for s, f in after.items()
            }
            return (
                {s: f[f.index <= cut] for s, f in whole.items()},
                {s: f[f.index > cut] for s, f in whole.items()},
            )

        history, frames = split(self.history, self.frames)
        view_history, view_frames = split(self.view_history, self.view_frames)
        return SessionBars(history, frames, self.actions, view_history, view_frames)

    def strategy_history(self) -> Frames:
        """The warm-up history as the strategy sees it."""
        return {**self.history, **self.view_history}

    def raw_marks(self) -> dict[str, float]:
        """Each symbol's last raw close before the feed (positions are valued at raw prices)."""
        return {
            s: float(f["close"].iloc[-1])
            for s, f in self.history.items()
            if s in self.actions and len(f)
        }

    def views(self) -> dict[str, dict[pd.Timestamp, tuple[float, ...]]]:
        """Per symbol with actions: bar time -> adjusted OHLCV of the feed."""
        return {
            s: dict(zip(f.index, f[COLUMNS].itertuples(index=False, name=None), strict=True))
            for s, f in self.view_frames.items()
        }


def view_bars(
    views: dict[str, dict[pd.Timestamp, tuple[float, ...]]], group: dict[str, Bar]
) -> dict[str, Bar] | None:
    """The adjusted bars of a group of raw bars (None when no symbol of it has actions)."""
    if not views:
        return None
    out = {}
    for symbol, bar in group.items():
        row = views.get(symbol, {}).get(pd.Timestamp(bar.ts))
        if row is not None:
            out[symbol] = make_bar(symbol, bar.timeframe, bar.ts, row, bar.exchange)
    return out or None


def stored_actions(
    db: Database, symbols: list[str], exchanges: dict[str, str]
) -> dict[str, list[CorporateAction]]:
    """Each symbol's stored actions: under its bars' exchange, else under any (as `read_bars`
    adjusts)."""
    out = {}
    with db.session() as s:
        repo = CorporateActionsRepository(s)
        for symbol in symbols:
            exchange = exchanges.get(symbol)
            found = (repo.read(exchange, symbol) if exchange else []) or repo.read(None, symbol)
            if found:
                out[symbol] = list(found)
    return out


def read_session_bars(
    db: Database, symbols: list[str], timeframe: str, start: Any, end: Any, warmup: int
) -> SessionBars:
    """A replay's bars start..end with `warmup` bars before; all stored bars without a start."""
    from qts.services.data import market_data

    history, frames = {}, {}
    for symbol in symbols:
        if start is None and end is None:  # the live feed: every stored bar
            frames[symbol] = market_data.read_bars(symbol, timeframe, db=db, prices="raw")
            history[symbol] = frames[symbol].iloc[:0]
            continue
        history[symbol], frames[symbol] = market_data.read_bars_with_history(
            symbol, timeframe, start, end, warmup, db=db, prices="raw"
        )
    exchanges, _ = market_data.stored_markets(db, symbols, timeframe)
    return SessionBars.build(history, frames, stored_actions(db, symbols, exchanges))
