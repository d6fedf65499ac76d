"""The inference engine: registered versions loaded by reference, features made by each
version's recipe through the one feature path, scores, and signals.

    engine = InferenceEngine(ModelRegistry(data_dir="var"))
    engine.score_history("qts-lightgbm-1d-h1-krx5-3fa2c1@production", bars)  # point in time
    engine.score_latest("NAME/3", bars)  # the newest bar of each symbol, online store

A reference is `NAME@alias`, `NAME/version` or `NAME` (= `NAME@production`). Loaded versions
are cached; an alias is looked up again on every use (one registry call, or once per
`alias_ttl_s` seconds), so moving `production` swaps the model at the next bar. Both paths
share the scoring (`_score`): the history path reads the offline store point in time, the
latest path the online store (computing a missing vector on demand); a score is never given
for a bar inside the version's training window unless asked (`after_window=False`).
Usable from a notebook: no database or services here, the feature stores are injected.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.ml.feature_path import FeatureSource, ensure_offline, inference_rows, training_frames
from qts.ml.features.registry import FeatureRegistry
from qts.ml.models.base import BaseModel
from qts.ml.recipe import ModelRecipe
from qts.strategies.signal_maps import hysteresis

Bars = Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class ModelRef:
    name: str
    alias: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str | ModelRef) -> ModelRef:
        if isinstance(text, ModelRef):
            return text
        text = str(text).strip()
        if "@" in text:
            name, _, alias = text.partition("@")
            ref = cls(name.strip(), alias=alias.strip())
        elif "/" in text:
            name, _, version = text.rpartition("/")
            if not version.strip().isdigit():
                raise ValidationError(f"model reference {text!r}: the version must be a number")
            ref = cls(name.strip(), version=version.strip())
        else:
            ref = cls(text, alias="production")
        if not ref.name or (ref.alias is not None and not ref.alias):
            raise ValidationError(f"model reference {text!r}: give NAME@alias or NAME/version")
        return ref

    def __str__(self) -> str:
        return f"{self.name}/{self.version}" if self.version else f"{self.name}@{self.alias}"


@dataclass
class LoadedModel:
    name: str
    version: str
    model: BaseModel
    recipe: ModelRecipe

    _definitions: list[Any] | None = field(default=None, repr=False)

    @property
    def window_end(self) -> pd.Timestamp:
        return _utc(self.recipe.train_end)

    def definitions(self, features: FeatureRegistry | None = None) -> list[Any]:
        """The recipe's feature definitions, checked once at first use (hashing a definition's
        source is not free; a loaded version is refused at load when they changed)."""
        if self._definitions is None:
            self._definitions = self.recipe.definitions(features)
        return self._definitions

    def identity(self) -> dict[str, str]:
        return {"model": self.name, "model_version": self.version}

    def describe(self) -> dict[str, Any]:
        return {**self.identity(), "train_start": self.recipe.train_start,
                "train_end": self.recipe.train_end, "model_type": self.recipe.model_type}  # fmt: skip


@dataclass(frozen=True)
class Prediction:
    """One score of one version for one symbol's bar, as stored and published."""

    model: str
    version: str
    symbol: str
    ts: pd.Timestamp
    score: float
    horizon: int
    latency_ms: float
    signal: Signal


@dataclass(frozen=True)
class Signal:
    """A score read as a trade: direction (-1 sell, 0 hold, 1 buy), confidence in [0, 1]
    (classifiers: |P(buy) - P(sell)|; regressors: |score| in standard deviations of the scores
    it came with, capped at 1) and expected return (regressors of a forward return only)."""

    direction: int
    confidence: float
    expected_return: float | None

    @property
    def label(self) -> str:
        return {1: "buy", -1: "sell"}.get(self.direction, "hold")


