"""LightGBM baseline on tabular features: the bar every deep model has to clear."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from qts.ml.models.base import BaseModel, ProgressCallback, as_tabular, check_classes, check_xy
from qts.ml.models.config import (
    HoldOutFraction,
    ModelConfig,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SampleFraction,
)


@dataclass
class LightGBMConfig(ModelConfig):
    epochs: PositiveInt = 200  # boosting rounds
    lr: PositiveFloat = 0.03
    num_leaves: Annotated[int, Field(ge=2)] = 15
    min_data_in_leaf: PositiveInt = 40
    feature_fraction: SampleFraction = 0.8
    bagging_fraction: SampleFraction = 0.8
    lambda_l2: NonNegativeFloat = 1.0
    patience: NonNegativeInt = 20
    val_fraction: HoldOutFraction = 0.2  # last training dates the evaluation driver validates on
    loss: Literal["l2", "huber"] = "l2"  # regression; classification uses multiclass
    num_threads: NonNegativeInt = 2  # 0: LightGBM's default


class LightGBMModel(BaseModel):
    model_type = "lightgbm"
    config_class = LightGBMConfig
    input_kind = "tabular"

    def __init__(self, config: ModelConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.booster: Any = None
        self.feature_names: list[str] | None = None

    def _params(self) -> dict[str, Any]:
        c = self.config
        params: dict[str, Any] = {
            "learning_rate": c.lr, "num_leaves": c.num_leaves,
            "min_data_in_leaf": c.min_data_in_leaf, "feature_fraction": c.feature_fraction,
            "bagging_fraction": c.bagging_fraction, "bagging_freq": 1, "lambda_l2": c.lambda_l2,
            "seed": c.seed, "deterministic": True, "num_threads": c.num_threads, "verbosity": -1,
        }  # fmt: skip
        if self.is_classifier:
            params.update(objective="multiclass", num_class=3)
        else:
            params["objective"] = "huber" if c.loss == "huber" else "regression"
        return params

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        callbacks: Sequence[ProgressCallback] = (),
        feature_names: list[str] | None = None,
    ) -> LightGBMModel:
        import lightgbm as lgb

        check_xy(X, y)
        X = as_tabular(X)
        y = np.asarray(y, dtype=np.float64)
        if self.is_classifier:
            check_classes(y)
            y = y + 1
        # Early stopping only on a validation set the caller cut by date with a purge gap
        # (`qts.ml.datasets.validation_split`): the last rows of a pooled multi-symbol set
        # are not a clean hold-out, their labels overlap the rows before them.
        if X_val is not None:
            check_xy(X_val, y_val)
            X_val = as_tabular(X_val)
            y_val = np.asarray(y_val, dtype=np.float64) + (1 if self.is_classifier else 0)
        self.feature_names = feature_names or [f"f{i}" for i in range(X.shape[1])]
        train = lgb.Dataset(X, label=y, feature_name=self.feature_names, free_raw_data=False)
        valid_sets: list[Any] = []
        cbs: list[Any] = []
        if X_val is not None:
            valid_sets = [lgb.Dataset(X_val, label=y_val, reference=train)]
            if self.config.patience:
                cbs.append(lgb.early_stopping(self.config.patience, verbose=False))
        record: dict[str, Any] = {}
        cbs.append(lgb.record_evaluation(record))
        cbs += [_epoch_hook(cb) for cb in callbacks]
        init = getattr(self.warm_start, "booster", None)  # fine-tuning: keep boosting it
        self.booster = lgb.train(
            self._params(), train, num_boost_round=self.config.epochs,
            valid_sets=valid_sets, valid_names=["val"], callbacks=cbs, init_model=init,
        )  # fmt: skip
        self.history = {"best_iteration": int(self.booster.best_iteration or self.config.epochs)}
        self.fitted = True
        return self

    def _raw(self, X: np.ndarray) -> np.ndarray:
        self._require_fitted()
        check_xy(X)
        best = self.booster.best_iteration or None
        return np.asarray(self.booster.predict(as_tabular(X), num_iteration=best))

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = self._raw(X)
        if self.is_classifier:
            return out.argmax(axis=1).astype(np.float64) - 1.0
        return out.astype(np.float64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if not self.is_classifier:
            return super().predict_proba(X)
        return self._raw(X)

    def feature_importance(self, kind: str = "gain") -> dict[str, float]:
        """Total gain (or split count) per feature."""
        self._require_fitted()
        values = self.booster.feature_importance(importance_type=kind)
        return {n: float(v) for n, v in zip(self.booster.feature_name(), values, strict=True)}

    def _save_weights(self, folder: Path) -> None:
        self._require_fitted()
        self.booster.save_model(str(folder / "booster.txt"))

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        import lightgbm as lgb

        self.booster = lgb.Booster(model_file=str(folder / "booster.txt"))
        self.feature_names = self.booster.feature_name()


def _epoch_hook(callback: ProgressCallback) -> Any:
    """Adapt a (epoch, losses, metrics) callback to LightGBM's callback protocol."""

    def hook(env: Any) -> None:
        losses = {
            f"{name}_{metric}": float(value)
            for name, metric, value, _ in env.evaluation_result_list
        }
        callback(env.iteration + 1, losses, {})

    return hook
