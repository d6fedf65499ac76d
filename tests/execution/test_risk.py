from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from qts.core.positions import apply_fill
from qts.core.types import Side
from qts.execution.risk import AccountState, RiskLimits, RiskManager

NOW = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)


def state(positions=None, prices=None, **kw) -> AccountState:  # type: ignore[no-untyped-def]
    return AccountState(positions=positions or {}, prices=prices or {}, **kw)


def test_each_rule_rejects_with_its_name() -> None:
    rm = RiskManager(
        RiskLimits(
            max_position_notional=10_000,
            max_gross_exposure=15_000,
            max_order_notional=5_000,
            daily_loss_limit=1_000,
            allowed_symbols=frozenset({"A", "B"}),
        )
    )
    assert rm.check("C", Side.BUY, 1, 100, state(), NOW).rule == "allowed_symbols"
    assert rm.check("A", Side.BUY, 60, 100, state(), NOW).rule == "max_order_notional"
    assert rm.check("A", Side.BUY, 40, 100, state({"A": 70}, {"A": 100}), NOW).rule == (
        "max_position_notional"
    )
    s = state({"A": 90, "B": 50}, {"A": 100, "B": 100})
    assert rm.check("B", Side.BUY, 20, 100, s, NOW).rule == "max_gross_exposure"
    assert rm.check("A", Side.BUY, 1, 100, state(realized_pnl_today=-1_000), NOW).rule == (
        "daily_loss_limit"
    )
    assert rm.check("A", Side.BUY, 1, 100, state(kill_switch=True), NOW).rule == "kill_switch"
    assert rm.check("A", Side.BUY, 1, 100, state(), NOW).allowed


def test_reducing_orders_pass_size_rules_but_not_the_kill_switch() -> None:
    rm = RiskManager(RiskLimits(max_position_notional=1_000, daily_loss_limit=10))
    over = state({"A": 50}, {"A": 100}, realized_pnl_today=-500)
    assert rm.check("A", Side.SELL, 20, 100, over, NOW).allowed
    assert not rm.check("A", Side.SELL, 20, 100, state({"A": 50}, kill_switch=True), NOW).allowed
    # Selling through zero into a short is not a reduction.
    assert rm.check("A", Side.SELL, 70, 100, over, NOW).rule == "daily_loss_limit"


def test_order_rate_limit_is_a_sliding_minute() -> None:
    rm = RiskManager(RiskLimits(max_orders_per_minute=3))
    for i in range(3):
        assert rm.check("A", Side.BUY, 1, 10, state(), NOW + timedelta(seconds=i)).allowed
    assert rm.check("A", Side.BUY, 1, 10, state(), NOW + timedelta(seconds=5)).rule == (
        "max_orders_per_minute"
    )
    assert rm.check("A", Side.BUY, 1, 10, state(), NOW + timedelta(seconds=61)).allowed


def test_trading_hours_use_the_calendar_answer() -> None:
    rm = RiskManager(
        RiskLimits(enforce_trading_hours=True), is_open=lambda symbol, now: symbol == "BTC/USDT"
    )
    assert rm.check("BTC/USDT", Side.BUY, 1, 10, state(), NOW).allowed
    assert rm.check("005930", Side.BUY, 1, 10, state(), NOW).rule == "trading_hours"


signals = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.floats(min_value=0.01, max_value=500, allow_nan=False),
        st.floats(min_value=1, max_value=300, allow_nan=False),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(signals)
def test_random_signal_streams_never_exceed_a_limit(stream) -> None:  # type: ignore[no-untyped-def]
    limits = RiskLimits(
        max_position_notional=20_000,
        max_gross_exposure=45_000,
        max_order_notional=8_000,
        daily_loss_limit=2_000,
        allowed_symbols=frozenset({"A", "B"}),
    )
    rm = RiskManager(limits)
    positions: dict[str, float] = {}
    avg: dict[str, float] = {}
    prices: dict[str, float] = {}
    realized = 0.0
    for symbol, side, qty, price in stream:
        prices[symbol] = price
        s = state(dict(positions), dict(prices), realized_pnl_today=realized)
        before = dict(positions)
        decision = rm.check(symbol, side, qty, price, s, NOW)
        if not decision.allowed:
            assert decision.rule
            continue
        change = apply_fill(positions.get(symbol, 0.0), avg.get(symbol, 0.0), side, qty, price)
        positions[symbol], avg[symbol] = change.quantity, change.average_price
        realized += change.realized_pnl
        reduced = abs(positions[symbol]) < abs(before.get(symbol, 0.0))
        assert symbol in limits.allowed_symbols  # type: ignore[operator]
        if not reduced:
            assert qty * price <= limits.max_order_notional + 1e-6  # type: ignore[operator]
            assert abs(positions[symbol]) * price <= limits.max_position_notional + 1e-6  # type: ignore[operator]
            gross = sum(abs(q) * prices[s] for s, q in positions.items())
            assert gross <= limits.max_gross_exposure + 1e-6  # type: ignore[operator]
            assert -(s.realized_pnl_today) < limits.daily_loss_limit  # type: ignore[operator]


def test_position_accounting() -> None:
    c = apply_fill(0, 0, Side.BUY, 10, 100)
    assert (c.quantity, c.average_price, c.realized_pnl) == (10, 100, 0)
    c = apply_fill(10, 100, Side.BUY, 10, 110)
    assert (c.quantity, c.average_price) == (20, 105)
    c = apply_fill(20, 105, Side.SELL, 5, 120)
    assert (c.quantity, c.average_price, c.realized_pnl) == (15, 105, 75)
    c = apply_fill(15, 105, Side.SELL, 20, 100)  # flip to short 5 at 100
    assert (c.quantity, c.average_price, c.realized_pnl) == (-5, 100, -75)
    c = apply_fill(-5, 100, Side.BUY, 5, 90)
    assert (c.quantity, c.average_price, c.realized_pnl) == (0, 0, 50)
