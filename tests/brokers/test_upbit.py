"""Upbit through ccxt against the fake Upbit: the fake refuses orders under 5,000 KRW or off the
price unit; qts rounds onto the unit or refuses before sending; idempotent by identifier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qts.core.errors import ValidationError
from qts.core.types import Order, OrderStatus, OrderType, Side
from qts.execution.brokers import RetryPolicy, UnknownOutcomeError
from qts.execution.brokers.errors import OrderRejectedError
from qts.execution.brokers.upbit import UpbitBroker
from tests.brokers.fakes.upbit import FakeUpbit

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)


@pytest.fixture
def fake_upbit() -> Iterator[FakeUpbit]:
    with FakeUpbit() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def upbit(fake_upbit: FakeUpbit) -> Iterator[UpbitBroker]:
    client = UpbitBroker(
        fake_upbit.access_key, fake_upbit.secret_key, base_url=fake_upbit.base_url,
        rate_per_s=500, retry=FAST, timeout_s=2.0,
    )  # fmt: skip
    yield client
    client.close()


def _order(cid: str, side: Side, qty: float, price: float | None = None) -> Order:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return Order("BTC/KRW", side, qty, type=kind, limit_price=price, client_order_id=cid)


def test_the_fake_refuses_what_upbit_refuses(upbit: UpbitBroker) -> None:
    base = {"market": "KRW-BTC", "side": "bid", "ord_type": "limit"}
    with pytest.raises(OrderRejectedError, match="invalid_price_bid"):
        upbit._call("privatePostOrders", {**base, "price": "135123456", "volume": "0.001"})
    with pytest.raises(OrderRejectedError, match="under_min_total_bid"):
        upbit._call("privatePostOrders", {**base, "price": "135000000", "volume": "0.00003"})
    with pytest.raises(OrderRejectedError, match="under_min_total_ask"):
        upbit._call(
            "privatePostOrders", {**base, "side": "ask", "ord_type": "market", "volume": "0.00001"}
        )


def test_qts_rounds_onto_the_price_unit_and_refuses_small_orders_before_sending(
    upbit: UpbitBroker, fake_upbit: FakeUpbit
) -> None:
    placed = upbit.submit(_order("u-limit-1", Side.BUY, 0.001, 135_123_456))
    assert placed.status is OrderStatus.SUBMITTED and placed.limit_price == 135_123_000
    sent = fake_upbit.requests_for_path("/v1/orders")[-1].body
    assert sent["price"] == "135123000" and sent["volume"] == "0.00100000"
    assert sent["identifier"] == "u-limit-1"
    before = len(fake_upbit.requests_for_path("/v1/orders"))
    with pytest.raises(ValidationError, match="under 5,000 KRW"):
        upbit.submit(_order("u-small", Side.BUY, 0.00003, 135_000_000))
    with pytest.raises(ValidationError, match="under 5,000 KRW"):
        upbit.submit(_order("u-small-mkt", Side.SELL, 0.00001))
    assert len(fake_upbit.requests_for_path("/v1/orders")) == before  # nothing sent


def test_market_orders_fill_and_positions_follow(upbit: UpbitBroker, fake_upbit: FakeUpbit) -> None:
    bought = upbit.submit(_order("u-mkt-buy", Side.BUY, 0.01))
    sent = fake_upbit.requests_for_path("/v1/orders")[-1].body
    assert sent["ord_type"] == "price" and sent["price"] == "1350000"
    assert bought.status is OrderStatus.FILLED
    assert bought.filled_quantity == pytest.approx(0.01) and bought.average_price == 135_000_000
    position = {p.symbol: p for p in upbit.positions()}["BTC/KRW"]
    assert position.quantity == pytest.approx(0.01)
    sold = upbit.submit(_order("u-mkt-sell", Side.SELL, 0.004))
    assert sold.status is OrderStatus.FILLED and sold.fee > 0
    krw = {b.asset: b for b in upbit.balances()}["KRW"]
    assert krw.total == pytest.approx(10_000_000 - 1_350_000 * 1.0005 + 540_000 * 0.9995)


def test_limit_orders_cancel_and_idempotency_by_identifier(
    upbit: UpbitBroker, fake_upbit: FakeUpbit
) -> None:
    order = _order("u-idem-1", Side.BUY, 0.002, 130_000_000)
    first = upbit.submit(order)
    again = upbit.submit(order)  # Upbit refuses the reused identifier: qts adopts the order
    assert again.broker_order_id == first.broker_order_id and len(fake_upbit.ledger.orders) == 1
    assert [o.client_order_id for o in upbit.open_orders("BTC/KRW")] == ["u-idem-1"]
    fake_upbit.ledger.fill(first.broker_order_id, 0.001)
    partly = upbit.get_order("u-idem-1")
    assert partly.status is OrderStatus.PARTIALLY_FILLED and partly.filled_quantity == 0.001
    cancelled = upbit.cancel("u-idem-1")
    assert cancelled.status is OrderStatus.CANCELLED and upbit.open_orders() == []
    # an answer lost after the order was booked: found by identifier, not sent twice
    fake_upbit.inject("hang_after_accept", api="/v1/orders", hang_s=0.1)
    upbit.exchange.timeout = 50
    lost = upbit.submit(_order("u-lost-1", Side.BUY, 0.0005, 100_000_000))
    assert lost.client_order_id == "u-lost-1"
    assert sum(o.client_order_id == "u-lost-1" for o in fake_upbit.ledger.orders.values()) == 1


def test_unknown_outcome_when_the_order_never_arrived(
    upbit: UpbitBroker, fake_upbit: FakeUpbit
) -> None:
    fake_upbit.inject("drop_before", 3, api="/v1/orders")
    with pytest.raises(UnknownOutcomeError):
        upbit._call("privatePostOrders", {"market": "KRW-BTC"}, mutating=True)
