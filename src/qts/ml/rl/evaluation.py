"""Out-of-sample evaluation of policies, net of costs, through the backtest engine: each test
block's decided targets run through `run_backtest` (the env's own accounting is tested equal to
it), beside buy-and-hold, a random policy (uniform actions through the same env) and the best
built-in rule strategy (chosen by Sharpe on the fold's training bars, then run on the block).

Blocks are chained: each fold's returns from its first to its last bar, the account restarted
flat at each block (as the policy's own was). Sharpe t-stat = mean / sd x sqrt(bars).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.metrics import periods_per_year, return_metrics
from qts.core.errors import QtsError
from qts.ml.evaluation.backtest import _FixedTargets

RULES = ("sma_cross", "ts_momentum", "rsi_reversion", "bollinger_zscore")
WHO = ("policy", "buy_and_hold", "random", "best_rule")
KEYS = ("sharpe", "sharpe_t", "total_return", "max_drawdown", "turnover", "fees")


@dataclass
class BlockRun:
    returns: pd.Series  # equity returns of the block's bars after its first
    turnover: float  # traded notional / starting cash
    fees: float  # fees / starting cash


def block_run(
    strategy: Any, bars: Mapping[str, pd.DataFrame], spec: BacktestConfig,
    lo: pd.Timestamp, hi: pd.Timestamp,
) -> BlockRun:  # fmt: skip
    """`strategy` traded from bar `lo` to `hi` (inclusive), bars before `lo` for warm-up."""
    from qts.backtest.engine import run_backtest

    data = {s: b.loc[b.index <= hi] for s, b in bars.items()}
    result = run_backtest(strategy, data, spec, trade_start=lo)
    fills = result.fills
    cash = result.config.initial_cash
    notional = float((fills["quantity"].abs() * fills["price"]).sum()) if len(fills) else 0.0
    fees = float(fills["fee"].sum()) if len(fills) else 0.0
    return BlockRun(result.equity.pct_change().iloc[1:], notional / cash, fees / cash)


def targets_run(
    targets: pd.DataFrame, bars: Mapping[str, pd.DataFrame], spec: BacktestConfig,
    lo: pd.Timestamp, hi: pd.Timestamp,
) -> BlockRun:  # fmt: skip
    """Decided targets (one column per symbol, NaN = flat) run through the engine."""
    return block_run(_FixedTargets(targets.fillna(0.0)), bars, spec, lo, hi)


def buy_and_hold(bars: Mapping[str, pd.DataFrame], index: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame(1.0 / len(bars), index=index, columns=list(bars))


def best_rule(
    bars: Mapping[str, pd.DataFrame], spec: BacktestConfig,
    train_lo: pd.Timestamp, lo: pd.Timestamp, hi: pd.Timestamp, timeframe: str,
) -> tuple[str, BlockRun]:  # fmt: skip
    """The built-in rule strategy with the best Sharpe on the training bars (default
    parameters), run on the test block."""
    from qts.strategies.registry import create_strategy

    ppy = _ppy(bars, timeframe)
    scored = []
    train_hi = max(b.index[b.index < lo][-1] for b in bars.values())
    for name in RULES:
        try:
            run = block_run(create_strategy(name, {}), bars, spec, train_lo, train_hi)
        except QtsError:
            continue
        sharpe = return_metrics(run.returns, ppy)["sharpe"]
        scored.append((sharpe if math.isfinite(sharpe) else -math.inf, name))
    name = max(scored)[1] if scored else RULES[0]
    return name, block_run(create_strategy(name, {}), bars, spec, lo, hi)


def _ppy(bars: Mapping[str, pd.DataFrame], timeframe: str) -> float:
    return periods_per_year(pd.DatetimeIndex(next(iter(bars.values())).index), timeframe)


def chain(
    runs: list[BlockRun], bars: Mapping[str, pd.DataFrame], timeframe: str
) -> dict[str, float]:
    """Metrics of the chained blocks: Sharpe (annualised), its t-stat, total return, max
    drawdown, turnover and fees per starting cash (summed over blocks)."""
    returns = pd.concat([r.returns for r in runs])
    r = returns.to_numpy(np.float64)
    m = return_metrics(returns, _ppy(bars, timeframe))
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    t = float(np.mean(r) / sd * math.sqrt(len(r))) if sd > 0 else 0.0
    sharpe = m["sharpe"] if math.isfinite(m["sharpe"]) else 0.0  # never invested: 0
    return {
        "sharpe": sharpe, "sharpe_t": t, "total_return": m["total_return"],
        "max_drawdown": m["max_drawdown"], "turnover": sum(x.turnover for x in runs),
        "fees": sum(x.fees for x in runs), "bars": float(len(r)),
    }  # fmt: skip


def mean_sd(values: list[dict[str, float]]) -> dict[str, Any]:
    """Mean and sd over seeds of each figure."""
    out: dict[str, Any] = {}
    for key in values[0]:
        xs = np.array([v[key] for v in values], dtype=np.float64)
        out[key] = float(xs.mean())
        out[f"{key}_sd"] = float(xs.std(ddof=1)) if len(xs) > 1 else 0.0
    return out


def policy_gate(table: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Promotion gate of a policy (it has no IC): its out-of-sample net Sharpe, averaged over
    seeds, above buy-and-hold's, and its max drawdown no deeper than buy-and-hold's."""
    policy, bh = table["policy"], table["buy_and_hold"]
    checks = {
        "sharpe_above_buy_and_hold": policy["sharpe"] > bh["sharpe"],
        "drawdown_within_buy_and_hold": policy["max_drawdown"] >= bh["max_drawdown"],
    }
    return {"passed": all(checks.values()), **checks,
            "policy_sharpe": policy["sharpe"], "buy_and_hold_sharpe": bh["sharpe"],
            "policy_max_drawdown": policy["max_drawdown"],
            "buy_and_hold_max_drawdown": bh["max_drawdown"]}  # fmt: skip
