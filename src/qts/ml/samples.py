"""From bars to model samples: features from the feature store, forward-return labels,
windows, one time-sorted set.

Features are named by `features`: groups and feature names of the feature registry
(`technical`, `time`, `fundamental`, `sentiment`, the small `basic` preset, users' `@feature`s;
see `qts.ml.features.selection`). They reach the samples only through the offline store
(`qts.ml.feature_path`): rows the store lacks are computed from the bars and written first, then
each bar gets the values known at its close (point in time). Without a store given, an
in-memory one is used. Rows with any NaN feature (warm-up) are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.ml.datasets import return_label, window_dataset
from qts.ml.evaluation.walk_forward import SampleSet
from qts.ml.feature_path import FeatureSource, ensure_offline, training_frames
from qts.ml.features.basic import compute_basic
from qts.ml.features.definition import FeatureDefinition
from qts.ml.features.registry import FeatureRegistry, compute_many
from qts.ml.features.selection import resolve_features
from qts.ml.recipe import FeatureUse

SAMPLE_FOLDERS = {"1d": "kr_daily", "1h": "crypto_1h"}


def label_spec(label: str = "next_open") -> dict[str, object]:
    """The label the samples carry, as recorded in each model's recipe."""
    price = "open, next bar" if label == "next_open" else "close"
    return {"kind": "forward_return", "label": label, "price": price, "log": False}


Features = str | Sequence[str] | Sequence[FeatureDefinition]

basic_features = compute_basic


def feature_definitions(
    features: Features, registry: FeatureRegistry | None = None
) -> list[FeatureDefinition]:
    if not isinstance(features, str) and all(isinstance(f, FeatureDefinition) for f in features):
        return list(features)  # type: ignore[arg-type]
    return resolve_features(features, registry)  # type: ignore[arg-type]


def compute_features(
    bars: pd.DataFrame, symbol: str, timeframe: str, feature_set: Features = "technical"
) -> pd.DataFrame:
    """The features computed straight from bars (no store, no side data): for a quick look."""
    source = FeatureSource()
    frames = []
    for d in feature_definitions(feature_set):
        frames.append(compute_many([d], bars, source.context(symbol, timeframe, d.inputs)))
    return pd.concat(frames, axis=1).replace([np.inf, -np.inf], np.nan)


def build_store_samples(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    horizon: int = 1,
    lookback: int = 1,
    timeframe: str = "1d",
    features: Features = "technical",
    source: FeatureSource | None = None,
    registry: FeatureRegistry | None = None,
    label: str = "next_open",
) -> tuple[SampleSet, list[FeatureUse]]:
    """Samples whose features are read from `source`'s offline store, and the features used."""
    if not bars_by_symbol:
        raise ValidationError("no bars given")
    source = source if source is not None else FeatureSource()
    definitions = feature_definitions(features, registry)
    uses = ensure_offline(source, definitions, bars_by_symbol, timeframe)
    frames = training_frames(source, uses, bars_by_symbol, timeframe)
    return samples_from_frames(frames, bars_by_symbol, horizon, lookback, label), uses


def build_samples(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    horizon: int = 1,
    lookback: int = 1,
    timeframe: str = "1d",
    feature_set: Features = "technical",
    source: FeatureSource | None = None,
    label: str = "next_open",
) -> SampleSet:
    """Samples of every symbol, sorted by time; lookback 1 gives tabular X (n, features).
    `label`: "next_open" (open[t+1] -> open[t+1+h], the default) or "close" (close to close),
    see `qts.ml.datasets.labels`."""
    return build_store_samples(
        bars_by_symbol, horizon, lookback, timeframe, feature_set, source, label=label
    )[0]


def samples_from_frames(
    frames: Mapping[str, pd.DataFrame],
    bars_by_symbol: Mapping[str, pd.DataFrame],
    horizon: int,
    lookback: int,
    label: str = "next_open",
) -> SampleSet:
    """Windows of each symbol's feature frame (indexed like its bars) with its return label."""
    parts = []
    names: list[str] = []
    for symbol, bars in bars_by_symbol.items():
        feats = frames[symbol]
        target, ends = return_label(bars, horizon, label)
        X, y, times = window_dataset(feats, target, max(lookback, 1))
        if len(X) == 0:
            continue
        names = list(feats.columns)
        parts.append((X, y, times, pd.DatetimeIndex(ends.reindex(times)), symbol))
    if not parts:
        raise ValidationError("no samples: the bars are too short for the features and horizon")
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    times = pd.DatetimeIndex(parts[0][2].append([p[2] for p in parts[1:]]))
    ends = pd.DatetimeIndex(parts[0][3].append([p[3] for p in parts[1:]]))
    symbols = np.concatenate([np.full(len(p[0]), p[4], dtype=object) for p in parts])
    order = np.argsort(times.asi8, kind="stable")
    if lookback <= 1:
        X = X[:, -1, :]
    return SampleSet(X[order], y[order], times[order], ends[order], symbols[order], names)


def load_bars(
    symbols: list[str] | None = None, timeframe: str = "1d", bars_dir: str | Path | None = None
) -> dict[str, pd.DataFrame]:
    """Bars from `<bars_dir>/<SYMBOL>.csv`, or from the sample data shipped with qts."""
    from qts.market.files import load_bars_file

    if bars_dir is None:
        folder = SAMPLE_FOLDERS.get(timeframe)
        if folder is None:
            raise ValidationError(f"no sample data for timeframe {timeframe}; pass a bars folder")
        bars_dir = Path(__file__).resolve().parents[1] / "sample_data" / folder
    bars_dir = Path(bars_dir)
    if symbols is None:
        files = sorted(bars_dir.glob("*.csv"))
    else:
        files = [bars_dir / f"{s.replace('/', '_')}.csv" for s in symbols]
    missing = [str(f) for f in files if not f.is_file()]
    if missing or not files:
        raise NotFoundError(
            f"no bar files for {symbols or 'any symbol'} in {bars_dir}", {"missing": missing}
        )
    return {f.stem: load_bars_file(f) for f in files}
