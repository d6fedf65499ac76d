"""The scheduled ML jobs: batch inference every 5 minutes, evaluation weekly (drift triggers
retraining), and retraining daily after the market closes."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from qts.db.models import Prediction
from qts.services.context import AppContext
from qts.services.ml.model_service import (
    NOT_INSTALLED,
    feature_source,
    load_for_serving,
    ml_installed,
    model_and_samples,
    registry,
    stored_bars,
    sync_models,
    trained_as,
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
    ctx: AppContext, window: int = 60, min_ic: float = 0.0
) -> dict[str, Any]:
    """The `evaluation` job: IC of each production model on its latest `window` labelled
    samples after its training window (a model never scores bars it was trained on), built
    with its recipe. An IC at or below `min_ic` is drift: it is reported and triggers
    retraining. Too few samples (under 10) after the training window: no verdict yet."""
    if not ml_installed():
        return dict(NOT_INSTALLED)
    from qts.core.errors import QtsError
    from qts.ml.evaluation.metrics import information_coefficient
    from qts.services.notifications import notify_drift

    report: dict[str, Any] = {}
    for name in _production_models(ctx):
        try:
            model, samples, spec = model_and_samples(ctx, name)
        except QtsError as exc:
            report[name] = {"error": exc.message, "drift": False}
            continue
        if model.input_kind == "policy":  # no IC: judged by its out-of-sample Sharpe gate
            report[name] = {"ic": None, "policy": True, "drift": False}
            continue
        after = np.nonzero(samples.times > pd.Timestamp(spec.train_end))[0][-window:]
        if len(after) < 10:
            report[name] = {"ic": None, "samples": len(after), "drift": False}
            continue
        ic = information_coefficient(
            model.score_signal(model.prepare(samples.X[after])), samples.returns[after]
        )
        drift = bool(ic <= min_ic)
        report[name] = {"ic": ic, "samples": len(after), "drift": drift}
        if drift:
            notify_drift(name, "ic", ic, min_ic)
            ctx.bus.publish("system", {"type": "drift", "model": name, "ic": ic})
    drifted = [n for n, r in report.items() if r["drift"]]
    if drifted:
        report["retrained"] = retrain_production_models(ctx, only=drifted)
    return report


def retrain_production_models(ctx: AppContext, only: list[str] | None = None) -> dict[str, Any]:
    """The `retraining` job: train each production model again on all stored bars with its
    training settings, register the new version and point `staging` at it (promotion to
    production stays a person's decision, or the gate's)."""
    if not ml_installed():
        return dict(NOT_INSTALLED)
    from qts.ml import pipeline

    reg = registry(ctx)
    out: dict[str, Any] = {}
    for name in only or _production_models(ctx):
        spec = trained_as(reg, name)
        result = pipeline.train(
            spec.model_type,
            stored_bars(ctx, spec.symbols, spec.timeframe),
            timeframe=spec.timeframe,
            horizon=spec.horizon,
            epochs=spec.epochs,
            data_dir=None if ctx.settings.mlflow_tracking_uri else ctx.settings.ensure_data_dir(),
            tracking_uri=ctx.settings.mlflow_tracking_uri,
            model_name=name,
            feature_set=spec.features or "technical",
            feature_source=feature_source(ctx),
        )
        reg.promote(name, str(result["version"]), "staging", who="system:retraining")
        out[name] = {"version": int(result["version"]), "oos_ic": result["oos"].get("ic")}
    sync_models(ctx)
    return out
