"""Kiwoom client against the local fake Kiwoom REST server."""

from __future__ import annotations

import pytest

from qts.core.types import Order, OrderStatus, OrderType, Side
from qts.execution.brokers import (
    BrokerAuthError,
    BrokerRateLimitedError,
    InsufficientFundsError,
    InvalidSymbolError,
    KiwoomBroker,
)
from tests.brokers.fakes import FakeKiwoom


def buy(coid: str, qty: int = 10, limit: float | None = None, symbol: str = "005930") -> Order:
    if limit is None:
        return Order(symbol, Side.BUY, qty, client_order_id=coid)
    return Order(symbol, Side.BUY, qty, OrderType.LIMIT, limit_price=limit, client_order_id=coid)


def test_buy_sell_balances_and_positions(kiwoom: KiwoomBroker, fake_kiwoom: FakeKiwoom) -> None:
    kiwoom.submit(buy("kw-1"))
    kiwoom.submit(Order("005930", Side.SELL, 4, client_order_id="kw-2"))
    bought, sold = kiwoom.get_order("kw-1"), kiwoom.get_order("kw-2")
    assert (bought.status, bought.filled_quantity, bought.average_price) == (
        OrderStatus.FILLED,
        10.0,
        70_000.0,
    )
    assert (sold.side, sold.status, sold.filled_quantity) == (Side.SELL, OrderStatus.FILLED, 4.0)
    [cash] = kiwoom.balances()
    assert (cash.asset, cash.free) == ("KRW", 10_000_000 - 6 * 70_000)
    [position] = kiwoom.positions()
    assert (position.symbol, position.quantity, position.average_price) == ("005930", 6, 70_000)
    order_request = fake_kiwoom.requests_for("kt10000")[0]
    assert order_request.body == {
        "dmst_stex_tp": "KRX",
        "stk_cd": "005930",
        "ord_qty": "10",
        "ord_uv": "",
        "trde_tp": "3",
        "cond_uv": "",
    }


def test_partial_fills_and_cancel(kiwoom: KiwoomBroker, fake_kiwoom: FakeKiwoom) -> None:
    kiwoom.submit(buy("kw-3", qty=6, limit=69_500))
    fake_kiwoom.ledger.fill("0000001", 2, 69_400)
    fake_kiwoom.ledger.fill("0000001", 1, 69_500)
    partial = kiwoom.get_order("kw-3")
    assert (partial.status, partial.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 3.0)
    assert partial.average_price == pytest.approx((2 * 69_400 + 69_500) / 3)
    assert [row["oso_qty"] for row in kiwoom.unfilled_orders()] == ["3"]
    cancelled = kiwoom.cancel("kw-3")
    assert (cancelled.status, cancelled.filled_quantity) == (OrderStatus.CANCELLED, 3.0)
    assert fake_kiwoom.ledger.orders["0000001"].status == "cancelled"
    assert fake_kiwoom.requests_for("kt10003")[0].body["orig_ord_no"] == "0000001"
    assert kiwoom.open_orders() == []


def test_errors_are_mapped(kiwoom: KiwoomBroker, fake_kiwoom: FakeKiwoom) -> None:
    with pytest.raises(InsufficientFundsError):
        kiwoom.submit(buy("kw-4", qty=1_000))
    with pytest.raises(InsufficientFundsError):
        kiwoom.submit(Order("000660", Side.SELL, 1, client_order_id="kw-5"))
    with pytest.raises(InvalidSymbolError) as info:
        kiwoom.submit(buy("kw-6", symbol="123456"))
    assert info.value.broker_code == "505217"
    assert fake_kiwoom.ledger.orders == {}
    bad = KiwoomBroker("nope", "nope", base_url=fake_kiwoom.base_url)
    with pytest.raises(BrokerAuthError):
        bad.balances()


def test_token_expiry_and_rate_limits(kiwoom: KiwoomBroker, fake_kiwoom: FakeKiwoom) -> None:
    kiwoom.submit(buy("kw-7", qty=1))
    fake_kiwoom.expire_tokens()
    fake_kiwoom.inject("rate_limit", count=2, api="kt10000")
    kiwoom.submit(buy("kw-8", qty=1))
    assert fake_kiwoom.token_requests == 2
    assert fake_kiwoom.rate_limited_count == 2
    assert len(fake_kiwoom.ledger.orders) == 2
    fake_kiwoom.inject("rate_limit", count=10, api="kt00001")
    with pytest.raises(BrokerRateLimitedError) as info:
        kiwoom.balances()
    assert info.value.broker_code == "1700"


def test_lost_answer_is_not_resent(kiwoom: KiwoomBroker, fake_kiwoom: FakeKiwoom) -> None:
    fake_kiwoom.inject("hang_after_accept", api="kt10000")
    order = kiwoom.submit(buy("kw-9", qty=2, limit=70_000))
    assert order.broker_order_id == "0000001"
    assert len(fake_kiwoom.ledger.orders) == 1
    assert kiwoom.submit(buy("kw-9", qty=2, limit=70_000)).broker_order_id == "0000001"
    assert len(fake_kiwoom.requests_for("kt10000")) == 1


def test_paging_through_many_orders(kiwoom: KiwoomBroker, fake_kiwoom: FakeKiwoom) -> None:
    for n in range(9):  # the fake pages 4 rows at a time
        kiwoom.submit(buy(f"kw-p{n}", qty=1, limit=60_000))
    assert len(kiwoom.open_orders()) == 9
    pages = [r for r in fake_kiwoom.requests_for("kt00009") if r.headers.get("cont-yn") == "Y"]
    assert [r.headers["next-key"] for r in pages[:2]] == ["4", "8"]


def test_domains() -> None:
    assert KiwoomBroker("k", "s", mock=True).base_url == "https://mockapi.kiwoom.com"
    assert KiwoomBroker("k", "s", mock=False).base_url == "https://api.kiwoom.com"
