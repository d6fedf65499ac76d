"""Labels, windows, train-only normalisation, purged walk-forward splits, torch and LightGBM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qts.core.errors import ValidationError
from qts.ml.datasets import (
    BUY,
    HOLD,
    SELL,
    Normalizer,
    TabularDataset,
    classify_returns,
    forward_return,
    label_end_times,
    purged_walk_forward,
    return_label,
    sliding_windows,
    triple_barrier_labels,
    validation_split,
    window_dataset,
)
from qts.ml.features import TECHNICAL, FeatureContext


def test_forward_return_and_classes(kr_bars) -> None:
    close = kr_bars["005930"]["close"]
    fwd = forward_return(close, 5)
    assert fwd.iloc[0] == pytest.approx(close.iloc[5] / close.iloc[0] - 1)
    assert fwd.iloc[-5:].isna().all() and fwd.iloc[:-5].notna().all()
    ends = label_end_times(close.index, 5)
    assert ends.iloc[0] == close.index[5] and ends.iloc[-5:].isna().all()
    cls = classify_returns(fwd, buy_above=0.02, sell_below=-0.02)
    assert set(cls.dropna().unique()) == {BUY, HOLD, SELL}
    assert (cls[fwd > 0.02] == BUY).all() and (cls[fwd < -0.02] == SELL).all()
    assert cls.iloc[-5:].isna().all()
    with pytest.raises(ValidationError):
        classify_returns(fwd, buy_above=-0.1, sell_below=0.1)
    with pytest.raises(ValidationError):
        forward_return(close, 0)


def test_triple_barrier_on_a_hand_made_path() -> None:
    idx = pd.date_range("2024-01-01", periods=8, freq="D", tz="UTC", name="ts")
    close = np.array([100, 101, 103, 106, 104, 97, 96, 100], dtype=float)
    bars = pd.DataFrame(
        {"open": close, "high": close + 0.5, "low": close - 0.5, "close": close, "volume": 1.0},
        index=idx,
    )
    out = triple_barrier_labels(bars, horizon=3, upper=0.05, lower=0.05)
    # Bar 0: the high of bar 3 (106.5) crosses 105 first.
    assert out["label"].iloc[0] == 1 and out["label_end"].iloc[0] == idx[3]
    assert out["ret"].iloc[0] == pytest.approx(0.05)
    # Bar 3: barriers 111.3 / 100.7; bar 5's low (96.5) crosses the lower one first.
    assert out["label"].iloc[3] == -1 and out["label_end"].iloc[3] == idx[5]
    # Bar 1: upper barrier 106.05, reached by bar 3's high (106.5).
    assert out["label"].iloc[1] == 1
    # Bar 4: 104 -> barriers 109.2/98.8; bar 5 low 96.5 touches the lower one.
    assert out["label"].iloc[4] == -1
    assert out["label"].iloc[-3:].isna().all()
    flat = triple_barrier_labels(bars, horizon=1, upper=0.5, lower=0.5)
    assert flat["label"].iloc[0] == 0 and flat["ret"].iloc[0] == pytest.approx(0.01)


def test_sliding_windows_hold_only_the_past() -> None:
    values = np.arange(20, dtype=float).reshape(10, 2)
    w = sliding_windows(values, 4)
    assert w.shape == (7, 4, 2)
    np.testing.assert_array_equal(w[0], values[0:4])
    np.testing.assert_array_equal(w[-1], values[6:10])
    idx = pd.date_range("2024-01-01", periods=10, freq="h", tz="UTC")
    feats = pd.DataFrame(values, index=idx, columns=["a", "b"])
    feats.iloc[1, 0] = np.nan
    target = pd.Series(np.arange(10.0), index=idx)
    X, y, ends = window_dataset(feats, target, 3)
    assert ends[0] == idx[4]  # windows containing row 1 (NaN) are dropped
    np.testing.assert_array_equal(y, np.arange(4.0, 10.0))
    np.testing.assert_array_equal(X[0], values[2:5])
    with pytest.raises(ValidationError):
        sliding_windows(values, 11)


def test_normaliser_fitted_on_train_only(kr_bars) -> None:
    bars = kr_bars["000660"]
    feats = TECHNICAL.compute(bars, FeatureContext(timeframe="1d"))[["rsi_14", "ret_5", "natr_14"]]
    feats = feats.dropna()
    train, test = feats.iloc[:200], feats.iloc[200:]
    norm = Normalizer(clip=None).fit(train)
    np.testing.assert_allclose(norm.center_, train.mean().to_numpy())
    np.testing.assert_allclose(norm.scale_, train.std(ddof=0).to_numpy())
    scaled_train = norm.transform(train)
    np.testing.assert_allclose(scaled_train.mean().to_numpy(), 0, atol=1e-12)
    # Test data is scaled with the training statistics, not its own.
    scaled_test = norm.transform(test)
    expected = (test - train.mean()) / train.std(ddof=0)
    np.testing.assert_allclose(scaled_test.to_numpy(), expected.to_numpy())
    assert abs(scaled_test.mean().to_numpy()).max() > 1e-3
    # Changing test data does not move the fitted statistics.
    before = norm.state()
    norm.transform(test * 1000)
    assert norm.state() == before
    again = Normalizer.from_state(before)
    np.testing.assert_allclose(again.transform(test).to_numpy(), scaled_test.to_numpy())
    robust = Normalizer("robust", clip=3.0).fit(train.to_numpy())
    assert np.abs(robust.transform(test.to_numpy())).max() <= 3.0
    with pytest.raises(ValidationError):
        Normalizer().transform(test)
    with pytest.raises(ValidationError):
        norm.transform(test[["ret_5", "rsi_14", "natr_14"]])


def test_purged_walk_forward_with_embargo(kr_bars) -> None:
    close = kr_bars["005380"]["close"]
    horizon = 10
    times = close.index[:-horizon]
    ends = label_end_times(close.index, horizon).iloc[:-horizon]
    embargo = pd.Timedelta(days=5)
    splits = list(purged_walk_forward(times, ends, n_splits=4, test_size=40, embargo=embargo))
    assert len(splits) == 4
    for split in splits:
        train_t, train_e = times[split.train], ends.iloc[split.train]
        test_t = times[split.test]
        assert split.test_start == test_t[0] and split.test_end == ends.iloc[split.test].max()
        # No training label window overlaps the test period, and the embargo gap holds.
        assert (train_e < split.test_start - embargo).all()
        assert train_t.max() < test_t.min()
        # Purging removed exactly the samples whose labels reach into the gap or test period.
        earlier = times[times < split.test_start]
        kept = ends.iloc[: len(earlier)] < split.test_start - embargo
        assert len(split.train) == int(kept.sum())
        assert len(split.train) < len(earlier) - horizon + 1
    assert [s.test[0] for s in splits] == sorted(s.test[0] for s in splits)
    rolling = list(purged_walk_forward(times, ends, 2, test_size=40, train_size=100))
    assert all(len(s.train) <= 100 for s in rolling)
    with pytest.raises(ValidationError):
        list(purged_walk_forward(times[::-1], ends[::-1], 2))
    with pytest.raises(ValidationError):
        list(purged_walk_forward(times, ends, n_splits=50, test_size=40))


def test_default_label_is_the_next_open_to_open_return_a_backtest_earns() -> None:
    index = pd.date_range("2025-01-01", periods=5, freq="D", tz="UTC")
    bars = pd.DataFrame({"open": [10.0, 11.0, 12.0, 15.0, 16.0],
                         "close": [10.5, 11.5, 14.0, 15.5, 16.5]}, index=index)  # fmt: skip
    ret, ends = return_label(bars, horizon=2)
    # Decided at t's close, bought at open[t+1], sold at open[t+3].
    assert ret.iloc[0] == pytest.approx(15.0 / 11.0 - 1) and ends.iloc[0] == index[3]
    assert ret.iloc[1] == pytest.approx(16.0 / 12.0 - 1) and ends.iloc[1] == index[4]
    assert ret.iloc[2:].isna().all() and ends.iloc[2:].isna().all()
    close_ret, close_ends = return_label(bars, horizon=2, label="close")
    assert close_ret.iloc[0] == pytest.approx(14.0 / 10.5 - 1) and close_ends.iloc[0] == index[2]
    with pytest.raises(ValidationError, match="unknown label"):
        return_label(bars, 1, label="vwap")


def panel_samples(horizon: int = 3) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex, np.ndarray]:
    """Time-sorted samples of 3 symbols on business days; C lists 30 days late."""
    days = pd.bdate_range("2024-01-01", periods=120, tz="UTC")
    rows = []
    for symbol, first in (("A", 0), ("B", 0), ("C", 30)):
        for i in range(first, len(days) - horizon):
            rows.append((days[i], days[i + horizon], symbol))
    frame = pd.DataFrame(rows, columns=["t", "end", "symbol"]).sort_values("t", kind="stable")
    return pd.DatetimeIndex(frame["t"]), pd.DatetimeIndex(frame["end"]), frame["symbol"].to_numpy()


def test_folds_cut_on_dates_hold_whole_days_and_train_labels_end_before_the_test() -> None:
    times, ends, symbols = panel_samples(horizon=3)
    embargo = pd.Timedelta(days=2)
    splits = list(purged_walk_forward(times, ends, n_splits=4, embargo=embargo))
    assert len(splits) == 4
    test_days = [set(times[s.test]) for s in splits]
    # No date in two folds.
    assert sum(len(d) for d in test_days) == len(set().union(*test_days))
    for split, days in zip(splits, test_days, strict=True):
        # Every test day holds every symbol present that day (the whole universe).
        for day in days:
            assert sorted(symbols[split.test][times[split.test] == day]) == sorted(
                symbols[times == day]
            )
        assert len(split.test) == int(np.isin(times, list(days)).sum())
        # Per fold: every training label ends before the test period starts, minus the embargo.
        assert (ends[split.train] < split.test_start - embargo).all()
        assert times[split.train].max() < split.test_start
        # Purging dropped exactly the samples whose label reached the embargoed test start.
        before = times < split.test_start
        assert len(split.train) == int((before & (ends < split.test_start - embargo)).sum())


def test_validation_slice_is_cut_on_dates_with_a_purge_gap() -> None:
    times, ends, _ = panel_samples(horizon=3)
    split = validation_split(times, ends, fraction=0.2)
    assert split is not None
    fit, val = split
    first_val = times[val].min()
    assert (times[val] >= first_val).all() and (ends[fit] < first_val).all()
    assert len(set(times[fit]) & set(times[val])) == 0
    # The gap: the last fit sample's 3-day label ends the business day before validation.
    assert len(pd.bdate_range(times[fit].max(), first_val)) - 1 == 3 + 1
    assert validation_split(times[:40], ends[:40], fraction=0.2) is None  # too few rows


def tabular(kr_bars) -> TabularDataset:
    parts = []
    for symbol in ("005930", "000660"):
        bars = kr_bars[symbol]
        feats = TECHNICAL.compute(bars, FeatureContext(timeframe="1d"))
        target = classify_returns(forward_return(bars["close"], 5), 0.02, -0.02)
        parts.append(
            TabularDataset.from_frames(feats, target, label_end_times(bars.index, 5), symbol)
        )
    return TabularDataset.concat(parts)


def test_tabular_dataset_and_lightgbm(kr_bars) -> None:
    data = tabular(kr_bars)
    assert data.times.is_monotonic_increasing
    assert len(data.X) == len(data.y) == 2 * (370 - 5)
    assert set(data.entities.unique()) == {"005930", "000660"}
    X, _y = data.to_numpy()
    assert X.shape[1] == len(TECHNICAL.columns or ())
    split = next(iter(purged_walk_forward(data.times, data.label_ends, 1, test_size=100)))
    train = data.subset(split.train)
    assert train.label_ends.max() < split.test_start
    lightgbm = pytest.importorskip("lightgbm")
    ds = train.to_lightgbm()
    booster = lightgbm.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_leaves": 7},
        lightgbm.Dataset(train.X, label=train.y + 1),
        num_boost_round=5,
    )
    assert ds.construct().num_data() == len(train.X)
    assert booster.predict(data.subset(split.test).X).shape == (200, 3)  # 100 days x 2 symbols


def test_torch_dataloader(kr_bars) -> None:
    pytest.importorskip("torch")
    from qts.ml.datasets.torch_data import make_dataloader

    bars = kr_bars["035420"]
    feats = TECHNICAL.compute(bars, FeatureContext(timeframe="1d"))[["ret_1", "rsi_14", "natr_14"]]
    target = classify_returns(forward_return(bars["close"], 1), 0.01, -0.01)
    X, y, _ = window_dataset(feats, target, lookback=20)
    loader = make_dataloader(X, y, batch_size=32, classification=True)
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (32, 20, 3) and str(xb.dtype) == "torch.float32"
    assert set(yb.tolist()) <= {0, 1, 2} and str(yb.dtype) == "torch.int64"
    assert sum(len(b[0]) for b in loader) == len(X)
