"""From bars to model samples: features, forward-return labels, windows, one time-sorted set.

Features: the technical group of `qts.ml.features` (TA-Lib, ~110 scale-free columns) by
default; `feature_set="basic"` is a small returns-based set computed here (log returns over 1, 5
and 20 bars, 20-bar realised volatility, close vs its 20-bar mean, the bar's range and body,
and the volume's 20-bar z-score), all causal. Rows with any NaN feature (warm-up) are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from qts.core.errors import NotFoundError, ValidationError
from qts.ml.datasets import return_label, window_dataset
from qts.ml.evaluation.walk_forward import SampleSet

SAMPLE_FOLDERS = {"1d": "kr_daily", "1h": "crypto_1h"}


def basic_features(bars: pd.DataFrame) -> pd.DataFrame:
    close = bars["close"]
    log_ret = np.log(close).diff()
    volume = np.log1p(bars["volume"])
    out = pd.DataFrame(index=bars.index)
    out["logret_1"] = log_ret
    out["logret_5"] = log_ret.rolling(5).sum()
    out["logret_20"] = log_ret.rolling(20).sum()
    out["rvol_20"] = log_ret.rolling(20).std()
    out["close_sma_20"] = close / close.rolling(20).mean() - 1.0
    out["range"] = (bars["high"] - bars["low"]) / close
    out["body"] = (close - bars["open"]) / close
    out["volume_z_20"] = (volume - volume.rolling(20).mean()) / volume.rolling(20).std()
    return out.replace([np.inf, -np.inf], np.nan)


def compute_features(
    bars: pd.DataFrame, symbol: str, timeframe: str, feature_set: str = "technical"
) -> pd.DataFrame:
    if feature_set == "basic":
        return basic_features(bars)
    if feature_set == "technical":
        from qts.ml.features import TECHNICAL, FeatureContext

        frame = TECHNICAL.compute(bars, FeatureContext(symbol=symbol, timeframe=timeframe))
        return frame.replace([np.inf, -np.inf], np.nan)
    raise ValidationError(f"unknown feature set {feature_set!r} (technical, basic)")


def build_samples(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    horizon: int = 1,
    lookback: int = 1,
    timeframe: str = "1d",
    feature_set: str = "technical",
    label: str = "next_open",
) -> SampleSet:
    """Samples of every symbol, sorted by time; lookback 1 gives tabular X (n, features).
    `label`: "next_open" (open[t+1] -> open[t+1+h], the default) or "close" (close to close),
    see `qts.ml.datasets.labels`."""
    if not bars_by_symbol:
        raise ValidationError("no bars given")
    parts = []
    names: list[str] = []
    for symbol, bars in bars_by_symbol.items():
        feats = compute_features(bars, symbol, timeframe, feature_set)
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


def latest_windows(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    lookback: int = 1,
    timeframe: str = "1d",
    feature_set: str = "technical",
) -> tuple[np.ndarray, list[str], list[pd.Timestamp]]:
    """The newest complete input of each symbol (its label is still unknown): what a model
    scores in batch inference. Symbols whose last window holds a NaN are skipped."""
    rows, symbols, times = [], [], []
    for symbol, bars in bars_by_symbol.items():
        feats = compute_features(bars, symbol, timeframe, feature_set)
        if len(feats) < max(lookback, 1):
            continue
        window = feats.to_numpy(np.float64)[-max(lookback, 1) :]
        if not np.isfinite(window).all():
            continue
        rows.append(window if lookback > 1 else window[-1])
        symbols.append(symbol)
        times.append(feats.index[-1])
    return np.asarray(rows), symbols, times
