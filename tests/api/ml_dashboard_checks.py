"""Checks of the ML pages' history endpoints, run inside tests/api/test_ml_api.py on its real
trained, registered and promoted model (one training run serves both: training dominates the
time): the training run list, out-of-sample IC per walk-forward fold and per evaluation job run,
feature importance of a given version, and the seed and feature list of the request."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from qts.services.ml.model_service import registry
from qts.services.ops.jobs import run_job


def check_training_request(client: TestClient, h: dict[str, str], body: dict[str, Any]) -> None:
    """A feature list is joined into the spec; bad names and seeds are refused."""
    bad = client.post("/api/v1/ml/train", headers=h, json={**body, "features": ["basic;drop"]})
    assert bad.status_code == 422
    assert client.post("/api/v1/ml/train", headers=h, json={**body, "seed": -1}).status_code == 422


def check_ml_history(
    client: TestClient, h: dict[str, str], name: str, run_id: str, seed: int
) -> None:
    """After `run_id` trained `name` v1 (promoted to production) with `seed`."""
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    assert registry(ctx).training_params(name, "1")["seeds"] == str(seed)
    runs = client.get("/api/v1/ml/runs", headers=h).json()
    assert runs["total"] == 1 and runs["items"][0]["id"] == run_id
    listed = runs["items"][0]
    assert listed["params"]["seed"] == seed and listed["metrics"]["model_name"] == name
    assert "history" not in listed and listed["finished_at"] >= listed["created_at"]
    assert client.get("/api/v1/ml/runs?status=failed", headers=h).json()["total"] == 0
    assert client.get("/api/v1/ml/runs?model_type=cnn", headers=h).json()["items"] == []

    ic = client.get(f"/api/v1/ml/models/{name}/ic", headers=h).json()
    [version] = ic["versions"]
    points = ic["points"]
    assert version["version"] == 1 and version["folds"] == len(points) >= 2
    assert all(p["source"] == "walk_forward" and p["kind"] == "cross_sectional" for p in points)
    assert all(-1 <= p["ic"] <= 1 and p["start"] <= p["end"] for p in points)
    assert [p["start"] for p in points] == sorted(p["start"] for p in points)
    assert version["mean_ic"] == pytest.approx(sum(p["ic"] for p in points) / len(points))
    assert ic["evaluations"] == []
    assert client.get("/api/v1/ml/models/nothing/ic", headers=h).status_code == 404

    outcome = run_job(
        ctx, "evaluation", "qts.services.ml.ml_jobs.evaluate_production_models",
        {"window": 60, "min_ic": -1.0, "retrain": False, "psi": 100.0, "ks": 1.0},
    )  # fmt: skip
    assert outcome.outcome == "success", outcome.error
    assert outcome.result[name]["ic"] is not None, outcome.result
    evaluated = client.get(f"/api/v1/ml/models/{name}/ic", headers=h).json()["evaluations"]
    assert [(e["source"], e["version"]) for e in evaluated] == [("evaluation", None)]
    assert evaluated[0]["ic"] == pytest.approx(outcome.result[name]["ic"])
    assert evaluated[0]["samples"] == outcome.result[name]["samples"]

    imp = client.get(f"/api/v1/ml/models/{name}/versions/1/importance?top=4", headers=h).json()
    assert imp["version"] == "1" and len(imp["importance"]) == 4
    scores = list(imp["importance"].values())
    assert scores == sorted(scores, reverse=True)
    missing = client.get(f"/api/v1/ml/models/{name}/versions/9/importance", headers=h)
    assert missing.status_code == 404 and "version 9" in missing.text
