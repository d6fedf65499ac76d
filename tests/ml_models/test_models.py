"""Every model type trains on real KRX bars on the CPU, predicts, saves and loads."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qts.core.errors import NotFoundError, ValidationError
from qts.ml.datasets import Normalizer
from qts.ml.evaluation.walk_forward import tercile_labels
from qts.ml.models import MODEL_TYPES, create_model, load_model, model_class

from .conftest import TINY

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "models"


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_model_fits_predicts_and_round_trips(
    model_type: str, seq_samples: Any, tmp_path: Path
) -> None:
    X = Normalizer().fit_transform(seq_samples.X[:500])
    y = seq_samples.returns[:500]
    model = create_model(model_type, **TINY[model_type])
    if model.is_classifier:
        y, _ = tercile_labels(y, y)
    model.fit(X, y)
    pred = model.predict(X[-60:])
    assert pred.shape == (60,) and np.isfinite(pred).all()
    if model.is_classifier:
        assert set(np.unique(pred)) <= {-1.0, 0.0, 1.0}
        proba = model.predict_proba(X[-60:])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    else:
        assert pred.std() > 0  # not a constant forecast
    loaded = load_model(model.save(tmp_path / model_type))
    np.testing.assert_allclose(
        loaded.score_signal(X[-60:]), model.score_signal(X[-60:]), rtol=1e-5, atol=1e-9
    )


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_yaml_config_loads_into_the_dataclass_with_a_search_space(model_type: str) -> None:
    model = create_model(model_type, config_dir=REPO_CONFIGS)
    assert model.search_space, "every model declares an Optuna search space"
    fields = {f.name for f in dataclasses.fields(model.config)}
    assert set(model.search_space) <= fields
    defaults = model_class(model_type).config_class()
    assert model.config.task == defaults.task


def test_bad_settings_and_inputs_are_clear_errors(seq_samples: Any) -> None:
    with pytest.raises(ValidationError, match="unknown settings"):
        create_model("lstm", hidden_sise=8)
    with pytest.raises(NotFoundError):
        create_model("xgboost")
    model = create_model("lstm", **TINY["lstm"])
    X = seq_samples.X[:100].copy()
    X[3, 2, 1] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        model.fit(X, seq_samples.returns[:100])
    with pytest.raises(ValidationError, match="rows"):
        model.fit(seq_samples.X[:100], seq_samples.returns[:99])
    with pytest.raises(ValidationError, match="before fit"):
        model.predict(seq_samples.X[:10])
    with pytest.raises(ValidationError, match="-1, 0 or 1"):
        create_model("cnn", **TINY["cnn"]).fit(seq_samples.X[:100], seq_samples.returns[:100])
