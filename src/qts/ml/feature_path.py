"""The one way features reach a model: through the feature store.

Training reads the offline store with a point-in-time join (each bar sees the rows known by its
close); feature rows the store lacks for the training bars are computed from the bars and the
side data known at each bar, and written first; rows it holds are used as stored. Inference
reads the online store's latest vector of each symbol; a missing or stale vector is computed
and written (offline, then online) on demand.

The stores are injected (`FeatureSource`): in-memory ones in a notebook, SQL and Redis (or
in-process) ones wired by the service layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.ml.feature_store import (
    FeatureKey,
    InMemoryOfflineStore,
    InProcessOnlineStore,
    OfflineStore,
    OnlineStore,
    materialize,
    point_in_time_join,
    to_epoch_ms,
    write_feature_frame,
)
from qts.ml.features.context import FeatureContext
from qts.ml.features.definition import FeatureDefinition
from qts.ml.features.selection import check_distinct_columns
from qts.ml.recipe import FeatureUse

SideData = Mapping[str, pd.DataFrame] | Callable[[str], pd.DataFrame | None] | None


def _side(data: SideData, symbol: str) -> pd.DataFrame | None:
    if data is None:
        return None
    if callable(data):
        return data(symbol)
    return data.get(symbol)


@dataclass
class FeatureSource:
    """Where features are kept (offline for training, online for inference) and the side data
    (per symbol: fundamentals `metric, period_end, known_at, value`; news `known_at, headline`)
    they are computed from when missing."""

    offline: OfflineStore = field(default_factory=InMemoryOfflineStore)
    online: OnlineStore = field(default_factory=InProcessOnlineStore)
    fundamentals: SideData = None
    news: SideData = None

    def context(self, symbol: str, timeframe: str, inputs: Sequence[str] = ()) -> FeatureContext:
        return FeatureContext(
            symbol=symbol,
            timeframe=timeframe,
            fundamentals=_side(self.fundamentals, symbol) if "fundamentals" in inputs else None,
            news=_side(self.news, symbol) if "news" in inputs else None,
        )


def _compute(
    source: FeatureSource, d: FeatureDefinition, bars: pd.DataFrame, symbol: str, tf: str
) -> tuple[pd.DataFrame, FeatureContext]:
    ctx = source.context(symbol, tf, d.inputs)
    frame = d.compute(bars, ctx).astype(np.float64)
    return frame.replace([np.inf, -np.inf], np.nan), ctx


def ensure_offline(
    source: FeatureSource,
    definitions: Sequence[FeatureDefinition],
    bars_by_symbol: Mapping[str, pd.DataFrame],
    timeframe: str,
) -> list[FeatureUse]:
    """Write the rows of these bars that the offline store lacks; keep the rows it holds."""
    uses = []
    for d in definitions:
        key = FeatureKey.of(d) if d.columns else None
        for symbol, bars in bars_by_symbol.items():
            if bars.empty:
                continue
            ts = to_epoch_ms(pd.DatetimeIndex(bars.index))
            stored = _stored_ts(source.offline, key, timeframe, symbol, ts)
            if stored is not None and bool(np.isin(ts, stored).all()):
                continue
            frame, ctx = _compute(source, d, bars, symbol, timeframe)
            if key is None:  # a custom feature whose columns show once computed
                key = FeatureKey.of(d, list(frame.columns))
                stored = _stored_ts(source.offline, key, timeframe, symbol, ts)
            missing = ~np.isin(ts, stored) if stored is not None else np.ones(len(ts), bool)
            write_feature_frame(source.offline, key, timeframe, symbol, frame[missing], ctx)
        if key is None:
            raise ValidationError(f"feature {d.name}: no bars to compute it on")
        uses.append(FeatureUse.of(d, key.columns))
    check_distinct_columns([(u.name, u.columns) for u in uses])
    return uses


def _stored_ts(
    store: OfflineStore, key: FeatureKey | None, timeframe: str, symbol: str, ts: np.ndarray
) -> np.ndarray | None:
    if key is None:
        return None
    rows = store.read(key, timeframe, [symbol], ts_start=int(ts[0]), ts_end=int(ts[-1]))
    return rows["ts"].to_numpy(np.int64)


def _fill_missing(frame: pd.DataFrame, uses: Sequence[FeatureUse]) -> pd.DataFrame:
    zero = [c for u in uses if u.missing_as_zero for c in u.columns]
    if zero:
        frame[zero] = frame[zero].fillna(0.0)
    return frame


def training_frames(
    source: FeatureSource,
    uses: Sequence[FeatureUse],
    bars_by_symbol: Mapping[str, pd.DataFrame],
    timeframe: str,
) -> dict[str, pd.DataFrame]:
    """Per symbol, one row per bar holding the feature values known at the bar's close (a
    point-in-time join on the offline store), columns in the order of `uses`."""
    parts = []
    for symbol, bars in bars_by_symbol.items():
        index = pd.DatetimeIndex(bars.index)
        close = FeatureContext(timeframe=timeframe).bar_close_times(index)
        parts.append(pd.DataFrame({"entity": symbol, "label_time": close, "bar": index}))
    labels = pd.concat(parts, ignore_index=True)
    joined = point_in_time_join(source.offline, [u.key for u in uses], timeframe, labels)
    columns = [c for u in uses for c in u.columns]
    out = {}
    for symbol, rows in joined.groupby("entity", sort=False):
        frame = rows.set_index(pd.DatetimeIndex(rows["bar"]))[columns].astype(np.float64)
        frame.index.name = bars_by_symbol[str(symbol)].index.name
        out[str(symbol)] = _fill_missing(frame, uses)
    return out


@dataclass
class InferenceRows:
    """The newest input of each symbol, read from the online store."""

    X: np.ndarray  # (symbols, columns) or (symbols, lookback, columns)
    symbols: list[str]
    times: list[pd.Timestamp]
    computed: list[str]  # symbols whose vector was computed and written on demand
    skipped: dict[str, str]  # symbol -> why it has no row


def _online_row(
    source: FeatureSource, uses: Sequence[FeatureUse], symbol: str, timeframe: str, ts: int
) -> np.ndarray | None:
    """The symbol's online vector for bar `ts`, in column order; None if missing or stale."""
    parts = []
    for use in uses:
        vector = source.online.get(timeframe, symbol, [use.key])
        if vector is None or vector.as_of.get(use.key.id) != ts:
            return None
        parts.append([vector.values.get(c, np.nan) for c in use.columns])
    return np.concatenate(parts).astype(np.float64)


