"""What the ML pages show over time: the training runs, and each model's out-of-sample IC per
walk-forward fold of every registered version (from the version's MLflow `result.json`, kept
in `ml_models.params["folds"]` once read) and per run of the `evaluation` job."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from qts.core.errors import NotFoundError
from qts.db.models import JobRun, MLModel, TrainingRun
from qts.services.context import AppContext
from qts.services.ml.model_service import run_summary

log = logging.getLogger(__name__)
# Per fold: the IC figures of a cross-sectional model, or the correlations of a one-symbol one.
FOLD_FIGURES = {"cross_sectional": ("ic", "rank_ic"), "time_series": ("ts_corr", "ts_rank_corr")}


def list_training_runs(
    ctx: AppContext,
    status: str | None = None,
    model_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Training runs, newest first, without their per-epoch history (`GET /ml/runs/{id}`)."""
    q, count = select(TrainingRun), select(func.count()).select_from(TrainingRun)
    if status:
        q, count = q.where(TrainingRun.status == status), count.where(TrainingRun.status == status)
    if model_type:
        q = q.where(TrainingRun.model_type == model_type)
        count = count.where(TrainingRun.model_type == model_type)
    q = q.order_by(TrainingRun.created_at.desc(), TrainingRun.id).limit(limit).offset(offset)
    with ctx.db.session() as s:
        items = [run_summary(r) for r in s.scalars(q)]
        total = s.scalar(count) or 0
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _result_folds(ctx: AppContext, mlflow_run_id: str) -> list[dict[str, Any]]:
    """The walk-forward folds logged with a version's training run (none if not logged)."""
    from qts.services.ml.model_service import registry

    if not mlflow_run_id:
        return []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = registry(ctx).client.download_artifacts(mlflow_run_id, "result.json", tmp)
            folds = json.loads(Path(path).read_text(encoding="utf-8")).get("folds") or []
    except Exception as exc:  # an artefact store out of reach: the page shows what it has
        log.warning("no folds for run %s: %s", mlflow_run_id, exc)
        return []
    # NaN (a fold too short for a figure) is not JSON that PostgreSQL keeps: store None.
    return [
        {k: _number(v) if isinstance(v, float) else v for k, v in f.items()}
        for f in folds
        if isinstance(f, dict)
    ]


def _version_folds(ctx: AppContext, name: str) -> list[tuple[int, list[str], list[dict[str, Any]]]]:
    """(version, aliases, folds) of each registered version; folds read once, then kept."""
    with ctx.db.session() as s:
        rows = s.scalars(select(MLModel).where(MLModel.name == name).order_by(MLModel.version))
        versions = [(r.id, r.version, list(r.aliases), r.mlflow_run_id, r.params) for r in rows]
    if not versions:
        raise NotFoundError(f"model {name} not found")
    out = []
    for row_id, version, aliases, run_id, params in versions:
        folds = (params or {}).get("folds")
        if folds is None:
            folds = _result_folds(ctx, run_id)
            with ctx.db.session() as s:
                row = s.get(MLModel, row_id)
                if row is not None and folds:
                    row.params = {**(row.params or {}), "folds": folds}
        out.append((version, aliases, folds))
    return out


def _fold_point(version: int, fold: dict[str, Any]) -> dict[str, Any]:
    kind = "cross_sectional" if "ic" in fold else "time_series"
    ic_key, rank_key = FOLD_FIGURES[kind]
    return {
        "source": "walk_forward", "version": version, "fold": fold.get("fold"),
        "start": fold.get("test_start"), "end": fold.get("test_end"), "kind": kind,
        "ic": _number(fold.get(ic_key)), "rank_ic": _number(fold.get(rank_key)),
        "samples": _number(fold.get("test")),
    }  # fmt: skip


def _evaluation_points(ctx: AppContext, name: str, limit: int) -> list[dict[str, Any]]:
    """The `evaluation` job's IC of the model (production version, after its training window)."""
    q = (
        select(JobRun)
        .where(JobRun.job_name == "evaluation", JobRun.outcome == "success")
        .order_by(JobRun.started_at.desc())
        .limit(limit)
    )
    points = []
    with ctx.db.session() as s:
        for run in s.scalars(q):
            report = (run.result or {}).get(name)
            if not isinstance(report, dict) or report.get("ic") is None:
                continue
            at = (run.finished_at or run.started_at).isoformat()
            points.append({
                "source": "evaluation", "version": None, "fold": None, "start": at, "end": at,
                "kind": "evaluation", "ic": _number(report["ic"]), "rank_ic": None,
                "samples": _number(report.get("samples")),
            })  # fmt: skip
    return points[::-1]


def ic_history(ctx: AppContext, name: str, evaluations: int = 200) -> dict[str, Any]:
    """Out-of-sample IC over time: every version's walk-forward folds (by test window) and the
    latest `evaluations` runs of the evaluation job, each list in time order."""
    versions, points = [], []
    for version, aliases, folds in _version_folds(ctx, name):
        fold_points = [_fold_point(version, f) for f in folds]
        points += fold_points
        ics = [p["ic"] for p in fold_points if p["ic"] is not None]
        versions.append({
            "version": version, "aliases": aliases, "folds": len(fold_points),
            "mean_ic": sum(ics) / len(ics) if ics else None,
        })  # fmt: skip
    points.sort(key=lambda p: (p["start"] or "", p["version"]))
    return {
        "model": name,
        "versions": versions,
        "points": points,
        "evaluations": _evaluation_points(ctx, name, evaluations),
    }


def check_version(ctx: AppContext, name: str, version: int) -> None:
    with ctx.db.session() as s:
        found = s.scalar(select(MLModel.id).where(MLModel.name == name, MLModel.version == version))
    if found is None:
        raise NotFoundError(f"model {name} has no version {version}")


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and out not in (float("inf"), float("-inf")) else None
