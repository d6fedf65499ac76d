"""Upbit KRW-market order rules, checked before an order leaves qts.

Price units (호가 단위) by price band, from Upbit's "원화(KRW) 마켓 주문 가격 단위 / 최소 주문
가능 금액" page (policy in force from 2025-07-31; the bands under 100 KRW follow the 2024 table,
which that change did not list). Minimum order value: 5,000 KRW, buys and sells alike.
A limit price off the unit is moved onto it on the safe side (a buy down, a sell up); an order
worth less than the minimum is refused, never sent (Upbit would answer `under_min_total_bid`
/ `under_min_total_ask`, and `invalid_price_bid` / `invalid_price_ask` for an off-unit price).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from qts.core.errors import ValidationError

MIN_ORDER_KRW = 5_000.0
VOLUME_DECIMALS = 8
# (lower bound of the band, price unit), highest band first
KRW_PRICE_UNITS: tuple[tuple[float, str], ...] = (
    (1_000_000, "1000"),
    (500_000, "500"),
    (100_000, "100"),
    (50_000, "50"),
    (10_000, "10"),
    (5_000, "5"),
    (100, "1"),
    (10, "0.01"),
    (1, "0.001"),
    (0.1, "0.0001"),
    (0.01, "0.00001"),
    (0.001, "0.000001"),
    (0.0001, "0.0000001"),
    (0.0, "0.00000001"),
)


def price_unit(price: float) -> Decimal:
    """The KRW price unit of the band `price` falls in."""
    if not (price > 0 and math.isfinite(price)):
        raise ValidationError(f"an Upbit price must be positive, got {price}")
    for low, unit in KRW_PRICE_UNITS:
        if price >= low:
            return Decimal(unit)
    raise AssertionError("unreachable")


def on_unit(price: float) -> bool:
    return Decimal(str(price)) % price_unit(price) == 0


def round_price(price: float, side: str) -> float:
    """`price` moved onto its unit: down for a buy, up for a sell (never a worse price)."""
    unit = price_unit(price)
    mode = ROUND_FLOOR if side == "buy" else ROUND_CEILING
    rounded = (Decimal(str(price)) / unit).to_integral_value(rounding=mode) * unit
    if rounded <= 0:
        rounded = unit
    # rounding up can cross into the next band, whose unit is coarser
    if not on_unit(float(rounded)):
        return round_price(float(rounded), side)
    return float(rounded)


def floor_volume(quantity: float) -> float:
    step = Decimal(1).scaleb(-VOLUME_DECIMALS)
    return float((Decimal(str(quantity)) / step).to_integral_value(rounding=ROUND_FLOOR) * step)


def check_value(value_krw: float, what: str = "order") -> None:
    if value_krw + 1e-9 < MIN_ORDER_KRW:
        raise ValidationError(
            f"Upbit refuses a KRW {what} under {MIN_ORDER_KRW:,.0f} KRW: this one is "
            f"{value_krw:,.0f} KRW",
            details={"minimum_krw": MIN_ORDER_KRW, "value_krw": value_krw},
        )
