"""The scheduled ML jobs: batch inference every 5 minutes, evaluation weekly (a drift check
per production model, `qts.services.ml.monitoring`; a breach triggers retraining), and
retraining daily after the market closes."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sqlalchemy import select

from qts.db.models import Prediction
from qts.services.context import AppContext
from qts.services.ml.model_service import (
    NOT_INSTALLED,
    feature_source,
    load_for_serving,
    ml_installed,
    registry,
    stored_bars,
    sync_models,
)

log = logging.getLogger(__name__)


def _production_models(ctx: AppContext) -> list[str]:
    return [m["name"] for m in registry(ctx).list_models() if "production" in m["aliases"]]


def run_batch_inference(ctx: AppContext) -> dict[str, Any]:
    """The `batch_inference` job: every production model scores the newest bar of each symbol
    of its universe, with the features of its recipe read from the online store (computed and
    written on demand when missing); predictions are stored once per model version, symbol and
    bar, and published on the `signals` topic. A model that cannot be served is reported under
    `errors` and the others still run."""
    if not ml_installed():
        return dict(NOT_INSTALLED)
    from qts.core.errors import QtsError

    out: dict[str, int] = {}
    errors: dict[str, str] = {}
    source = feature_source(ctx)
    for name in _production_models(ctx):
        try:
            out[name] = _infer_one(ctx, source, name)
        except Exception as exc:  # one model's failure (any kind) must not stop the others
            log.warning("batch inference of %s failed: %s", name, exc, exc_info=True)
            errors[name] = (
                exc.message if isinstance(exc, QtsError) else f"{type(exc).__name__}: {exc}"
            )
    return {"stored": out, "errors": errors} if errors else {"stored": out}


def _infer_one(ctx: AppContext, source: Any, name: str) -> int:
    from qts.ml.feature_path import inference_rows

    model, recipe = load_for_serving(ctx, name)
    if model.input_kind == "policy":  # no score: rl_policy sessions record its decisions
        return 0
    bars = stored_bars(ctx, list(recipe.universe), recipe.timeframe)
    rows = inference_rows(
        source, recipe.definitions(), recipe.features, bars, recipe.timeframe, recipe.lookback
    )
    version = registry(ctx).version_for_alias(name, "production")
    if not len(rows.X):
        return 0
    scores = model.score_signal(model.prepare(rows.X))
    return _store_predictions(ctx, name, str(version), recipe.horizon, rows, scores)


def _store_predictions(
    ctx: AppContext, name: str, version: str, horizon: int, rows: Any, scores: Any
) -> int:
    stored = 0
    with ctx.db.session() as s:
        for symbol, ts, value in zip(rows.symbols, rows.times, scores, strict=True):
            ms = int(pd.Timestamp(ts).value // 1_000_000)
            exists = s.scalar(
                select(Prediction.id).where(
                    Prediction.model_name == name,
                    Prediction.model_version == int(version),
                    Prediction.symbol == symbol,
                    Prediction.ts == ms,
                    Prediction.horizon == horizon,
                )
            )
            if exists is None:
                s.add(
                    Prediction(
                        model_name=name, model_version=int(version), symbol=symbol, ts=ms,
                        horizon=horizon, value=float(value),
                    )
                )  # fmt: skip
                stored += 1
    for symbol, ts, value in zip(rows.symbols, rows.times, scores, strict=True):
        ctx.bus.publish(
            "signals",
            {
                "model": name, "version": version, "symbol": symbol,
                "ts": pd.Timestamp(ts).isoformat(), "value": float(value),
            },
        )  # fmt: skip
    return stored


def evaluate_production_models(
    ctx: AppContext, window: int | None = None, min_ic: float | None = None,
    retrain: bool | None = None, **thresholds: Any,
) -> dict[str, Any]:  # fmt: skip
    """The `evaluation` job: a drift check of each production model
    (`qts.services.ml.monitoring.check_model`) on the last `window` bars after its training
    window only (a model is never scored on bars it was trained on): PSI and KS of its features
    and scores against its training reference, and its realised IC (significantly under
    `min_ic` is a breach). Each check is stored in `model_monitoring`; a breach notifies and
    starts a retraining run (`retrain`). Thresholds (`psi`, `ks`, ... of `DriftThresholds`)
    default to the settings (`QTS_MONITOR_*`)."""
    if not ml_installed():
        return dict(NOT_INSTALLED)
    from qts.core.errors import QtsError
    from qts.services.ml.monitoring import check_model

    report: dict[str, Any] = {}
    retrained: dict[str, Any] = {}
    for name in _production_models(ctx):
        try:
            if load_for_serving(ctx, name)[0].input_kind == "policy":
                report[name] = {"ic": None, "policy": True, "drift": False}
                continue  # no IC or feature drift: a policy is judged by its Sharpe gate
            record = check_model(ctx, name, "production", window, retrain, min_ic=min_ic,
                                 **thresholds)  # fmt: skip
        except QtsError as exc:
            report[name] = {"error": exc.message, "drift": False}
            continue
        report[name] = {"ic": record["ic"], "ic_kind": record["ic_kind"],
                        "samples": record["rows"], "drift": record["breach"],
                        "breaches": record["report"]["breaches"],
                        "monitoring_id": record["id"]}  # fmt: skip
        if "retraining" in record["report"]:
            retrained[name] = {**record["report"]["retraining"],
                               "run_id": record["retraining_run_id"]}  # fmt: skip
    if retrained:
        report["retrained"] = retrained
    return report


def retrain_production_models(ctx: AppContext, only: list[str] | None = None) -> dict[str, Any]:
    """The `retraining` job: train each production model again on all stored bars with its
    recipe's settings, each as a recorded training run; the new version goes to `staging`
    (production stays a person's decision, or the gate's: `QTS_MONITOR_AUTO_PROMOTE`)."""
    if not ml_installed():
        return dict(NOT_INSTALLED)
    from qts.services.ml.monitoring import retrain

    out: dict[str, Any] = {}
    for name in only or _production_models(ctx):
        run_id, outcome = retrain(ctx, name, {"reason": "schedule"})
        out[name] = {**outcome, "run_id": run_id}
    sync_models(ctx)
    return out
