"""Model monitoring: a drift check of a served version, stored in `model_monitoring`.

`check_model` reads the version's drift reference (saved at training, `qts.ml.monitoring`),
builds samples of the stored bars with its recipe through the feature store, keeps only bars
after its training window (the last `monitor_window_bars` of them), and measures PSI and KS of
each feature and of the scores, and the realised IC. A breach is stored, sent through the
notification rules (event kind `drift`), published on `system`, and starts a retraining run
(a `training_runs` row; the new version goes to `staging`, and to `production` only through
the promotion gate, when `monitor_auto_promote` is set). Thresholds come from the settings.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from qts.core.errors import NotFoundError, QtsError, ValidationError
from qts.db.models import ModelMonitoring
from qts.services.context import AppContext
from qts.services.ml.model_service import (
    create_training_run,
    feature_source,
    load_for_serving,
    promote,
    registry,
    run_training,
    stored_bars,
    trained_as,
)

log = logging.getLogger(__name__)


def thresholds_from(ctx: AppContext, **overrides: Any) -> Any:
    from qts.ml.monitoring import DriftThresholds

    s = ctx.settings
    values: dict[str, Any] = {"psi": s.monitor_psi, "ks": s.monitor_ks, "ks_pvalue": s.monitor_ks_pvalue,
              "min_ic": s.monitor_min_ic, "ic_t": s.monitor_ic_t,
              "min_rows": s.monitor_min_rows}  # fmt: skip
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DriftThresholds(**values)


def recent_samples(ctx: AppContext, recipe: Any, window: int) -> Any:
    """Samples of the stored bars built with the recipe, only bars after its training window,
    the last `window` bar times of them."""
    from qts.ml.monitoring import after_window
    from qts.ml.samples import build_store_samples

    bars = stored_bars(ctx, list(recipe.universe), recipe.timeframe)
    samples, _ = build_store_samples(
        bars, recipe.horizon, recipe.lookback, recipe.timeframe, recipe.definitions(),
        feature_source(ctx), label=str(recipe.label.get("label", "next_open")),
    )  # fmt: skip
    if samples.feature_names != recipe.columns:
        raise ValidationError("the model's features now give other columns than in training")
    rows = np.nonzero(after_window(samples.times, recipe.train_end))[0]
    stamps = np.unique(samples.times.asi8[rows])[-window:]
    rows = rows[np.isin(samples.times.asi8[rows], stamps)]
    return samples.take(rows)


def check_model(
    ctx: AppContext, name: str, alias: str = "production", window: int | None = None,
    retrain: bool | None = None, **thresholds: Any,
) -> dict[str, Any]:  # fmt: skip
    """One drift check of `name@alias`, stored; returns the stored record."""
    from qts.ml.monitoring import Reference, drift_report

    reg = registry(ctx)
    version = reg.version_for_alias(name, alias)
    if version is None:
        raise NotFoundError(f"model {name} has no {alias} version")
    model, recipe = load_for_serving(ctx, name, alias)
    raw = reg.reference(name, version)
    reference = Reference.from_dict(raw) if raw is not None else None
    recent = recent_samples(ctx, recipe, int(window or ctx.settings.monitor_window_bars))
    limits = thresholds_from(ctx, **thresholds)
    report = drift_report(reference, model, recent, limits)
    report.update(alias=alias, train_end=recipe.train_end, thresholds=vars(limits),
                  reference=reference is not None)  # fmt: skip
    record = _store(ctx, name, int(version), recent, report)
    if report["breaches"]:
        _alert(ctx, name, version, report)
        if ctx.settings.monitor_retrain if retrain is None else retrain:
            record = _retrain_after_breach(ctx, name, record)
    return record


def _ms(ts: Any) -> int:
    return int(pd.Timestamp(ts).value // 1_000_000)


def _number(value: Any) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _store(
    ctx: AppContext, name: str, version: int, recent: Any, report: dict[str, Any]
) -> dict[str, Any]:
    psis = [f["psi"] for f in report["features"].values() if np.isfinite(f["psi"])]
    prediction = report["prediction"] or {}
    row = ModelMonitoring(
        model_name=name, model_version=version, rows=report["rows"],
        window_start=_ms(recent.times.min()) if len(recent.X) else None,
        window_end=_ms(recent.times.max()) if len(recent.X) else None,
        breach=bool(report["breaches"]), max_feature_psi=max(psis) if psis else None,
        prediction_psi=_number(prediction.get("psi")), prediction_ks=_number(prediction.get("ks")),
        ic=_number(report["ic"]["value"]), ic_kind=report["ic"]["kind"], report=_jsonable(report),
    )  # fmt: skip
    with ctx.db.session() as s:
        s.add(row)
        s.flush()
        return _record(row)


def _jsonable(value: Any) -> Any:
    """NaN and infinities become None (JSON has none); numpy scalars become floats."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


