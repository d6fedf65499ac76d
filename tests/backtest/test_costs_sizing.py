"""Costs and sizing against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from qts.backtest.config import BacktestConfig
from qts.backtest.costs import CostModel, SlippageModel
from qts.backtest.sizing import Sizer, max_affordable
from qts.core.errors import ValidationError
from qts.core.types import Side


def test_fee_commission_fixed_minimum_and_sell_tax() -> None:
    costs = CostModel(commission=0.001, fixed_fee=2.0, min_fee=5.0, sell_tax=0.0018)
    # 10 x 100 = 1000 notional: 0.001 * 1000 + 2 = 3 -> raised to the 5 minimum.
    assert costs.fee(Side.BUY, 10, 100.0) == pytest.approx(5.0)
    # 100 x 100 = 10000: 10 + 2 = 12 (above the minimum) on a buy ...
    assert costs.fee(Side.BUY, 100, 100.0) == pytest.approx(12.0)
    # ... plus 0.18% tax = 18 on a sell.
    assert costs.fee(Side.SELL, 100, 100.0) == pytest.approx(30.0)
    assert costs.fee(Side.SELL, 0, 100.0) == 0.0
    krx = BacktestConfig(market="krx").resolve(["005930"]).costs
    # A 2024 sell pays the KRX preset's 0.015% commission and that year's 0.18% sell tax.
    assert krx.fee(Side.SELL, 10, 70_000.0, "2024-05-02") == pytest.approx(
        700_000 * (0.00015 + 0.0018)
    )


def test_bad_costs_are_rejected() -> None:
    with pytest.raises(ValidationError):
        CostModel(commission=-0.001)
    with pytest.raises(ValidationError):
        CostModel(commission=0.5)
    with pytest.raises(ValidationError):
        SlippageModel(bps=-1)


def test_slippage_bps_and_volatility() -> None:
    slip = SlippageModel(bps=10)
    assert slip.apply(Side.BUY, 100.0, slip.fraction()) == pytest.approx(100.1)
    assert slip.apply(Side.SELL, 100.0, slip.fraction()) == pytest.approx(99.9)
    vol = SlippageModel(bps=0, vol_mult=0.5, vol_window=3)
    close = np.array([100.0, 101.0, 99.0, 102.0, 102.0])
    fractions = vol.fractions(close)
    returns = close[1:] / close[:-1] - 1
    assert fractions[:3].tolist() == [0.0, 0.0, 0.0]  # window not yet full
    assert fractions[3] == pytest.approx(0.5 * np.std(returns[0:3], ddof=1))
    assert fractions[4] == pytest.approx(0.5 * np.std(returns[1:4], ddof=1))


def test_whole_lots_round_toward_zero() -> None:
    sizer = Sizer(lot_size=10, lot_sizes={"X": 100})
    assert sizer.target_quantity(1.0, 10_000, 33.0) == 300  # 303.03 -> 300
    assert sizer.target_quantity(1.0, 10_000, 33.0, "X") == 300
    assert sizer.target_quantity(0.5, 10_000, 33.0, "X") == 100  # 151.5 -> 100
    assert sizer.target_quantity(-1.0, 10_000, 33.0) == 0  # long-only
    assert Sizer(allow_short=True).target_quantity(-1.0, 10_000, 33.0) == -303


def test_fractional_steps() -> None:
    sizer = Sizer(fractional=True, qty_step=0.001)
    assert sizer.target_quantity(1.0, 1000.0, 60_000.0) == pytest.approx(0.016)  # 0.01666
    assert sizer.unit() == 0.001


def test_affordable_quantity_includes_fees() -> None:
    costs = CostModel(commission=0.01)
    # cash 1000 at 10: 100 units cost 1000 + 10 fee > 1000, so 99 (990 + 9.9 = 999.9).
    assert Sizer().max_buy(10.0, 1000.0, 1000.0, costs) == 99
    # A 50 minimum fee leaves 950 for shares: 95 units.
    assert max_affordable(10.0, 1000.0, 1.0, 0.0, 0.0, 50.0) == 95
    # Two-times leverage allows borrowing another equity's worth.
    assert Sizer(leverage=2.0).max_buy(10.0, 1000.0, 1000.0, CostModel()) == 200
    assert max_affordable(10.0, -5.0, 1.0, 0.0, 0.0, 0.0) == 0
