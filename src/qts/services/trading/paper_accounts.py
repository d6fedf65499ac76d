"""Paper accounts: the fill model and cash of a strategy's paper account, rebuilt from stored
positions, cash and open orders so a restarted session carries on where it stopped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from qts.backtest.config import BacktestConfig
from qts.backtest.costs import CostModel, SlippageModel
from qts.db.models import Strategy as StrategyRow
from qts.execution.paper import PaperExecutor
from qts.services.context import AppContext
from qts.services.trading.order_service import OrderService


def paper_config(settings: Any, cash: float | None = None) -> BacktestConfig:
    return BacktestConfig(
        cash=cash or settings.paper_cash,
        costs=CostModel(commission=settings.paper_commission),
        slippage=SlippageModel(bps=settings.paper_slippage_bps),
    )


def open_paper_account(
    ctx: AppContext, orders: OrderService, account: str, strategy_id: int
) -> PaperExecutor:
    """The strategy's paper account, rebuilt from stored positions and cash after a restart."""
    from qts.core.types import Position
    from qts.db.repositories.orders import PositionRepository

    executor = PaperExecutor(
        paper_config(ctx.settings).fill_model, ctx.settings.paper_cash, account
    )
    with ctx.db.session() as s:
        row = s.get(StrategyRow, strategy_id)
        cash = (row.runtime_state or {}).get("cash") if row is not None else None
        for p in PositionRepository(s).list(account):
            executor.portfolio.positions[p.symbol] = Position(
                p.symbol, p.quantity, p.average_price, p.realized_pnl, p.fees
            )
    if cash is not None:
        executor.portfolio.cash = float(cash)
    _reload_open_orders(ctx, orders, executor)
    orders.executors[account] = executor
    return executor


def _reload_open_orders(ctx: AppContext, orders: OrderService, executor: PaperExecutor) -> None:
    """Put the account's open orders back in a rebuilt paper book (after a restart)."""
    from qts.core.types import OrderStatus
    from qts.db.models import Order as OrderRow

    with ctx.db.session() as s:
        rows = s.scalars(
            select(OrderRow).where(
                OrderRow.account == executor.account,
                OrderRow.status.in_(
                    [OrderStatus.SUBMITTED.value, OrderStatus.PARTIALLY_FILLED.value]
                ),
            )
        ).all()
        pending = [orders.domain_order(r.id) for r in rows]
    for order in pending:
        executor.submit(order)
