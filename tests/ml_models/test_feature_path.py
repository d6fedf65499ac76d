"""One feature path: training reads the offline store point in time, inference reads the online
store and writes a missing vector on demand; `--features` resolves groups and names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qts.core.errors import ValidationError
from qts.ml.feature_path import FeatureSource, inference_rows, training_frames
from qts.ml.feature_store import FeatureKey, InMemoryOfflineStore, to_epoch_ms
from qts.ml.features import BASIC, FUNDAMENTAL, TIME, default_registry, feature
from qts.ml.features.basic import BASIC_COLUMNS
from qts.ml.features.selection import resolve_features
from qts.ml.pipeline import default_model_name
from qts.ml.recipe import universe_tag
from qts.ml.samples import build_store_samples, load_bars

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def bars() -> dict[str, pd.DataFrame]:
    return {s: b.iloc[-160:] for s, b in load_bars(["005930", "000660"], "1d").items()}


def test_training_reads_the_offline_store_point_in_time(bars: dict[str, pd.DataFrame]) -> None:
    a = bars["005930"]
    k = 100  # an EPS figure becomes known an hour after bar k's close, during bar k + 1
    funda = pd.DataFrame({
        "metric": ["eps", "eps"],
        "period_end": [a.index[0] - 90 * DAY, a.index[k] - 40 * DAY],
        "known_at": [a.index[0] - 30 * DAY, a.index[k] + DAY + pd.Timedelta(hours=1)],
        "value": [100.0, 200.0],
    })  # fmt: skip
    source = FeatureSource(offline=InMemoryOfflineStore(), fundamentals={"005930": funda})
    samples, uses = build_store_samples(bars, 1, 1, "1d", "basic,fundamental", source)
    assert [u.name for u in uses] == ["basic", "fundamental"]
    assert samples.feature_names == [*BASIC_COLUMNS, *FUNDAMENTAL.columns]  # type: ignore[misc]
    per = samples.feature_names.index("fund_per")

    def row(symbol: str, ts: pd.Timestamp) -> np.ndarray:
        hit = np.nonzero((samples.symbols == symbol) & (samples.times == ts))[0]
        assert len(hit) == 1
        return samples.X[hit[0]]

    close = a["close"]
    assert row("005930", a.index[k])[per] == pytest.approx(close.iloc[k] / 100.0)  # not yet 200
    assert row("005930", a.index[k + 1])[per] == pytest.approx(close.iloc[k + 1] / 200.0)
    assert row("000660", a.index[k])[per] == 0.0  # no figures: side data missing reads as 0

    # What the store holds is what the model sees: a row rewritten in the store shows in the
    # samples, and a row known only later (a late write) is invisible at its own bar.
    key = uses[0].key
    j, m = a.index[120], a.index[130]
    t_j, t_m = to_epoch_ms(pd.DatetimeIndex([j, m]))
    sentinel = np.arange(1.0, 9.0)[None, :]
    source.offline.write(
        key, "1d", "005930", np.array([t_j]), np.array([t_j + 86_400_000]), sentinel
    )
    late = np.full((1, 8), 9.0)
    source.offline.write(
        key, "1d", "005930", np.array([t_m]), np.array([t_m + 900 * 86_400_000]), late
    )
    again, _ = build_store_samples(bars, 1, 1, "1d", "basic,fundamental", source)
    sel = again.symbols == "005930"
    at = dict(zip(again.times[sel], again.X[sel], strict=True))
    assert at[j][:8].tolist() == sentinel[0].tolist()
    before_m = a.index[129]
    assert at[m][:8].tolist() == at[before_m][:8].tolist()  # bar m sees bar m-1's row
    assert 9.0 not in at[m][:8]


def test_inference_reads_the_online_store_and_fills_it_on_demand(
    bars: dict[str, pd.DataFrame],
) -> None:
    source = FeatureSource()
    uses_defs = [BASIC, TIME]
    _, uses = build_store_samples(bars, 1, 1, "1d", uses_defs, FeatureSource())
    got = inference_rows(source, uses_defs, uses, bars, "1d")
    assert got.computed == ["005930", "000660"] and got.symbols == ["005930", "000660"]
    assert got.X.shape == (2, 8 + 13)
    last = {s: b.index[-1] for s, b in bars.items()}
    key = uses[0].key
    for symbol, row in zip(got.symbols, got.X, strict=True):
        vector = source.online.get("1d", symbol, [key])
        assert vector is not None
        assert vector.as_of[key.id] == to_epoch_ms(pd.DatetimeIndex([last[symbol]]))[0]
        stored = source.offline.read(key, "1d", [symbol])
        assert len(stored) == len(bars[symbol])  # the history was written offline too
        # The same values the training path reads for that bar.
        trained = training_frames(source, uses, {symbol: bars[symbol]}, "1d")[symbol]
        assert row.tolist() == trained.iloc[-1].tolist()

    # A vector already online is read as it is, not recomputed.
    ts = to_epoch_ms(pd.DatetimeIndex([last["005930"]]))[0]
    source.online.put_many(key, "1d", [("005930", int(ts), np.full(8, 0.5))])
    again = inference_rows(source, uses_defs, uses, bars, "1d")
    assert again.computed == [] and again.X[0, :8].tolist() == [0.5] * 8

    # Sequence models: the earlier rows of the window come from the offline store.
    fresh = FeatureSource()
    seq = inference_rows(fresh, uses_defs, uses, bars, "1d", lookback=3)
    assert seq.X.shape == (2, 3, 21)
    trained = training_frames(fresh, uses, {"000660": bars["000660"]}, "1d")["000660"]
    assert seq.X[1].tolist() == trained.iloc[-3:].to_numpy().tolist()


def test_features_option_resolves_groups_and_names() -> None:
    registry = default_registry()
    registry.register(BASIC)

    @feature("my_feature", registry=registry, window=5)
    def my_feature(bars, ctx, window):  # type: ignore[no-untyped-def]
        return bars["close"].pct_change(window)

    names = [
        d.name
        for d in resolve_features("technical,time,fundamental,sentiment,my_feature", registry)
    ]
    assert names == ["technical", "time", "fundamental", "sentiment", "my_feature"]
    assert [d.name for d in resolve_features("basic", registry)] == ["basic"]
    assert [d.name for d in resolve_features(["custom"], registry)] == ["my_feature"]
    with pytest.raises(ValidationError, match="unknown feature or group 'nope'") as info:
        resolve_features("basic,nope", registry)
    assert "my_feature" in info.value.message and "sentiment" in info.value.message
    assert len(resolve_features("basic,technical", registry)) == 2  # distinct column names

    @feature("logret_1", registry=registry, columns=["logret_1"])
    def logret_1(bars, ctx):  # type: ignore[no-untyped-def]
        return bars["close"].pct_change()

    with pytest.raises(ValidationError, match="basic and logret_1 both produce"):
        resolve_features("basic,logret_1", registry)
    with pytest.raises(ValidationError, match="no features"):
        resolve_features(" , ", registry)


def test_model_names_carry_the_universe() -> None:
    krx = default_model_name("lightgbm", "1d", 1, ["005930", "000660"])
    us = default_model_name("lightgbm", "1d", 1, ["AAPL", "MSFT"])
    assert krx.startswith("qts-lightgbm-1d-h1-krx2-") and us.startswith("qts-lightgbm-1d-h1-us2-")
    assert krx == default_model_name("lightgbm", "1d", 1, ["000660", "005930"])  # order-free
    assert universe_tag(["005930", "000660", "005380"]) != universe_tag(["005930", "000660"])
    assert universe_tag(["BTC/USDT"]).startswith("crypto1-")
    assert FeatureKey.of(BASIC).columns == BASIC_COLUMNS
