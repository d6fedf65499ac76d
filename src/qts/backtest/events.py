"""Event-driven engine: a bar-by-bar loop over `OrderBook` (the shared fill model).

Each bar i: (1) pending orders are matched against bar i (`phase="open"`); (2) positions are
marked at the close; (3) the strategy decides (an `OrderStrategy`'s `on_bar`, or a target
strategy's target at i); (4) with `fill_at="close"` market orders decided now fill at this close.
This is the loop a paper executor runs live, one bar at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.fills import OrderBook
from qts.backtest.market import MarketArrays, plan_execution
from qts.backtest.portfolio import Portfolio
from qts.backtest.raw_run import RawRun
from qts.backtest.symbol_costs import event_fill_model
from qts.core.errors import ValidationError
from qts.core.types import Bar, Fill, Order, OrderIntent, Side
from qts.market.corporate_actions import PRICE_COLUMNS
from qts.strategies.base import BarArrays, OrderStrategy, Strategy, Universe
from qts.strategies.model_access import ModelAccess, latest_features, latest_scores


class BacktestContext:
    """`StrategyContext` implementation for backtests."""

    def __init__(
        self,
        data: Universe,
        market: MarketArrays,
        book: OrderBook,
        portfolio: Portfolio,
        point_in_time: bool = False,
    ) -> None:
        self._data = data
        self._market = market
        # Adjusted history rescaled so its newest bar shows the raw price a broker quotes now
        # (order prices taken from it are then raw prices; a later split is not foreseen).
        self._point_in_time = point_in_time and market.growth_mark is not None
        self._column = {s: j for j, s in enumerate(market.symbols)}
        self._book = book
        self._portfolio = portfolio
        self._positions = {
            s: np.searchsorted(data[s].index, market.index, side="right") for s in market.symbols
        }
        self._arrays = {s: BarArrays.of(data[s]).columns for s in market.symbols}
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
        frame = self._data[symbol].iloc[start:end]
        scale = self._scale(symbol)
        if scale != 1.0:
            frame = frame.copy()
            for name in PRICE_COLUMNS:
                frame[name] = frame[name].to_numpy(np.float64) * scale
        return frame

    def arrays(self, symbol: str, lookback: int | None = None) -> BarArrays:
        """The bars up to now as numpy views (no copy, no DataFrame): the fast `history`."""
        end = self._positions[symbol].item(self.i)
        start = 0 if lookback is None or end <= lookback else end - lookback
        scale = self._scale(symbol)
        if scale != 1.0:
            ts, *prices, volume = (c[start:end] for c in self._arrays[symbol])
            return BarArrays((ts, *(p * scale for p in prices), volume))
        return BarArrays(self._arrays[symbol], start, end)

    def _scale(self, symbol: str) -> float:
        """raw / adjusted at the newest visible bar (1.0 without corporate actions)."""
        if not self._point_in_time:
            return 1.0
        j, growth = self._column[symbol], self._market.growth_mark
        assert growth is not None
        scale = float(self._market.mark[self.i, j] / growth[self.i, j])
        return scale if scale == scale else 1.0  # NaN before the symbol's first bar

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
    rates: np.ndarray | None = None,
) -> RawRun:
    """The bar loop; `rates`: (n, k) FX rates of fee amounts (`qts.backtest.symbol_costs`)."""
    n = len(market.index)
    symbols = market.symbols
    index = {s: j for j, s in enumerate(symbols)}
    book = OrderBook(event_fill_model(config, market, rates))
    portfolio = Portfolio(cash=config.initial_cash)
    adjusted = config.price_adjustment == "adjusted"
    ctx = BacktestContext(data, market, book, portfolio, point_in_time=adjusted)
    ctx.models = strategy.models
    plan = plan_execution(
        targets if targets is not None else pd.DataFrame(0.0, index=market.index, columns=symbols),
        market,
        config,
        start_row,
    )
    close_mode = config.fill_at == "close"
    bars_at = _BarMaker(market)
    fills: list[tuple[int, Fill]] = []
    changed_rows: list[int] = []
    order_strategy = strategy if isinstance(strategy, OrderStrategy) else None
    target_rows: np.ndarray | None = None
    if order_strategy is None:
        target_rows = np.asarray(plan.flag.any(axis=1), dtype=bool)
    target_orders: dict[str, Order] = {}
    if order_strategy is not None:
        order_strategy.on_start(ctx)
    action_rows = market.actions.rows(n) if len(market.actions) else None
    visit = target_rows
    if action_rows is not None and target_rows is not None:
        visit = target_rows | action_rows
    for i in _rows(n, book, visit):
        ctx.i = i
        before = len(fills)
        moved = action_rows is not None and action_rows[i]
        if moved:  # a split or dividend at this bar's open, before any fill
            moved = _apply_actions(market, i, portfolio, book)
        if not close_mode and target_rows is not None and target_rows[i]:
            _submit_targets(book, plan.want[i], plan.flag[i], symbols, target_orders)
        if book.orders:  # nothing to match on a bar without open orders
            # In close mode market orders never wait for an open: they filled at their close.
            opened = bars_at.process(book, portfolio, plan.slip, i, "open", not close_mode)
            fills += [(i, f) for f in opened]
        if order_strategy is not None and i >= start_row:
            order_strategy.on_bar(ctx)
        if close_mode:
            if target_rows is not None and target_rows[i]:
                _submit_targets(book, plan.want[i], plan.flag[i], symbols, target_orders)
            if book.orders:
                fills += [(i, f) for f in bars_at.process(book, portfolio, plan.slip, i, "close")]
        if len(fills) > before or moved:
            changed_rows.append(i)
            bars_at.snapshot(portfolio, symbols)
    qty, cash = bars_at.series(changed_rows, n, config.initial_cash)
    m = len(fills)
    return RawRun(
        actions=market.actions,
        qty=qty,
        cash=cash,
        f_bar=np.array([i for i, _ in fills], dtype=np.int64).reshape(m),
        f_sym=np.array([index[f.symbol] for _, f in fills], dtype=np.int64).reshape(m),
        f_qty=np.array([f.side.sign * f.quantity for _, f in fills], dtype=np.float64).reshape(m),
        f_price=np.array([f.price for _, f in fills], dtype=np.float64).reshape(m),
        f_fee=np.array([f.fee for _, f in fills], dtype=np.float64).reshape(m),
    )


def _apply_actions(market: MarketArrays, i: int, portfolio: Portfolio, book: OrderBook) -> bool:
    """The actions of row i, as `qts.backtest.kernel.actions_kernel` applies them."""
    moved = False
    for j, ratio, cash in market.actions.at(i):
        symbol = market.symbols[j]
        if ratio != 1.0:
            book.apply_split(symbol, ratio)
        if portfolio.quantity(symbol) == 0.0:
            continue
        moved = True
        if ratio != 1.0:
            portfolio.apply_split(symbol, ratio)
        if cash != 0.0:
            portfolio.apply_dividend(symbol, cash)
    return moved


def _rows(n: int, book: OrderBook, target_rows: np.ndarray | None) -> Iterator[int]:
    """The rows to visit: every row for an order strategy (it decides at each bar); for target
    strategies only rows where a new target arrives or an order is open (nothing can happen on
    the others: their positions and cash are carried forward)."""
    if target_rows is None:
        yield from range(n)
        return
    events = np.flatnonzero(target_rows)
    i = int(events[0]) if len(events) else n
    while i < n:
        yield i
        if book.orders:
            i += 1
        else:
            nxt = int(np.searchsorted(events, i, side="right"))
            i = int(events[nxt]) if nxt < len(events) else n


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


class _BarMaker:
    """Bars of one row as `Bar` objects, built only for rows where orders are open; and the
    positions and cash after each row that had fills (other rows carry them forward)."""

    def __init__(self, market: MarketArrays) -> None:
        self.market = market
        self.qty: list[np.ndarray] = []
        self.cash: list[float] = []

    def bars(self, i: int) -> dict[str, Bar]:
        m = self.market
        ts = m.index[i].to_pydatetime()  # only rows with open orders get here
        out = {}
        for j, s in enumerate(m.symbols):
            o = m.open[i, j]
            if o == o:  # not NaN: the symbol has a bar here
                out[s] = Bar(s, "", ts, float(o), float(m.high[i, j]), float(m.low[i, j]),
                             float(m.close[i, j]), 0.0)  # fmt: skip
        return out

    def process(
        self,
        book: OrderBook,
        portfolio: Portfolio,
        slip: np.ndarray,
        i: int,
        phase: str,
        include_market: bool = True,
    ) -> list[Fill]:
        bars = self.bars(i)
        if not bars:
            return []
        symbols = self.market.symbols
        slips = {s: float(slip[i, j]) for j, s in enumerate(symbols) if s in bars}
        marks = _marks(self.market, i - 1) if i > 0 else {}
        return book.process_bar(bars, portfolio, phase, slips, marks, include_market)

    def snapshot(self, portfolio: Portfolio, symbols: list[str]) -> None:
        self.qty.append(np.array([portfolio.quantity(s) for s in symbols], dtype=np.float64))
        self.cash.append(portfolio.cash)

    def series(self, rows: list[int], n: int, cash0: float) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.market.symbols)
        last = np.searchsorted(np.asarray(rows, dtype=np.int64), np.arange(n), side="right") - 1
        qty_rows = np.vstack([np.zeros((1, k)), *self.qty]) if self.qty else np.zeros((1, k))
        cash_rows = np.r_[cash0, self.cash]
        return qty_rows[last + 1], cash_rows[last + 1]


def _marks(market: MarketArrays, i: int) -> dict[str, float]:
    row = market.mark[i]
    return {s: float(row[j]) for j, s in enumerate(market.symbols) if not np.isnan(row[j])}
