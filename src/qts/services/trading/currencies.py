"""Currencies of accounts, symbols and cash, and the FX rates in force, read from the database.

- An account's base currency: live accounts by broker (KIS, Kiwoom, Upbit: KRW; Binance: USDT),
  paper accounts by their run spec's currency (`QTS_PAPER_*` and the market preset).
- A symbol's currency: its stored `symbols` row, else its name (`guess_currency`).
- FX rates are bars (exchange `FX`, symbol `BASE/QUOTE`, close = QUOTE per 1 BASE): the rate in
  force at t is the newest bar whose close time (open + timeframe) is <= t; the inverse pair is
  used when only it is stored.
- Cash per currency: a paper account's initial cash (in its base currency) plus the flows of its
  fills in each symbol's currency; a live account's cash is the broker's, stored by
  `record_broker_cash` (reconciliation, order follow-up) so reading it costs no broker call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from qts.core.types import Side
from qts.db import Database
from qts.db.models import Bar as BarRow
from qts.db.models import Fill as FillRow
from qts.db.models import Order as OrderRow
from qts.db.models import Symbol as SymbolRow
from qts.db.models.jobs import SystemStatus
from qts.execution.brokers.base import Balance
from qts.execution.currency import FxRates, guess_currency
from qts.execution.risk import AccountState
from qts.market.frames import timeframe_ms

FX_EXCHANGE = "FX"
BROKER_CURRENCY = {"kis": "KRW", "kiwoom": "KRW", "upbit": "KRW", "binance": "USDT"}
# Balances that are cash (other assets at a broker are positions).
CASH_CURRENCIES = frozenset({"KRW", "USD", "USDT", "USDC", "JPY", "HKD", "CNY", "VND", "EUR"})


def live_account_currency(account: str) -> str | None:
    """`live:kis` -> KRW ...; None for an account whose broker is unknown."""
    if not account.startswith("live"):
        return None
    return BROKER_CURRENCY.get(account.split(":", 1)[-1])


def symbol_currencies(s: Session, symbols: Iterable[str]) -> dict[str, str]:
    """Each symbol's trading currency: the stored symbol row's (when its exchanges agree),
    else the one its name implies."""
    wanted = sorted(set(symbols))
    stored: dict[str, set[str]] = {}
    if wanted:
        rows = s.execute(
            select(SymbolRow.symbol, SymbolRow.currency).where(
                SymbolRow.symbol.in_(wanted), SymbolRow.exchange != FX_EXCHANGE
            )
        ).all()
        for symbol, currency in rows:
            stored.setdefault(symbol, set()).add(currency)
    return {
        sym: next(iter(stored[sym])) if len(stored.get(sym, ())) == 1 else guess_currency(sym)
        for sym in wanted
    }


def fx_rates(s: Session, currencies: Iterable[str], target: str, now: datetime) -> FxRates:
    """The rates in force at `now` between `target` and each of `currencies` (missing pairs are
    left out: converting with them raises `MissingFxRateError`)."""
    now_ms = int(now.timestamp() * 1000)
    rates: dict[str, float] = {}
    for currency in sorted(set(currencies) - {target}):
        pairs = [f"{currency}/{target}", f"{target}/{currency}"]
        rows = s.execute(
            select(BarRow.symbol, BarRow.timeframe, BarRow.ts, BarRow.close)
            .where(BarRow.exchange == FX_EXCHANGE, BarRow.symbol.in_(pairs), BarRow.ts <= now_ms)
            .order_by(BarRow.ts.desc())
            .limit(16)
        ).all()
        closed = [r for r in rows if r.ts + timeframe_ms(r.timeframe) <= now_ms and r.close > 0]
        if closed:
            newest = max(closed, key=lambda r: r.ts + timeframe_ms(r.timeframe))
            rates[newest.symbol] = float(newest.close)
    return FxRates(rates)


def with_currencies(
    s: Session,
    state: AccountState,
    symbol: str,
    base: str | None,
    target: str | None,
    now: datetime,
) -> AccountState:
    """`state` with the account's base currency, its symbols' currencies and the FX rates
    into `target` (the limits' currency) that a risk check of an order for `symbol` needs."""
    held = set(state.positions) | set(state.open_buys) | set(state.open_sells) | {symbol}
    held |= set(state.pnl_by_symbol)
    currencies = symbol_currencies(s, held)
    rates = FxRates()
    if target is not None and set(currencies.values()) - {target}:
        rates = fx_rates(s, currencies.values(), target, now)
    return replace(state, currency=base, symbol_currencies=currencies, fx=rates)


# Cash ------------------------------------------------------------------------------------------
def _cash_key(account: str) -> str:
    return f"broker_cash:{account}"


def record_broker_cash(db: Database, account: str, balances: Iterable[Balance]) -> dict[str, float]:
    """Store a live account's cash per currency as its broker reported it."""
    cash: dict[str, float] = {}
    for b in balances:
        if b.asset in CASH_CURRENCIES:
            cash[b.asset] = cash.get(b.asset, 0.0) + b.total
    value = {"cash": cash, "at": datetime.now(UTC).isoformat()}
    with db.session() as s:
        row = s.get(SystemStatus, _cash_key(account))
        if row is None:
            s.add(SystemStatus(key=_cash_key(account), value=value))
        else:
            row.value = value
    return cash


def broker_cash(db: Database, account: str) -> tuple[dict[str, float] | None, str | None]:
    """A live account's last stored cash per currency and when it was read (None: never)."""
    with db.session() as s:
        row = s.get(SystemStatus, _cash_key(account))
        if row is None:
            return None, None
        value: Mapping[str, Any] = row.value or {}
        return {str(k): float(v) for k, v in (value.get("cash") or {}).items()}, value.get("at")


def paper_cash(db: Database, account: str, base: str, initial_cash: float) -> dict[str, float]:
    """A paper account's cash per currency: initial cash in `base`, plus each fill's flow
    (sells add, buys and fees take) and each dividend it was paid, in its symbol's currency."""
    from qts.services.trading.account_actions import action_cash

    signed = case((FillRow.side == Side.BUY.value, -1.0), else_=1.0)
    q = (
        select(FillRow.symbol, func.sum(signed * FillRow.quantity * FillRow.price - FillRow.fee))
        .join(OrderRow, OrderRow.id == FillRow.order_id)
        .where(OrderRow.account == account)
        .group_by(FillRow.symbol)
    )
    cash = {base: float(initial_cash)}
    with db.session() as s:
        flows = {sym: float(v or 0.0) for sym, v in s.execute(q).all()}
        for sym, paid in action_cash(s, account).items():
            flows[sym] = flows.get(sym, 0.0) + paid
        currencies = symbol_currencies(s, flows)
    for sym, flow in flows.items():
        currency = currencies[sym]
        cash[currency] = cash.get(currency, 0.0) + flow
    return cash


def base_converter(db: Database, base: str | None) -> Callable[[float, str], float]:
    """amount, currency -> `base` at the rates in force when called (raises
    `MissingFxRateError` for a currency without one); identity when `base` is unknown."""

    def to_base(amount: float, currency: str) -> float:
        if base is None or currency == base:
            return amount
        with db.session() as s:
            return fx_rates(s, [currency], base, datetime.now(UTC)).convert(amount, currency, base)

    return to_base
