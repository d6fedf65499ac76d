"""Drift monitoring end to end: a LightGBM registered in MLflow (SQLite, temporary folder) with
its training reference, stationary synthetic bars stored after its training window, the weekly
evaluation job, a fake Slack webhook, and the retraining run a breach starts.

A shift of one feature (the bar's range: highs and lows pulled apart after the training window,
nothing else changed) breaches PSI and KS of that feature only, reaches Slack, and starts a
recorded retraining run whose version goes to staging; the unshifted stream breaches nothing,
sends nothing and trains nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from qts.config import reset_settings_cache
from qts.db.models import ModelMonitoring, TrainingRun
from qts.services.ml import features as feature_service
from qts.services.notifications import NotificationSettings, build_notifier, reset_notifier
from tests.notifications.conftest import SLACK_HOOK
from tests.notifications.fakes import FakeServer

NAME = "drift-test"
SYMBOLS = [f"90000{i}" for i in range(6)]
TRAIN_BARS, AFTER_BARS = 400, 250


def synthetic_bars(seed: int, n: int) -> pd.DataFrame:
    """A stationary random walk: iid returns, wicks and volumes."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2021-01-04", periods=n, tz="UTC", name="ts")
    close = 10_000 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.004, n)))
    volume = np.exp(rng.normal(12, 0.3, n))
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The model trained on the first 400 bars of each symbol and promoted to production."""
    from qts.ml import pipeline
    from qts.ml.registry import ModelRegistry

    data_dir = tmp_path_factory.mktemp("monitoring")
    bars = {s: synthetic_bars(i, TRAIN_BARS + AFTER_BARS) for i, s in enumerate(SYMBOLS)}
    pipeline.train(
        "lightgbm", {s: b.iloc[:TRAIN_BARS] for s, b in bars.items()}, epochs=20, n_splits=2,
        feature_set="basic", data_dir=data_dir, model_name=NAME,
        overrides={"num_threads": 1, "num_leaves": 7},
    )  # fmt: skip
    ModelRegistry(data_dir).promote(NAME, "1", "production")
    return data_dir, bars


@pytest.fixture
def deployment(
    registered: tuple[Path, dict[str, pd.DataFrame]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Any, FakeServer, dict[str, pd.DataFrame]]]:  # fmt: skip
    """A fresh qts database beside the shared MLflow store, and Slack notifications on."""
    from qts.cli import common

    data_dir, bars = registered
    monkeypatch.setenv("QTS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("QTS_DATABASE_URL", f"sqlite:///{tmp_path / 'qts.db'}")
    for var in ("QTS_REDIS_URL", "QTS_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    reset_settings_cache()
    feature_service.reset_caches()
    common._migrated.clear()
    slack = FakeServer("slack", SLACK_HOOK).start()
    notifier = build_notifier(NotificationSettings(
        _env_file=None, slack_webhook_url=SecretStr(slack.base_url + SLACK_HOOK),
        notify_batch_seconds=0.0, notify_rate_per_minute=6000.0, notify_burst=100,
    ))  # fmt: skip
    reset_notifier(notifier)
    ctx = common.app_context()
    try:
        yield ctx, slack, bars
    finally:
        ctx.close()
        reset_notifier()
        slack.stop()
        feature_service.reset_caches()
        reset_settings_cache()
        common._migrated.clear()


def _store(ctx: Any, bars: dict[str, pd.DataFrame]) -> None:
    from qts.services.data.market_data import store_bars

    for symbol, frame in bars.items():
        store_bars(ctx.db, "XKRX", symbol, "1d", frame)


def _slack_texts(slack: FakeServer) -> list[str]:
    from qts.services.notifications import get_notifier

    assert get_notifier().flush(5)
    return slack.texts()


def test_unshifted_stream_breaches_nothing_and_never_scores_training_bars(deployment) -> None:  # type: ignore[no-untyped-def]
    from qts.cli.main import app
    from qts.services.ml import ml_jobs

    ctx, slack, bars = deployment
    _store(ctx, bars)
    report = ml_jobs.evaluate_production_models(ctx, window=AFTER_BARS)
    assert report[NAME]["drift"] is False and report[NAME]["breaches"] == []
    assert "retrained" not in report
    with ctx.db.session() as s:
        [row] = s.scalars(select(ModelMonitoring)).all()
        assert s.scalars(select(TrainingRun)).all() == []
    # The weekly job scored only bars after the training window: every labelled one of them.
    last_trained = bars[SYMBOLS[0]].index[TRAIN_BARS - 1]
    assert pd.Timestamp(row.window_start, unit="ms", tz="UTC") == bars[SYMBOLS[0]].index[TRAIN_BARS]
    assert row.rows == len(SYMBOLS) * (AFTER_BARS - 2)  # next-open labels need two more bars
    assert pd.Timestamp(row.report["train_end"]) == last_trained
    assert row.ic_kind == "ic" and -0.2 < row.ic < 0.2
    assert row.max_feature_psi < 0.25 and row.prediction_psi < 0.25
    assert _slack_texts(slack) == []

    out = CliRunner().invoke(app, ["monitor", "--model", NAME, "--stored", "--json"])
    assert out.exit_code == 0, out.output
    [shown] = json.loads(out.stdout)
    assert shown["id"] == row.id and shown["breach"] is False
    assert set(shown["report"]["features"]) == {
        "logret_1", "logret_5", "logret_20", "logret_std_20", "close_vs_sma_20", "range", "body",
        "volume_z_20",
    }  # fmt: skip


def test_shift_in_one_feature_breaches_notifies_and_retrains(deployment) -> None:  # type: ignore[no-untyped-def]
    from qts.ml.registry import ModelRegistry
    from qts.services.ml.monitoring import check_model, list_checks

    ctx, slack, bars = deployment
    shifted = {}
    for symbol, frame in bars.items():
        frame = frame.copy()
        after = frame.index[TRAIN_BARS:]
        frame.loc[after, "high"] *= 1.03  # only the bar's range moves
        frame.loc[after, "low"] *= 0.97
        shifted[symbol] = frame
    _store(ctx, shifted)
    record = check_model(ctx, NAME, window=AFTER_BARS)

    assert record["breach"] is True
    breached = {(b["metric"], b["column"]) for b in record["report"]["breaches"]}
    assert {("psi", "range"), ("ks", "range")} <= breached
    assert {c for _, c in breached} <= {"range", "prediction"}
    assert record["report"]["features"]["range"]["psi"] > 1.0
    texts = _slack_texts(slack)
    assert any(f"Drift detected for {NAME} v1" in t and "psi of range" in t for t in texts)

    with ctx.db.session() as s:
        [run] = s.scalars(select(TrainingRun)).all()
        assert run.created_by == "system:retraining" and run.status == "done", run.error
        assert run.params["trigger"] == {"reason": "drift", "monitoring_id": record["id"]}
        assert run.params["features"] == "basic" and run.params["symbols"] == SYMBOLS
    assert record["retraining_run_id"] == run.id
    assert record["report"]["retraining"]["version"] == 2
    reg = ModelRegistry(ctx.settings.data_dir)
    assert reg.version_for_alias(NAME, "staging") == "2"
    assert reg.version_for_alias(NAME, "production") == "1"  # no gate was passed
    assert reg.reference(NAME, "2") is not None  # the retrained version has its reference
    assert list_checks(ctx, NAME)[0]["id"] == record["id"]
