"""Regression: a model trained with `qts train --features basic` and promoted runs the batch
inference and weekly evaluation jobs (it once failed with `shapes (2,111) (8,)`), through the
real CLI and service functions, a SQLite database and an MLflow store in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from qts.cli import ml_cmd
from qts.config import reset_settings_cache
from qts.db.models import Prediction
from qts.ml.samples import load_bars
from qts.services.ml import features as feature_service

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data" / "kr_daily"
SYMBOLS = ["005930", "000660"]
HELD_BACK = 40  # bars after the training window, for the evaluation to score


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in ("QTS_DATABASE_URL", "QTS_REDIS_URL", "QTS_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("QTS_DATA_DIR", str(tmp_path / "qts"))
    monkeypatch.setenv("QTS_MONITOR_RETRAIN", "false")
    reset_settings_cache()
    feature_service.reset_caches()
    yield tmp_path / "qts"
    feature_service.reset_caches()
    reset_settings_cache()


def test_basic_model_runs_batch_inference_and_evaluation(embedded: Path, tmp_path: Path) -> None:
    from qts.cli.common import app_context
    from qts.services.data.market_data import import_file
    from qts.services.ml import ml_jobs
    from qts.services.ml.model_service import list_models

    bars = load_bars(SYMBOLS, "1d")
    files = tmp_path / "train_bars"
    files.mkdir()
    for symbol, frame in bars.items():
        frame.iloc[:-HELD_BACK].to_csv(files / f"{symbol}.csv")
    ctx = app_context(embedded)
    try:
        for symbol in SYMBOLS:  # the database holds every bar, the training files all but 40
            import_file(ctx.db, SAMPLE / f"{symbol}.csv", symbol, "1d")
        app = typer.Typer()
        app.command("train")(ml_cmd.train)
        app.add_typer(ml_cmd.models_app, name="models")
        runner = CliRunner()
        out = runner.invoke(app, ["train", "--model", "lightgbm", "--symbols", ",".join(SYMBOLS),
                                  "--epochs", "10", "--folds", "2", "--features", "basic",
                                  "--bars-dir", str(files), "--data-dir", str(embedded), "--json"])  # fmt: skip
        assert out.exit_code == 0, out.output
        name = json.loads(out.stdout.strip().splitlines()[-1])["model_name"]
        promoted = runner.invoke(app, ["models", "promote", name, "1", "--data-dir", str(embedded)])
        assert promoted.exit_code == 0, promoted.output

        report = ml_jobs.run_batch_inference(ctx)
        assert report == {"stored": {name: 2}}
        with ctx.db.session() as s:
            rows = s.scalars(select(Prediction).where(Prediction.model_name == name)).all()
            stamps = {(p.symbol, p.ts) for p in rows}
        newest = {s: int(b.index[-1].value // 1_000_000) for s, b in bars.items()}
        assert stamps == set(newest.items())
        assert ml_jobs.run_batch_inference(ctx) == {"stored": {name: 0}}  # once per bar

        evaluation = ml_jobs.evaluate_production_models(ctx, window=60, min_ic=-1.0)
        # Every labelled bar after the training window (the window of 60 bars holds them all).
        assert evaluation[name]["samples"] == len(SYMBOLS) * (HELD_BACK - 2)
        assert np.isfinite(evaluation[name]["ic"])
        # Real prices after the window drift (a calmer market than in training): reported,
        # and with QTS_MONITOR_RETRAIN=false nothing is retrained.
        assert evaluation[name]["drift"] is bool(evaluation[name]["breaches"])
        assert "retrained" not in evaluation

        catalogue = {m["name"]: m for m in list_models(ctx)}[name]["versions"][0]["recipe"]
        assert catalogue["universe"] == SYMBOLS and catalogue["feature_spec"] == "basic"
        last_trained = max(b.index[-HELD_BACK - 1] for b in bars.values())
        assert pd.Timestamp(catalogue["train_end"]) == last_trained
    finally:
        ctx.close()
