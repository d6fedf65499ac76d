"""ML history for the dashboard: the training runs, out-of-sample IC over time per model and
feature importance of any registered version."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from qts.api.deps import Ctx, CurrentUser
from qts.api.responses.ml import IcHistoryOut, ImportanceOut, TrainingRunPage
from qts.api.schemas import DbId, Offset
from qts.services.ml import model_history

router = APIRouter(prefix="/ml", tags=["ml"])
ModelName = Annotated[str, Query(min_length=1, max_length=128)]


@router.get("/runs", response_model=TrainingRunPage)
def training_runs(
    ctx: Ctx,
    _user: CurrentUser,
    status: Literal["queued", "running", "done", "failed"] | None = None,
    model_type: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> dict[str, object]:
    """Training runs, newest first, with status, model, metrics and times (no epoch history:
    `GET /ml/runs/{id}` has it)."""
    return model_history.list_training_runs(ctx, status, model_type, limit, offset)


@router.get("/models/{name}/ic", response_model=IcHistoryOut)
def ic_history(
    ctx: Ctx,
    _user: CurrentUser,
    name: str,
    evaluations: Annotated[int, Query(ge=0, le=2000)] = 200,
) -> dict[str, object]:
    """Out-of-sample IC / Rank IC over time: each version's walk-forward folds and the
    evaluation job's runs."""
    return model_history.ic_history(ctx, name, evaluations)


@router.get("/models/{name}/versions/{version}/importance", response_model=ImportanceOut)
def version_importance(
    ctx: Ctx,
    _user: CurrentUser,
    name: str,
    version: DbId,
    top: Annotated[int, Query(ge=1, le=500)] = 30,
) -> dict[str, object]:
    """Feature importance of one registered version (LightGBM gain, or the drop in IC when a
    feature is shuffled)."""
    from qts.services.ml.model_service import importance

    model_history.check_version(ctx, name, version)
    return importance(ctx, name, top=top, version=str(version))
