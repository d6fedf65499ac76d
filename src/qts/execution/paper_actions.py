"""Corporate actions on a paper account as a replay or live feed reaches them, the way the
backtest applies them (`qts.backtest.actions`): at the open of a symbol's first bar dated on or
after the ex-date (never at its very first bar: nothing was held before it), before any fill. A
split multiplies the held quantity by its ratio and divides the average price (cost basis
unchanged) and re-sizes resting orders; a dividend pays quantity x amount in cash (a short
position pays it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import pandas as pd

from qts.execution.paper import PaperExecutor
from qts.market.corporate_actions import CorporateAction

# (action, quantity held before it) -> whether to apply it: False when the account's store
# already has it (applied by another process, or before a restart).
Settle = Callable[[CorporateAction, float], bool]


def utc_date(ts: datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def due_actions(
    actions: Iterable[CorporateAction], previous: datetime | pd.Timestamp, now: datetime
) -> list[CorporateAction]:
    """The actions whose ex-date falls after the bar at `previous` and on/before the bar at
    `now` (UTC dates, as bars are dated); splits before dividends on one date."""
    after, upto = utc_date(previous), utc_date(now)
    due = [a for a in actions if after < pd.Timestamp(a.ex_date) <= upto]
    return sorted(due, key=lambda a: (a.ex_date, a.kind != "split"))


def apply_action(executor: PaperExecutor, action: CorporateAction, settle: Settle | None) -> bool:
    """Apply `action` to the executor's book and portfolio; True when it moved the position."""
    symbol = action.symbol
    if action.kind == "split":
        executor.book.apply_split(symbol, action.ratio)
    held = executor.portfolio.quantity(symbol)
    if held == 0.0:
        return False
    if settle is not None and not settle(action, held):
        return False
    if action.kind == "split":
        executor.portfolio.apply_split(symbol, action.ratio)
    else:
        executor.portfolio.apply_dividend(symbol, action.amount)
    return True
