"""Accounts' equity and P&L: now (from stored positions, fills and prices) and over time (the
`account_snapshots` job keeps a row whenever an account's figures change).

Paper accounts (`paper`, `paper:<strategy>`): cash is the initial cash less what the stored
fills bought and their fees, plus what they sold and the dividends paid (`account_actions`); equity is cash plus positions marked at their
last price (else the latest stored close, else cost). Live accounts (`live:<broker>`): the cash
is the broker's, as last read by reconciliation or the order follow-up (`currencies`); before
any read `cash` and `equity` are None and P&L comes from the positions alone.

Cash is held per currency (`cash_by_currency`: USD beside KRW); `cash`, `positions_value`,
`equity` and P&L are in the account's base `currency`, converted at the FX rates in force
(`fx_rates`). A currency without a rate is named in `missing_fx` and leaves `cash`/`equity`
None rather than adding unconverted amounts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select

from qts.core.errors import NotFoundError, QtsError
from qts.db import Database
from qts.db.models import AccountSnapshot, Order, Position
from qts.db.models import Strategy as StrategyRow
from qts.execution.currency import FxRates, MissingFxRateError
from qts.services.context import AppContext
from qts.services.schemas import Record
from qts.services.trading.currencies import (
    broker_cash,
    fx_rates,
    live_account_currency,
    paper_cash,
    symbol_currencies,
)

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
    currency: str | None = None  # the base currency of the figures above
    cash_by_currency: dict[str, float] | None = None  # None: not known (live, never read)
    fx_rates: dict[str, float] = {}  # "USD/KRW" -> rate used to convert into `currency`
    missing_fx: list[str] = []  # pairs needed but not stored: cash and equity left None


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


def _paper_spec(ctx: AppContext, account: str) -> Any:
    from qts.services.trading.paper_accounts import paper_config
    from qts.strategies.registry import create_strategy

    row = _strategy_of(ctx.db, account)
    if row is None:
        return paper_config(ctx.settings, symbols=[])
    try:
        params = dict(create_strategy(row.strategy_class, row.parameters or {}).p)
    except Exception:  # a strategy class since removed: the account's figures still show
        params = {}
    return paper_config(ctx.settings, list(row.symbols or []), params, ctx.db)


def initial_cash(ctx: AppContext, account: str) -> float | None:
    if kind_of(account) == "live":
        return None
    return float(_paper_spec(ctx, account).initial_cash)


def account_currency(ctx: AppContext, account: str) -> str | None:
    """The account's base currency: a live account's broker's, a paper account's run spec's."""
    if kind_of(account) == "live":
        return live_account_currency(account)
    try:
        return str(_paper_spec(ctx, account).currency)
    except QtsError:  # symbols of mixed markets: no one base currency
        return None


def currency_resolver(ctx: AppContext) -> Any:
    """`account_currency` cached per account, for the risk manager of a trading service."""
    cache: dict[str, str | None] = {}

    def resolve(account: str) -> str | None:
        if account not in cache:
            cache[account] = account_currency(ctx, account)
        return cache[account]

    return resolve


def current_point(ctx: AppContext, account: str, start_cash: float | None) -> AccountPoint:
    from qts.db.repositories.orders import PositionRepository
    from qts.services.trading.paper_desk import latest_bar

    now = datetime.now(UTC)
    base = account_currency(ctx, account)
    with ctx.db.session() as s:
        positions = [
            (p.symbol, p.quantity, p.average_price, p.last_price, p.realized_pnl, p.fees)
            for p in PositionRepository(s).list(account, include_flat=True)
        ]
        currencies = symbol_currencies(s, [p[0] for p in positions])
    if start_cash is not None and base is not None:
        cash_map: dict[str, float] | None = paper_cash(ctx.db, account, base, start_cash)
    else:
        cash_map = broker_cash(ctx.db, account)[0] if kind_of(account) == "live" else None
    rates = FxRates()
    if base is not None:
        with ctx.db.session() as s:
            rates = fx_rates(s, set(currencies.values()) | set(cash_map or {}), base, now)
    missing: set[str] = set()

    def to_base(amount: float, currency: str) -> float:
        if base is None or currency == base:
            return amount
        try:
            return rates.convert(amount, currency, base)
        except MissingFxRateError as e:
            missing.add(e.pair)
            return 0.0

    value = realized = unrealized = fees = 0.0
    open_positions = 0
    for symbol, qty, avg, last, real, fee in positions:
        money = currencies[symbol]
        realized, fees = realized + to_base(real, money), fees + to_base(fee, money)
        if not qty:
            continue
        open_positions += 1
        if last is None:
            bar = latest_bar(ctx.db, symbol)
            last = bar.close if bar is not None else avg
        value += to_base(qty * last, money)
        unrealized += to_base(qty * (last - avg), money)
    cash = None if cash_map is None else sum(to_base(v, c) for c, v in cash_map.items())
    if missing:
        cash = None
    equity = None if cash is None else cash + value
    pnl = realized + unrealized if equity is None or start_cash is None else equity - start_cash
    return AccountPoint(
        ts=now.isoformat(), cash=cash, positions_value=value, equity=equity,
        realized_pnl=realized, unrealized_pnl=unrealized, fees=fees,
        open_positions=open_positions, pnl=pnl, currency=base, cash_by_currency=cash_map,
        fx_rates=dict(rates.rates), missing_fx=sorted(missing),
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


def _point(row: AccountSnapshot, start_cash: float | None, base: str | None) -> AccountPoint:
    pnl = (
        row.equity - start_cash
        if row.equity is not None and start_cash is not None
        else row.realized_pnl + row.unrealized_pnl
    )
    return AccountPoint(
        ts=row.ts.isoformat(), cash=row.cash, positions_value=row.positions_value,
        equity=row.equity, realized_pnl=row.realized_pnl, unrealized_pnl=row.unrealized_pnl,
        fees=row.fees, open_positions=row.open_positions, pnl=pnl, currency=base,
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
        base = account_currency(ctx, account)
        points = [_point(r, start, base) for r in reversed(list(s.scalars(q)))]
    return EquityHistory(
        account=account, kind=kind_of(account), initial_cash=start, points=points,
        now=current_point(ctx, account, start),
    )  # fmt: skip


def record_account_snapshots(ctx: AppContext) -> dict[str, int]:
    """The `account_snapshots` job: store each account's figures when they differ from its
    last stored snapshot (an idle account adds no rows)."""
    from qts.services.trading.account_actions import SHARED_PAPER, settle_shared_account

    written = 0
    accounts = known_accounts(ctx.db)
    settle_shared_account(ctx.db, SHARED_PAPER)  # its splits and dividends come due here too
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
