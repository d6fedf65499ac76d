"""Batch inference keeps going when one production model fails, whatever the failure, and
records it per model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from qts.config import Settings
from qts.db.migrate import upgrade
from qts.db.models import Prediction
from qts.ml.inference import fit_in_memory
from qts.ml.samples import load_bars
from qts.services.context import AppContext
from qts.services.data.market_data import import_file
from qts.services.ml import ml_jobs
from qts.services.ml.model_service import registry

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data" / "kr_daily"
SYMBOLS = ["005930", "000660"]
TINY = {"epochs": 20, "num_threads": 1}


def _register(ctx: AppContext, name: str, model: Any, recipe: Any) -> None:
    reg = registry(ctx)
    with reg.start_run("qts-training") as run:
        uri = reg.log_model(run.run_id, model, np.zeros((5, model_columns(model))), recipe=recipe)
    reg.promote(name, reg.register(uri, name, run.run_id, tags=recipe.tags()), "production")


def model_columns(model: Any) -> int:
    return int(model.booster.num_feature())


def test_one_failing_model_does_not_stop_the_others(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    try:
        for symbol in SYMBOLS:
            import_file(ctx.db, SAMPLE / f"{symbol}.csv", symbol, "1d")
        bars = load_bars(SYMBOLS, "1d")
        good, good_recipe = fit_in_memory("lightgbm", bars, end="2025-01-31", overrides=TINY)
        _, time_recipe = fit_in_memory("lightgbm", bars, end="2025-01-31", features="time",
                                       overrides=TINY)  # fmt: skip
        _register(ctx, "good", good, good_recipe)
        # A model whose recipe gives other columns than it was fitted on: its scaling fails with
        # a plain ValueError, not a qts error.
        _register(ctx, "mismatched", good, time_recipe)

        report = ml_jobs.run_batch_inference(ctx)
        assert report["stored"] == {"good": 2}
        assert set(report["errors"]) == {"mismatched"}
        assert report["errors"]["mismatched"].startswith("ValueError"), report
        with ctx.db.session() as s:
            assert s.scalar(select(func.count()).select_from(Prediction)) == 2
    finally:
        ctx.close()
