"""Backtesting: honest fills, costs and sizing; a vectorized and an event-driven engine.

Entry point: `run_backtest(strategy, data, BacktestConfig(...)) -> BacktestResult`.

Components, each reusable by paper trading (issue 5):
* `fills.FillModel` / `fills.OrderBook`: per-bar matching of pending orders against the next bar
  (market at the open or close, limit/stop on the bar's range, gaps at the open, SL/TP as OCO).
* `costs.CostModel` (commission, fixed/min fee, sell tax), `costs.SlippageModel` (bps or
  volatility-proportional), `sizing.Sizer` (lots or fractional steps, long-only by default,
  cash never negative unless `leverage` > 1), `portfolio.Portfolio` (cash and positions).
* `kernel`: the compiled array version of the market/target rules (the vectorized fast path).
* `metrics`, `result.BacktestResult.to_dict()`, `report.write_html_report`, `optimize`
  (grid / Optuna search and walk-forward out-of-sample evaluation).

Modules import numba/optuna lazily or only when a backtest runs, keeping `qts --help` fast.
"""

from qts.backtest.config import BacktestConfig
from qts.backtest.costs import CostModel, SlippageModel
from qts.backtest.sizing import Sizer

__all__ = ["BacktestConfig", "CostModel", "Sizer", "SlippageModel", "run_backtest"]


def run_backtest(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See `qts.backtest.engine.run_backtest` (imported lazily: it compiles kernels)."""
    from qts.backtest.engine import run_backtest as _run

    return _run(*args, **kwargs)
