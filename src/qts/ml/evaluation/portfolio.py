"""A model as a portfolio: its out-of-sample scores traded as a top-k long book, net of costs.

At each rebalance (every `rebalance_every` bars of the out-of-sample span, the label horizon by
default) the k symbols with the highest scores get 1/k of equity each and the rest none; the
targets are held until the next rebalance. The book runs through the backtest engine
(`qts.backtest.run_backtest`) with the caller's `BacktestConfig` (costs, sizing, fill timing:
decided at bar t's close, filled at t+1's open by default), beside an equal-weight buy-and-hold
of the same universe and the same top-k rule on a naive score (the last `horizon`-bar return),
over the same span with the same config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.strategies.base import TargetStrategy

if TYPE_CHECKING:
    from qts.backtest.config import BacktestConfig

REPORTED = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "volatility", "turnover")


class ScoredTargets(TargetStrategy):
    """Targets decided elsewhere (from a model's out-of-sample scores)."""

    name = "ml_topk_oos"

    def __init__(self, targets: pd.DataFrame) -> None:
        super().__init__()
        self._targets = targets

    def target_positions(self, data: Any) -> pd.DataFrame:
        return self._targets


def default_k(n_symbols: int) -> int:
    """The top quintile, at least one symbol."""
    return max(1, round(n_symbols / 5))


def topk_targets(scores: pd.DataFrame, k: int, rebalance_every: int = 1) -> pd.DataFrame:
    """Scores (index: bar times, columns: symbols, NaN: no score) to target fractions: 1/k on
    each of the k best-scored symbols at every `rebalance_every`-th row, held in between."""
    if k < 1:
        raise ValidationError(f"k must be at least 1, got {k}")
    if rebalance_every < 1:
        raise ValidationError(f"rebalance_every must be at least 1, got {rebalance_every}")
    ranks = scores.rank(axis=1, ascending=False, method="first")
    chosen = (ranks <= k).astype(float) / k
    held = chosen.iloc[::rebalance_every]
    return held.reindex(scores.index).ffill().fillna(0.0)


def naive_scores(
    bars_by_symbol: Mapping[str, pd.DataFrame], index: pd.DatetimeIndex, horizon: int
) -> pd.DataFrame:
    """The last `horizon`-bar close-to-close return, known at each bar's close."""
    return pd.DataFrame(
        {s: b["close"].pct_change(horizon).reindex(index) for s, b in bars_by_symbol.items()}
    )


def _run(
    targets: pd.DataFrame,
    bars_by_symbol: Mapping[str, pd.DataFrame],
    config: BacktestConfig,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> dict[str, float]:
    from qts.backtest.engine import run_backtest

    symbols = list(targets.columns)
    data = {s: bars_by_symbol[s].loc[lambda f: f.index <= end] for s in symbols}
    index = pd.DatetimeIndex(sorted(set().union(*(d.index for d in data.values()))))
    frame = targets.reindex(index).ffill().fillna(0.0)
    frame[index < start] = 0.0
    result = run_backtest(ScoredTargets(frame), data, config, trade_start=start)
    out = {k: float(result.metrics[k]) for k in REPORTED if k in result.metrics}
    out["fees"] = float(result.metrics.get("fees", 0.0))
    out["bars"] = float(len(result.equity))
    return out


def topk_portfolio(
    scores: pd.DataFrame,
    bars_by_symbol: Mapping[str, pd.DataFrame],
    config: BacktestConfig,
    k: int | None = None,
    horizon: int = 1,
    rebalance_every: int | None = None,
    end: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """The model's top-k book, equal-weight buy-and-hold and naive top-k over the scores' span.

    `scores`: out-of-sample scores (`scores_frame`), index bar times, columns symbols. `end`:
    the last bar traded (default the last scored bar; pass the last label end so the final
    decision's holding is realised).
    """
    if scores.empty or scores.shape[1] == 0:
        raise ValidationError("no out-of-sample scores to trade")
    missing = [s for s in scores.columns if s not in bars_by_symbol]
    if missing:
        raise ValidationError(f"no bars for scored symbols {missing}")
    scores = scores.sort_index()
    symbols = list(scores.columns)
    k = default_k(len(symbols)) if k is None else int(k)
    if k > len(symbols):
        raise ValidationError(f"k={k} exceeds the {len(symbols)} scored symbols")
    every = horizon if rebalance_every is None else int(rebalance_every)
    start = pd.Timestamp(scores.index[0])
    end = pd.Timestamp(scores.index[-1] if end is None else end)
    bars = {s: bars_by_symbol[s] for s in symbols}
    hold = pd.DataFrame(1.0 / len(symbols), index=scores.index, columns=symbols)
    naive = naive_scores(bars, pd.DatetimeIndex(scores.index), horizon)
    naive = naive.where(np.isfinite(naive))
    return {
        "k": k, "rebalance_every": every, "start": str(start), "end": str(end),
        "symbols": len(symbols),
        "model": _run(topk_targets(scores, k, every), bars, config, start, end),
        "buy_and_hold": _run(hold, bars, config, start, end),
        "naive": _run(topk_targets(naive, k, every), bars, config, start, end),
    }  # fmt: skip
