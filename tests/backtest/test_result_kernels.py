"""The compiled result pass (curves and figures) equals the pandas definitions it replaced.

`metrics.return_metrics` and `metrics.max_drawdown_duration` stay the reference (tested against
empyrical in test_metrics.py); here a multi-symbol run with calendar gaps and a warm-up start
compares every figure, the benchmark curve and the forward fill with plain pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qts.backtest import BacktestConfig, run_backtest
from qts.backtest.market import ffill_rows
from qts.backtest.metrics import max_drawdown_duration, return_metrics
from qts.strategies import create_strategy
from tests.strategies.sample import load_sample, random_bars


def _run(trade_start: str | None):  # type: ignore[no-untyped-def]
    stock = load_sample("us_daily/AAPL.csv").loc["2023-01-01":"2023-12-31"]
    daily = random_bars(n=365, seed=5, start="2023-01-01", freq="1D", vol=0.03)
    data = {"AAPL": stock, "SEVEN_DAY": daily}
    config = BacktestConfig(market="us", cash=1e6, commission=0.001, sell_tax=0.0)
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 20, "allow_short": True})
    return data, run_backtest(strategy, data, config, trade_start=trade_start)


@pytest.mark.parametrize("trade_start", [None, "2023-03-01"])
def test_figures_equal_the_pandas_reference(trade_start: str | None) -> None:
    data, result = _run(trade_start)
    m = result.metrics
    equity = result.equity
    # Reference benchmark: mean of each symbol's close-to-close return (0 where it has no bar).
    marks = pd.DataFrame({s: b["close"] for s, b in data.items()}).ffill()
    bench_r = marks.pct_change().fillna(0.0).mean(axis=1).loc[equity.index]
    bench_r.iloc[0] = 0.0
    expected_bench = 1e6 * (1.0 + bench_r).cumprod()
    np.testing.assert_allclose(result.benchmark, expected_bench, rtol=1e-12)
    returns = equity / np.r_[1e6, equity.to_numpy()[:-1]] - 1.0
    reference = return_metrics(returns, m["periods_per_year"], bench_r)
    assert len(reference) == 11
    for name, value in reference.items():
        assert m[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    bars, days = max_drawdown_duration(equity)
    assert (m["max_drawdown_duration_bars"], m["max_drawdown_duration_days"]) == (bars, days)
    assert bars > 0
    held = (result.positions != 0).any(axis=1)
    assert m["exposure"] == pytest.approx(held.mean())


def test_forward_fill_matches_pandas() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(200, 3))
    values[rng.random((200, 3)) < 0.4] = np.nan
    values[:5, 1] = np.nan
    expected = pd.DataFrame(values).ffill().to_numpy()
    np.testing.assert_array_equal(ffill_rows(values), expected)


def test_json_leaves_the_per_bar_curve_out_unless_asked() -> None:
    _, result = _run(None)
    summary = result.to_dict(equity_curve=False)
    assert "equity_curve" not in summary and summary["metrics"]["bars"] == len(result.equity)
    full = result.to_dict(max_points=50)
    assert 2 <= len(full["equity_curve"]) <= 51
    assert full["equity_curve"][-1]["equity"] == pytest.approx(result.equity.iloc[-1])
