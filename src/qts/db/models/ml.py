"""ML metadata mirrored from MLflow, predictions, feature definitions and training runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qts.db.base import Base, utcnow


class MLModel(Base):
    __tablename__ = "ml_models"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column()
    model_type: Mapped[str] = mapped_column(String(32))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mlflow_run_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Prediction(Base):
    __tablename__ = "ml_predictions"
    __table_args__ = (
        Index("ix_ml_predictions_lookup", "model_name", "symbol", "ts"),
        UniqueConstraint("model_name", "model_version", "symbol", "ts", "horizon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[int] = mapped_column()
    symbol: Mapped[str] = mapped_column(String(64))
    ts: Mapped[int] = mapped_column(BigInteger)  # epoch ms of the bar the prediction is for
    horizon: Mapped[int] = mapped_column(default=1)
    value: Mapped[float] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(8), default=None)  # buy|sell|hold
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeatureDefinition(Base):
    __tablename__ = "feature_definitions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(32))
    group: Mapped[str] = mapped_column(String(32), default="custom")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inputs: Mapped[list[Any]] = mapped_column(default=list)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingRun(Base):
    __tablename__ = "training_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mlflow_run_id: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingLog(Base):
    __tablename__ = "training_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("training_runs.id", ondelete="CASCADE"), index=True
    )
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(String(8), default="info")
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ModelMonitoring(Base):
    """One drift check of a model version (`qts.services.ml.monitoring`): PSI/KS of its features
    and scores and its realised IC on bars after its training window; the full report in
    `report`, the retraining run a breach started in `retraining_run_id`."""

    __tablename__ = "model_monitoring"
    __table_args__ = (Index("ix_model_monitoring_lookup", "model_name", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[int] = mapped_column()
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    window_start: Mapped[int | None] = mapped_column(BigInteger, default=None)  # epoch ms
    window_end: Mapped[int | None] = mapped_column(BigInteger, default=None)  # epoch ms
    rows: Mapped[int] = mapped_column(default=0)
    breach: Mapped[bool] = mapped_column(default=False)
    max_feature_psi: Mapped[float | None] = mapped_column(Float, default=None)
    prediction_psi: Mapped[float | None] = mapped_column(Float, default=None)
    prediction_ks: Mapped[float | None] = mapped_column(Float, default=None)
    ic: Mapped[float | None] = mapped_column(Float, default=None)
    ic_kind: Mapped[str] = mapped_column(String(8), default="")
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    retraining_run_id: Mapped[str | None] = mapped_column(String(36), default=None)
