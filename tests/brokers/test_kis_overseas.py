"""KIS US-stock client (and the one-account KIS router) against the fake KIS overseas server:
exchange discovery, marketable-limit market orders, price ticks, partial fills and cancels,
USD cash, token sharing and expiry, rate limits and idempotent retries, checked against the
fake's own ledger; and the US quotations client."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest

from qts.core.errors import ValidationError
from qts.core.types import Order, OrderStatus, OrderType, Side
from qts.execution.brokers import InMemoryOrderIdStore, InvalidSymbolError, KisBroker
from qts.execution.brokers.kis_overseas import KisOverseasBroker, us_price
from qts.execution.brokers.kis_overseas_routing import KisAccountBroker
from qts.market.kis_overseas import KisOverseasQuotations
from tests.brokers.conftest import FAST_RETRY
from tests.brokers.fakes.kis_overseas import FakeKisOverseas

ORDER = "/uapi/overseas-stock/v1/trading/order"


@pytest.fixture
def fake() -> Iterator[FakeKisOverseas]:
    with FakeKisOverseas(page_size=3, cash=5_000_000) as server:
        yield server  # type: ignore[misc]


def _client(fake: FakeKisOverseas, cls: type = KisOverseasBroker, **kw: object) -> KisBroker:
    options: dict[str, object] = {"rate_per_s": 500, "retry": FAST_RETRY, "timeout_s": 2.0, **kw}
    return cls(  # type: ignore[no-any-return]
        fake.app_key, fake.app_secret, "50012345-01", mock=True, base_url=fake.base_url, **options
    )


@pytest.fixture
def us(fake: FakeKisOverseas) -> Iterator[KisOverseasBroker]:
    client = _client(fake)
    yield client  # type: ignore[misc]
    client.close()


def test_market_buy_goes_out_as_a_marketable_limit_and_fills(
    us: KisOverseasBroker, fake: FakeKisOverseas
) -> None:
    us.submit(Order("AAPL", Side.BUY, 7, client_order_id="us-1"))
    order = us.get_order("us-1")
    assert (order.status, order.filled_quantity, order.average_price) == (
        OrderStatus.FILLED, 7.0, 100.0,
    )  # fmt: skip
    [sent] = fake.requests_for_path(ORDER)
    assert sent.headers["tr_id"] == "VTTT1002U"
    assert {k: sent.body[k] for k in ("OVRS_EXCG_CD", "PDNO", "ORD_QTY", "OVRS_ORD_UNPR")} == {
        "OVRS_EXCG_CD": "NASD", "PDNO": "AAPL", "ORD_QTY": "7", "OVRS_ORD_UNPR": "100.50",
    }  # fmt: skip
    assert sent.body["ORD_DVSN"] == "00" and sent.body["ORD_SVR_DVSN_CD"] == "0"
    [usd] = us.balances()
    assert (usd.asset, usd.free) == ("USD", 10_000 - 700)
    assert us.krw_rates() == {"USD/KRW": 1_380.0}
    [held] = us.positions()
    assert (held.symbol, held.quantity, held.average_price, held.market_price) == (
        "AAPL", 7, 100.0, 100.0,
    )  # fmt: skip


def test_nyse_symbol_limit_rests_fills_partly_and_cancels(
    us: KisOverseasBroker, fake: FakeKisOverseas
) -> None:
    us.submit(
        Order("IBM", Side.BUY, 10, OrderType.LIMIT, limit_price=149.999, client_order_id="i1")
    )
    # IBM is not quoted on NASDAQ: found on NYSE by the quote endpoint, then remembered
    assert us.exchange_of("IBM") == "NYSE"
    [sent] = fake.requests_for_path(ORDER)
    assert (sent.body["OVRS_EXCG_CD"], sent.body["OVRS_ORD_UNPR"]) == ("NYSE", "149.99")
    assert [o.client_order_id for o in us.open_orders()] == ["i1"]
    [ledger] = fake.ledger.orders.values()
    fake.ledger.fill(ledger.order_id, 4, 149.5)
    partial = us.get_order("i1")
    assert (partial.status, partial.filled_quantity, partial.average_price) == (
        OrderStatus.PARTIALLY_FILLED, 4.0, 149.5,
    )  # fmt: skip
    cancelled = us.cancel("i1")
    assert (cancelled.status, cancelled.filled_quantity) == (OrderStatus.CANCELLED, 4.0)
    assert (
        fake.us_cancels[0]["qty"] == 6 and fake.ledger.orders[ledger.order_id].status == "cancelled"
    )
    assert us.balances()[0].free == pytest.approx(10_000 - 4 * 149.5)
    # selling uses KIS's mock sell id; a sell limit rounds up, never below the price asked
    us.submit(
        Order("IBM", Side.SELL, 4, OrderType.LIMIT, limit_price=160.001, client_order_id="i2")
    )
    sell = fake.requests_for_path(ORDER)[-1]
    assert (sell.headers["tr_id"], sell.body["OVRS_ORD_UNPR"]) == ("VTTT1001U", "160.01")


def test_prices_follow_kis_ticks_and_bad_orders_are_refused(
    us: KisOverseasBroker, fake: FakeKisOverseas
) -> None:
    assert us_price(100.456, Side.BUY) == Decimal("100.45")
    assert us_price(100.451, Side.SELL) == Decimal("100.46")
    assert us_price(0.123456, Side.BUY) == Decimal("0.1234")
    us.submit(
        Order("SIRI", Side.BUY, 100, OrderType.LIMIT, limit_price=0.45678, client_order_id="s")
    )
    assert fake.requests_for_path(ORDER)[-1].body["OVRS_ORD_UNPR"] == "0.4567"
    with pytest.raises(InvalidSymbolError):
        us.submit(Order("NOPE", Side.BUY, 1, client_order_id="n1"))
    wrong = _client(fake, exchanges={"AAPL": "NYSE"})  # a wrong listing: KIS refuses it
    with pytest.raises(InvalidSymbolError) as info:
        wrong.submit(
            Order("AAPL", Side.BUY, 1, OrderType.LIMIT, limit_price=99, client_order_id="w")
        )
    assert info.value.broker_code == "APBK0656"
    with pytest.raises(ValidationError):
        us.submit(Order("AAPL", Side.BUY, 1.5, client_order_id="frac"))
    assert len(fake.ledger.orders) == 1  # only the SIRI order was booked
    wrong.close()


def test_lost_answer_is_adopted_not_resent_and_token_expiry_and_rate_limit_recover(
    fake: FakeKisOverseas,
) -> None:
    us = _client(fake, timeout_s=0.4)
    fake.inject("hang_after_accept", api="VTTT1002U", hang_s=0.6)  # the client gives up first
    adopted = us.submit(Order("AAPL", Side.BUY, 3, client_order_id="lost-1"))
    assert adopted.broker_order_id == "0000000001" and len(fake.ledger.orders) == 1
    again = us.submit(Order("AAPL", Side.BUY, 3, client_order_id="lost-1"))
    assert again.broker_order_id == "0000000001" and len(fake.ledger.orders) == 1
    fake.expire_tokens()
    fake.inject("rate_limit", 2, api="VTTS3035R")
    assert us.get_order("lost-1").status is OrderStatus.FILLED
    assert fake.token_requests == 2 and fake.rate_limited_count == 2


def test_one_kis_account_routes_krx_codes_home_and_us_symbols_overseas(
    fake: FakeKisOverseas,
) -> None:
    domestic = _client(fake, KisBroker)
    overseas = _client(fake, store=InMemoryOrderIdStore(), token_source=domestic)
    kis = KisAccountBroker(domestic, overseas)  # type: ignore[arg-type]
    assert [b.asset for b in kis.balances()] == ["KRW"]  # no US trading yet: not asked
    kis.submit(Order("005930", Side.BUY, 10, client_order_id="k1"))
    kis.submit(Order("AAPL", Side.BUY, 5, client_order_id="k2"))
    assert kis.get_order("k1").average_price == 70_000 and kis.get_order("k2").symbol == "AAPL"
    assert {b.asset: b.free for b in kis.balances()} == {"KRW": 5_000_000 - 700_000, "USD": 9_500}
    assert sorted((p.symbol, p.quantity) for p in kis.positions()) == [("005930", 10), ("AAPL", 5)]
    assert fake.token_requests == 1  # one token for both sides
    assert {o.symbol for o in domestic._todays_orders()} == {"005930"}
    kis.close()


def test_us_quotes_and_daily_bars(fake: FakeKisOverseas) -> None:
    days = pd.date_range("2024-03-04", periods=5, freq="B", tz="UTC")
    fake.us_bars["AAPL"] = pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": [10.0, 11, 12, 13, 14], "volume": 5.0},
        index=days,
    )
    quotes = KisOverseasQuotations(fake.app_key, fake.app_secret, base_url=fake.base_url,
                                   rate_per_s=500)  # fmt: skip
    assert quotes.last_price("AAPL") == 100.0 and quotes.last_price("AAPL", "NYSE") is None
    since = int(pd.Timestamp("2024-03-05", tz="UTC").value // 1_000_000)
    bars = quotes.fetch("AAPL", "1d", since)
    assert list(bars.index) == list(days[1:]) and list(bars["close"]) == [11, 12, 13, 14]
    with pytest.raises(ValidationError):
        quotes.fetch("AAPL", "1h", since)
    quotes.close()
