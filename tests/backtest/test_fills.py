"""The per-bar fill model: prices never favour the strategy; gaps fill at the open."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qts.backtest.costs import CostModel, SlippageModel
from qts.backtest.fills import FillModel, OrderBook
from qts.backtest.portfolio import Portfolio
from qts.backtest.sizing import Sizer
from qts.core.types import Bar, Order, OrderStatus, OrderType, Side

TS = datetime(2024, 1, 2, tzinfo=UTC)


def bar(o: float, h: float, low: float, c: float, symbol: str = "X") -> Bar:
    return Bar(symbol=symbol, timeframe="1d", ts=TS, open=o, high=h, low=low, close=c, volume=0)


def price(order: Order, b: Bar, slip: float = 0.0, phase: str = "open") -> float | None:
    return FillModel().match_price(order, b, phase, slip)


def test_market_orders_fill_at_open_or_close_with_adverse_slippage() -> None:
    b = bar(100, 110, 90, 105)
    assert price(Order("X", Side.BUY, 1), b, 0.001) == pytest.approx(100.1)
    assert price(Order("X", Side.SELL, 1), b, 0.001) == pytest.approx(99.9)
    assert price(Order("X", Side.BUY, 1), b, phase="close") == 105


def test_limit_orders() -> None:
    buy = Order("X", Side.BUY, 1, type=OrderType.LIMIT, limit_price=95)
    assert price(buy, bar(100, 110, 94, 105)) == 95  # range reaches it: filled at the limit
    assert price(buy, bar(100, 110, 96, 105)) is None  # never reached
    assert price(buy, bar(92, 99, 90, 98)) == 92  # opened below the limit: filled at the open
    sell = Order("X", Side.SELL, 1, type=OrderType.LIMIT, limit_price=108)
    assert price(sell, bar(100, 110, 94, 105)) == 108
    assert price(sell, bar(111, 115, 109, 112)) == 111
    assert price(buy, bar(100, 110, 94, 105), phase="close") is None


def test_stop_orders_fill_at_stop_or_worse_gap_open() -> None:
    stop_sell = Order("X", Side.SELL, 1, type=OrderType.STOP, stop_price=95)
    assert price(stop_sell, bar(100, 101, 94, 96)) == 95
    assert price(stop_sell, bar(90, 93, 85, 92)) == 90  # gapped down through the stop
    assert price(stop_sell, bar(90, 93, 85, 92), slip=0.01) == pytest.approx(89.1)
    stop_buy = Order("X", Side.BUY, 1, type=OrderType.STOP, stop_price=105)
    assert price(stop_buy, bar(100, 106, 99, 104)) == 105
    assert price(stop_buy, bar(107, 108, 106, 107)) == 107
    assert price(stop_buy, bar(100, 104, 99, 101)) is None


def test_stop_limit_becomes_limit_when_gapping_past_the_limit() -> None:
    order = Order("X", Side.BUY, 1, type=OrderType.STOP_LIMIT, stop_price=105, limit_price=106)
    assert price(order, bar(100, 107, 99, 104)) == 105
    gapped = Order("X", Side.BUY, 1, type=OrderType.STOP_LIMIT, stop_price=105, limit_price=106)
    assert price(gapped, bar(108, 109, 107, 108)) is None
    assert gapped.type is OrderType.LIMIT


def test_stop_loss_wins_when_both_exits_are_reached_in_one_bar() -> None:
    book = OrderBook(FillModel(costs=CostModel(commission=0.001)))
    pf = Portfolio(cash=10_000)
    book.submit(Order("X", Side.BUY, 10, meta={"stop_loss": 95.0, "take_profit": 110.0}))
    fills = book.process_bar({"X": bar(100, 101, 99, 100)}, pf)
    assert [(f.side, f.quantity, f.price) for f in fills] == [(Side.BUY, 10, 100)]
    assert pf.cash == pytest.approx(10_000 - 1000 - 1.0)
    assert sorted(o.tag for o in book.open_orders()) == ["stop_loss", "take_profit"]
    fills = book.process_bar({"X": bar(100, 112, 94, 105)}, pf)  # both levels touched
    assert [(f.side, f.price) for f in fills] == [(Side.SELL, 95.0)]
    assert book.open_orders() == []  # the take-profit was cancelled (OCO)
    assert pf.quantity("X") == 0
    assert pf.positions["X"].realized_pnl == pytest.approx(-50.0)


def test_exits_can_trigger_in_the_entry_bar() -> None:
    book = OrderBook(FillModel())
    pf = Portfolio(cash=10_000)
    book.submit(Order("X", Side.BUY, 10, meta={"take_profit": 104.0}))
    fills = book.process_bar({"X": bar(100, 105, 99, 103)}, pf)
    assert [(f.side, f.price) for f in fills] == [(Side.BUY, 100), (Side.SELL, 104.0)]


def test_target_orders_are_sized_at_fill_time_and_cash_limited() -> None:
    model = FillModel(costs=CostModel(commission=0.01), sizer=Sizer(lot_size=1))
    book = OrderBook(model)
    pf = Portfolio(cash=1000)
    book.submit(Order("X", Side.BUY, 0, meta={"target": 1.0}))
    fills = book.process_bar({"X": bar(10, 11, 9, 10)}, pf)
    # 100 units wanted, 99 affordable with the 1% fee.
    assert [(f.quantity, f.price, round(f.fee, 4)) for f in fills] == [(99, 10, 9.9)]
    assert pf.cash == pytest.approx(0.1)
    book.submit(Order("X", Side.BUY, 0, meta={"target": -1.0}))  # long-only: go flat
    fills = book.process_bar({"X": bar(12, 12, 12, 12)}, pf)
    assert [(f.side, f.quantity) for f in fills] == [(Side.SELL, 99)]
    assert pf.quantity("X") == 0 and pf.cash >= 0


def test_long_only_sells_are_clipped_and_unaffordable_buys_rejected() -> None:
    book = OrderBook(FillModel())
    pf = Portfolio(cash=50)
    sell = Order("X", Side.SELL, 5)
    book.submit(sell)
    assert book.process_bar({"X": bar(10, 10, 10, 10)}, pf) == []
    assert sell.status is OrderStatus.REJECTED
    buy = Order("X", Side.BUY, 10)
    book.submit(buy)
    fills = book.process_bar({"X": bar(10, 10, 10, 10)}, pf)
    assert [f.quantity for f in fills] == [5]  # clipped to what 50 cash buys
    assert pf.cash == 0


def test_orders_for_symbols_without_a_bar_wait() -> None:
    book = OrderBook(FillModel())
    pf = Portfolio(cash=1000)
    book.submit(Order("Y", Side.BUY, 1))
    assert book.process_bar({"X": bar(10, 10, 10, 10)}, pf) == []
    assert len(book.open_orders("Y")) == 1
    assert len(book.process_bar({"Y": bar(20, 20, 20, 20, "Y")}, pf)) == 1


def test_slippage_model_is_used_through_the_book() -> None:
    book = OrderBook(FillModel(slippage=SlippageModel(bps=50)))
    pf = Portfolio(cash=1000)
    book.submit(Order("X", Side.BUY, 1))
    fills = book.process_bar({"X": bar(100, 100, 100, 100)}, pf)
    assert fills[0].price == pytest.approx(100.5)
