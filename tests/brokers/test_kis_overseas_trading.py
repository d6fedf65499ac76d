"""The issue's done-when for US stocks through KIS: a US order through the fake KIS overseas
endpoints, placed by the order service as a live session places it, fills, reconciles and shows
in positions (in USD) with the account's USD cash beside KRW; a KRW risk limit applies to it
through the USD/KRW rate in force, and a missing rate refuses it. US trading hours come from the
XNYS calendar (daylight saving included) for an order sent on a Korean evening."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from qts.config import Settings
from qts.core.types import OrderTicket, OrderType, Side
from qts.execution.live import LiveExecutor, live_equity
from qts.services.context import AppContext
from qts.services.trading import accounts
from qts.services.trading.currencies import base_converter
from qts.services.trading.live import follow_up, make_broker
from qts.services.trading.orders import list_positions
from qts.services.trading.reconcile import reconcile
from qts.services.trading.sessions import TradingService
from tests.brokers.fakes.kis_overseas import FakeKisOverseas
from tests.execution.fx_bars import store_fx

KRW_LIMITS = {"max_order_notional": 1_000_000, "currency": "KRW"}


@pytest.fixture
def fake() -> Iterator[FakeKisOverseas]:
    with FakeKisOverseas(cash=2_000_000, usd_cash=5_000.0, usd_krw=1_380.0) as server:
        yield server  # type: ignore[misc]


def _trading(
    tmp_path: Path, fake: FakeKisOverseas, monkeypatch: pytest.MonkeyPatch, **extra: Any
) -> tuple[AppContext, TradingService, LiveExecutor]:
    from qts.db.migrate import upgrade

    monkeypatch.setenv("QTS_KIS_APP_KEY", fake.app_key)
    monkeypatch.setenv("QTS_KIS_APP_SECRET", fake.app_secret)
    monkeypatch.setenv("QTS_KIS_ACCOUNT_NO", "50012345-01")
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}",
        live_trading_enabled=True, live_broker="kis", broker_base_url=fake.base_url, **extra,
    )  # fmt: skip
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    broker = make_broker(ctx.settings, "kis")
    broker.domestic.bucket.rate = 500.0  # type: ignore[attr-defined]  # the fake has no limit
    executor = LiveExecutor(broker, "live:kis")
    trading = TradingService(ctx)
    trading.orders.executors[executor.account] = executor
    return ctx, trading, executor


def _buy(quantity: int, cid: str, price: float = 100.0) -> OrderTicket:
    return OrderTicket(
        "AAPL", Side.BUY, quantity, OrderType.LIMIT, limit_price=price, account="live:kis",
        client_order_id=cid,
    )  # fmt: skip


def test_us_order_fills_reconciles_and_shows_usd_cash_under_a_krw_limit(
    tmp_path: Path, fake: FakeKisOverseas, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, trading, executor = _trading(tmp_path, fake, monkeypatch, risk_limits=KRW_LIMITS)
    store_fx(ctx.db, "USD/KRW", 1_380.0)
    # $800 = 1,104,000 KRW: over the 1,000,000 KRW limit, never sent
    refused = trading.orders.place(_buy(8, "us-800"))
    assert (refused["status"], refused["reject_rule"]) == ("rejected", "max_order_notional")
    assert "1104000.00 KRW" in refused["reject_reason"] and fake.ledger.orders == {}
    # $700 = 966,000 KRW: allowed, sent to NASDAQ, filled there at once
    placed = trading.orders.place(_buy(7, "us-700"))
    assert placed["status"] == "submitted" and len(fake.ledger.orders) == 1
    follow_up(trading.orders, executor)
    order = trading.orders.find("us-700")
    assert order is not None and (order["status"], order["average_fill_price"]) == ("filled", 100)
    report = reconcile(trading.orders, executor, "test")
    assert report.positions_repaired == [] and report.unknown_at_qts == []
    assert report.cash == {"KRW": 2_000_000, "USD": 5_000 - 700}
    [position] = list_positions(ctx.db, "live:kis", include_flat=False)
    assert (position.symbol, position.quantity, position.currency) == ("AAPL", 7, "USD")
    assert position.average_price == 100.0 and fake.ledger.holding("AAPL") == 7
    [live] = [a for a in accounts.list_accounts(ctx) if a.account == "live:kis"]
    now = live.now
    assert now.currency == "KRW" and now.cash_by_currency == {"KRW": 2_000_000, "USD": 4_300}
    assert now.fx_rates == {"USD/KRW": 1_380.0} and now.missing_fx == []
    assert now.cash == pytest.approx(2_000_000 + 4_300 * 1_380)
    assert now.positions_value == pytest.approx(700 * 1_380)
    assert now.equity == pytest.approx(2_000_000 + 5_000 * 1_380)
    # a live strategy sizes from the same equity: USD cash and positions counted in KRW
    to_krw = base_converter(ctx.db, "KRW")
    equity = live_equity(executor, {"AAPL": 7.0}, {"AAPL": 101.0}, to_krw)
    assert equity == pytest.approx(2_000_000 + (4_300 + 7 * 101) * 1_380)
    executor.broker.close()
    ctx.close()


def test_a_missing_fx_rate_refuses_the_order_and_names_the_pair(
    tmp_path: Path, fake: FakeKisOverseas, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no currency stated: the limits are in the account's base currency (KIS: KRW)
    ctx, trading, executor = _trading(
        tmp_path, fake, monkeypatch, risk_limits={"max_order_notional": 1_000_000}
    )
    refused = trading.orders.place(_buy(1, "us-nofx"))
    assert (refused["status"], refused["reject_rule"]) == ("rejected", "fx_rate")
    assert "USD/KRW" in refused["reject_reason"] and fake.ledger.orders == {}
    # a rate from the future (its bar closes after now) is not in force either
    store_fx(ctx.db, "USD/KRW", 1_380.0, day=datetime.now(UTC).strftime("%Y-%m-%d"))
    assert trading.orders.place(_buy(1, "us-today"))["reject_rule"] == "fx_rate"
    # the inverse pair serves as well: 1 KRW = 1/1380 USD
    store_fx(ctx.db, "KRW/USD", 1 / 1_380.0)
    assert trading.orders.place(_buy(8, "us-inverse"))["reject_rule"] == "max_order_notional"
    assert trading.orders.place(_buy(7, "us-inv-ok"))["status"] == "submitted"
    executor.broker.close()
    ctx.close()


@pytest.mark.parametrize(
    ("kst", "allowed"),
    [
        ("2024-07-01 22:45", True),  # summer (EDT): NYSE opens 22:30 KST
        ("2024-07-01 22:15", False),
        ("2024-01-16 23:15", False),  # winter (EST): opens 23:30 KST
        ("2024-01-16 23:45", True),
        ("2024-07-04 23:00", False),  # Independence Day
    ],
)
def test_us_orders_follow_new_york_hours_on_a_korean_evening(
    tmp_path: Path,
    fake: FakeKisOverseas,
    monkeypatch: pytest.MonkeyPatch,
    kst: str,
    allowed: bool,
) -> None:
    import pandas as pd

    limits = {"enforce_trading_hours": True}
    ctx, trading, executor = _trading(tmp_path, fake, monkeypatch, risk_limits=limits)
    at = pd.Timestamp(kst, tz="Asia/Seoul").to_pydatetime()
    trading.orders.clock = lambda: at
    out = trading.orders.place(_buy(1, "hours-us"))
    assert (out["status"] == "submitted") is allowed, out
    if not allowed:
        assert out["reject_rule"] == "trading_hours"
    executor.broker.close()
    ctx.close()
