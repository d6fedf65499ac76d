"""The `ModelAccess` implementations a model strategy is given (`strategy.bind_models`):

* `BacktestModelAccess`: frozen weights; every bar scored point in time from the offline
  store; bars inside the version's training window get no score, and a backtest whose first
  traded bar lies inside it is refused with a message naming the window.
* `WalkForwardModelAccess`: research mode: the version's recipe (features, label, horizon,
  model settings) refitted on expanding windows, each fit scoring the next block of bars.
* `LiveModelAccess`: paper and live: the history's scores point in time as in a backtest (so a
  strategy's state is the backtest's), the newest bar's features computed from a short tail of
  the history and scored in the same step (`qts.ml.inference_step.BarStep`; the vector goes
  to the online store), and each new prediction handed to `on_predictions` (the service layer
  stores and publishes it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.ml.inference import InferenceEngine, LoadedModel, Prediction, clone_untrained
from qts.ml.samples import build_store_samples

Bars = Mapping[str, pd.DataFrame]
RESEARCH_LABEL = (
    "research: walk-forward refit (the recipe refitted on expanding windows, each fit scoring "
    "the next block); not the registered weights"
)


def _first_bar(bars: Bars, trade_start: Any) -> pd.Timestamp | None:
    if trade_start is None:
        return None
    start = pd.Timestamp(trade_start)
    index = next(iter(bars.values())).index
    if start.tzinfo is None and index.tz is not None:
        start = start.tz_localize(index.tz)
    return start


class BacktestModelAccess:
    def __init__(self, engine: InferenceEngine, trade_start: Any = None) -> None:
        self.engine = engine
        self.trade_start = trade_start
        self.used: dict[str, LoadedModel] = {}

    def _loaded(self, model: str) -> LoadedModel:
        if model not in self.used:
            self.used[model] = self.engine.load(model)
        return self.used[model]

    def check_window(self, model: str, bars: Bars) -> LoadedModel:
        """Refuse a first traded bar inside the version's training window."""
        loaded = self._loaded(model)
        start = _first_bar(bars, self.trade_start)
        if start is not None and start <= loaded.window_end:
            r = loaded.recipe
            raise ValidationError(
                f"model {loaded.name} v{loaded.version} was trained on bars from "
                f"{r.train_start[:10]} to {r.train_end[:10]} (its training window); a backtest "
                f"of it must start after {r.train_end[:10]}, not {str(self.trade_start)[:10]}",
                {"train_start": r.train_start, "train_end": r.train_end},
            )
        return loaded

    def scores(self, model: str, data: Bars) -> pd.DataFrame:
        return self.engine.score_history(self.check_window(model, data), data)

    def features(self, model: str, data: Bars) -> dict[str, pd.DataFrame]:
        return self.engine.feature_frames(self._loaded(model), data)

    def identity(self, model: str) -> dict[str, str]:
        return self._loaded(model).identity()

    def describe(self) -> dict[str, Any]:
        return {
            "mode": "frozen: the registered weights score only bars after their training window",
            "models": {ref: loaded.describe() for ref, loaded in self.used.items()},
        }


