"""Feature versions are hashed from source once per definition, and the feature service's
keys follow registrations: a re-registered or not-yet-built feature is never served stale."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pandas as pd
import pytest

from qts.db import Database
from qts.ml.features import TECHNICAL, FeatureRegistry, default_registry, feature
from qts.ml.features.definition import FeatureDefinition
from qts.services.ml import features as svc

from .test_feat_service_cli import import_samples, make_db


def test_source_is_read_once_per_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[object] = []
    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda obj: reads.append(obj) or real(obj))
    fresh = FeatureDefinition(
        name=TECHNICAL.name,
        fn=TECHNICAL.fn,
        group=TECHNICAL.group,
        params=TECHNICAL.params,
        columns=TECHNICAL.columns,
        helpers=TECHNICAL.helpers,
    )
    first = (fresh.version, fresh.code_hash, fresh.describe())
    count = len(reads)
    assert count == 1 + len(TECHNICAL.helpers)
    for _ in range(3):
        assert (fresh.version, fresh.code_hash, fresh.describe()) == first
    assert len(reads) == count  # nothing read again
    assert fresh.version == TECHNICAL.version
    # A pickled definition (process pools) travels without the cache and hashes the same.
    assert pickle.loads(pickle.dumps(fresh)).version == fresh.version


def test_a_function_changed_in_place_gets_a_new_version() -> None:
    reg = FeatureRegistry()

    @feature("gap", registry=reg)
    def gap(bars, ctx):
        return bars["open"] / bars["close"].shift(1) - 1

    before = reg.get("gap").version

    def other(bars, ctx):
        return bars["open"] - bars["close"].shift(1)

    gap.__code__ = other.__code__  # a hot reload swaps the code object of the same function
    assert reg.get("gap").version != before


def test_registry_generation_moves_on_every_change() -> None:
    reg = default_registry()
    g = reg.generation
    reg.register(TECHNICAL.with_params(return_horizons=[1]))
    assert reg.generation == g + 1
    reg.unregister("technical")
    reg.unregister("technical")  # already gone: nothing changed
    assert reg.generation == g + 2


@pytest.fixture
def db(tmp_path) -> Database:  # type: ignore[no-untyped-def]
    database = make_db(f"sqlite:///{tmp_path / 'qts.db'}")
    import_samples(database, "kr_daily", ["005930"], "1d")
    yield database
    database.dispose()


def test_keys_follow_registrations_and_builds(db: Database) -> None:
    reg = FeatureRegistry()
    reg.register(TECHNICAL)
    keys = svc.current_keys(db, reg)
    assert [k.id for k in keys] == [TECHNICAL.key]
    assert svc.current_keys(db, reg) == keys  # cached: same answer

    @feature("range_ratio", registry=reg)  # no declared columns: known once built
    def range_ratio(bars: pd.DataFrame, ctx: object) -> pd.Series:
        return (bars["high"] - bars["low"]) / bars["close"]

    assert [k.name for k in svc.current_keys(db, reg)] == ["technical"]
    svc.build_features(["005930"], "1d", db=db, registry=reg)
    names = [k.name for k in svc.current_keys(db, reg)]
    assert names == ["range_ratio", "technical"]
    online_key = {k.name: k for k in svc.current_keys(db, reg)}["range_ratio"]
    assert online_key.columns == ("range_ratio",)

    # Re-registered with other code: a new version, no longer built, so not served.
    @feature("range_ratio", registry=reg)
    def range_ratio_v2(bars: pd.DataFrame, ctx: object) -> pd.Series:
        return np.log(bars["high"] / bars["low"])

    assert reg.get("range_ratio").version != online_key.version
    assert [k.name for k in svc.current_keys(db, reg)] == ["technical"]


def test_served_vector_follows_a_reregistered_feature(db: Database) -> None:
    from qts.ml.feature_store import InProcessOnlineStore

    reg = FeatureRegistry()

    @feature("close_over_open", registry=reg, columns=["close_over_open"])
    def close_over_open(bars: pd.DataFrame, ctx: object) -> pd.Series:
        return bars["close"] / bars["open"]

    online = InProcessOnlineStore()
    svc.build_features(["005930"], "1d", db=db, registry=reg)
    first = svc.latest_vector("005930", "1d", db=db, online=online, registry=reg)

    @feature("close_over_open", registry=reg, columns=["close_over_open"])
    def close_over_open_pct(bars: pd.DataFrame, ctx: object) -> pd.Series:
        return (bars["close"] / bars["open"] - 1) * 100

    svc.build_features(["005930"], "1d", db=db, registry=reg)
    second = svc.latest_vector("005930", "1d", db=db, online=online, registry=reg)
    assert list(first["as_of"]) != list(second["as_of"])  # the new version's id
    value = second["values"]["close_over_open"]
    assert value == pytest.approx((first["values"]["close_over_open"] - 1) * 100)


def _zero_volume_bars() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 3000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.002, n))
    spread = np.abs(rng.normal(0, 0.006, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread * rng.uniform(0.2, 1.0, n)
    volume = rng.lognormal(10, 0.5, n)
    index = pd.date_range("2015-01-01", periods=n, freq="D", tz="UTC", name="ts")
    bars = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )
    bars.iloc[::17, 4] = 0.0
    bars.iloc[5::23, 1] = bars.iloc[5::23, 2]
    return bars


def test_technical_values_equal_those_before_the_restructuring(kr_bars) -> None:  # type: ignore[no-untyped-def]
    """Column summaries recorded from the implementation before the columns were written in
    place (tests/features/data/technical_golden.json): the values did not move."""
    import json
    from pathlib import Path

    from qts.ml.features import FeatureContext
    from qts.ml.features.technical import technical_arrays

    golden = json.loads((Path(__file__).parent / "data" / "technical_golden.json").read_text())
    for case, bars in (("kr", kr_bars["005930"]), ("zero", _zero_volume_bars())):
        out = TECHNICAL.compute(bars, FeatureContext())
        for col, (nans, infs, total, total_abs) in golden[case].items():
            values = out[col].to_numpy()
            finite = values[np.isfinite(values)]
            assert (int(np.isnan(values).sum()), int(np.isinf(values).sum())) == (nans, infs)
            assert finite.sum() == pytest.approx(total, rel=1e-12, abs=1e-12), (case, col)
            assert np.abs(finite).sum() == pytest.approx(total_abs, rel=1e-12, abs=1e-12)
        # The block (small frames) and per-column (large frames) layouts hold the same bits.
        arrays = technical_arrays(
            *(np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64)) for k in
              ("open", "high", "low", "close", "volume")),
            dict(TECHNICAL.params),
        )  # fmt: skip
        np.testing.assert_array_equal(np.stack(arrays, axis=1), out.to_numpy())
