"""KIS client against the local fake KIS server: orders, cancels, balances, errors, token
expiry, rate limits and idempotent retries, checked against the fake's own ledger."""

from __future__ import annotations

import pytest

from qts.core.errors import ValidationError
from qts.core.types import Order, OrderStatus, OrderType, Side
from qts.execution.brokers import (
    BrokerAuthError,
    BrokerRateLimitedError,
    DuplicateOrderError,
    InsufficientFundsError,
    InvalidSymbolError,
    JsonlOrderIdStore,
    KisBroker,
    OrderNotFoundError,
    UnknownOutcomeError,
)
from tests.brokers.conftest import FAST_RETRY
from tests.brokers.fakes import FakeKis

ORDER_TR = "VTTC0012U"


def buy(coid: str, qty: int = 10, limit: float | None = None, symbol: str = "005930") -> Order:
    if limit is None:
        return Order(symbol, Side.BUY, qty, client_order_id=coid)
    return Order(symbol, Side.BUY, qty, OrderType.LIMIT, limit_price=limit, client_order_id=coid)


def test_market_buy_fills_and_moves_cash_and_holdings(kis: KisBroker, fake_kis: FakeKis) -> None:
    submitted = kis.submit(buy("kis-1"))
    assert submitted.status is OrderStatus.SUBMITTED
    assert submitted.broker_order_id == "0000000001"
    order = kis.get_order("kis-1")
    assert (order.status, order.filled_quantity, order.average_price) == (
        OrderStatus.FILLED,
        10.0,
        70_000.0,
    )
    assert kis.balances()[0].free == 10_000_000 - 700_000
    [position] = kis.positions()
    assert (position.symbol, position.quantity, position.average_price) == ("005930", 10, 70_000)
    request = fake_kis.requests_for(ORDER_TR)[0]
    assert request.body["ORD_DVSN"] == "01" and request.body["ORD_QTY"] == "10"
    assert request.headers["custtype"] == "P" and request.headers["authorization"].startswith(
        "Bearer "
    )


def test_partial_fill_then_cancel(kis: KisBroker, fake_kis: FakeKis) -> None:
    kis.submit(buy("kis-2", qty=5, limit=69_000))
    assert [o.client_order_id for o in kis.open_orders()] == ["kis-2"]
    fake_kis.ledger.fill("0000000001", 2, 68_900)
    partial = kis.get_order("kis-2")
    assert (partial.status, partial.filled_quantity, partial.average_price) == (
        OrderStatus.PARTIALLY_FILLED,
        2.0,
        68_900.0,
    )
    cancelled = kis.cancel("kis-2")
    assert (cancelled.status, cancelled.filled_quantity) == (OrderStatus.CANCELLED, 2.0)
    assert fake_kis.ledger.orders["0000000001"].status == "cancelled"
    assert kis.open_orders() == []
    # the three unfilled shares' reserved cash came back: only the two bought are spent
    assert kis.balances()[0].free == 10_000_000 - 2 * 68_900
    # cancelling a finished order changes nothing and sends no second cancel
    assert kis.cancel("kis-2").status is OrderStatus.CANCELLED
    assert len(fake_kis.cancels) == 1


def test_broker_errors_are_mapped_and_book_nothing(kis: KisBroker, fake_kis: FakeKis) -> None:
    with pytest.raises(InsufficientFundsError) as info:
        kis.submit(buy("kis-3", qty=1_000))
    assert info.value.broker_code == "APBK0952"
    with pytest.raises(InsufficientFundsError):
        kis.submit(Order("005930", Side.SELL, 1, client_order_id="kis-4"))
    with pytest.raises(InvalidSymbolError):
        kis.submit(buy("kis-5", symbol="999999"))
    with pytest.raises(ValidationError):
        kis.submit(buy("kis-6", qty=0))
    with pytest.raises(ValidationError):
        kis.submit(Order("005930", Side.BUY, 1.5, client_order_id="kis-7"))
    assert fake_kis.ledger.orders == {}
    # the three the broker refused were sent; the two invalid ones never left the process
    assert len(fake_kis.requests_for(ORDER_TR)) == 2
    assert len(fake_kis.requests_for("VTTC0011U")) == 1


def test_token_is_reused_and_refreshed_after_expiry(kis: KisBroker, fake_kis: FakeKis) -> None:
    kis.submit(buy("kis-8", qty=1))
    kis.balances()
    assert fake_kis.token_requests == 1
    fake_kis.expire_tokens()
    kis.submit(buy("kis-9", qty=1))
    assert fake_kis.token_requests == 2
    assert len(fake_kis.ledger.orders) == 2


def test_bad_credentials_are_an_auth_error(fake_kis: FakeKis) -> None:
    client = KisBroker("wrong", "keys", "50012345-01", base_url=fake_kis.base_url)
    with pytest.raises(BrokerAuthError):
        client.balances()
    assert "keys" not in repr(client) and "wrong" not in repr(client)


def test_rate_limit_answers_are_retried_without_duplicates(
    kis: KisBroker, fake_kis: FakeKis
) -> None:
    fake_kis.inject("rate_limit", count=2, api=ORDER_TR)
    kis.submit(buy("kis-10", qty=1))
    assert fake_kis.rate_limited_count == 2
    assert len(fake_kis.ledger.orders) == 1
    fake_kis.inject("rate_limit", count=10, api=ORDER_TR)
    with pytest.raises(BrokerRateLimitedError) as info:
        kis.submit(buy("kis-11", qty=1))
    assert info.value.broker_code == "EGW00201"
    assert len(fake_kis.ledger.orders) == 1


