"""Per-bar inference in a running session: the newest bar's features computed from a short
tail of the history instead of all of it, then scored in the same step.

    step = BarStep(engine, loaded)
    predictions = step.predict(bars)   # each symbol's newest bar, before the strategy decides

A feature's value at the newest bar depends on a bounded stretch of the bars before it (a
rolling window; an exponential average to within rounding). The tail length of each feature
definition and symbol is found once, on the first history seen: the shortest of 64, 128, 256 …
bars whose last rows (the model's `lookback`, and at least 3) equal those of the whole history
(relative tolerance 1e-9, NaN equal to NaN). A definition that matches at no tail length is
computed on the whole history, as before. Each new vector also goes to the online store (a
replayed older bar never replaces a newer vector: the store refuses it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qts.ml.feature_path import _fill_missing
from qts.ml.feature_store import to_epoch_ms
from qts.ml.features.definition import FeatureDefinition
from qts.ml.inference import InferenceEngine, LoadedModel, Prediction, _utc, to_signals
from qts.ml.recipe import FeatureUse

FIRST_TAIL = 64
RTOL = 1e-9


@dataclass
class BarStep:
    """The incremental scorer of one loaded version for one session."""

    engine: InferenceEngine
    loaded: LoadedModel
    tails: dict[tuple[str, str], int | None] = field(default_factory=dict)

    @property
    def definitions(self) -> list[FeatureDefinition]:
        return list(self.loaded.definitions(self.engine.features))

    def predict(self, bars: Mapping[str, pd.DataFrame]) -> list[Prediction]:
        """Each symbol's newest bar scored (none inside the training window, while the features
        warm up, or with fewer bars than the lookback)."""
        started = time.perf_counter()
        X, symbols, times = self.rows(bars)
        scores = self.engine._score(self.loaded, X) if len(X) else np.empty(0)
        return self.predictions(symbols, times, scores, started)

    def rows(
        self, bars: Mapping[str, pd.DataFrame]
    ) -> tuple[np.ndarray, list[str], list[pd.Timestamp]]:
        """The model inputs of each scorable symbol's newest bar, its symbol and bar time."""
        lookback = max(self.loaded.recipe.lookback, 1)
        rows, symbols, times = [], [], []
        for symbol, frame in bars.items():
            if len(frame) < lookback or _utc(frame.index[-1]) <= self.loaded.window_end:
                continue
            window = self.window(symbol, frame)
            if window is None:
                continue
            rows.append(window if lookback > 1 else window[-1])
            symbols.append(symbol)
            times.append(pd.Timestamp(frame.index[-1]))
        return np.asarray(rows), symbols, times

    def predictions(
        self, symbols: list[str], times: list[pd.Timestamp], scores: np.ndarray, started: float
    ) -> list[Prediction]:
        latency = (time.perf_counter() - started) * 1000.0
        signals = to_signals(scores, self.loaded.model.is_classifier)
        name, version, horizon = self.loaded.name, self.loaded.version, self.loaded.recipe.horizon
        return [
            Prediction(name, version, s, t, float(v), horizon, latency, sig)
            for s, t, v, sig in zip(symbols, times, scores, signals, strict=True)
        ]

    def window(self, symbol: str, bars: pd.DataFrame) -> np.ndarray | None:
        """The newest `lookback` feature rows of the symbol (finite), the newest written to
        the online store; None while the features warm up."""
        recipe = self.loaded.recipe
        lookback = max(recipe.lookback, 1)
        parts = []
        for d, use in zip(self.definitions, recipe.features, strict=True):
            frame = self._tail_frame(d, use, symbol, bars)
            parts.append(frame[list(use.columns)].iloc[-lookback:])
        joined = _fill_missing(pd.concat(parts, axis=1), recipe.features)
        values = joined.to_numpy(np.float64)
        ts = int(to_epoch_ms(pd.DatetimeIndex(bars.index[-1:]))[0])
        for use, part in zip(recipe.features, parts, strict=True):
            newest = part.to_numpy(np.float64)[-1]
            self.engine.source.online.put_many(use.key, recipe.timeframe, [(symbol, ts, newest)])
        if len(values) != lookback or not np.isfinite(values).all():
            return None
        return values

    def _tail_frame(
        self, d: FeatureDefinition, use: FeatureUse, symbol: str, bars: pd.DataFrame
    ) -> pd.DataFrame:
        key = (use.name, symbol)
        if key not in self.tails:
            self.tails[key] = self._calibrate(d, symbol, bars)
        tail = self.tails[key]
        return self._compute(d, symbol, bars if tail is None else bars.iloc[-tail:])

    def _compute(self, d: FeatureDefinition, symbol: str, bars: pd.DataFrame) -> pd.DataFrame:
        ctx = self.engine.source.context(symbol, self.loaded.recipe.timeframe, d.inputs)
        frame = d.compute(bars, ctx).astype(np.float64)
        return frame.replace([np.inf, -np.inf], np.nan)

    def _calibrate(self, d: FeatureDefinition, symbol: str, bars: pd.DataFrame) -> int | None:
        """The shortest tail giving the whole history's last rows; None: use it all."""
        check = max(self.loaded.recipe.lookback, 3)
        full = self._compute(d, symbol, bars).to_numpy(np.float64)[-check:]
        tail = FIRST_TAIL
        while tail + check <= len(bars) // 2:
            part = self._compute(d, symbol, bars.iloc[-tail:]).to_numpy(np.float64)[-check:]
            if part.shape == full.shape and np.allclose(part, full, rtol=RTOL, atol=1e-12,
                                                        equal_nan=True):  # fmt: skip
                return tail
            tail *= 2
        return None
