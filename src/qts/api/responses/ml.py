"""Bodies of /api/v1/ml/*."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from qts.api.responses.common import MetricValue, OpenModel

OosValue = float | bool | None  # a figure, or a flag such as `cross_sectional`


class FeatureUseOut(OpenModel):
    name: str
    version: str
    code_hash: str
    group: str
    columns: list[str]
    params: dict[str, Any]
    missing_as_zero: bool = False


class RecipeOut(OpenModel):
    """How a version was trained: what to feed it at inference."""

    model_type: str
    feature_spec: str
    features: list[FeatureUseOut]
    label: dict[str, str | int | float | None]
    universe: list[str]
    timeframe: str
    horizon: int
    lookback: int
    train_start: str
    train_end: str
    universe_tag: str | None = None


class ModelVersionOut(BaseModel):
    version: int
    aliases: list[str]
    metrics: dict[str, MetricValue]
    mlflow_run_id: str
    recipe: RecipeOut | None  # None for versions registered before recipes
    created_at: str


class ModelOut(BaseModel):
    name: str
    model_type: str
    aliases: dict[str, int]  # alias -> version
    versions: list[ModelVersionOut]


class TrainingLogOut(BaseModel):
    ts: str
    level: str
    message: str
    data: dict[str, Any]  # per epoch: {"epoch", "losses", "metrics"}


class TrainingRunMetrics(OpenModel):
    """Set when a run is done: out-of-sample figures, backtest, registered version."""

    oos: dict[str, OosValue] | None = None
    backtest: dict[str, dict[str, OosValue]] | None = None  # model | buy_and_hold | naive
    version: str | int | None = None
    model_name: str | None = None
    oos_start: str | None = None
    oos_end: str | None = None
    folds: list[dict[str, OosValue | str]] | None = None


class TrainingRunSummary(BaseModel):
    id: str
    model_type: str
    status: str  # queued | running | done | failed
    params: dict[str, Any]  # the training request as given
    metrics: TrainingRunMetrics
    error: str
    mlflow_run_id: str
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None


class TrainingRunOut(TrainingRunSummary):
    history: list[TrainingLogOut]


class PromotionTarget(BaseModel):
    model: str
    version: str
    alias: str
    previous_version: str | None


class PromotionOut(BaseModel):
    who: str
    what: PromotionTarget
    when: str
    gate: dict[str, Any]  # the gate's comparison (empty without `gate`)


class ImportanceOut(BaseModel):
    name: str
    version: str
    model_type: str
    symbols: list[str]
    timeframe: str
    horizon: int
    lookback: int
    epochs: int | None
    features: str
    train_end: str
    method: str  # lightgbm_gain | permutation_ic
    importance: dict[str, float] = Field(description="feature -> score, largest first")


class PredictionOut(BaseModel):
    model: str
    version: int
    symbol: str
    ts: str
    horizon: int
    value: float


class TrainingRunPage(BaseModel):
    items: list[TrainingRunSummary]
    total: int
    limit: int
    offset: int


class IcPoint(BaseModel):
    """One out-of-sample IC figure: a walk-forward fold of a version (its test window) or a
    run of the evaluation job (the production version on bars after its training window)."""

    source: Literal["walk_forward", "evaluation"]
    version: int | None  # None for evaluations (the production version of the time)
    fold: int | None
    start: str | None
    end: str | None
    kind: Literal["cross_sectional", "time_series", "evaluation"]
    ic: float | None  # daily cross-sectional IC, or the time-series correlation of one symbol
    rank_ic: float | None
    samples: float | None


class IcVersion(BaseModel):
    version: int
    aliases: list[str]
    folds: int
    mean_ic: float | None


class IcHistoryOut(BaseModel):
    model: str
    versions: list[IcVersion]
    points: list[IcPoint]  # walk-forward folds, by test window
    evaluations: list[IcPoint]  # evaluation job runs, oldest first
