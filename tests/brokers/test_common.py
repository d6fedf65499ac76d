"""Shared broker machinery: token bucket, order-id journal, order validation, status."""

from __future__ import annotations

import pytest

from qts.core.errors import ValidationError
from qts.core.types import Order, OrderStatus, OrderType, Side
from qts.execution.brokers import JsonlOrderIdStore, OrderIntent, TokenBucket, validate_order
from qts.execution.brokers.base import status_from_fill


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_bucket_spaces_requests_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, capacity=1.0, clock=clock, sleep=clock.sleep)
    for _ in range(9):
        bucket.acquire()
    assert clock.now == pytest.approx(2.0)  # first one free, then 8 at 0.25 s
    bucket.penalize(1.0)
    bucket.acquire()
    assert clock.now == pytest.approx(3.25)
    with pytest.raises(ValidationError):
        TokenBucket(0)


def test_journal_survives_restart_and_torn_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "orders.jsonl"
    store = JsonlOrderIdStore(path)
    store.put(OrderIntent("a-1", "005930", "buy", 3, None, 1.0))
    store.put(OrderIntent("a-1", "005930", "buy", 3, None, 1.0, broker_order_id="0001"))
    store.put(OrderIntent("a-2", "000660", "sell", 1, 180_000.0, 2.0))
    with open(path, "a") as f:
        f.write('{"client_order_id": "a-3", "sym')  # a crash in the middle of a write
    reopened = JsonlOrderIdStore(path)
    first = reopened.get("a-1")
    assert first is not None and first.broker_order_id == "0001"
    assert reopened.get("a-3") is None
    assert reopened.claimed_broker_ids() == {"0001"}
    found = reopened.by_broker_id("0001")
    assert found is not None and found.client_order_id == "a-1"


def test_order_validation() -> None:
    validate_order(Order("X", Side.BUY, 1, client_order_id="ok_id-1"))
    bad = [
        Order("X", Side.BUY, 1, client_order_id=""),
        Order("X", Side.BUY, 1, client_order_id="has space"),
        Order("X", Side.BUY, 1, client_order_id="x" * 37),
        Order("X", Side.BUY, -1, client_order_id="a"),
        Order("X", Side.BUY, float("nan"), client_order_id="a"),
        Order("X", Side.BUY, 1, OrderType.LIMIT, client_order_id="a"),
        Order("X", Side.BUY, 1, OrderType.STOP, stop_price=1, client_order_id="a"),
    ]
    for order in bad:
        with pytest.raises(ValidationError):
            validate_order(order)


def test_status_from_quantities() -> None:
    assert status_from_fill(10, 0) is OrderStatus.SUBMITTED
    assert status_from_fill(10, 4) is OrderStatus.PARTIALLY_FILLED
    assert status_from_fill(10, 10) is OrderStatus.FILLED
    assert status_from_fill(10, 4, cancelled=True) is OrderStatus.CANCELLED
    assert status_from_fill(10, 10, cancelled=True) is OrderStatus.FILLED
    assert status_from_fill(10, 0, rejected=True) is OrderStatus.REJECTED