def inference_rows(
    source: FeatureSource,
    definitions: Sequence[FeatureDefinition],
    uses: Sequence[FeatureUse],
    bars_by_symbol: Mapping[str, pd.DataFrame],
    timeframe: str,
    lookback: int = 1,
) -> InferenceRows:
    """What a model scores now: each symbol's features at its newest bar, from the online
    store (sequence models: the earlier `lookback - 1` rows from the offline store)."""
    rows: list[np.ndarray] = []
    out = InferenceRows(np.empty(0), [], [], [], {})
    keys = [u.key for u in uses]
    for symbol, bars in bars_by_symbol.items():
        if len(bars) < max(lookback, 1):
            out.skipped[symbol] = "too few bars"
            continue
        index = pd.DatetimeIndex(bars.index)
        ts = int(to_epoch_ms(index[-1:])[0])
        row = _online_row(source, uses, symbol, timeframe, ts)
        if row is None:
            ensure_offline(source, definitions, {symbol: bars}, timeframe)
            materialize(source.offline, source.online, keys, timeframe, [symbol], False)
            out.computed.append(symbol)
            row = _online_row(source, uses, symbol, timeframe, ts)
        if row is None:
            out.skipped[symbol] = "no online vector for the newest bar"
            continue
        window = row[None, :]
        if lookback > 1:
            earlier = _offline_rows(source, uses, symbol, timeframe, index[-lookback:])
            window = np.vstack([earlier, window])
        columns = [c for u in uses for c in u.columns]
        frame = _fill_missing(pd.DataFrame(window, columns=columns), uses)
        values = frame.to_numpy(np.float64)
        if len(values) != max(lookback, 1) or not np.isfinite(values).all():
            out.skipped[symbol] = "features not finite (warm-up or missing data)"
            continue
        rows.append(values if lookback > 1 else values[-1])
        out.symbols.append(symbol)
        out.times.append(index[-1])
    out.X = np.asarray(rows)
    return out


def _offline_rows(
    source: FeatureSource,
    uses: Sequence[FeatureUse],
    symbol: str,
    tf: str,
    index: pd.DatetimeIndex,
) -> np.ndarray:
    """Offline rows of the window's bars before the newest (`index`: the window's bars)."""
    ts = to_epoch_ms(index)
    frames = []
    for use in uses:
        got = source.offline.read(use.key, tf, [symbol], ts_start=int(ts[0]), ts_end=int(ts[-1]))
        frames.append(got.set_index("ts")[list(use.columns)])
    joined = pd.concat(frames, axis=1).reindex(ts[:-1])
    return joined.to_numpy(np.float64)
