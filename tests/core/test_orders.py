"""The order family: one shared spec, checked one way, and the step from a strategy's intent to
the working order a venue holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qts.core.errors import ValidationError
from qts.core.types import (
    Order,
    OrderIntent,
    OrderSpec,
    OrderStatus,
    OrderTicket,
    OrderType,
    Side,
    TimeInForce,
)


def test_every_stage_shares_the_spec_fields_in_the_same_order() -> None:
    spec = ("AAA", Side.SELL, 3.0, OrderType.STOP_LIMIT, 99.0, 100.0)
    for cls in (OrderIntent, OrderTicket, Order):
        order = cls(*spec)
        assert isinstance(order, OrderSpec)
        assert (order.symbol, order.side, order.quantity, order.type) == spec[:4]
        assert (order.limit_price, order.stop_price) == (99.0, 100.0)


def test_intent_becomes_a_working_order_with_its_bracket() -> None:
    at = datetime(2024, 3, 4, tzinfo=UTC)
    intent = OrderIntent(
        "AAA", Side.BUY, 10, OrderType.LIMIT, limit_price=95.0,
        stop_loss=90.0, take_profit=110.0, tag="entry", meta={"why": "breakout"},
    )  # fmt: skip
    order = intent.to_order(created_at=at)
    assert order == Order(
        "AAA", Side.BUY, 10, OrderType.LIMIT, limit_price=95.0, created_at=at, tag="entry",
        meta={"why": "breakout", "stop_loss": 90.0, "take_profit": 110.0},
    )  # fmt: skip
    assert order.status is OrderStatus.NEW and order.client_order_id == ""
    assert order.time_in_force is TimeInForce.GTC
    assert intent.meta == {"why": "breakout"}  # the intent is not changed


@pytest.mark.parametrize(
    ("ticket", "message"),
    [
        (OrderTicket("", Side.BUY, 1), "symbol is required"),
        (OrderTicket("AAA", Side.BUY, 0), "quantity must be a number between"),
        (OrderTicket("AAA", Side.BUY, float("inf")), "quantity must be a number between"),
        # Issue 14, defect 9: absurd numbers, refused even without risk limits.
        (OrderTicket("AAA", Side.BUY, 1e308), "quantity must be a number between"),
        (OrderTicket("AAA", Side.BUY, 5e-324), "quantity must be a number between"),
        (
            OrderTicket("AAA", Side.BUY, 1, OrderType.LIMIT, limit_price=float("1e400")),
            "limit_price must be a number between",
        ),
        (
            OrderTicket("AAA", Side.BUY, 1e9, OrderType.LIMIT, limit_price=1e9),
            "order notional above",
        ),
        (OrderTicket("AAA", Side.BUY, 1e9, reference_price=1e9), "order notional above"),
        (OrderTicket("AAA", Side.BUY, 1, OrderType.LIMIT), "a limit order needs a limit_price"),
        (OrderTicket("AAA", Side.BUY, 1, OrderType.STOP), "a stop order needs a stop_price"),
        (
            OrderTicket("AAA", Side.BUY, 1, OrderType.LIMIT, limit_price=-5),
            "limit_price must be a number between",
        ),
        (
            OrderTicket("AAA", Side.BUY, 1, reference_price=float("nan")),
            "reference_price must be a number between",
        ),
    ],
)
def test_a_ticket_no_venue_could_take_is_refused(ticket: OrderTicket, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ticket.validate()


def test_a_good_ticket_passes() -> None:
    OrderTicket(
        "AAA", Side.BUY, 2, OrderType.LIMIT, limit_price=10.0, reference_price=9.9
    ).validate()