def _record(row: ModelMonitoring) -> dict[str, Any]:
    def when(ms: int | None) -> str | None:
        return None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC").isoformat()

    return {
        "id": row.id, "model": row.model_name, "version": row.model_version,
        "checked_at": row.checked_at.isoformat(), "window_start": when(row.window_start),
        "window_end": when(row.window_end), "rows": row.rows, "breach": row.breach,
        "max_feature_psi": row.max_feature_psi, "prediction_psi": row.prediction_psi,
        "prediction_ks": row.prediction_ks, "ic": row.ic, "ic_kind": row.ic_kind,
        "retraining_run_id": row.retraining_run_id, "report": row.report,
    }  # fmt: skip


def _alert(ctx: AppContext, name: str, version: str, report: dict[str, Any]) -> None:
    from qts.services.notifications import EventKind, notify

    lines = [f"{b['metric']} of {b['column']} = {b['value']:.4g} (threshold {b['threshold']:.4g})"
             for b in report["breaches"]]  # fmt: skip
    notify(EventKind.DRIFT, f"Drift detected for {name} v{version}", "; ".join(lines),
           rows=report["rows"])  # fmt: skip
    ctx.bus.publish("system", {"type": "drift", "model": name, "version": version,
                               "breaches": _jsonable(report["breaches"])})  # fmt: skip


def _retrain_after_breach(ctx: AppContext, name: str, record: dict[str, Any]) -> dict[str, Any]:
    try:
        run_id, outcome = retrain(ctx, name, {"reason": "drift", "monitoring_id": record["id"]})
    except QtsError as exc:
        log.warning("retraining %s after drift failed: %s", name, exc.message)
        run_id, outcome = None, {"error": exc.message}
    with ctx.db.session() as s:
        row = s.get(ModelMonitoring, record["id"])
        assert row is not None
        row.retraining_run_id = run_id
        row.report = {**row.report, "retraining": _jsonable(outcome)}
        return _record(row)


def retrain(
    ctx: AppContext, name: str, trigger: dict[str, Any], alias: str = "production"
) -> tuple[str, dict[str, Any]]:
    """Train `name@alias` again on all stored bars with its recipe's settings, as a recorded
    training run (`created_by` system:retraining); the new version goes to `staging`, and
    with `monitor_auto_promote` to production only if it passes the promotion gate."""
    spec = trained_as(registry(ctx), name, alias)
    request = {"model": spec.model_type, "symbols": spec.symbols, "timeframe": spec.timeframe,
               "horizon": spec.horizon, "epochs": spec.epochs, "name": name,
               "features": spec.features or "technical", "trigger": trigger}  # fmt: skip
    if ctx.settings.monitor_retrain_warm_start:  # fine-tune the served version on new bars
        request["init_from"] = f"{name}@{alias}"
    run = create_training_run(ctx, request, "system:retraining")
    try:
        result = run_training(ctx, run["id"])
    except Exception as exc:  # stored with the run by run_training
        return run["id"], {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    version = str(result["version"])
    outcome: dict[str, Any] = {"status": "done", "version": int(version),
                               "oos_ic": result["oos"].get("ic")}  # fmt: skip
    promote(ctx, name, version, "staging", "system:retraining", gate=False)
    if ctx.settings.monitor_auto_promote:
        try:
            promote(ctx, name, version, "production", "system:retraining", gate=True)
            outcome["production"] = "promoted: passed the gate"
        except QtsError as exc:
            outcome["production"] = f"kept: {exc.message}"
    return run["id"], outcome


def list_checks(ctx: AppContext, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """The model's stored checks, newest first."""
    q = (
        select(ModelMonitoring)
        .where(ModelMonitoring.model_name == name)
        .order_by(ModelMonitoring.checked_at.desc(), ModelMonitoring.id.desc())
        .limit(limit)
    )
    with ctx.db.session() as s:
        return [_record(r) for r in s.scalars(q)]
