"""Corporate actions applied to accounts' positions, once each (the `account_actions` table).

- A session's paper account (`paper:<strategy>`): the runner applies a split or dividend as its
  feed passes the ex-date (`qts.execution.paper_actions`); `record_paper_action` stores it in the
  bar step's transaction under the account's lock (the one the order service takes), so a
  restart or a second server never applies it twice.
- The shared `paper` account (manual orders): nothing feeds it bars, so `settle_shared_account`
  applies, before each order and at each account snapshot, the actions dated after the
  position's last fill and on/before the symbol's latest stored bar.
- A live account: the broker applies actions itself; reconciliation adopts its quantities, and
  a difference that a stored split explains is recorded here (`adopt_live_splits`) instead of
  being reported as a repaired mismatch.

A dividend's `cash` (quantity x amount, in the symbol's currency; negative for a short) counts
in the paper account's cash (`action_cash`) and in the position's realized P&L.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qts.db import Database
from qts.db.models import AccountAction, Bar, Fill, Order
from qts.db.repositories.corporate_actions import CorporateActionsRepository
from qts.db.repositories.orders import PositionRepository
from qts.market.corporate_actions import CorporateAction

SHARED_PAPER = "paper"


def _applied(s: Session, account: str, action: CorporateAction) -> bool:
    found = s.scalar(
        select(AccountAction.id).where(
            AccountAction.account == account,
            AccountAction.symbol == action.symbol,
            AccountAction.ex_date == action.ex_date,
            AccountAction.kind == action.kind,
        )
    )
    return found is not None


def _apply(s: Session, account: str, action: CorporateAction, held: float) -> None:
    """Store the action and move the stored position (the caller holds the account's lock)."""
    cash = held * action.amount if action.kind == "dividend" else 0.0
    s.add(
        AccountAction(
            account=account, symbol=action.symbol, ex_date=action.ex_date, kind=action.kind,
            ratio=action.ratio, amount=action.amount, quantity=held, cash=cash,
        )
    )  # fmt: skip
    pos = PositionRepository(s).get(account, action.symbol, for_update=True)
    if pos is None:
        return
    if action.kind == "split":
        pos.quantity = (pos.quantity or 0.0) * action.ratio
        pos.average_price = (pos.average_price or 0.0) / action.ratio
        if pos.last_price is not None:
            pos.last_price /= action.ratio
    else:
        pos.realized_pnl = (pos.realized_pnl or 0.0) + cash
    s.flush()


def record_paper_action(db: Database, account: str, action: CorporateAction, held: float) -> bool:
    """Store `action` applied to `held` shares of a paper account and move its stored position;
    False (nothing written) when the account already has it."""
    with db.transaction(lock=f"account:{account}") as s:
        if _applied(s, account, action):
            return False
        _apply(s, account, action, held)
    return True


def action_cash(s: Session, account: str) -> dict[str, float]:
    """The cash the account's applied actions paid, per symbol (in its currency)."""
    q = (
        select(AccountAction.symbol, func.sum(AccountAction.cash))
        .where(AccountAction.account == account, AccountAction.cash != 0)
        .group_by(AccountAction.symbol)
    )
    return {symbol: float(v or 0.0) for symbol, v in s.execute(q).all()}


def _last_fill_date(s: Session, account: str, symbol: str) -> date | None:
    last = s.scalar(
        select(func.max(Fill.ts))
        .join(Order, Order.id == Fill.order_id)
        .where(Order.account == account, Fill.symbol == symbol)
    )
    return _utc_date(last) if last is not None else None


def _utc_date(ts: datetime) -> date:
    return (ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)).astimezone(UTC).date()


def _pending(
    s: Session, account: str, symbol: str, after: date | None, upto: date
) -> list[CorporateAction]:
    """The symbol's stored actions dated after `after` and on/before `upto` that the account
    has not had yet; splits before dividends on a date."""
    found = CorporateActionsRepository(s).read(None, symbol)
    out = {
        (a.ex_date, a.kind): a
        for a in found
        if (after is None or a.ex_date > after) and a.ex_date <= upto
    }
    due = [a for a in out.values() if not _applied(s, account, a)]
    return sorted(due, key=lambda a: (a.ex_date, a.kind != "split"))


def settle_shared_account(db: Database, account: str = SHARED_PAPER) -> int:
    """Apply to the shared paper account's held positions the actions that came due since
    their last fill (through the symbol's latest stored bar). Returns how many were applied."""
    applied = 0
    with db.transaction(lock=f"account:{account}") as s:
        for pos in PositionRepository(s).list(account):
            latest = s.scalar(select(func.max(Bar.ts)).where(Bar.symbol == pos.symbol))
            if not pos.quantity or latest is None:
                continue
            upto = datetime.fromtimestamp(latest / 1000, UTC).date()
            after = _last_fill_date(s, account, pos.symbol)
            for action in _pending(s, account, pos.symbol, after, upto):
                _apply(s, account, action, pos.quantity)
                applied += 1
    return applied


def adopt_live_splits(
    s: Session, account: str, symbol: str, stored: float, broker: float
) -> list[CorporateAction]:
    """The stored splits (not yet recorded for the account, dated after its last fill and by
    today) that turn `stored` into the broker's `broker` quantity, recorded as applied; empty
    when no such splits explain the difference."""
    if not stored or not broker:
        return []
    after = _last_fill_date(s, account, symbol)
    splits = [
        a
        for a in _pending(s, account, symbol, after, datetime.now(UTC).date())
        if a.kind == "split"
    ]
    ratio = math.prod(a.ratio for a in splits)
    if not splits or abs(stored * ratio - broker) > 1e-6 * max(1.0, abs(broker)):
        return []
    held = stored
    for action in splits:
        s.add(
            AccountAction(
                account=account, symbol=symbol, ex_date=action.ex_date, kind="split",
                ratio=action.ratio, amount=0.0, quantity=held, cash=0.0,
            )
        )  # fmt: skip
        held *= action.ratio
    return splits
