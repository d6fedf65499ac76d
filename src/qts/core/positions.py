"""Position accounting: signed quantity, average price, realized PnL and fees."""

from __future__ import annotations

from dataclasses import dataclass

from qts.core.types import Side

EPS = 1e-12


@dataclass(slots=True)
class PositionChange:
    quantity: float
    average_price: float
    realized_pnl: float  # realized by this fill, before fees


def apply_fill(
    quantity: float, average_price: float, side: Side, fill_qty: float, price: float
) -> PositionChange:
    """New signed quantity and average price after a fill, and the PnL it realizes.

    Adding to a position averages the price; reducing realizes (price - avg) per unit closed;
    crossing through zero closes the old position and opens the rest at the fill price.
    """
    signed = side.sign * fill_qty
    if abs(quantity) < EPS or quantity * signed > 0:
        new_qty = quantity + signed
        avg = (abs(quantity) * average_price + fill_qty * price) / abs(new_qty)
        return PositionChange(new_qty, avg, 0.0)
    closed = min(abs(quantity), fill_qty)
    direction = 1.0 if quantity > 0 else -1.0
    realized = closed * (price - average_price) * direction
    new_qty = quantity + signed
    if abs(new_qty) < EPS:
        return PositionChange(0.0, 0.0, realized)
    if new_qty * quantity > 0:  # reduced, same side
        return PositionChange(new_qty, average_price, realized)
    return PositionChange(new_qty, price, realized)  # flipped
