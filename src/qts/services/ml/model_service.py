"""ML in the product: training runs (background, progress on `training:<run id>` and in
`training_logs`), the model catalogue mirrored from MLflow into `ml_models`, promotion with an
audit record, feature importance, and the scheduled retraining, evaluation and batch inference."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import select

from qts.core.errors import ConfigurationError, NotFoundError, ValidationError
from qts.db.models import MLModel, Prediction, TrainingLog, TrainingRun
from qts.db.repositories.audit import AuditRepository
from qts.services.context import AppContext

log = logging.getLogger(__name__)
MODEL_TYPES = (
    "lstm", "transformer", "tcn", "nbeats", "cnn", "attention", "lightgbm", "stacking",
    "dqn", "ppo", "a2c",  # RL policies (the rl extra)
)  # fmt: skip


def registry(ctx: AppContext) -> Any:
    from qts.ml.registry import ModelRegistry

    if ctx.settings.mlflow_tracking_uri:
        return ModelRegistry(tracking_uri=ctx.settings.mlflow_tracking_uri)
    return ModelRegistry(data_dir=ctx.settings.ensure_data_dir())


def stored_bars(ctx: AppContext, symbols: list[str], timeframe: str) -> dict[str, Any]:
    from qts.services.data.market_data import read_bars

    return {s: read_bars(s, timeframe, db=ctx.db) for s in symbols}


def feature_source(ctx: AppContext) -> Any:
    """The feature store the models read: the SQL offline store of the qts database, the
    online store (Redis when configured, else in-process), side data from the database."""
    from qts.adapters.feature_store_sql import SqlOfflineStore
    from qts.ml.feature_path import FeatureSource
    from qts.services.ml.features import load_fundamentals, load_news, online_store

    return FeatureSource(
        offline=SqlOfflineStore(ctx.db),
        online=online_store(ctx.settings.redis_url or ""),
        fundamentals=lambda symbol: load_fundamentals(ctx.db, symbol),
        news=lambda symbol: load_news(ctx.db, symbol),
    )


# Training runs ------------------------------------------------------------------------------
def create_training_run(ctx: AppContext, request: dict[str, Any], actor: str) -> dict[str, Any]:
    """Check the request (4xx on bad input) and store the run as queued; the caller starts it
    (`run_training` in a thread in embedded mode, the Celery `ml` queue in scale-out)."""
    if not ml_installed():
        raise ConfigurationError(NOT_INSTALLED["skipped"])
    if request["model"] not in MODEL_TYPES:
        raise ValidationError(f"model must be one of {', '.join(MODEL_TYPES)}")
    stored_bars(ctx, request["symbols"], request["timeframe"])  # unknown symbols fail now, as a 4xx
    from qts.ml.features.selection import resolve_features

    resolve_features(request.get("features") or "technical")  # unknown features too
    run_id = str(uuid.uuid4())
    with ctx.db.session() as s:
        s.add(TrainingRun(id=run_id, model_type=request["model"], params=request, created_by=actor))
    return get_run(ctx, run_id)


RESTARTED = "restarted: the worker running this training was lost; trained again from the start"


def run_training(ctx: AppContext, run_id: str) -> dict[str, Any]:
    """Train one stored run to completion (called by the thread or the Celery task)."""
    from qts.ml import pipeline

    with ctx.db.session() as s:
        run = s.get(TrainingRun, run_id)
        if run is None:
            raise NotFoundError(f"training run {run_id} not found")
        if run.status == "done":  # delivered again after it finished (the ack was lost)
            log.warning("training run %s already done; not training it twice", run_id)
            return {"version": (run.metrics or {}).get("version"), "already_done": True}
        if run.status == "running":  # the worker that had it died mid-run (acks-late redelivery)
            s.add(TrainingLog(run_id=run_id, level="warning", message=RESTARTED, data={}))
        request = dict(run.params)
        run.status, run.started_at = "running", datetime.now(UTC)
    topic = f"training:{run_id}"

    def progress(epoch: int, losses: dict[str, float], metrics: dict[str, float]) -> None:
        data = {"run_id": run_id, "epoch": epoch, "losses": losses, "metrics": metrics}
        ctx.bus.publish(topic, data)
        with ctx.db.session() as s:
            s.add(TrainingLog(run_id=run_id, message=f"epoch {epoch}", data=data))

    ctx.bus.publish(topic, {"run_id": run_id, "status": "running"})
    try:
        result = pipeline.train(
            request["model"],
            stored_bars(ctx, request["symbols"], request["timeframe"]),
            timeframe=request["timeframe"],
            horizon=request.get("horizon", 1),
            epochs=request.get("epochs"),
            data_dir=None if ctx.settings.mlflow_tracking_uri else ctx.settings.ensure_data_dir(),
            tracking_uri=ctx.settings.mlflow_tracking_uri,
            model_name=request.get("name"),
            callbacks=[progress],
            feature_set=request.get("features") or "technical",
            feature_source=feature_source(ctx),
            seed=int(request.get("seed") or 0),
            init_from=request.get("init_from"),
        )
    except Exception as e:
        log.exception("training run %s failed", run_id)
        _finish(
            ctx, run_id, "failed", error=getattr(e, "message", None) or f"{type(e).__name__}: {e}"
        )
        ctx.bus.publish(topic, {"run_id": run_id, "status": "failed"})
        raise
    metrics = {
        "oos": result["oos"],
        "backtest": result["backtest"],
        "version": result["version"],
        "model_name": result["model_name"],
        "oos_start": result["oos_start"],
        "oos_end": result["oos_end"],
    }
    _finish(ctx, run_id, "done", metrics=metrics, mlflow_run_id=result["run_id"] or "")
    sync_models(ctx)
    ctx.bus.publish(topic, {"run_id": run_id, "status": "done", "version": result["version"]})
    return result


def _finish(ctx: AppContext, run_id: str, status: str, **values: Any) -> None:
    with ctx.db.session() as s:
        run = s.get(TrainingRun, run_id)
        if run is not None:
            run.status, run.finished_at = status, datetime.now(UTC)
            for key, value in values.items():
                setattr(run, key, value)
            s.add(
                TrainingLog(
                    run_id=run_id,
                    level="error" if status == "failed" else "info",
                    message=f"run {status}",
                    data={"error": values.get("error", "")},
                )
            )


def run_summary(run: TrainingRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "model_type": run.model_type,
        "status": run.status,
        "params": run.params,
        "metrics": run.metrics,
        "error": run.error,
        "mlflow_run_id": run.mlflow_run_id,
        "created_by": run.created_by,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def get_run(ctx: AppContext, run_id: str) -> dict[str, Any]:
    with ctx.db.session() as s:
        run = s.get(TrainingRun, run_id)
        if run is None:
            raise NotFoundError(f"training run {run_id} not found")
        history = [
            {"ts": r.ts.isoformat(), "level": r.level, "message": r.message, "data": r.data}
            for r in s.scalars(
                select(TrainingLog).where(TrainingLog.run_id == run_id).order_by(TrainingLog.id)
            )
        ]
        return {
            **run_summary(run),
            "history": history,
        }


# The model catalogue --------------------------------------------------------------------------
def sync_models(ctx: AppContext) -> list[dict[str, Any]]:
    """Mirror MLflow's registered models (versions, aliases, metrics, recipes) into
    `ml_models`; a version's recipe lands in `params` (the normaliser's arrays stay in MLflow)."""
    reg = registry(ctx)
    models = reg.list_models()
    with ctx.db.session() as s:
        for m in models:
            for v in m["versions"]:
                row = s.scalar(
                    select(MLModel).where(
                        MLModel.name == m["name"], MLModel.version == int(v["version"])
                    )
                )
                if row is None:
                    row = MLModel(
                        name=m["name"],
                        version=int(v["version"]),
                        model_type=v["tags"].get("model_type", ""),
                    )
                    s.add(row)
                row.aliases, row.metrics, row.mlflow_run_id = (
                    v["aliases"],
                    v["metrics"],
                    v["run_id"] or "",
                )
                if not row.params and "universe_hash" in v["tags"]:
                    recipe = reg.recipe(m["name"], v["version"])
                    row.params = {"recipe": recipe.to_dict() | {"normalizer": None}}
    return models


def list_models(ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        rows = s.scalars(select(MLModel).order_by(MLModel.name, MLModel.version)).all()
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            entry = out.setdefault(
                r.name, {"name": r.name, "model_type": r.model_type, "aliases": {}, "versions": []}
            )
            for alias in r.aliases:
                entry["aliases"][alias] = r.version
            entry["versions"].append(
                {
                    "version": r.version,
                    "aliases": r.aliases,
                    "metrics": r.metrics,
                    "mlflow_run_id": r.mlflow_run_id,
                    "recipe": (r.params or {}).get("recipe"),
                    "created_at": r.created_at.isoformat(),
                }
            )
    return list(out.values())


def promote(
    ctx: AppContext, name: str, version: str, alias: str, actor: str, gate: bool
) -> dict[str, Any]:
    from qts.services.notifications import notify_model_promotion

    record = registry(ctx).promote(name, str(version), alias, who=actor, gate=gate).to_dict()
    with ctx.db.session() as s:
        AuditRepository(s).record(actor, "model.promote", f"{name}:{version}", record)
    sync_models(ctx)
    notify_model_promotion(name, str(version), alias)
    ctx.bus.publish("system", {"type": "model_promotion", **record})
    return record


@dataclass(frozen=True)
class TrainedAs:
    """How a registered version was trained: what to feed it, and how to train it again."""

    name: str
    version: str
    model_type: str
    symbols: list[str]
    timeframe: str
    horizon: int
    lookback: int
    epochs: int | None  # None: the model config's default
    features: str = ""  # the feature spec of its recipe ("" before recipes)
    train_end: str = ""


def trained_as(
    reg: Any, name: str, alias: str = "production", version: str | None = None
) -> TrainedAs:
    version = version or reg.version_for_alias(name, alias)
    if version is None:
        raise NotFoundError(f"model {name} has no {alias} version")
    params = reg.training_params(name, version)
    recipe = reg.recipe(name, version)
    return TrainedAs(
        name=name,
        version=version,
        model_type=params.get("model_type", ""),
        symbols=list(recipe.universe)
        if recipe
        else [s for s in params.get("symbols", "").split(",") if s],
        timeframe=params.get("timeframe", "1d"),
        horizon=int(params.get("horizon", 1)),
        lookback=int(params.get("lookback", 1)),
        epochs=int(params["config.epochs"]) if params.get("config.epochs", "").isdigit() else None,
        features=",".join(f.name for f in recipe.features) if recipe else "",
        train_end=recipe.train_end if recipe else "",
    )


def load_for_serving(
    ctx: AppContext, name: str, alias: str = "production", version: str | None = None
) -> tuple[Any, Any]:
    """The version an alias points at and its recipe; refuses versions without one (registered
    before recipes: nothing says which features they take) or whose features changed."""
    reg = registry(ctx)
    version = version or reg.version_for_alias(name, alias)
    if version is None:
        raise NotFoundError(f"model {name} has no {alias} version")
    model, recipe = reg.load_with_recipe(name, version=version)
    if recipe is None:
        raise ValidationError(
            f"model {name} v{version} was registered without a recipe (its features are "
            "unknown): train it again"
        )
    return model, recipe


def model_and_samples(
    ctx: AppContext, name: str, alias: str = "production", version: str | None = None
) -> tuple[Any, Any, TrainedAs]:
    """A registered version, and samples built from the feature store the way it was trained
    (its recipe's features, universe, timeframe, horizon and lookback)."""
    from qts.ml.samples import build_store_samples

    model, recipe = load_for_serving(ctx, name, alias, version)
    spec = trained_as(registry(ctx), name, alias, version)
    bars = stored_bars(ctx, list(recipe.universe), recipe.timeframe)
    samples, _ = build_store_samples(
        bars, recipe.horizon, recipe.lookback, recipe.timeframe, recipe.definitions(),
        feature_source(ctx),
    )  # fmt: skip
    if samples.feature_names != recipe.columns:
        raise ValidationError(f"model {name}: its features now give other columns than in training")
    return model, samples, spec


def importance(
    ctx: AppContext, name: str, alias: str = "production", top: int = 30, version: str | None = None
) -> dict[str, Any]:
    """LightGBM gain for tree models; permutation importance (drop in IC when a feature is
    shuffled) on the latest fifth of the stored data for any other model."""
    from qts.ml.evaluation.importance import lightgbm_gain, permutation_importance

    model, samples, spec = model_and_samples(ctx, name, alias, version)
    try:
        scores = lightgbm_gain(model, samples.feature_names)
        method = "lightgbm_gain"
    except TypeError:
        recent = slice(int(len(samples.X) * 0.8), None)
        X, y = model.prepare(samples.X[recent]), samples.returns[recent]
        scores = permutation_importance(model, X, y, samples.feature_names, repeats=2)
        method = "permutation_ic"
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:top]
    return {**asdict(spec), "method": method, "importance": {k: float(v) for k, v in ranked}}


def ml_installed() -> bool:
    """Whether the `ml` extra (MLflow, PyTorch, LightGBM) is installed in this environment."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("mlflow", "torch", "lightgbm"))


NOT_INSTALLED = {"skipped": "the ml extra is not installed (pip install 'qts[ml]')"}


def list_predictions(
    ctx: AppContext, model: str | None, symbol: str | None, limit: int
) -> list[dict[str, Any]]:
    q = select(Prediction).order_by(Prediction.ts.desc(), Prediction.id.desc()).limit(limit)
    if model:
        q = q.where(Prediction.model_name == model)
    if symbol:
        q = q.where(Prediction.symbol == symbol)
    with ctx.db.session() as s:
        return [
            {
                "model": p.model_name,
                "version": p.model_version,
                "symbol": p.symbol,
                "ts": pd.Timestamp(p.ts, unit="ms", tz="UTC").isoformat(),
                "horizon": p.horizon,
                "value": p.value,
            }
            for p in s.scalars(q)
        ]
