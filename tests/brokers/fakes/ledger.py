"""The fake brokers' book of record: orders, fills, cash and holdings, thread-safe.

Market orders fill at once at the symbol's current price; limit orders rest until the test
calls `fill(order_id, qty, price)` (partial fills included) or `cancel`. Buying locks quote
cash (at the limit price), selling locks the holding; a fill settles both sides.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class LedgerError(Exception):
    """A refusal the fake renders in its broker's format: kind is insufficient_funds,
    invalid_symbol, not_open or unknown_order."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(message or kind)
        self.kind = kind


@dataclass
class LedgerFill:
    fill_id: int
    order_id: str
    quantity: float
    price: float
    fee: float
    ts: float


@dataclass
class LedgerOrder:
    order_id: str
    symbol: str
    side: str  # buy | sell
    quantity: float
    order_type: str  # market | limit
    price: float | None
    client_order_id: str = ""
    status: str = "open"  # open | filled | cancelled | rejected | expired
    filled_quantity: float = 0.0
    fills: list[LedgerFill] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    time_in_force: str = "gtc"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled_quantity, 0.0)

    @property
    def quote_filled(self) -> float:
        return sum(f.quantity * f.price for f in self.fills)

    @property
    def average_price(self) -> float:
        return self.quote_filled / self.filled_quantity if self.filled_quantity else 0.0


class Ledger:
    def __init__(
        self,
        *,
        prices: dict[str, float],
        balances: dict[str, float],
        split: Callable[[str], tuple[str, str]],
        fee_rate: float = 0.0,
        id_format: Callable[[int], str] = str,
    ) -> None:
        self.prices = dict(prices)
        self.free: dict[str, float] = dict(balances)
        self.locked: dict[str, float] = {}
        self.avg_cost: dict[str, float] = {}
        self.split = split
        self.fee_rate = fee_rate
        self.orders: dict[str, LedgerOrder] = {}
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._fill_ids = itertools.count(1)
        self._id_format = id_format

    # Orders ----------------------------------------------------------------------------------
    def place(
        self,
        symbol: str,
        side: str,
        quantity: float,
        order_type: str,
        price: float | None = None,
        *,
        client_order_id: str = "",
        time_in_force: str = "gtc",
        **meta: Any,
    ) -> LedgerOrder:
        with self.lock:
            if symbol not in self.prices:
                raise LedgerError("invalid_symbol")
            if quantity <= 0:
                raise LedgerError("bad_quantity")
            base, quote = self.split(symbol)
            reference = price if order_type == "limit" and price else self.prices[symbol]
            if side == "buy":
                need, asset = quantity * reference * (1 + self.fee_rate), quote
            else:
                need, asset = quantity, base
            if self.free.get(asset, 0.0) + 1e-9 < need:
                raise LedgerError("insufficient_funds")
            self.free[asset] = self.free.get(asset, 0.0) - need
            self.locked[asset] = self.locked.get(asset, 0.0) + need
            order = LedgerOrder(
                order_id=self._id_format(next(self._ids)),
                symbol=symbol,
                side=side,
                quantity=quantity,
                order_type=order_type,
                price=price if order_type == "limit" else None,
                client_order_id=client_order_id,
                time_in_force=time_in_force,
                meta={"locked_price": reference, **meta},
            )
            self.orders[order.order_id] = order
            if order_type == "market":
                self.fill(order.order_id, quantity, self.prices[symbol])
            return order

    def fill(self, order_id: str, quantity: float, price: float | None = None) -> LedgerFill:
        """Execute `quantity` of an open order at `price` (its limit price by default)."""
        with self.lock:
            order = self._open(order_id)
            quantity = min(quantity, order.remaining)
            price = price if price is not None else (order.price or self.prices[order.symbol])
            base, quote = self.split(order.symbol)
            locked_price = order.meta["locked_price"]
            fee = quantity * price * self.fee_rate
            if order.side == "buy":
                reserved = quantity * locked_price * (1 + self.fee_rate)
                self.locked[quote] -= reserved
                self.free[quote] += reserved - quantity * price - fee
                held = self.free.get(base, 0.0) + self.locked.get(base, 0.0)
                cost = self.avg_cost.get(base, 0.0)
                self.avg_cost[base] = (held * cost + quantity * price) / (held + quantity)
                self.free[base] = self.free.get(base, 0.0) + quantity
            else:
                self.locked[base] -= quantity
                self.free[quote] = self.free.get(quote, 0.0) + quantity * price - fee
            fill = LedgerFill(next(self._fill_ids), order_id, quantity, price, fee, time.time())
            order.fills.append(fill)
            order.filled_quantity += quantity
            order.updated_at = fill.ts
            if order.remaining <= 1e-12:
                order.status = "filled"
            return fill

    def cancel(self, order_id: str) -> LedgerOrder:
        with self.lock:
            order = self._open(order_id)
            base, quote = self.split(order.symbol)
            if order.side == "buy":
                amount, asset = (
                    order.remaining * order.meta["locked_price"] * (1 + self.fee_rate),
                    quote,
                )
            else:
                amount, asset = order.remaining, base
            self.locked[asset] -= amount
            self.free[asset] += amount
            order.status = "cancelled"
            order.updated_at = time.time()
            return order

    def _open(self, order_id: str) -> LedgerOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise LedgerError("unknown_order")
        if order.status != "open":
            raise LedgerError("not_open")
        return order

    # Views -----------------------------------------------------------------------------------
    def by_client_id(self, client_order_id: str) -> LedgerOrder | None:
        with self.lock:
            for order in self.orders.values():
                if order.client_order_id == client_order_id:
                    return order
        return None

    def open_orders(self) -> list[LedgerOrder]:
        with self.lock:
            return [o for o in self.orders.values() if o.status == "open"]

    def holding(self, asset: str) -> float:
        with self.lock:
            return self.free.get(asset, 0.0) + self.locked.get(asset, 0.0)
