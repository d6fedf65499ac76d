"""How a strategy reaches models without knowing where they live.

A model strategy holds a `ModelAccess`, injected by whoever runs it: the backtest wiring scores
every bar of the history point in time (offline store) and refuses bars inside the model's
training window; paper and live wiring score the newest bar through the online store and the
inference engine (and record each prediction). The strategy code is the same in all three.
`qts.ml.model_access` holds the implementations; this layer only states the contract, so
strategies never import `ml`, services or the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

from qts.core.errors import ValidationError

Universe = Mapping[str, pd.DataFrame]


class ModelAccess(Protocol):
    def scores(self, model: str, data: Universe) -> pd.DataFrame:
        """The model's score at each bar of `data` (index: the union of bar times, columns:
        symbols), from features known at the bar's close; NaN where the model gives none
        (feature warm-up, bars inside its training window)."""
        ...

    def features(self, model: str, data: Universe) -> dict[str, pd.DataFrame]:
        """The model's input features per symbol (rows: bars), as its recipe defines them."""
        ...

    def identity(self, model: str) -> dict[str, str]:
        """`{"model": name, "model_version": version}` of the version that scores now."""
        ...


def require_access(access: ModelAccess | None, who: str) -> ModelAccess:
    if access is None:
        raise ValidationError(
            f"{who} needs a model access: run it through qts backtest, paper or live, or bind "
            "one with strategy.bind_models(qts.ml.model_access.BacktestModelAccess(...))"
        )
    return access


def latest_scores(
    access: ModelAccess | None, model: str, history: Universe, symbols: Sequence[str]
) -> dict[str, float]:
    """`predict(model, symbols)` of a strategy context: each symbol's score at its newest bar
    (NaN when the model gives none there)."""
    frame = require_access(access, "predict").scores(model, {s: history[s] for s in symbols})
    out: dict[str, float] = {}
    for s in symbols:
        column = frame[s].dropna() if s in frame else pd.Series(dtype=float)
        newest = history[s].index[-1] if len(history[s]) else None
        out[s] = float(column.loc[newest]) if newest in column.index else float("nan")
    return out


def latest_features(
    access: ModelAccess | None, model: str, history: Universe, symbols: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """`features(symbols)` of a strategy context: each symbol's newest feature row."""
    frames = require_access(access, "features").features(model, {s: history[s] for s in symbols})
    return {s: f.iloc[-1].to_dict() for s, f in frames.items() if len(f)}
