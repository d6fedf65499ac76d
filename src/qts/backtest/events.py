"""Event-driven engine: a bar-by-bar loop over `OrderBook` (the shared fill model).

Each bar i: (1) pending orders are matched against bar i (`phase="open"`); (2) positions are
marked at the close; (3) the strategy decides (an `OrderStrategy`'s `on_bar`, or a target
strategy's target at i); (4) with `fill_at="close"` market orders decided now fill at this close.
This is the loop a paper executor runs live, one bar at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.fills import OrderBook
from qts.backtest.market import MarketArrays, plan_execution
from qts.backtest.portfolio import Portfolio
from qts.backtest.raw_run import RawRun
from qts.core.errors import ValidationError
from qts.core.types import Bar, Fill, Order, OrderIntent, Side
from qts.strategies.base import OrderStrategy, Strategy, Universe
from qts.strategies.model_access import ModelAccess, latest_features, latest_scores


class BacktestContext:
    """`StrategyContext` implementation for backtests."""

    def __init__(
        self, data: Universe, market: MarketArrays, book: OrderBook, portfolio: Portfolio
    ) -> None:
        self._data = data
        self._market = market
        self._book = book
        self._portfolio = portfolio
        self._positions = {
            s: np.searchsorted(data[s].index, market.index, side="right") for s in market.symbols
        }
        self.i = 0
        self.models: ModelAccess | None = None

    @property
    def ts(self) -> pd.Timestamp:
        return self._market.index[self.i]

    @property
    def symbols(self) -> list[str]:
        return list(self._market.symbols)

    @property
    def cash(self) -> float:
        return self._portfolio.cash

    @property
    def equity(self) -> float:
        marks = self._market.mark[self.i]
        prices = {
            s: float(marks[j]) for j, s in enumerate(self._market.symbols) if not np.isnan(marks[j])
        }
        return self._portfolio.equity(prices)

    def history(self, symbol: str, lookback: int | None = None) -> pd.DataFrame:
        end = int(self._positions[symbol][self.i])
        start = 0 if lookback is None else max(end - lookback, 0)
        return self._data[symbol].iloc[start:end]

    def position(self, symbol: str) -> float:
        return self._portfolio.quantity(symbol)

    def open_orders(self, symbol: str | None = None) -> list[Any]:
        return self._book.open_orders(symbol)

    def submit(self, intent: OrderIntent) -> str:
        if intent.symbol not in self._data:
            raise ValidationError(f"unknown symbol {intent.symbol!r}")
        return self._book.submit(intent.to_order(created_at=self.ts.to_pydatetime()))

    def predict(self, model: str, symbols: list[str] | None = None) -> dict[str, float]:
        names = symbols or self.symbols
        history = {s: self.history(s) for s in names}
        return latest_scores(self.models, model, history, names)

    def features(self, model: str, symbols: list[str] | None = None) -> dict[str, dict[str, Any]]:
        names = symbols or self.symbols
        return latest_features(self.models, model, {s: self.history(s) for s in names}, names)

    def cancel(self, order_id: str) -> bool:
        return self._book.cancel(order_id)


def run_event(
    strategy: Strategy,
    data: Universe,
    market: MarketArrays,
    config: BacktestConfig,
    targets: pd.DataFrame | None,
    start_row: int = 0,
) -> RawRun:
    n, k = market.shape
    symbols = market.symbols
    index = {s: j for j, s in enumerate(symbols)}
    book = OrderBook(config.fill_model)
    portfolio = Portfolio(cash=config.initial_cash)
    ctx = BacktestContext(data, market, book, portfolio)
    ctx.models = strategy.models
    plan = plan_execution(
        targets if targets is not None else pd.DataFrame(0.0, index=market.index, columns=symbols),
        market,
        config,
        start_row,
    )
    close_mode = config.fill_at == "close"
    qty = np.zeros((n, k))
    cash = np.zeros(n)
    fills: list[tuple[int, Fill]] = []
    order_strategy = strategy if isinstance(strategy, OrderStrategy) else None
    is_orders = order_strategy is not None
    target_orders: dict[str, Order] = {}
    if order_strategy is not None:
        order_strategy.on_start(ctx)
    for i in range(n):
        ctx.i = i
        bars = _bars_at(market, i)
        slip = {s: float(plan.slip[i, index[s]]) for s in bars}
        prev_marks = _marks(market, i - 1) if i > 0 else {}
        if not close_mode and not is_orders:
            _submit_targets(book, plan.want[i], plan.flag[i], symbols, target_orders)
        # In close mode market orders never wait for an open: they filled at their own close.
        opened = book.process_bar(
            bars, portfolio, "open", slip, prev_marks, include_market=not close_mode
        )
        fills += [(i, f) for f in opened]
        if order_strategy is not None and i >= start_row:
            order_strategy.on_bar(ctx)
        if close_mode:
            if not is_orders:
                _submit_targets(book, plan.want[i], plan.flag[i], symbols, target_orders)
            closed = book.process_bar(bars, portfolio, "close", slip, prev_marks)
            fills += [(i, f) for f in closed]
        for j, s in enumerate(symbols):
            qty[i, j] = portfolio.quantity(s)
        cash[i] = portfolio.cash
    m = len(fills)
    return RawRun(
        qty=qty,
        cash=cash,
        f_bar=np.array([i for i, _ in fills], dtype=np.int64).reshape(m),
        f_sym=np.array([index[f.symbol] for _, f in fills], dtype=np.int64).reshape(m),
        f_qty=np.array([f.side.sign * f.quantity for _, f in fills], dtype=np.float64).reshape(m),
        f_price=np.array([f.price for _, f in fills], dtype=np.float64).reshape(m),
        f_fee=np.array([f.fee for _, f in fills], dtype=np.float64).reshape(m),
    )


def _submit_targets(
    book: OrderBook,
    want: np.ndarray,
    flag: np.ndarray,
    symbols: list[str],
    pending: dict[str, Order],
) -> None:
    for j, symbol in enumerate(symbols):
        if not flag[j]:
            continue
        previous = pending.get(symbol)
        if previous is not None:
            book.cancel(previous.client_order_id)  # a newer target replaces an unfilled one
        order = Order(symbol=symbol, side=Side.BUY, quantity=0.0, meta={"target": float(want[j])})
        book.submit(order)
        pending[symbol] = order


def _bars_at(market: MarketArrays, i: int) -> dict[str, Bar]:
    ts = market.index[i].to_pydatetime()
    out = {}
    for j, s in enumerate(market.symbols):
        o = market.open[i, j]
        if np.isnan(o):
            continue
        out[s] = Bar(
            symbol=s,
            timeframe="",
            ts=ts,
            open=float(o),
            high=float(market.high[i, j]),
            low=float(market.low[i, j]),
            close=float(market.close[i, j]),
            volume=0.0,
        )
    return out


def _marks(market: MarketArrays, i: int) -> dict[str, float]:
    row = market.mark[i]
    return {s: float(row[j]) for j, s in enumerate(market.symbols) if not np.isnan(row[j])}