class WalkForwardModelAccess(BacktestModelAccess):
    """Refits the version's recipe every `refit_every` bars on the samples whose labels end
    before the block, the first block after `min_train` bars; earlier bars get no score."""

    def __init__(
        self, engine: InferenceEngine, refit_every: int = 21, min_train: int = 120
    ) -> None:
        super().__init__(engine)
        self.refit_every = refit_every
        self.min_train = min_train
        self.refits: list[dict[str, Any]] = []

    def scores(self, model: str, data: Bars) -> pd.DataFrame:
        from qts.ml.pipeline import fit_final

        loaded = self._loaded(model)
        recipe = loaded.recipe
        definitions = recipe.definitions(self.engine.features)
        samples, _ = build_store_samples(
            data, recipe.horizon, recipe.lookback, recipe.timeframe, definitions,
            self.engine.source, label=str(recipe.label.get("label", "next_open")),
        )  # fmt: skip
        frames = self.engine.feature_frames(loaded, data)
        times = pd.DatetimeIndex(sorted(set().union(*(f.index for f in frames.values()))))
        out = pd.DataFrame(np.nan, index=times, columns=list(data))
        self.refits = []
        for b0 in range(self.min_train, len(times), self.refit_every):
            start, end = times[b0], times[min(b0 + self.refit_every, len(times)) - 1]
            rows = np.nonzero(samples.label_ends < start)[0]
            if len(rows) < 20:
                continue
            fitted = fit_final(clone_untrained(loaded.model), samples.take(rows))
            block = LoadedModel(
                loaded.name, f"{loaded.version}-wf{len(self.refits)}", fitted, recipe
            )
            for symbol, frame in frames.items():
                scored = self.engine.score_rows(block, frame)
                mask = (scored.index >= start) & (scored.index <= end)
                out.loc[scored.index[mask], symbol] = scored[mask].to_numpy()
            self.refits.append({"train_rows": len(rows), "scores_from": str(start),
                                "scores_to": str(end)})  # fmt: skip
        return out

    def describe(self) -> dict[str, Any]:
        return {"mode": RESEARCH_LABEL, "research": True, "refits": self.refits,
                "models": {ref: loaded.describe() for ref, loaded in self.used.items()}}  # fmt: skip


class LiveModelAccess(BacktestModelAccess):
    """Scores of past bars are kept (point in time: they never change), so each new bar costs
    one tail feature computation and one model call for all symbols; the whole history is
    scored once at start (or restart, or when an alias moves to another version)."""

    def __init__(
        self,
        engine: InferenceEngine,
        on_predictions: Callable[[list[Prediction]], object] | None = None,
    ) -> None:
        super().__init__(engine)
        self.on_predictions = on_predictions
        self._seen: set[tuple[str, str, str, int]] = set()
        self._scores: dict[tuple[str, str], pd.DataFrame] = {}
        self._steps: dict[tuple[str, str], Any] = {}

    def _loaded(self, model: str) -> LoadedModel:
        self.used[model] = self.engine.load(model)  # an alias may have moved
        return self.used[model]

    def scores(self, model: str, data: Bars) -> pd.DataFrame:
        loaded = self._loaded(model)
        key = (loaded.name, loaded.version)
        index = _union_index(data)
        known = self._scores.get(key)
        if (
            known is None
            or list(known.columns) != list(data)
            or not index[:-1].isin(known.index).all()
        ):
            out = self.engine.score_history(loaded, data)
        else:
            out = known.reindex(index)
        newest = self._newest(loaded, data)
        for p in newest:
            out.loc[p.ts, p.symbol] = p.score
        self._scores[key] = out
        fresh = []
        for p in newest:
            seen = (p.model, p.version, p.symbol, int(p.ts.value))
            if seen not in self._seen:
                self._seen.add(seen)
                fresh.append(p)
        if fresh and self.on_predictions is not None:
            self.on_predictions(fresh)
        return out.copy()

    def _newest(self, loaded: LoadedModel, data: Bars) -> list[Prediction]:
        """Each symbol's newest bar: its features from a short tail of the history (the
        version's `BarStep`, kept for the session), scored in the same step."""
        from qts.ml.inference_step import BarStep

        key = (loaded.name, loaded.version)
        if key not in self._steps:
            remote = getattr(self.engine, "bar_step", None)  # a model server's client
            self._steps[key] = remote(loaded) if remote else BarStep(self.engine, loaded)
        return list(self._steps[key].predict(data))


def _union_index(data: Bars) -> pd.DatetimeIndex:
    indexes = [pd.DatetimeIndex(bars.index) for bars in data.values()]
    index = indexes[0]
    for other in indexes[1:]:
        index = index.union(other)
    return index
