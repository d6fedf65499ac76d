"""Upbit KRW price units and the 5,000 KRW minimum."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qts.core.errors import ValidationError
from qts.execution.brokers.upbit_rules import (
    check_value,
    floor_volume,
    on_unit,
    price_unit,
    round_price,
)


@pytest.mark.parametrize(
    ("price", "unit"),
    [
        (135_123_456, "1000"), (1_500_000, "1000"), (999_999, "500"), (250_000, "100"),
        (75_000, "50"), (12_345, "10"), (7_000, "5"), (1_234, "1"), (150, "1"),
        (55.5, "0.01"), (3.3, "0.001"), (0.5, "0.0001"), (0.00005, "0.00000001"),
    ],
)  # fmt: skip
def test_price_units_by_band(price: float, unit: str) -> None:
    assert price_unit(price) == Decimal(unit)


def test_off_unit_prices_move_to_the_safe_side() -> None:
    assert round_price(135_123_456, "buy") == 135_123_000
    assert round_price(135_123_456, "sell") == 135_124_000
    assert round_price(7_003, "buy") == 7_000 and round_price(7_003, "sell") == 7_005
    assert round_price(999_800, "sell") == 1_000_000  # crosses into the 1,000 band
    assert round_price(3.14159, "buy") == 3.141
    assert on_unit(135_124_000) and not on_unit(135_123_456)


def test_the_minimum_order_value_and_volume_precision() -> None:
    check_value(5_000)
    with pytest.raises(ValidationError, match="under 5,000 KRW"):
        check_value(4_999)
    assert floor_volume(0.123456789) == 0.12345678
    with pytest.raises(ValidationError):
        price_unit(0)
