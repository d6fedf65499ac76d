"""qts trade list == backtesting.py's on a real daily series, same strategy and costs.

Sizing convention: backtesting.py's `buy()` with no size spends
int(equity * (1 - eps) // (price + commission * price)) units; qts' target 1.0 gives
min(floor(equity / price), floor(cash / (price * (1 + commission)))): the same number when
flat with no slippage (with slippage, backtesting.py charges commission on the unslipped price
while qts charges it on the slipped fill price, so sizes can differ by a unit).
"""

from __future__ import annotations

import contextlib
import io
import warnings

import pytest
import talib

from qts.backtest import BacktestConfig, run_backtest
from qts.strategies import create_strategy
from tests.strategies.sample import load_sample

# backtesting.py is a dev dependency: the agreement test runs in CI rather than skipping.


def _backtesting_trades(bars, fast: int, slow: int, cash: float, fee: float):  # type: ignore[no-untyped-def]
    from backtesting import Backtest, Strategy

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(talib.SMA, self.data.Close, fast)
            self.slow = self.I(talib.SMA, self.data.Close, slow)

        def next(self) -> None:
            f, s = self.fast, self.slow
            if f[-1] > s[-1] and f[-2] <= s[-2]:
                if not self.position:
                    self.buy()
            elif s[-1] > f[-1] and s[-2] <= f[-2]:
                self.position.close()

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        stats = Backtest(
            bars.rename(columns=str.capitalize),
            SmaCross,
            cash=cash,
            commission=fee,
            finalize_trades=False,
        ).run()
    return stats._trades


@pytest.mark.parametrize(
    ("rel", "cash"), [("kr_daily/035420.csv", 10_000_000.0), ("us_index_daily/GSPC.csv", 100_000.0)]
)
def test_trade_list_matches_backtesting_py(rel: str, cash: float) -> None:
    bars = load_sample(rel)
    fee = 0.002
    theirs = _backtesting_trades(bars, 10, 20, cash, fee)
    ours = run_backtest(
        create_strategy("sma_cross", {"fast": 10, "slow": 20}),
        bars,
        BacktestConfig(cash=cash, commission=fee, sell_tax=0.0),
    ).trades
    ours = ours[ours["status"] == "closed"]
    assert len(theirs) >= 5
    assert ours["entry_time"].tolist() == theirs["EntryTime"].tolist()
    assert ours["exit_time"].tolist() == theirs["ExitTime"].tolist()
    assert ours["size"].tolist() == theirs["Size"].astype(float).tolist()
    assert ours["entry_price"].tolist() == pytest.approx(theirs["EntryPrice"].tolist())
    assert ours["exit_price"].tolist() == pytest.approx(theirs["ExitPrice"].tolist())
    # backtesting.py's PnL is net of both commissions, like ours.
    assert ours["pnl"].tolist() == pytest.approx(theirs["PnL"].tolist(), rel=1e-9)
