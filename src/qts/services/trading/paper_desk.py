"""The shared `paper` account: manual orders (API, CLI) fill at once at the latest stored bar.

Nothing feeds this account bars the way a session feeds its own, so a manual order is matched
when it is placed, against the symbol's latest stored bar: a market order fills at that bar's
close, with the paper run spec's costs (the same fill model as backtests and sessions; a symbol of
another market than the spec's pays its own market's preset costs, in its own currency); a limit
order fills there when that close reaches its limit. What cannot fill at once (a limit order
away from the close, a stop order, a symbol with no stored bar) is refused with the reason,
never left resting where nothing would ever fill it. The account's cash and positions are read
from the stored fills and positions before each order, so every API server sees the same account.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import case, func, select

from qts.backtest.config import BacktestConfig, market_costs
from qts.backtest.presets import PRESETS, market_of
from qts.core.errors import ValidationError
from qts.core.types import Bar, Order, OrderStatus, OrderType, Position, Side
from qts.db import Database
from qts.db.models import Bar as BarRow
from qts.db.models import Fill as FillRow
from qts.db.models import Order as OrderRow
from qts.db.repositories.audit import AuditRepository
from qts.db.repositories.orders import PositionRepository
from qts.execution.executor import ExecutionReport
from qts.execution.paper import PaperExecutor

SUBMIT_ACTION = "paper.submit"


def latest_bar(db: Database, symbol: str) -> Bar | None:
    """The most recent stored bar of `symbol` (any exchange or timeframe)."""
    with db.session() as s:
        row = s.scalars(select(BarRow).where(BarRow.symbol == symbol).order_by(BarRow.ts.desc()))
        bar = row.first()
        if bar is None:
            return None
        ts = datetime.fromtimestamp(bar.ts / 1000, UTC)
        return Bar(
            symbol, bar.timeframe, ts, bar.open, bar.high, bar.low, bar.close, bar.volume,
            bar.exchange,
        )  # fmt: skip


def cash_from_fills(db: Database, account: str, initial_cash: float) -> float:
    """The account's cash: its initial cash, less what its stored fills bought and their fees,
    plus what they sold and the dividends it was paid."""
    from qts.services.trading.account_actions import action_cash

    signed = case((FillRow.side == Side.BUY.value, -1.0), else_=1.0)
    q = (
        select(func.coalesce(func.sum(signed * FillRow.quantity * FillRow.price - FillRow.fee), 0))
        .join(OrderRow, OrderRow.id == FillRow.order_id)
        .where(OrderRow.account == account)
    )
    with db.session() as s:
        return initial_cash + float(s.scalar(q) or 0.0) + sum(action_cash(s, account).values())


class LatestBarPaperExecutor:
    """The `paper` account's executor (see the module)."""

    # The order service runs `submit` and applies its fills in one locked transaction.
    fills_at_once = True

    def __init__(self, db: Database, config: BacktestConfig, account: str = "paper") -> None:
        self.db = db
        self.config = config
        self.account = account
        self.paper = PaperExecutor(config.fill_model, config.initial_cash, account)

    def submit(self, order: Order) -> ExecutionReport:
        # Every submission is kept, as a broker's own order book would keep it.
        with self.db.session() as s:
            AuditRepository(s).record("paper", SUBMIT_ACTION, order.client_order_id)
        bar = latest_bar(self.db, order.symbol)
        refusal = _refusal(order, bar)
        if refusal or bar is None:
            return ExecutionReport(order.client_order_id, OrderStatus.REJECTED, reason=refusal)
        self._load_account()
        self._price_in_its_market(bar)
        answer = self.paper.submit(order)
        if answer.status is OrderStatus.REJECTED:
            return answer
        # The latest close as a bar of its own: market and limit orders match at that price.
        c = bar.close
        at_close = Bar(bar.symbol, bar.timeframe, bar.ts, c, c, c, c, bar.volume, bar.exchange)
        reports = self.paper.on_bar({order.symbol: at_close}, "open")
        mine = [r for r in reports if r.client_order_id == order.client_order_id]
        for cid in [o.client_order_id for o in self.paper.book.orders]:
            self.paper.cancel(cid)  # nothing rests here (see the module)
        return mine[0] if mine else answer

    def cancel(self, client_order_id: str) -> ExecutionReport | None:
        return self.paper.cancel(client_order_id)

    def _price_in_its_market(self, bar: Bar) -> None:
        """The account takes any symbol: one of another market than the spec's pays that
        market's preset costs and slippage (fills stay in the symbol's own currency, so its
        fee amounts need no conversion) and trades in its quantity step."""
        model = self.paper.book.model
        try:
            market = market_of(bar.exchange) if bar.exchange else self.config.market
        except ValidationError:  # an exchange without a preset: the spec's costs
            return
        if market == self.config.market or bar.symbol in model.symbol_costs:
            return
        preset, sizer = PRESETS[market], model.sizer
        lots = dict(sizer.lot_sizes)
        if preset.fractional and not sizer.fractional:
            lots[bar.symbol] = preset.qty_step
        self.paper.book.model = replace(
            model,
            symbol_costs={**model.symbol_costs, bar.symbol: market_costs(market)},
            symbol_slippage={
                **model.symbol_slippage,
                bar.symbol: replace(
                    model.slippage, bps=preset.slippage_bps, vol_mult=preset.slippage_vol_mult
                ),
            },
            sizer=replace(sizer, lot_sizes=lots),
        )

    def reference_price(self, symbol: str) -> float | None:
        """The price risk checks use for an order without one: the latest stored close."""
        bar = latest_bar(self.db, symbol)
        return bar.close if bar is not None else None

    def _load_account(self) -> None:
        from qts.services.trading.account_actions import settle_shared_account

        # Splits and dividends that came due since the positions were last traded (the order
        # service holds the account's lock around this).
        settle_shared_account(self.db, self.account)
        with self.db.session() as s:
            stored = PositionRepository(s).list(self.account)
            positions = {
                p.symbol: Position(p.symbol, p.quantity, p.average_price, p.realized_pnl, p.fees)
                for p in stored
            }
        self.paper.portfolio.positions = positions
        self.paper.portfolio.cash = cash_from_fills(self.db, self.account, self.config.initial_cash)


def _refusal(order: Order, bar: Bar | None) -> str:
    if bar is None:
        return (
            f"no stored bars for {order.symbol}: the paper account fills orders at the latest "
            "stored bar's close; import or collect bars of it first"
        )
    if order.type is OrderType.MARKET:
        return ""
    if order.type is OrderType.LIMIT and order.limit_price is not None:
        reaches = (
            bar.close <= order.limit_price
            if order.side is Side.BUY
            else bar.close >= order.limit_price
        )
        if reaches:
            return ""
        return (
            f"limit {order.limit_price:g} is away from the latest close {bar.close:g}: the paper "
            "account fills only what the latest stored bar's close allows, at once"
        )
    return f"{order.type.value} orders are not taken by the paper account (market and limit only)"
