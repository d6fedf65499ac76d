"""The claim: before anything is sent, one process moves a stored `new` order to `submitting`
with a compare-and-set, in the same transaction as the risk check, under one database lock.

So, with any number of API servers and sessions on one database: only the process whose claim
succeeded sends the order (exactly one executor submission per client order id), and every
risk check sees the positions, working orders and recent claims of all of them (an order-rate
window and exposure shared through the database, never per process).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, literal, select, union_all, update
from sqlalchemy.orm import Session

from qts.core.types import OrderStatus, Side
from qts.db import Database
from qts.db.models import Order as OrderRow
from qts.db.models import OrderEvent
from qts.db.models import Position as PositionRow
from qts.db.models.jobs import SystemStatus
from qts.db.repositories.orders import OrderRepository
from qts.execution.risk import AccountState, RiskDecision, RiskManager
from qts.services.trading.currencies import live_account_currency, with_currencies
from qts.services.trading.orders import order_to_dict

# Every claim takes this lock: the order-rate window is global, exposure is per account.
CLAIM_LOCK = "order-claims"
KILL_SWITCH_KEY = "kill_switch"
# Orders that count as working for exposure (a `new` order has not passed a risk check yet).
WORKING = (
    OrderStatus.SUBMITTING.value,
    OrderStatus.SUBMITTED.value,
    OrderStatus.PARTIALLY_FILLED.value,
)


def claim_owner() -> str:
    """Who claims: host and process, so a restarted process can tell its dead claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class ClaimResult:
    order: dict[str, Any]  # the stored order after the attempt
    claimed: bool  # this process claimed it and is the one to send it
    decision: RiskDecision | None = None  # set when the risk check rejected it


def account_state(s: Session, account: str, now: datetime, count_rate: bool) -> AccountState:
    """The account as every process sees it: stored positions, working orders' remaining
    quantities, today's realized P&L, the kill switch and (on demand) the claims of the last
    minute. Positions and working orders are read in one statement: one snapshot, so an order
    filled in between is counted once (in the position), never zero times."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    held = select(
        literal("position").label("kind"),
        PositionRow.symbol,
        PositionRow.quantity,
        PositionRow.average_price,
        PositionRow.last_price,
        literal(None, OrderRow.__table__.c.meta.type).label("meta"),
    ).where(PositionRow.account == account)
    working = select(
        OrderRow.side,
        OrderRow.symbol,
        OrderRow.quantity - OrderRow.filled_quantity,
        OrderRow.limit_price,
        OrderRow.limit_price,
        OrderRow.meta,
    ).where(OrderRow.account == account, OrderRow.status.in_(WORKING))
    positions: dict[str, float] = {}
    prices: dict[str, float] = {}
    unrealized: dict[str, float] = {}
    buys: dict[str, float] = {}
    sells: dict[str, float] = {}
    for kind, symbol, quantity, price, last, meta in s.execute(union_all(held, working)).all():
        if kind == "position":
            positions[symbol] = quantity
            prices[symbol] = last or price
            unrealized[symbol] = (last - price) * quantity if last else 0.0
            continue
        book = buys if kind == Side.BUY.value else sells
        book[symbol] = book.get(symbol, 0.0) + max(quantity, 0.0)
        if not prices.get(symbol):
            prices[symbol] = last or (meta or {}).get("claim", {}).get("price") or 0.0
    kill = s.get(SystemStatus, KILL_SWITCH_KEY)
    realized = OrderRepository(s).realized_net_by_symbol_since(account, today)
    pnl = dict(realized)
    for symbol, value in unrealized.items():
        pnl[symbol] = pnl.get(symbol, 0.0) + value
    return AccountState(
        positions=positions,
        prices=prices,
        realized_pnl_today=sum(realized.values()),
        unrealized_pnl=sum(unrealized.values()),
        pnl_by_symbol=pnl,
        kill_switch=bool(kill and kill.value.get("on")),
        open_buys=buys,
        open_sells=sells,
        orders_last_minute=recent_claims(s, now) if count_rate else None,
    )


def recent_claims(s: Session, now: datetime) -> int:
    """Orders claimed for sending in the minute before `now` (by any process)."""
    since = now - timedelta(seconds=60)
    q = select(func.count()).where(
        OrderEvent.to_status == OrderStatus.SUBMITTING.value, OrderEvent.ts > since
    )
    return int(s.scalar(q) or 0)


def claim(
    db: Database, risk: RiskManager, order_id: int, price: float, now: datetime
) -> ClaimResult:
    """Risk-check and claim a stored `new` order in one locked transaction."""
    with db.transaction(lock=CLAIM_LOCK) as s:
        o = s.get(OrderRow, order_id, populate_existing=True)
        assert o is not None
        if o.status != OrderStatus.NEW.value:  # claimed (or settled) by another process
            return ClaimResult(order_to_dict(o), False)
        state = account_state(s, o.account, now, risk.limits.max_orders_per_minute is not None)
        if risk.limits.sizes_set:  # notionals to convert into the limits' currency
            base = (risk.account_currency or live_account_currency)(o.account)
            state = with_currencies(s, state, o.symbol, base, risk.limits.currency or base, now)
        decision = risk.check(o.symbol, Side(o.side), o.quantity, price, state, now)
        repo = OrderRepository(s)
        if not decision.allowed:
            o.status = OrderStatus.REJECTED.value
            o.reject_rule, o.reject_reason = decision.rule[:32], decision.message
            repo.add_event(o, "new", o.status, {"rule": decision.rule, "message": decision.message})
            return ClaimResult(order_to_dict(o), False, decision)
        owner = claim_owner()
        meta = {**(o.meta or {}), "claim": {"by": owner, "at": now.isoformat(), "price": price}}
        result = s.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.status == OrderStatus.NEW.value)
            .values(status=OrderStatus.SUBMITTING.value, meta=meta)
            .execution_options(synchronize_session=False)
        )
        won = cast(CursorResult[Any], result).rowcount
        s.refresh(o)
        if won != 1:
            return ClaimResult(order_to_dict(o), False)
        s.add(
            OrderEvent(
                order_id=o.id,
                from_status="new",
                to_status=OrderStatus.SUBMITTING.value,
                details={"by": owner},
                ts=now,
            )
        )
        s.flush()
        return ClaimResult(order_to_dict(o), True)
