"""The fill model: which pending orders fill on a bar, at what price, size and fee.

Per-bar API (used by the event-driven engine and by the paper executor, bar by bar)::

    book = OrderBook(FillModel(costs, slippage, sizer))
    book.submit(order)                      # decided at bar t
    fills = book.process_bar(bars_t1, portfolio, phase="open")   # next bar arrives

Rules (no look-ahead, never in the strategy's favour):
* Market orders fill at the bar's open (`phase="open"`, the default: decided at t, filled at
  t+1), or at its close when the run fills at the deciding bar's close (`phase="close"`).
  Slippage moves the price against the order.
* Limit orders fill when the bar's range reaches the limit, at the limit; if the bar opens
  through the limit they fill at the open. Stop orders trigger when the range reaches the stop
  and fill at the stop, or at the open when the bar gaps through it, plus slippage.
* Within one bar: market orders first (sells before buys, to free cash; by symbol name
  within each), then stops, then
  limits; of a stop-loss and take-profit both reached in one bar, the stop-loss wins.
* A market order may carry `meta["target"]` (a fraction of equity) instead of a quantity: it is
  sized at fill time from equity marked at this bar's reference prices (`Sizer`).
* Buys are clipped to the affordable quantity; sells beyond the position are clipped unless
  shorting is allowed. An order that ends with nothing to trade is cancelled.
* `stop_loss` / `take_profit` in `meta` attach a one-cancels-other exit to the filled quantity.

The vectorized engine (`qts.backtest.kernel`) implements the market/target subset of these rules
on arrays; tests check both engines give identical fills.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qts.backtest.costs import CostModel, SlippageModel
from qts.backtest.portfolio import Portfolio
from qts.backtest.sizing import Sizer
from qts.core.errors import ValidationError
from qts.core.types import Bar, Fill, Order, OrderStatus, OrderType, Side

_ORDER_IDS = itertools.count(1)


def new_order_id() -> str:
    return f"bt-{next(_ORDER_IDS)}"


@dataclass(frozen=True, slots=True)
class FillModel:
    costs: CostModel = field(default_factory=CostModel)
    slippage: SlippageModel = field(default_factory=SlippageModel)
    sizer: Sizer = field(default_factory=Sizer)
    # Symbols that pay other costs and slippage than the defaults: those of another market
    # than the run's (their market's preset).
    symbol_costs: Mapping[str, CostModel] = field(default_factory=dict)
    symbol_slippage: Mapping[str, SlippageModel] = field(default_factory=dict)
    # Per symbol, the FX rate by bar time that converts its fee amounts (fixed, minimum fee,
    # in its market's currency) into the run's currency.
    fee_rates: Mapping[str, Mapping[Any, float]] = field(default_factory=dict)

    def costs_for(self, symbol: str, ts: Any = None) -> CostModel:
        """The costs of a fill of `symbol` at bar time `ts`."""
        costs = self.symbol_costs.get(symbol, self.costs)
        rates = self.fee_rates.get(symbol)
        return costs if rates is None else costs.at_rate(rates[ts])

    def slippage_for(self, symbol: str) -> SlippageModel:
        return self.symbol_slippage.get(symbol, self.slippage)

    def match_price(
        self, order: Order, bar: Bar, phase: str = "open", slip: float = 0.0
    ) -> float | None:
        """Price at which `order` fills on `bar`, or None if it does not fill there."""
        side = order.side
        if order.type is OrderType.MARKET:
            ref = bar.open if phase == "open" else bar.close
            return SlippageModel.apply(side, ref, slip)
        if phase != "open":
            return None  # range orders are matched against whole bars only
        if order.type is OrderType.LIMIT:
            return _limit_price(side, order.limit_price, bar)
        if order.type is OrderType.STOP:
            trigger = _stop_trigger(side, order.stop_price, bar)
            return None if trigger is None else SlippageModel.apply(side, trigger, slip)
        if order.type is OrderType.STOP_LIMIT:
            trigger = _stop_trigger(side, order.stop_price, bar)
            if trigger is None:
                return None
            limit = order.limit_price
            assert limit is not None
            if (side is Side.BUY and trigger <= limit) or (side is Side.SELL and trigger >= limit):
                price = SlippageModel.apply(side, trigger, slip)
                return min(price, limit) if side is Side.BUY else max(price, limit)
            # Gapped beyond the limit: it rests as a plain limit order from now on.
            order.type = OrderType.LIMIT
            return _limit_price(side, limit, bar)
        raise ValidationError(f"unsupported order type {order.type}")

    def make_fill(self, order: Order, quantity: float, price: float, ts: object) -> Fill:
        fee = self.costs_for(order.symbol, ts).fee(order.side, quantity, price, ts)
        return Fill(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=fee,
            ts=ts,  # type: ignore[arg-type]
            fill_id=f"{order.client_order_id}-f",
        )


def _limit_price(side: Side, limit: float | None, bar: Bar) -> float | None:
    if limit is None:
        raise ValidationError("limit order without limit_price")
    if side is Side.BUY:
        if bar.open <= limit:
            return bar.open
        return limit if bar.low <= limit else None
    if bar.open >= limit:
        return bar.open
    return limit if bar.high >= limit else None


def _stop_trigger(side: Side, stop: float | None, bar: Bar) -> float | None:
    if stop is None:
        raise ValidationError("stop order without stop_price")
    if side is Side.BUY:
        if bar.open >= stop:
            return bar.open
        return stop if bar.high >= stop else None
    if bar.open <= stop:
        return bar.open
    return stop if bar.low <= stop else None


_RANK = {OrderType.MARKET: 0, OrderType.STOP: 1, OrderType.STOP_LIMIT: 1, OrderType.LIMIT: 2}


class OrderBook:
    """Open orders and their per-bar matching against a portfolio."""

    def __init__(self, model: FillModel) -> None:
        self.model = model
        self.orders: list[Order] = []
        # Exit orders the book created on fills (stop-loss / take-profit), for a paper account
        # to record them; whoever reads it clears it.
        self.created: list[Order] = []

    def submit(self, order: Order) -> str:
        if not order.client_order_id:
            order.client_order_id = new_order_id()
        if order.quantity < 0:
            raise ValidationError("order quantity must be >= 0 (the side gives the direction)")
        if order.quantity == 0 and "target" not in order.meta:
            raise ValidationError("order quantity must be > 0")
        if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.limit_price is None:
            raise ValidationError(f"{order.type} order needs a limit_price")
        if order.type in (OrderType.STOP, OrderType.STOP_LIMIT) and order.stop_price is None:
            raise ValidationError(f"{order.type} order needs a stop_price")
        order.status = OrderStatus.SUBMITTED
        self.orders.append(order)
        return order.client_order_id

    def cancel(self, order_id: str) -> bool:
        for order in self.orders:
            if order.client_order_id == order_id:
                order.status = OrderStatus.CANCELLED
                self.orders.remove(order)
                return True
        return False

    def apply_split(self, symbol: str, ratio: float) -> None:
        """Resting orders of `symbol` follow a split as a broker adjusts them: ratio times the
        shares at prices divided by ratio (orders sized by a target fraction need nothing)."""
        for order in self.orders:
            if order.symbol != symbol or "target" in order.meta:
                continue
            order.quantity *= ratio
            order.filled_quantity *= ratio
            if order.limit_price is not None:
                order.limit_price /= ratio
            if order.stop_price is not None:
                order.stop_price /= ratio

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders if symbol is None or o.symbol == symbol]

    def process_bar(
        self,
        bars: Mapping[str, Bar],
        portfolio: Portfolio,
        phase: str = "open",
        slip: Mapping[str, float] | None = None,
        marks: Mapping[str, float] | None = None,
        include_market: bool = True,
    ) -> list[Fill]:
        """Fill what this bar allows; `marks` price symbols without a bar for sizing.

        `slip` gives each symbol's slippage fraction (default: its model's bps-only fraction).

        `include_market=False` leaves market orders waiting (used to match only resting
        limit/stop orders at the open when market orders fill at the close).
        """
        slip = slip or {}
        refs = dict(marks or {})
        for symbol, bar in bars.items():
            refs[symbol] = bar.open if phase == "open" else bar.close
        equity_ref = portfolio.equity(refs)
        live = [
            o
            for o in self.orders
            if o.symbol in bars and (include_market or o.type is not OrderType.MARKET)
        ]
        self._resolve_targets(live, portfolio, refs, equity_ref)
        live = [o for o in live if o.status is OrderStatus.SUBMITTED]
        live.sort(key=lambda o: (_RANK[o.type], o.side is Side.BUY, o.symbol))
        fills: list[Fill] = []
        for order in live:
            if order.status is not OrderStatus.SUBMITTED:
                continue  # cancelled by an OCO sibling earlier in this bar
            bar = bars[order.symbol]
            fraction = slip.get(order.symbol)
            if fraction is None:  # the model's bps-only fraction
                fraction = self.model.slippage_for(order.symbol).fraction()
            fill = self._try_fill(order, bar, portfolio, phase, fraction, equity_ref)
            if fill is None:
                continue
            fills.append(fill)
            children = self._after_fill(order, fill)
            # Exits attached to an order filled at the open can trigger later in the same bar.
            for child in children if phase == "open" else []:
                child_fill = self._try_fill(child, bar, portfolio, phase, 0.0, equity_ref)
                if child_fill is not None:
                    fills.append(child_fill)
                    self._after_fill(child, child_fill)
        return fills

    def _resolve_targets(
        self, orders: list[Order], portfolio: Portfolio, refs: Mapping[str, float], equity: float
    ) -> None:
        sizer = self.model.sizer
        for order in orders:
            if "target" not in order.meta or order.filled_quantity:
                continue
            current = portfolio.quantity(order.symbol)
            wanted = sizer.target_quantity(
                order.meta["target"], equity, refs[order.symbol], order.symbol
            )
            delta = wanted - current
            if delta == 0:
                self._close(order, OrderStatus.CANCELLED)
                continue
            order.side = Side.BUY if delta > 0 else Side.SELL
            order.quantity = abs(delta)

    def _try_fill(
        self,
        order: Order,
        bar: Bar,
        portfolio: Portfolio,
        phase: str,
        slip: float,
        equity_ref: float,
    ) -> Fill | None:
        price = self.model.match_price(order, bar, phase, slip)
        if price is None:
            return None
        quantity = order.remaining_quantity
        held = portfolio.quantity(order.symbol)
        sizer, costs = self.model.sizer, self.model.costs_for(order.symbol, bar.ts)
        if order.side is Side.SELL and not sizer.allow_short:
            quantity = min(quantity, max(held, 0.0))
        if order.side is Side.BUY:
            quantity = min(
                quantity, sizer.max_buy(price, portfolio.cash, equity_ref, costs, order.symbol)
            )
        elif portfolio.cash + quantity * price - costs.fee(Side.SELL, quantity, price, bar.ts) < -(
            sizer.leverage - 1.0
        ) * max(equity_ref, 0.0):
            quantity = 0.0  # fees would overdraw the account
        if quantity <= 0:
            self._close(order, OrderStatus.REJECTED)
            return None
        fill = self.model.make_fill(order, quantity, price, bar.ts)
        portfolio.apply(fill)
        order.filled_quantity += quantity
        order.average_fill_price = price
        self._close(order, OrderStatus.FILLED)
        return fill

    def _after_fill(self, order: Order, fill: Fill) -> list[Order]:
        group = order.meta.get("oco")
        if group:
            for other in list(self.orders):
                if other.meta.get("oco") == group:
                    self._close(other, OrderStatus.CANCELLED)
        exit_side = Side.SELL if fill.side is Side.BUY else Side.BUY
        children = []
        oco = f"oco-{order.client_order_id}"
        stop_loss, take_profit = order.meta.get("stop_loss"), order.meta.get("take_profit")
        if stop_loss is not None:
            children.append(
                Order(
                    symbol=fill.symbol,
                    side=exit_side,
                    quantity=fill.quantity,
                    type=OrderType.STOP,
                    stop_price=float(stop_loss),
                    # Derived ids, so a replay after a restart names the exits the same.
                    client_order_id=f"{order.client_order_id}-sl",
                    tag="stop_loss",
                    meta={"oco": oco},
                )
            )
        if take_profit is not None:
            children.append(
                Order(
                    symbol=fill.symbol,
                    side=exit_side,
                    quantity=fill.quantity,
                    type=OrderType.LIMIT,
                    limit_price=float(take_profit),
                    client_order_id=f"{order.client_order_id}-tp",
                    tag="take_profit",
                    meta={"oco": oco},
                )
            )
        for child in children:
            self.submit(child)
        self.created += children
        return children

    def _close(self, order: Order, status: OrderStatus) -> None:
        order.status = status
        if order in self.orders:
            self.orders.remove(order)
