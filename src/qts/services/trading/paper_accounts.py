"""Paper accounts: the fill model and cash of a strategy's paper account, rebuilt from stored
positions, cash and open orders so a restarted session carries on where it stopped."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from qts.backtest.config import BacktestConfig
from qts.core.errors import NotFoundError
from qts.db.models import Strategy as StrategyRow
from qts.execution.paper import PaperExecutor
from qts.execution.runner import StrategyRunner
from qts.services.context import AppContext
from qts.services.trading.order_service import OrderService

# The shared `paper` account takes manual orders for any symbol, so it has no symbols to
# resolve a market from: it uses QTS_PAPER_MARKET, else this one.
SHARED_ACCOUNT_MARKET = "krx"


def paper_config(
    settings: Any,
    symbols: list[str] | None = None,
    strategy_params: dict[str, Any] | None = None,
    db: Any = None,
) -> BacktestConfig:
    """The run spec of a paper account: QTS_PAPER_* settings override the market preset.

    With `symbols` it is resolved against their market (stored exchanges when `db` is given);
    without, it is left for `run_backtest` to resolve the same way.
    """
    spec = BacktestConfig(
        market=settings.paper_market or "auto",
        cash=settings.paper_cash,
        commission=settings.paper_commission,
        slippage_bps=settings.paper_slippage_bps,
    )
    if symbols is None:
        return spec
    exchanges: dict[str, str] = {}
    currencies: dict[str, str] = {}
    if db is not None and symbols:
        from qts.services.data.market_data import stored_markets

        exchanges, currencies = stored_markets(db, symbols)
    if not symbols and spec.market == "auto":
        spec = replace(spec, market=SHARED_ACCOUNT_MARKET)
    return spec.resolve(symbols, exchanges, currencies, strategy_params or {})


def open_paper_account(
    ctx: AppContext, orders: OrderService, account: str, strategy_id: int
) -> PaperExecutor:
    """The strategy's paper account, rebuilt from stored positions and cash after a restart."""
    from qts.core.types import Position
    from qts.db.repositories.orders import PositionRepository
    from qts.strategies.registry import create_strategy

    with ctx.db.session() as s:
        row = s.get(StrategyRow, strategy_id)
        if row is None:
            raise NotFoundError(f"strategy {strategy_id} not found")
        symbols = list(row.symbols or [])
        params = dict(create_strategy(row.strategy_class, row.parameters or {}).p)
        cash = (row.runtime_state or {}).get("cash")
    config = paper_config(ctx.settings, symbols, params, ctx.db)
    executor = PaperExecutor(config.fill_model, config.initial_cash, account)
    with ctx.db.session() as s:
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


def drop_orders_cancelled_elsewhere(db: Any, runner: StrategyRunner) -> None:
    """Drop from a session's paper book the orders cancelled elsewhere (the API, the CLI's
    kill switch in another process), so they cannot fill on the next bar."""
    from qts.core.types import OrderStatus
    from qts.db.models import Order as OrderRow
    from qts.db.repositories.orders import OrderRepository

    assert runner.executor is not None
    if not runner.state.pending and not runner.executor.book.orders:
        return  # nothing in flight: no query
    with db.session() as s:
        repo = OrderRepository(s)
        for symbol, cid in list(runner.state.pending.items()):
            order = repo.by_client_id(cid)
            if order is not None and OrderStatus(order.status).is_terminal:
                runner.executor.cancel(cid)
                del runner.state.pending[symbol]
        book = [o.client_order_id for o in runner.executor.book.orders]
        if book:  # an order strategy's resting orders, cancelled elsewhere
            done = s.scalars(
                select(OrderRow.client_order_id).where(
                    OrderRow.client_order_id.in_(book),
                    OrderRow.status.in_([x.value for x in OrderStatus if x.is_terminal]),
                )
            ).all()
            for cid in done:
                runner.executor.cancel(cid)
