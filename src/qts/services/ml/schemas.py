"""Typed requests and records of the ML services: predictions now, and model monitoring."""

from __future__ import annotations

from pydantic import Field

from qts.services.schemas import Record, Request

MODEL_REF_PATTERN = r"^[\w.-]+(@[\w.-]+|/\d+)?$"


class PredictRequest(Request):
    """Score the newest stored bar of each symbol with a registered version."""

    model: str = Field(min_length=1, max_length=160, pattern=MODEL_REF_PATTERN,
                       description="NAME@alias, NAME/version or NAME (= NAME@production)")  # fmt: skip
    symbols: list[str] | None = Field(default=None, min_length=1, max_length=500,
                                      description="default: the version's universe")  # fmt: skip


class SignalRecord(Record):
    direction: int = Field(description="-1 sell, 0 hold, 1 buy")
    label: str
    confidence: float | None
    expected_return: float | None


class PredictionRecord(Record):
    model: str
    version: str
    symbol: str
    ts: str = Field(description="the bar scored (ISO time)")
    value: float = Field(description="the model's score")
    horizon: int
    signal: SignalRecord
    latency_ms: float = Field(description="feature fetch and scoring of the whole request")


class PredictResponse(Record):
    model: str
    model_version: str
    model_type: str
    train_start: str
    train_end: str
    predictions: list[PredictionRecord]
    unscored: list[str] = Field(
        description="symbols without a score: too few bars, features "
        "not finite, or the newest bar inside the training window"
    )


class MonitoringRequest(Request):
    alias: str = Field(default="production", pattern=r"^[\w.-]+$", max_length=64)
    window: int | None = Field(default=None, ge=5, le=100_000)
    retrain: bool = False


class ColumnDrift(Record):
    """PSI and KS of one feature column (or of the scores) against its training reference."""

    psi: float | None
    ks: float | None
    ks_pvalue: float | None
    mean: float | None
    ref_mean: float | None
    breach: list[str] = Field(description="the metrics over their thresholds: psi, ks")


class RealisedIc(Record):
    kind: str = Field(description="ic: per-timestamp cross-section; ts_corr: one symbol")
    value: float | None
    se: float | None
    n: int = Field(description="timestamps (ic) or bars (ts_corr) it rests on")
    t_vs_floor: float | None = None


class DriftBreach(Record):
    metric: str = Field(description="psi, ks, ic or ts_corr")
    column: str
    value: float | None
    threshold: float


class RetrainingOutcome(Record):
    status: str | None = None  # done or failed
    version: int | None = None
    oos_ic: float | None = None
    production: str | None = None  # what the gate decided when auto-promotion is on
    error: str | None = None


class MonitoringReport(Record):
    rows: int
    ic: RealisedIc
    features: dict[str, ColumnDrift]
    prediction: ColumnDrift | None
    breaches: list[DriftBreach]
    verdict: bool = Field(description="false: too few rows after the window for a verdict")
    alias: str | None = None
    train_end: str | None = None
    thresholds: dict[str, float] | None = None
    reference: bool | None = None
    retraining: RetrainingOutcome | None = None


class MonitoringRecord(Record):
    """One stored drift check (`model_monitoring`)."""

    id: int
    model: str
    version: int
    checked_at: str
    window_start: str | None
    window_end: str | None
    rows: int
    breach: bool
    max_feature_psi: float | None
    prediction_psi: float | None
    prediction_ks: float | None
    ic: float | None
    ic_kind: str = Field(description="ic: per-timestamp cross-section; ts_corr: one symbol")
    retraining_run_id: str | None
    report: MonitoringReport
