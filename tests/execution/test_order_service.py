from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from qts.backtest.fills import FillModel
from qts.core.errors import ValidationError
from qts.core.types import Bar, OrderTicket, OrderType, Side
from qts.execution.paper import PaperExecutor
from qts.execution.risk import RiskLimits, RiskManager
from qts.services.trading.order_service import OrderService

T0 = datetime(2025, 1, 6, tzinfo=UTC)


def bar(close: float, open_: float | None = None, symbol: str = "AAA") -> Bar:
    o = open_ if open_ is not None else close
    return Bar(symbol, "1d", T0, o, max(o, close) * 1.01, min(o, close) * 0.99, close, 1000)


def make(db, bus, limits: RiskLimits | None = None, notes: list | None = None):  # type: ignore[no-untyped-def]
    executor = PaperExecutor(FillModel(), cash=100_000)
    sink = notes if notes is not None else []
    service = OrderService(
        db,
        bus,
        {"paper": executor},
        RiskManager(limits or RiskLimits()),
        notify=lambda kind, data: sink.append((kind, data)),
        clock=lambda: T0,
    )
    return service, executor


def fill_next_bar(service, executor, b: Bar) -> None:  # type: ignore[no-untyped-def]
    for report in executor.on_bar({b.symbol: b}):
        service.apply_report(report)


def test_place_fill_and_position_accounting(db, bus) -> None:  # type: ignore[no-untyped-def]
    service, executor = make(db, bus)
    out = service.place(OrderTicket("AAA", Side.BUY, 10, reference_price=100), actor="alice")
    assert out["status"] == "submitted" and out["client_order_id"].startswith("qts-")
    fill_next_bar(service, executor, bar(101, open_=100))
    sell = service.place(OrderTicket("AAA", Side.SELL, 4, reference_price=101))
    fill_next_bar(service, executor, bar(111, open_=110))
    state = service.account_state("paper")
    assert state.positions == {"AAA": 6}
    assert state.realized_pnl_today == pytest.approx(4 * (110 - 100))
    final = service.find(sell["client_order_id"])
    assert final["status"] == "filled" and final["average_fill_price"] == 110
    from qts.services.trading.orders import get_order

    detail = get_order(db, final["id"])
    assert [e.to_status for e in detail.events] == ["new", "submitting", "submitted", "filled"]
    assert len(detail.fills) == 1 and detail.fills[0].price == 110


def test_retried_submit_with_the_same_client_id_creates_one_order(db, bus) -> None:  # type: ignore[no-untyped-def]
    service, executor = make(db, bus)
    t = OrderTicket("AAA", Side.BUY, 5, reference_price=100, client_order_id="retry-1")
    first = service.place(t)
    second = service.place(
        OrderTicket("AAA", Side.BUY, 5, reference_price=100, client_order_id="retry-1")
    )
    assert first["id"] == second["id"]
    assert len(executor.book.orders) == 1
    fill_next_bar(service, executor, bar(100))
    # Re-applying the same execution report applies no fill twice.
    from qts.core.types import Fill

    f = Fill("retry-1", "AAA", Side.BUY, 5, 100.0, 0.0, T0, fill_id="retry-1-0")
    assert service.apply_fill(f) is False
    assert service.account_state("paper").positions == {"AAA": 5}


def test_risk_rejection_records_the_rule_and_notifies(db, bus) -> None:  # type: ignore[no-untyped-def]
    notes: list = []
    service, executor = make(db, bus, RiskLimits(max_order_notional=1_000), notes)
    out = service.place(OrderTicket("AAA", Side.BUY, 50, reference_price=100))
    assert out["status"] == "rejected" and out["reject_rule"] == "max_order_notional"
    assert executor.book.orders == []
    assert notes[-1][0] == "order_rejected"
    from qts.services.trading.orders import get_order

    assert get_order(db, out["id"]).events[-1].details["rule"] == "max_order_notional"


def test_invalid_orders_are_refused_before_anything_is_stored(db, bus) -> None:  # type: ignore[no-untyped-def]
    service, _ = make(db, bus)
    for bad in (
        OrderTicket("AAA", Side.BUY, 0),
        OrderTicket("AAA", Side.BUY, float("nan")),
        OrderTicket("AAA", Side.BUY, 1, type=OrderType.LIMIT),
        OrderTicket("", Side.BUY, 1),
    ):
        with pytest.raises(ValidationError):
            service.place(bad)
    with pytest.raises(ValidationError):
        service.place(OrderTicket("AAA", Side.BUY, 1, account="live-nowhere"))
    from qts.db.repositories.orders import OrderFilter
    from qts.services.trading.orders import list_orders

    assert list_orders(db, OrderFilter(), 10, 0).total == 0


def test_kill_switch_cancels_open_orders_and_blocks_new_ones(db, bus) -> None:  # type: ignore[no-untyped-def]
    notes: list = []
    service, executor = make(db, bus, notes=notes)
    open_order = service.place(
        OrderTicket("AAA", Side.BUY, 1, type=OrderType.LIMIT, limit_price=50)
    )
    event = service.set_kill_switch(True, "ops")
    assert event["cancelled_orders"] == 1
    assert service.find(open_order["client_order_id"])["status"] == "cancelled"
    assert executor.book.orders == []
    blocked = service.place(OrderTicket("AAA", Side.BUY, 1, reference_price=100))
    assert blocked["status"] == "rejected" and blocked["reject_rule"] == "kill_switch"
    assert "kill_switch" in [k for k, _ in notes]
    service.set_kill_switch(False, "ops")
    assert (
        service.place(OrderTicket("AAA", Side.BUY, 1, reference_price=100))["status"] == "submitted"
    )


def test_changes_are_published_on_the_bus(sqlite_db, bus) -> None:  # type: ignore[no-untyped-def]
    async def run() -> list[tuple[str, str]]:
        sub = await bus.subscribe(["orders", "positions"])
        service, executor = make(sqlite_db, bus)
        service.place(OrderTicket("AAA", Side.BUY, 2, reference_price=100))
        fill_next_bar(service, executor, bar(100))
        got = []
        while True:
            try:
                ev = await sub.get(0.5)
            except TimeoutError:
                return got
            got.append((ev.topic, ev.data.get("status", "position")))

    events = asyncio.run(run())
    assert events == [
        ("orders", "new"),
        ("orders", "submitting"),
        ("orders", "submitted"),
        ("orders", "filled"),
        ("positions", "position"),
    ]