def test_client_limiter_keeps_under_the_broker_rate() -> None:
    with FakeKis(max_per_second=5) as fake:
        client = KisBroker(
            fake.app_key,
            fake.app_secret,
            "50012345-01",
            base_url=fake.base_url,
            rate_per_s=4.5,
            retry=FAST_RETRY,
        )
        for n in range(7):
            client.submit(buy(f"rl-{n}", qty=1))
        assert fake.rate_limited_count == 0
        assert len(fake.ledger.orders) == 7


def test_timeout_after_accept_adopts_the_order(kis: KisBroker, fake_kis: FakeKis) -> None:
    fake_kis.inject("hang_after_accept", api=ORDER_TR)
    order = kis.submit(buy("kis-12", qty=3))
    assert order.broker_order_id == "0000000001"
    assert order.client_order_id == "kis-12"
    assert len(fake_kis.ledger.orders) == 1  # the fake's ledger: exactly one order
    assert kis.submit(buy("kis-12", qty=3)).broker_order_id == "0000000001"
    assert len(fake_kis.requests_for(ORDER_TR)) == 1


def test_read_timeout_after_accept_is_not_resent(fake_kis: FakeKis) -> None:
    client = KisBroker(
        fake_kis.app_key,
        fake_kis.app_secret,
        "50012345-01",
        base_url=fake_kis.base_url,
        rate_per_s=500,
        retry=FAST_RETRY,
        timeout_s=0.3,
    )
    fake_kis.inject("hang_after_accept", api=ORDER_TR, hang_s=0.6)
    client.submit(buy("kis-13", qty=2))
    assert len(fake_kis.ledger.orders) == 1


def test_crash_after_send_then_restart_finds_the_order(tmp_path, fake_kis: FakeKis) -> None:  # type: ignore[no-untyped-def]
    journal = tmp_path / "kis-orders.jsonl"
    first = KisBroker(
        fake_kis.app_key,
        fake_kis.app_secret,
        "50012345-01",
        base_url=fake_kis.base_url,
        rate_per_s=500,
        retry=FAST_RETRY,
        store=JsonlOrderIdStore(journal),
    )
    # the order is booked but its answer is lost, and the look-up fails too: the call gives up
    fake_kis.inject("hang_after_accept", api=ORDER_TR)
    fake_kis.inject("drop_before", count=20, api="VTTC0081R")
    with pytest.raises((UnknownOutcomeError, Exception)):
        first.submit(buy("kis-14", qty=4))
    fake_kis.faults.clear()
    # a new process with the same journal re-submits the same client order id
    second = KisBroker(
        fake_kis.app_key,
        fake_kis.app_secret,
        "50012345-01",
        base_url=fake_kis.base_url,
        rate_per_s=500,
        retry=FAST_RETRY,
        store=JsonlOrderIdStore(journal),
    )
    order = second.submit(buy("kis-14", qty=4))
    assert order.broker_order_id == "0000000001"
    assert len(fake_kis.ledger.orders) == 1
    assert len(fake_kis.requests_for(ORDER_TR)) == 1


def test_same_client_id_for_another_order_is_refused(kis: KisBroker, fake_kis: FakeKis) -> None:
    kis.submit(buy("kis-15", qty=1))
    with pytest.raises(DuplicateOrderError):
        kis.submit(buy("kis-15", qty=2))
    with pytest.raises(OrderNotFoundError):
        kis.get_order("never-sent")
    assert len(fake_kis.ledger.orders) == 1


def test_paging_and_order_updates(kis: KisBroker, fake_kis: FakeKis) -> None:
    for n in range(7):  # the fake pages 5 rows at a time
        kis.submit(buy(f"page-{n}", qty=1, limit=60_000))
    assert sorted(o.client_order_id for o in kis.open_orders()) == [f"page-{n}" for n in range(7)]
    assert kis.poll_updates() == []
    fake_kis.ledger.fill("0000000006", 1)
    [update] = kis.poll_updates()
    assert (update.client_order_id, update.status) == ("page-5", OrderStatus.FILLED)
    assert kis.poll_updates() == []


def test_real_domain_uses_real_tr_ids() -> None:
    with FakeKis(mock=False) as fake:
        client = KisBroker(
            fake.app_key,
            fake.app_secret,
            "50012345-01",
            mock=False,
            base_url=fake.base_url,
            retry=FAST_RETRY,
        )
        client.submit(buy("r-1", qty=1))
        assert client.get_order("r-1").status is OrderStatus.FILLED
        assert [r.headers["tr_id"] for r in fake.requests[1:]] == ["TTTC0012U", "TTTC0081R"]
    legacy = KisBroker("k", "s", "50012345-01", mock=True, legacy_tr_ids=True)
    assert legacy.tr_ids["buy"] == "VTTC0802U" and legacy.tr_ids["sell"] == "VTTC0801U"
    assert KisBroker("k", "s", "50012345-01", mock=False).base_url == (
        "https://openapi.koreainvestment.com:9443"
    )
