"""Binance spot client (ccxt) against the local fake Binance API with signed endpoints."""

from __future__ import annotations

import pytest

from qts.core.types import Order, OrderStatus, OrderType, Side
from qts.execution.brokers import (
    BinanceBroker,
    BrokerAuthError,
    BrokerRateLimitedError,
    InsufficientFundsError,
    InvalidSymbolError,
)
from tests.brokers.conftest import FAST_RETRY
from tests.brokers.fakes import FakeBinanceSpot

NEW_ORDER = "POST /api/v3/order"


def test_market_order_fills_with_our_client_id(
    binance: BinanceBroker, fake_binance: FakeBinanceSpot
) -> None:
    order = binance.submit(Order("BTCUSDT", Side.BUY, 0.25, client_order_id="bn-1"))
    assert (order.status, order.filled_quantity, order.average_price) == (
        OrderStatus.FILLED,
        0.25,
        60_000.0,
    )
    assert order.symbol == "BTC/USDT"
    assert fake_binance.ledger.by_client_id("bn-1") is not None
    request = fake_binance.requests_for(NEW_ORDER)[0]
    assert request.body["newClientOrderId"] == "bn-1" and "signature" in request.body
    balances = {b.asset: b for b in binance.balances()}
    assert balances["USDT"].free == pytest.approx(100_000 - 15_000)
    assert balances["BTC"].free == pytest.approx(0.75)
    assert [(p.symbol, p.quantity) for p in binance.positions()] == [("BTC/USDT", 0.75)]


def test_limit_partial_fill_and_cancel(
    binance: BinanceBroker, fake_binance: FakeBinanceSpot
) -> None:
    order = binance.submit(
        Order(
            "BTC/USDT", Side.SELL, 0.4, OrderType.LIMIT, limit_price=61_000, client_order_id="bn-2"
        )
    )
    assert order.status is OrderStatus.SUBMITTED
    assert {b.asset: b.locked for b in binance.balances()}["BTC"] == pytest.approx(0.4)
    fake_binance.ledger.fill(order.broker_order_id, 0.1)
    partial = binance.get_order("bn-2")
    assert (partial.status, partial.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 0.1)
    [open_order] = binance.open_orders()
    assert open_order.client_order_id == "bn-2"
    cancelled = binance.cancel("bn-2")
    assert (cancelled.status, cancelled.filled_quantity) == (OrderStatus.CANCELLED, 0.1)
    assert binance.open_orders() == []
    assert {b.asset: b.total for b in binance.balances()}["BTC"] == pytest.approx(0.4)


def test_errors_are_mapped(binance: BinanceBroker, fake_binance: FakeBinanceSpot) -> None:
    with pytest.raises(InsufficientFundsError):
        binance.submit(Order("BTCUSDT", Side.BUY, 10, client_order_id="bn-3"))
    with pytest.raises(InvalidSymbolError):
        binance.submit(Order("DOGEUSDT", Side.BUY, 1, client_order_id="bn-4"))
    assert fake_binance.ledger.orders == {}
    wrong_secret = BinanceBroker(
        fake_binance.api_key, "not-the-secret", base_url=fake_binance.base_url, retry=FAST_RETRY
    )
    with pytest.raises(BrokerAuthError):
        wrong_secret.balances()


def test_rate_limits_are_retried_then_reported(
    binance: BinanceBroker, fake_binance: FakeBinanceSpot
) -> None:
    binance.balances()
    fake_binance.inject("rate_limit", count=2, api=NEW_ORDER)
    binance.submit(Order("ETHUSDT", Side.BUY, 1, client_order_id="bn-5"))
    assert fake_binance.rate_limited_count == 2
    assert len(fake_binance.ledger.orders) == 1
    fake_binance.inject("rate_limit", count=10, api="GET /api/v3/account")
    with pytest.raises(BrokerRateLimitedError):
        binance.balances()


def test_lost_answer_is_looked_up_not_resent(
    binance: BinanceBroker, fake_binance: FakeBinanceSpot
) -> None:
    binance.balances()  # markets loaded
    fake_binance.inject("hang_after_accept", api=NEW_ORDER)
    order = binance.submit(Order("BTCUSDT", Side.BUY, 0.1, client_order_id="bn-6"))
    assert (order.client_order_id, order.status) == ("bn-6", OrderStatus.FILLED)
    assert len(fake_binance.ledger.orders) == 1
    assert len(fake_binance.requests_for(NEW_ORDER)) == 1
    # the same id sent again while it rests is refused by the exchange, and we return it
    binance.submit(
        Order("BTCUSDT", Side.BUY, 0.1, OrderType.LIMIT, limit_price=50_000, client_order_id="bn-7")
    )
    again = binance.submit(
        Order("BTCUSDT", Side.BUY, 0.1, OrderType.LIMIT, limit_price=50_000, client_order_id="bn-7")
    )
    assert again.status is OrderStatus.SUBMITTED
    assert len(fake_binance.ledger.orders) == 2


def test_testnet_urls() -> None:
    client = BinanceBroker("k", "s", testnet=True)
    assert "testnet" in client.exchange.urls["api"]["private"]