def to_signals(
    scores: np.ndarray, classifier: bool, enter: float = 0.0, exit: float = 0.0,
    allow_short: bool = True,
) -> list[Signal]:  # fmt: skip
    """Scores (of one symbol through time, or of one bar across symbols) read as signals, the
    direction by threshold with hysteresis (`qts.strategies.signal_maps.hysteresis`)."""
    scores = np.asarray(scores, dtype=np.float64)
    direction = hysteresis(scores, enter, exit, allow_short)
    finite = scores[np.isfinite(scores)]
    spread = float(finite.std()) if len(finite) > 1 else 0.0
    out = []
    for s, d in zip(scores, direction, strict=True):
        if classifier:
            confidence = min(abs(s), 1.0)
        else:
            confidence = min(abs(s) / spread, 1.0) if spread > 0 else float("nan")
        out.append(Signal(int(d), confidence, None if classifier else float(s)))
    return out


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts


@dataclass
class InferenceEngine:
    """Scores of registered versions; `registry` is a `qts.ml.registry.ModelRegistry` (or
    None with models added by `add`, e.g. in a notebook)."""

    registry: Any = None
    source: FeatureSource = field(default_factory=FeatureSource)
    features: FeatureRegistry | None = None
    alias_ttl_s: float = 0.0
    clock: Callable[[], float] = time.monotonic
    _models: dict[tuple[str, str], LoadedModel] = field(default_factory=dict)
    _aliases: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)

    def add(self, name: str, version: str, model: BaseModel, recipe: ModelRecipe) -> LoadedModel:
        """Serve a model held in memory (a notebook's, a test's) as `name/version`."""
        loaded = LoadedModel(name, str(version), model, recipe)
        self._models[(name, str(version))] = loaded
        return loaded

    def load(self, ref: str | ModelRef) -> LoadedModel:
        ref = ModelRef.parse(ref)
        version = ref.version or self._alias_version(ref.name, str(ref.alias))
        key = (ref.name, version)
        if key not in self._models:
            if self.registry is None:
                raise NotFoundError(f"model {ref} is not loaded and no registry is given")
            model, recipe = self.registry.load_with_recipe(ref.name, version, None, self.features)
            if recipe is None:
                raise ValidationError(
                    f"model {ref.name} v{version} was registered without a recipe (its "
                    "features are unknown): train it again"
                )
            self._models[key] = LoadedModel(ref.name, version, model, recipe)
        return self._models[key]

    def _alias_version(self, name: str, alias: str) -> str:
        cached = self._aliases.get((name, alias))
        now = self.clock()
        if cached is not None and (self.registry is None or now - cached[1] < self.alias_ttl_s):
            return cached[0]
        if self.registry is None:
            raise NotFoundError(f"model {name}@{alias}: no registry to resolve the alias")
        version = self.registry.version_for_alias(name, alias)
        if version is None:
            raise NotFoundError(f"model {name} has no {alias} version")
        self._aliases[(name, alias)] = (str(version), now)
        return str(version)

    # -- features ------------------------------------------------------------------------------
    def feature_frames(self, loaded: LoadedModel, bars: Bars) -> dict[str, pd.DataFrame]:
        """Per symbol, the recipe's features at each bar, known at the bar's close (offline
        store, point in time; rows it lacks are computed from the bars and written first)."""
        recipe = loaded.recipe
        ensure_offline(self.source, loaded.definitions(self.features), bars, recipe.timeframe)
        return training_frames(self.source, recipe.features, bars, recipe.timeframe)

    # -- scoring -------------------------------------------------------------------------------
    def _score(self, loaded: LoadedModel, X: np.ndarray) -> np.ndarray:
        if not len(X):
            return np.empty(0)
        model = loaded.model
        return np.asarray(model.score_signal(model.prepare(X)), dtype=np.float64)

    def score_history(
        self, ref: str | ModelRef | LoadedModel, bars: Bars, after_window: bool = True
    ) -> pd.DataFrame:
        """Scores of every bar (index: union of bar times, columns: symbols); NaN while the
        features warm up and, with `after_window`, at bars inside the training window."""
        loaded = ref if isinstance(ref, LoadedModel) else self.load(ref)
        frames = self.feature_frames(loaded, bars)
        columns = {}
        for symbol, frame in frames.items():
            columns[symbol] = self.score_rows(loaded, frame)
        out = pd.DataFrame(columns).reindex(columns=list(bars))
        if after_window and len(out):
            out.loc[out.index <= loaded.window_end] = np.nan
        return out.astype(np.float64)

    def score_rows(self, loaded: LoadedModel, frame: pd.DataFrame) -> pd.Series:
        """Scores of a feature frame's rows (windows of `lookback` rows for sequence models)."""
        values = frame.to_numpy(np.float64)
        lookback = max(loaded.recipe.lookback, 1)
        out = np.full(len(values), np.nan)
        if len(values) >= lookback:
            if lookback > 1:
                windows = np.lib.stride_tricks.sliding_window_view(values, lookback, axis=0)
                X = np.moveaxis(windows, -1, 1)  # (n - lookback + 1, lookback, columns)
                ok = np.isfinite(X).all(axis=(1, 2))
                out[lookback - 1 :][ok] = self._score(loaded, X[ok])
            else:
                ok = np.isfinite(values).all(axis=1)
                out[ok] = self._score(loaded, values[ok])
        return pd.Series(out, index=frame.index)

    def prediction(
        self, loaded: LoadedModel, symbol: str, ts: Any, score: float, latency_ms: float
    ) -> Prediction:
        signal = to_signals(np.array([score]), loaded.model.is_classifier)[0]
        return Prediction(loaded.name, loaded.version, symbol, pd.Timestamp(ts), float(score),
                          loaded.recipe.horizon, latency_ms, signal)  # fmt: skip

    def score_latest(self, ref: str | ModelRef | LoadedModel, bars: Bars) -> list[Prediction]:
        """Each symbol's newest bar scored from the online store (a missing vector computed
        and written on demand); symbols without finite features, or whose newest bar lies
        inside the training window, give none."""
        started = time.perf_counter()
        loaded = ref if isinstance(ref, LoadedModel) else self.load(ref)
        recipe = loaded.recipe
        rows = inference_rows(
            self.source, loaded.definitions(self.features), recipe.features, bars,
            recipe.timeframe, recipe.lookback,
        )  # fmt: skip
        keep = [i for i, t in enumerate(rows.times) if _utc(t) > loaded.window_end]
        scores = self._score(loaded, rows.X[keep]) if keep else np.empty(0)
        latency = (time.perf_counter() - started) * 1000.0
        signals = to_signals(scores, loaded.model.is_classifier)
        return [
            Prediction(loaded.name, loaded.version, rows.symbols[i], pd.Timestamp(rows.times[i]),
                       float(s), recipe.horizon, latency, sig)
            for i, s, sig in zip(keep, scores, signals, strict=True)
        ]  # fmt: skip


def clone_untrained(model: BaseModel) -> BaseModel:
    """A fresh model of the same type and settings (for refits)."""
    return type(model)(copy.deepcopy(model.config))


def fit_in_memory(
    model_type: str,
    bars: Bars,
    *,
    timeframe: str = "1d",
    horizon: int = 1,
    features: Any = "basic",
    end: str | pd.Timestamp | None = None,
    overrides: dict[str, Any] | None = None,
    source: FeatureSource | None = None,
    label: str = "next_open",
) -> tuple[BaseModel, ModelRecipe]:
    """Fit a model on the bars up to `end` with its recipe, no registry (a notebook's quick
    model; `InferenceEngine.add` serves it). `qts train` is the evaluated, registered path."""
    from qts.ml.datasets import training_window
    from qts.ml.models import create_model
    from qts.ml.pipeline import _samples_and_recipe, fit_final, lookback_for

    params = dict(overrides or {})
    window = training_window(bars, None, end)
    lookback = lookback_for(model_type, params)
    samples, recipe = _samples_and_recipe(
        model_type, window, horizon, lookback, timeframe, features, source, None, label
    )
    model = fit_final(create_model(model_type, **params), samples)
    return model, recipe.with_normalizer(model.normalizer)
