"""Metrics against empyrical on the same returns, annualization, drawdown duration by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qts.backtest import BacktestConfig, run_backtest
from qts.backtest.metrics import max_drawdown_duration, periods_per_year
from qts.strategies import create_strategy
from tests.strategies.sample import load_sample

empyrical = pytest.importorskip("empyrical", reason="empyrical-reloaded (dev) is not installed")


@pytest.mark.parametrize(
    ("rel", "ppy"), [("kr_daily/005930.csv", 252.0), ("crypto_1h/BTC_USDT.csv", 365.0 * 24)]
)
def test_figures_match_empyrical(rel: str, ppy: float) -> None:
    bars = load_sample(rel, rows=3000)
    strategy = create_strategy("sma_cross", {"fast": 10, "slow": 30, "allow_short": True})
    result = run_backtest(strategy, bars, BacktestConfig(cash=1e8, commission=0.001, sell_tax=0.0))
    m = result.metrics
    assert m["periods_per_year"] == ppy
    equity = result.equity
    returns = equity / np.r_[1e8, equity.to_numpy()[:-1]] - 1.0
    bench = bars["close"].pct_change().fillna(0.0)
    kw = {"annualization": ppy}
    assert m["total_return"] == pytest.approx(empyrical.cum_returns_final(returns), rel=1e-9)
    assert m["cagr"] == pytest.approx(empyrical.annual_return(returns, **kw), rel=1e-9)
    assert m["volatility"] == pytest.approx(empyrical.annual_volatility(returns, **kw), rel=1e-9)
    assert m["sharpe"] == pytest.approx(empyrical.sharpe_ratio(returns, **kw), rel=1e-9)
    assert m["sortino"] == pytest.approx(empyrical.sortino_ratio(returns, **kw), rel=1e-9)
    assert m["max_drawdown"] == pytest.approx(empyrical.max_drawdown(returns), rel=1e-9)
    assert m["calmar"] == pytest.approx(empyrical.calmar_ratio(returns, **kw), rel=1e-9)
    alpha, beta = empyrical.alpha_beta(returns, bench, **kw)
    assert m["beta"] == pytest.approx(beta, rel=1e-9)
    assert m["alpha"] == pytest.approx(alpha, rel=1e-9)
    assert m["benchmark_return"] == pytest.approx(
        bars["close"].iloc[-1] / bars["close"].iloc[0] - 1, rel=1e-9
    )


def test_trade_statistics_by_hand() -> None:
    bars = load_sample("kr_daily/005930.csv")
    result = run_backtest(
        create_strategy("sma_cross", {"fast": 5, "slow": 20}),
        bars,
        BacktestConfig(cash=1e7, commission=0.002, sell_tax=0.0),
    )
    closed = result.trades[result.trades["status"] == "closed"]
    pnl = closed["pnl"]
    m = result.metrics
    assert m["trades"] == len(closed) > 5
    assert m["win_rate"] == pytest.approx((pnl > 0).mean())
    assert m["profit_factor"] == pytest.approx(pnl[pnl > 0].sum() / -pnl[pnl < 0].sum())
    assert m["expectancy"] == pytest.approx(pnl.mean())
    assert m["best_trade_return"] == pytest.approx(closed["return"].max())
    assert m["exposure"] == pytest.approx((result.positions["ASSET"] != 0).mean())
    # Every closed trade's pnl is its price move times size less its fees.
    move = (closed["exit_price"] - closed["entry_price"]) * closed["size"]
    np.testing.assert_allclose(pnl, move - closed["fees"], rtol=1e-9)
    assert result.fills["fee"].sum() == pytest.approx(m["fees"])


def test_annualization_by_asset_class_and_timeframe() -> None:
    weekdays = pd.bdate_range("2024-01-01", periods=50, tz="UTC")
    every_day = pd.date_range("2024-01-01", periods=50, freq="D", tz="UTC")
    assert periods_per_year(weekdays) == 252
    assert periods_per_year(every_day) == 365
    assert periods_per_year(every_day, "1h") == 365 * 24
    assert periods_per_year(weekdays, "1d", asset_class="crypto") == 365
    # US-style intraday session: 09:30-16:00 in 30-minute bars = 13 bars a session.
    sessions = [
        pd.date_range(f"{d.date()} 14:30", periods=13, freq="30min", tz="UTC")
        for d in weekdays[:10]
    ]
    intraday = sessions[0].append(sessions[1:])
    assert periods_per_year(intraday) == 252 * 13


def test_drawdown_duration_by_hand() -> None:
    index = pd.date_range("2024-01-01", periods=8, freq="D", tz="UTC")
    equity = pd.Series([100, 110, 105, 100, 108, 111, 109, 111.5], index=index)
    # Peak at day 1 (110); underwater days 2, 3, 4; recovered on day 5.
    assert max_drawdown_duration(equity) == (3, 3.0)
