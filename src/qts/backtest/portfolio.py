"""Cash and signed positions, updated by fills; shared by the event engine and paper trading."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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

    def apply(self, fill: Fill) -> None:
        signed = fill.side.sign * fill.quantity
        self.cash -= signed * fill.price + fill.fee
        pos = self.positions.setdefault(fill.symbol, Position(symbol=fill.symbol))
        pos.fees += fill.fee
        old = pos.quantity
        new = old + signed
        if old == 0 or (old > 0) == (signed > 0):
            # Opening or adding: the average price moves toward the fill price.
            total = abs(old) + abs(signed)
            pos.average_price = (abs(old) * pos.average_price + abs(signed) * fill.price) / total
        else:
            closed = min(abs(signed), abs(old))
            pos.realized_pnl += closed * (fill.price - pos.average_price) * (1 if old > 0 else -1)
            if abs(signed) > abs(old):
                pos.average_price = fill.price  # reversed: the remainder opened at this price
            elif new == 0:
                pos.average_price = 0.0
        pos.quantity = new if abs(new) > 1e-12 else 0.0
