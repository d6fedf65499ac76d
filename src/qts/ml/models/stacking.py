"""Stacking ensemble: a ridge meta-learner on the base models' out-of-fold predictions.

Out-of-fold without leakage: the (time-sorted) training samples are cut into `n_folds + 1`
blocks; for block k >= 1 every base model is fitted on the blocks before it, minus the last
`purge_gap` samples (whose labels reach into block k), and predicts block k. The meta-learner
learns only from those out-of-sample predictions; then every base model is refitted on all
training data for use at prediction time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qts.core.errors import ValidationError
from qts.ml.models.base import BaseModel, ProgressCallback, check_xy
from qts.ml.models.catalog import (
    SINGLE_MODEL_CLASSES,
    build_model,
    find_class,
    load_saved_model,
)
from qts.ml.models.config import ModelConfig, NonNegativeFloat, NonNegativeInt, PositiveInt


@dataclass
class StackingConfig(ModelConfig):
    base_models: list[str] = field(default_factory=lambda: ["lightgbm", "tcn"])
    base_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_folds: PositiveInt = 3
    purge_gap: NonNegativeInt = 0  # samples dropped between a fold's training data and its block
    ridge_alpha: NonNegativeFloat = 1.0

    def cross_checks(self) -> dict[str, str]:
        problems = super().cross_checks()
        if self.task != "regression":
            problems["task"] = "the stacking ensemble regresses forward returns"
        unknown = [m for m in self.base_models if m not in SINGLE_MODEL_CLASSES]
        if not self.base_models or unknown:
            problems["base_models"] = (
                f"must name single models ({', '.join(SINGLE_MODEL_CLASSES)})"
                + (f", not {unknown}" if unknown else "")
            )
        stray = sorted(set(self.base_overrides) - set(self.base_models))
        if stray:
            problems["base_overrides"] = f"settings for models not in base_models: {stray}"
        return problems


def ridge_fit(Z: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge with an unpenalised intercept: solve on centred data."""
    zm, ym = Z.mean(axis=0), float(y.mean())
    Zc = Z - zm
    coef = np.linalg.solve(Zc.T @ Zc + alpha * np.eye(Z.shape[1]), Zc.T @ (y - ym))
    return coef, ym - float(zm @ coef)


class StackingEnsemble(BaseModel):
    model_type = "stacking"
    config_class = StackingConfig
    input_kind = "sequence"

    def __init__(self, config: ModelConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.bases: list[BaseModel] = []
        self.coef = np.zeros(0)
        self.intercept = 0.0
        self.scale = np.ones(0)

    def _new_base(self, model_type: str) -> BaseModel:
        overrides = {"seed": self.config.seed, **self.config.base_overrides.get(model_type, {})}
        return build_model(find_class(model_type, SINGLE_MODEL_CLASSES), **overrides)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        callbacks: Sequence[ProgressCallback] = (),
    ) -> StackingEnsemble:
        check_xy(X, y)
        y = np.asarray(y, dtype=np.float64)
        n, k = len(X), self.config.n_folds
        bounds = np.linspace(0, n, k + 2).astype(int)
        oof_rows: list[np.ndarray] = []
        oof_preds: list[np.ndarray] = []
        for fold in range(1, k + 1):
            start, stop = bounds[fold], bounds[fold + 1]
            train_end = start - self.config.purge_gap
            if train_end < 20 or stop <= start:
                continue
            cols = []
            for model_type in self.config.base_models:
                base = self._new_base(model_type)
                base.fit(X[:train_end], y[:train_end])
                cols.append(base.score_signal(X[start:stop]))
            oof_rows.append(np.arange(start, stop))
            oof_preds.append(np.column_stack(cols))
            for callback in callbacks:
                callback(fold, {}, {"stacking_fold": float(fold)})
        if not oof_preds:
            raise ValidationError(f"{n} samples are too few for {k} stacking folds")
        Z = np.vstack(oof_preds)
        rows = np.concatenate(oof_rows)
        self.scale = Z.std(axis=0)
        self.scale[self.scale == 0] = 1.0
        self.coef, self.intercept = ridge_fit(Z / self.scale, y[rows], self.config.ridge_alpha)
        self.bases = [self._new_base(t).fit(X, y) for t in self.config.base_models]
        self.history = {
            "oof_rows": len(rows),
            "meta_coef": dict(zip(self.config.base_models, self.coef.tolist(), strict=True)),
        }
        self.fitted = True
        return self

    def base_predictions(self, X: np.ndarray) -> np.ndarray:
        self._require_fitted()
        return np.column_stack([b.score_signal(X) for b in self.bases])

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_xy(X)
        return self.base_predictions(X) / self.scale @ self.coef + self.intercept

    def _extra_state(self) -> dict[str, Any]:
        return {
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "scale": self.scale.tolist(),
        }

    def _save_weights(self, folder: Path) -> None:
        self._require_fitted()
        for i, base in enumerate(self.bases):
            base.save(folder / f"base_{i}_{base.model_type}")

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        self.coef = np.asarray(state["coef"], dtype=np.float64)
        self.intercept = float(state["intercept"])
        self.scale = np.asarray(state["scale"], dtype=np.float64)
        self.bases = [
            load_saved_model(folder / f"base_{i}_{t}", SINGLE_MODEL_CLASSES)
            for i, t in enumerate(self.config.base_models)
        ]
