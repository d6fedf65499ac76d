"""Accounts' equity and P&L: now (from stored positions, fills and prices) and over time (the
`account_snapshots` job keeps a row whenever an account's figures change).

Paper accounts (`paper`, `paper:<strategy>`): cash is the initial cash less what the stored
fills bought and their fees, plus what they sold; equity is cash plus positions marked at their
last price (else the latest stored close, else cost). Live accounts (`live:<broker>`): the cash
sits at the broker, so `cash` and `equity` are None and P&L comes from the positions alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select

from qts.core.errors import NotFoundError
from qts.db import Database
from qts.db.models import AccountSnapshot, Order, Position
from qts.db.models import Strategy as StrategyRow
from qts.services.context import AppContext
from qts.services.schemas import Record

FIGURES = ("cash", "positions_value", "equity", "realized_pnl", "unrealized_pnl", "fees")


class AccountPoint(Record):
    ts: str
    cash: float | None
    positions_value: float
    equity: float | None
    realized_pnl: float
    unrealized_pnl: float
    fees: float
    open_positions: int
    # equity - initial cash for paper accounts; realized + unrealized for live ones
    pnl: float | None


class AccountSummary(Record):
    account: str
    kind: Literal["paper", "live"]
    strategy_id: int | None  # the strategy trading it (paper:<name>), if any
    initial_cash: float | None
    now: AccountPoint


class EquityHistory(Record):
    account: str
    kind: Literal["paper", "live"]
    initial_cash: float | None
    points: list[AccountPoint]  # stored snapshots, oldest first
    now: AccountPoint  # the figures at this moment (not stored)


def kind_of(account: str) -> Literal["paper", "live"]:
    return "live" if account.startswith("live") else "paper"


def known_accounts(db: Database) -> list[str]:
    """Every account with an order, a position, a snapshot or a paper strategy."""
    with db.session() as s:
        names = set(s.scalars(select(Order.account).distinct()))
        names |= set(s.scalars(select(Position.account).distinct()))
        names |= set(s.scalars(select(AccountSnapshot.account).distinct()))
        paper = select(StrategyRow.name).where(StrategyRow.mode == "paper")
        names |= {f"paper:{n}" for n in s.scalars(paper)}
    return sorted(names | {"paper"})


def _strategy_of(db: Database, account: str) -> StrategyRow | None:
    if not account.startswith("paper:"):
        return None
    with db.session() as s:
        row = s.scalar(select(StrategyRow).where(StrategyRow.name == account[len("paper:") :]))
        if row is not None:
            s.expunge(row)
        return row


def initial_cash(ctx: AppContext, account: str) -> float | None:
    from qts.services.trading.paper_accounts import paper_config
    from qts.strategies.registry import create_strategy

    if kind_of(account) == "live":
        return None
    row = _strategy_of(ctx.db, account)
    if row is None:
        return paper_config(ctx.settings, symbols=[]).initial_cash
    try:
        params = dict(create_strategy(row.strategy_class, row.parameters or {}).p)
    except Exception:  # a strategy class since removed: the account's figures still show
        params = {}
    return paper_config(ctx.settings, list(row.symbols or []), params, ctx.db).initial_cash


def current_point(ctx: AppContext, account: str, start_cash: float | None) -> AccountPoint:
    from qts.db.repositories.orders import PositionRepository
    from qts.services.trading.paper_desk import cash_from_fills, latest_bar

    value = realized = unrealized = fees = 0.0
    open_positions = 0
    with ctx.db.session() as s:
        positions = [
            (p.symbol, p.quantity, p.average_price, p.last_price, p.realized_pnl, p.fees)
            for p in PositionRepository(s).list(account, include_flat=True)
        ]
    for symbol, qty, avg, last, real, fee in positions:
        realized, fees = realized + real, fees + fee
        if not qty:
            continue
        open_positions += 1
        if last is None:
            bar = latest_bar(ctx.db, symbol)
            last = bar.close if bar is not None else avg
        value += qty * last
        unrealized += qty * (last - avg)
    cash = None if start_cash is None else cash_from_fills(ctx.db, account, start_cash)
    equity = None if cash is None else cash + value
    pnl = realized + unrealized if equity is None or start_cash is None else equity - start_cash
    return AccountPoint(
        ts=datetime.now(UTC).isoformat(), cash=cash, positions_value=value, equity=equity,
        realized_pnl=realized, unrealized_pnl=unrealized, fees=fees,
        open_positions=open_positions, pnl=pnl,
    )  # fmt: skip


def summary(ctx: AppContext, account: str) -> AccountSummary:
    start = initial_cash(ctx, account)
    row = _strategy_of(ctx.db, account)
    return AccountSummary(
        account=account, kind=kind_of(account), strategy_id=row.id if row else None,
        initial_cash=start, now=current_point(ctx, account, start),
    )  # fmt: skip


def list_accounts(ctx: AppContext) -> list[AccountSummary]:
    return [summary(ctx, a) for a in known_accounts(ctx.db)]


def _point(row: AccountSnapshot, start_cash: float | None) -> AccountPoint:
    pnl = (
        row.equity - start_cash
        if row.equity is not None and start_cash is not None
        else row.realized_pnl + row.unrealized_pnl
    )
    return AccountPoint(
        ts=row.ts.isoformat(), cash=row.cash, positions_value=row.positions_value,
        equity=row.equity, realized_pnl=row.realized_pnl, unrealized_pnl=row.unrealized_pnl,
        fees=row.fees, open_positions=row.open_positions, pnl=pnl,
    )  # fmt: skip


def history(
    ctx: AppContext,
    account: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> EquityHistory:
    """The stored snapshots in [since, until] (the latest `limit` of them, oldest first) and
    the figures now."""
    if account not in known_accounts(ctx.db):
        raise NotFoundError(f"account {account} not found")
    start = initial_cash(ctx, account)
    q = select(AccountSnapshot).where(AccountSnapshot.account == account)
    if since is not None:
        q = q.where(AccountSnapshot.ts >= since)
    if until is not None:
        q = q.where(AccountSnapshot.ts <= until)
    q = q.order_by(AccountSnapshot.ts.desc(), AccountSnapshot.id.desc()).limit(limit)
    with ctx.db.session() as s:
        points = [_point(r, start) for r in reversed(list(s.scalars(q)))]
    return EquityHistory(
        account=account, kind=kind_of(account), initial_cash=start, points=points,
        now=current_point(ctx, account, start),
    )  # fmt: skip


def record_account_snapshots(ctx: AppContext) -> dict[str, int]:
    """The `account_snapshots` job: store each account's figures when they differ from its
    last stored snapshot (an idle account adds no rows)."""
    written = 0
    accounts = known_accounts(ctx.db)
    for account in accounts:
        point = current_point(ctx, account, initial_cash(ctx, account))
        with ctx.db.session() as s:
            last = s.scalar(
                select(AccountSnapshot)
                .where(AccountSnapshot.account == account)
                .order_by(AccountSnapshot.ts.desc(), AccountSnapshot.id.desc())
                .limit(1)
            )
            figures = {k: getattr(point, k) for k in FIGURES}
            if last is not None and all(_same(getattr(last, k), v) for k, v in figures.items()):
                continue
            s.add(AccountSnapshot(account=account, open_positions=point.open_positions, **figures))
            written += 1
    if written:
        ctx.bus.publish("accounts", {"type": "snapshots", "written": written})
    return {"accounts": len(accounts), "written": written}


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
