"""ML: models and versions, training runs, promotion, feature importance, predictions (stored,
and scored now), model monitoring."""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import Field, field_validator

from qts.api.deps import Admin, Ctx, CurrentUser, Trader
from qts.api.responses.ml import (
    ImportanceOut,
    ModelOut,
    PredictionOut,
    PromotionOut,
    TrainingRunOut,
)
from qts.api.schemas import MAX_DB_INT, TIMEFRAME_PATTERN, StrictModel
from qts.services.ml import model_service as ml
from qts.services.ml import monitoring
from qts.services.ml.model_strategies import predict_now
from qts.services.ml.schemas import (
    MonitoringRecord,
    MonitoringRequest,
    PredictRequest,
    PredictResponse,
)

router = APIRouter(prefix="/ml", tags=["ml"])
ModelType = Literal[
    "lstm", "transformer", "tcn", "nbeats", "cnn", "attention", "lightgbm", "stacking"
]


class TrainBody(StrictModel):
    model: ModelType
    symbols: list[str] = Field(min_length=1, max_length=200)
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    horizon: int = Field(default=1, ge=1, le=250)
    epochs: int | None = Field(default=None, ge=1, le=1000)
    name: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[\w.-]+$")
    # Feature groups and names of the feature registry: comma-separated, or a list.
    features: str | list[str] = Field(default="technical", min_length=1, max_length=500)
    seed: int = Field(default=0, ge=0, le=MAX_DB_INT)  # model init and walk-forward folds

    @field_validator("features")
    @classmethod
    def _feature_spec(cls, value: str | list[str]) -> str:
        spec = value if isinstance(value, str) else ",".join(value)
        if not re.fullmatch(r"[\w., -]{1,500}", spec):
            raise ValueError("features are names of feature groups or definitions")
        return spec

    # Fine-tuning: the final fit starts from this registered version (NAME@alias, NAME/version).
    init_from: str | None = Field(default=None, max_length=160, pattern=r"^[\w.-]+(@[\w.-]+|/\d+)$")


class PromoteBody(StrictModel):
    version: int = Field(ge=1, le=MAX_DB_INT)
    alias: Literal["staging", "production"] = "production"
    gate: bool = False


@router.get("/models", response_model=list[ModelOut])
def models(ctx: Ctx, _user: CurrentUser) -> list[dict[str, Any]]:
    """Registered models: versions, aliases and their metrics (mirrored from MLflow)."""
    return ml.list_models(ctx)


@router.post("/train", status_code=status.HTTP_202_ACCEPTED, response_model=TrainingRunOut)
def train(ctx: Ctx, user: Trader, body: TrainBody) -> dict[str, Any]:
    """Start a training run in the background; follow it on `GET /ml/runs/{id}` or the
    WebSocket topic `training:<id>`."""
    run = ml.create_training_run(ctx, body.model_dump(), user.username)
    if ctx.settings.mode == "scale-out":
        from qts.workers.dispatch import send_training

        send_training(run["id"])
    else:
        threading.Thread(
            target=_train_quietly, args=(ctx, run["id"]), daemon=True, name=f"train-{run['id'][:8]}"
        ).start()
    return run


def _train_quietly(ctx: Any, run_id: str) -> None:
    with contextlib.suppress(Exception):  # the error is stored with the run by run_training
        ml.run_training(ctx, run_id)


@router.get("/runs/{run_id}", response_model=TrainingRunOut)
def run(ctx: Ctx, _user: CurrentUser, run_id: str) -> dict[str, Any]:
    """Status, metrics and the per-epoch history of a training run."""
    return ml.get_run(ctx, run_id)


@router.post("/models/{name}/promote", response_model=PromotionOut)
def promote(ctx: Ctx, user: Admin, name: str, body: PromoteBody) -> dict[str, Any]:
    """Point an alias at a version; with `gate`, only if it beats the current one out of
    sample (Sharpe and IC). Recorded in the audit log."""
    return ml.promote(ctx, name, str(body.version), body.alias, user.username, body.gate)


@router.get("/models/{name}/importance", response_model=ImportanceOut)
def importance(
    ctx: Ctx,
    _user: CurrentUser,
    name: str,
    alias: Literal["staging", "production"] = "production",
    top: Annotated[int, Query(ge=1, le=500)] = 30,
) -> dict[str, Any]:
    return ml.importance(ctx, name, alias, top)


@router.get("/predictions", response_model=list[PredictionOut])
def predictions(
    ctx: Ctx,
    _user: CurrentUser,
    model: str | None = None,
    symbol: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> list[dict[str, Any]]:
    return ml.list_predictions(ctx, model, symbol, limit)


@router.post("/predict")
def predict(ctx: Ctx, _user: CurrentUser, body: PredictRequest) -> PredictResponse:
    """Score the newest stored bar of each symbol with a registered version: features from
    the online store (computed on demand), scores and signals; the model stays loaded."""
    return PredictResponse.model_validate(predict_now(ctx, body.model, body.symbols))


@router.get("/models/{name}/monitoring")
def monitoring_checks(
    ctx: Ctx, _user: CurrentUser, name: str, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[MonitoringRecord]:
    """Stored drift checks of the model, newest first: PSI and KS per feature and of the
    scores against the training reference, and the realised IC after the training window."""
    return [MonitoringRecord.model_validate(r) for r in monitoring.list_checks(ctx, name, limit)]


@router.post("/models/{name}/monitoring")
def run_monitoring(ctx: Ctx, _user: Trader, name: str, body: MonitoringRequest) -> MonitoringRecord:
    """Run a drift check now (stored; a breach notifies, and with `retrain` starts retraining)."""
    record = monitoring.check_model(ctx, name, body.alias, body.window, body.retrain)
    return MonitoringRecord.model_validate(record)
