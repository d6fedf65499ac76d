"""Risk limits that state their currency: notionals of symbols in another currency are
converted at the FX rate in force; a missing rate rejects (never passes unchecked)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qts.core.errors import ValidationError
from qts.core.types import Side
from qts.execution.risk import AccountState, RiskLimits, RiskManager


# Currencies -----------------------------------------------------------------------------------
def _fx_state(**kw: object) -> AccountState:
    from qts.execution.currency import FxRates

    base: dict[str, object] = {
        "positions": {"005930": 10.0},
        "prices": {"005930": 70_000.0},
        "currency": "KRW",
        "symbol_currencies": {"005930": "KRW", "AAPL": "USD"},
        "fx": FxRates({"USD/KRW": 1_380.0}),
    }
    return AccountState(**{**base, **kw})  # type: ignore[arg-type]


def test_notionals_in_another_currency_are_converted_into_the_limits_currency() -> None:
    now = datetime(2024, 7, 1, tzinfo=UTC)
    krw = RiskManager(RiskLimits(max_order_notional=1_000_000))  # the account's currency: KRW
    assert not krw.check("AAPL", Side.BUY, 8, 100.0, _fx_state(), now).allowed
    assert krw.check("AAPL", Side.BUY, 7, 100.0, _fx_state(), now).allowed
    # limits stated in USD: a KRX order is converted the other way (1/1380)
    usd = RiskManager(RiskLimits(max_order_notional=700, currency="USD"))
    assert usd.check("005930", Side.BUY, 13, 70_000.0, _fx_state(), now).allowed  # $659
    assert not usd.check("005930", Side.BUY, 14, 70_000.0, _fx_state(), now).allowed  # $710
    # gross exposure adds the KRX position (700,000 KRW) and the US order in KRW
    gross = RiskManager(RiskLimits(max_gross_exposure=1_600_000))
    assert gross.check("AAPL", Side.BUY, 6, 100.0, _fx_state(), now).allowed  # 1,528,000
    decision = gross.check("AAPL", Side.BUY, 7, 100.0, _fx_state(), now)
    assert (decision.rule, decision.message) == (
        "max_gross_exposure", "gross exposure would be 1666000.00 KRW",
    )  # fmt: skip


def test_a_missing_rate_rejects_instead_of_passing_unchecked() -> None:
    from qts.execution.currency import FxRates

    now = datetime(2024, 7, 1, tzinfo=UTC)
    risk = RiskManager(RiskLimits(max_position_notional=5_000_000))
    decision = risk.check("AAPL", Side.BUY, 1, 100.0, _fx_state(fx=FxRates()), now)
    assert not decision.allowed and decision.rule == "fx_rate" and "USD/KRW" in decision.message
    # a sell that reduces the position is never blocked by size rules, rate or not
    held = _fx_state(fx=FxRates(), positions={"AAPL": 5.0})
    assert risk.check("AAPL", Side.SELL, 2, 100.0, held, now).allowed
    # without a known currency on either side nothing is converted (single-currency accounts)
    plain = AccountState(positions={}, prices={})
    assert risk.check("AAPL", Side.BUY, 10, 100.0, plain, now).allowed
    with pytest.raises(ValidationError):
        RiskLimits.from_dict({"max_order_notional": 1, "currency": "won"})


def test_daily_loss_adds_each_symbols_pnl_in_the_limits_currency() -> None:
    from qts.execution.currency import FxRates

    now = datetime(2024, 7, 1, tzinfo=UTC)
    risk = RiskManager(RiskLimits(daily_loss_limit=1_000_000))  # KRW, the account's currency
    # -$500 on AAPL is -690,000 KRW; with -200,000 KRW on 005930: 890,000 lost, under the limit
    pnl = {"AAPL": -500.0, "005930": -200_000.0}
    state = _fx_state(pnl_by_symbol=pnl, realized_pnl_today=-200_500.0)
    assert risk.check("AAPL", Side.BUY, 1, 100.0, state, now).allowed
    # -$600 is -828,000 KRW: 1,028,000 lost, the limit is reached (unconverted it would be 200,600)
    state = _fx_state(pnl_by_symbol={**pnl, "AAPL": -600.0}, realized_pnl_today=-200_600.0)
    decision = risk.check("005930", Side.BUY, 1, 70_000.0, state, now)
    assert (decision.rule, decision.message) == (
        "daily_loss_limit", "today's loss 1028000.00 reached the limit",
    )  # fmt: skip
    # no rate for a currency with P&L today: rejected, never checked unconverted
    decision = risk.check(
        "005930", Side.BUY, 1, 70_000.0, _fx_state(fx=FxRates(), pnl_by_symbol=pnl), now
    )
    assert decision.rule == "fx_rate" and "daily loss" in decision.message
