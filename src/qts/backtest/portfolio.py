"""Cash and signed positions, updated by fills; shared by the event engine and paper trading."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from qts.core.positions import apply_fill
from qts.core.types import Fill, Position


@dataclass(slots=True)
class Portfolio:
    cash: float
    positions: dict[str, Position] = field(default_factory=dict)

    def quantity(self, symbol: str) -> float:
        pos = self.positions.get(symbol)
        return pos.quantity if pos is not None else 0.0

    def equity(self, prices: Mapping[str, float]) -> float:
        """Cash plus positions marked at `prices` (symbols without a price count at average)."""
        total = self.cash
        for symbol, pos in self.positions.items():
            if pos.quantity:
                total += pos.quantity * prices.get(symbol, pos.average_price)
        return total

    def apply_split(self, symbol: str, ratio: float) -> None:
        """A split's ex-date: ratio new shares per old; the average price follows, cash does not."""
        pos = self.positions.get(symbol)
        if pos is not None and pos.quantity:
            pos.quantity *= ratio
            pos.average_price /= ratio

    def apply_dividend(self, symbol: str, amount: float) -> None:
        """A dividend's ex-date: quantity x amount in cash (a short position pays it)."""
        quantity = self.quantity(symbol)
        if quantity:
            self.cash += quantity * amount
            self.positions[symbol].realized_pnl += quantity * amount

    def apply(self, fill: Fill) -> None:
        self.cash -= fill.side.sign * fill.quantity * fill.price + fill.fee
        pos = self.positions.setdefault(fill.symbol, Position(symbol=fill.symbol))
        pos.fees += fill.fee
        change = apply_fill(pos.quantity, pos.average_price, fill.side, fill.quantity, fill.price)
        pos.quantity, pos.average_price = change.quantity, change.average_price
        pos.realized_pnl += change.realized_pnl
