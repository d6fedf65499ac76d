"""The feature service and `qts features` commands on bars stored through the market-data
service: build, store, list, materialise and serve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from qts.adapters.feature_store_sql import SqlOfflineStore
from qts.config import reset_settings_cache
from qts.core.errors import NotFoundError, ValidationError
from qts.db import Database
from qts.db.migrate import upgrade
from qts.ml.feature_store import FeatureKey, InProcessOnlineStore
from qts.ml.features import REGISTRY, FeatureContext
from qts.services.ml import features as svc

from .conftest import SAMPLE_DIR

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def make_db(url: str) -> Database:
    import qts.db.models
    import qts.db.models.features  # noqa: F401

    upgrade(url)  # the real migrations, as `qts db upgrade` applies them
    db = Database(url)
    return db


def import_samples(db: Database, folder: str, symbols: list[str], timeframe: str) -> None:
    from qts.services.data.market_data import import_file

    for symbol in symbols:
        name = symbol.replace("/", "_")
        import_file(db, SAMPLE_DIR / folder / f"{name}.csv", symbol, timeframe)


def test_build_materialize_and_serve(db_url) -> None:
    from qts.db.models.ml import FeatureDefinition as Row

    db = make_db(db_url)
    try:
        import_samples(db, "kr_daily", ["005930", "000660"], "1d")
        seen = []
        summary = svc.build_features(
            ["005930", "000660", "999999"],
            "1d",
            start="2024-06-01",
            db=db,
            progress=lambda s, done, total: seen.append((s, done, total)),
        )
        assert seen[-1] == ("999999", 3, 3)
        assert summary["symbols"]["999999"]["rows"] == 0
        stored = summary["symbols"]["005930"]["rows"]
        assert stored > 0 and summary["symbols"]["005930"]["bars"] > stored / len(REGISTRY)
        with db.session() as s:
            rows = s.execute(select(Row)).scalars().all()
        assert {(r.name, r.version) for r in rows} == {(d.name, d.version) for d in REGISTRY}
        assert all(len(r.columns) > 0 for r in rows)
        listed = svc.list_definitions(db)
        assert {d["name"] for d in listed} >= {"technical", "time", "fundamental", "sentiment"}
        assert all(d["current"] for d in listed)

        online = InProcessOnlineStore()
        results = svc.materialize_features("1d", db=db, online=online)
        assert {r["entities"] for r in results} == {2}
        vector = svc.latest_vector("005930", "1d", db=db, online=online)
        # The served vector equals the last row computed directly from the same bars (those
        # the build loaded: 120 days of warm-up before the start; EMAs depend on their seed).
        from qts.services.data.market_data import read_bars

        warm_start = pd.Timestamp("2024-06-01", tz="UTC") - pd.Timedelta(days=120)
        bars = read_bars("005930", "1d", start=warm_start, db=db)
        direct = REGISTRY.compute(bars, FeatureContext(symbol="005930", timeframe="1d"))
        last = direct.iloc[-1]
        assert set(vector["values"]) == set(direct.columns)
        for col, value in vector["values"].items():
            if value is None:
                assert np.isnan(last[col])
            else:
                assert value == last[col]
        assert vector["as_of"]["technical@" + REGISTRY.get("technical").version].startswith(
            bars.index[-1].isoformat()[:10]
        )
        # A fresh in-process store (a restarted process) reads through to the offline store.
        again = svc.latest_vector("000660", "1d", db=db, online=InProcessOnlineStore())
        assert again["entity"] == "000660"
        with pytest.raises(NotFoundError):
            svc.latest_vector("NOPE", "1d", db=db, online=online)
        with pytest.raises(ValidationError):
            svc.build_features(["005930"], "7x", db=db)
        with pytest.raises(ValidationError):
            svc.build_features(["005930"], "1d", start="not a date", db=db)
    finally:
        db.dispose()


@pytest.mark.skipif(not (SHARED_DATA / "kr_daily").is_dir(), reason="../shared/data is absent")
def test_shared_real_data_builds_and_serves(tmp_path) -> None:
    """The larger real data set: a few Korean stocks and crypto pairs, end to end."""
    from qts.services.data.market_data import import_file

    db = make_db(f"sqlite:///{tmp_path / 'shared.db'}")
    try:
        for name in ("005490", "055550"):
            import_file(db, SHARED_DATA / "kr_daily" / f"{name}.csv", name, "1d")
        svc.build_features(["005490", "055550"], "1d", db=db)
        online = InProcessOnlineStore()
        svc.materialize_features("1d", db=db, online=online)
        offline = SqlOfflineStore(db)
        for symbol in ("005490", "055550"):
            served = svc.latest_vector(symbol, "1d", db=db, online=online)["values"]
            key = FeatureKey.of(REGISTRY.get("technical"))
            row = offline.latest(key, "1d", [symbol]).iloc[0]
            assert [served[c] for c in key.columns] == [
                None if np.isnan(row[c]) else row[c] for c in key.columns
            ]
    finally:
        db.dispose()


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("QTS_DATABASE_URL", url)
    monkeypatch.setenv("QTS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("QTS_REDIS_URL", raising=False)
    reset_settings_cache()
    svc.reset_caches()
    db = make_db(url)
    import_samples(db, "crypto_1h", ["BTC/USDT"], "1h")
    import_samples(db, "kr_daily", ["005380"], "1d")
    yield db
    db.dispose()
    svc.reset_caches()
    reset_settings_cache()


def test_cli_build_list_materialize(cli_env) -> None:
    from qts.cli.features_cmd import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["build", "--symbols", "005380", "--timeframe", "1d", "--start", "2025-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "feature rows for 1 symbols" in result.output
    result = runner.invoke(app, ["build", "-s", "BTC/USDT", "--timeframe", "1h", "-f", "technical"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0 and "technical" in result.output and "sentiment" in result.output
    result = runner.invoke(app, ["materialize", "--timeframe", "1h"])
    assert result.exit_code == 0, result.output
    assert "technical@" in result.output
    vector = svc.latest_vector("BTC/USDT", "1h")
    assert vector["values"]["rsi_14"] is not None
    bad = runner.invoke(app, ["build", "--symbols", "005380", "--timeframe", "3q"])
    assert bad.exit_code == 1
    missing = runner.invoke(app, ["build", "--symbols", "NOPE", "--timeframe", "1d"])
    assert missing.exit_code == 1
