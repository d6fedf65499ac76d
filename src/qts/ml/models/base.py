"""The model interface every model type implements.

Inputs are plain numpy arrays: tabular X (n, features) or sequences X (n, lookback, features);
y (n,) holds forward returns (regression) or classes -1/0/1 = SELL/HOLD/BUY (classification).
A sequence model given tabular X treats it as windows of length 1; a tabular model given windows
uses each window's last row (the features at the sample's own time).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from qts.core.errors import ValidationError
from qts.ml.models.config import ModelConfig, config_path, merge_config, read_yaml_config

META_FILE = "model.json"
ProgressCallback = Any  # Callable[[int, dict[str, float], dict[str, float]], None]


def check_xy(X: np.ndarray, y: np.ndarray | None = None) -> None:
    if not isinstance(X, np.ndarray) or X.ndim not in (2, 3):
        raise ValidationError("X must be a numpy array (n, features) or (n, lookback, features)")
    if len(X) == 0:
        raise ValidationError("X has no rows")
    if not np.isfinite(X).all():
        raise ValidationError("X holds NaN or infinite values; impute or drop them first")
    if y is not None:
        if len(y) != len(X):
            raise ValidationError(f"X has {len(X)} rows but y has {len(y)}")
        if not np.isfinite(np.asarray(y, dtype=np.float64)).all():
            raise ValidationError("y holds NaN or infinite values")


def check_classes(y: np.ndarray) -> None:
    bad = set(np.unique(y).tolist()) - {-1.0, 0.0, 1.0}
    if bad:
        raise ValidationError(f"classification labels must be -1, 0 or 1 (got {sorted(bad)})")


class BaseModel(ABC):
    model_type: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    input_kind: ClassVar[str] = "sequence"  # or "tabular"

    def __init__(self, config: ModelConfig | None = None, **overrides: Any) -> None:
        base = config if config is not None else self.config_class()
        self.config: Any = merge_config(base, overrides) if overrides else base
        if self.config.task not in ("regression", "classification"):
            raise ValidationError(
                f"task must be regression or classification, not {self.config.task!r}"
            )
        self.history: dict[str, Any] = {}
        self.fitted = False
        # Input scaling fitted on the training rows (a `Normalizer.state()`), kept with the
        # model so inference on raw features scales the same way; see `prepare`.
        self.normalizer: dict[str, Any] | None = None
        # A fitted model of the same type to continue from (`qts.ml.fine_tune`), or None.
        self.warm_start: BaseModel | None = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_yaml(
        cls, path: str | Path | None = None, config_dir: str | Path | None = None, **overrides: Any
    ) -> BaseModel:
        """The model with its YAML settings (see `qts.ml.models.config`), then `overrides`."""
        return cls(load_config(cls, path, config_dir, **overrides))

    @property
    def search_space(self) -> dict[str, dict[str, Any]]:
        return dict(self.config.search_space)

    @property
    def is_classifier(self) -> bool:
        return bool(self.config.task == "classification")

    # -- the interface --------------------------------------------------------------------
    @abstractmethod
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        callbacks: Sequence[ProgressCallback] = (),
    ) -> BaseModel: ...

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Regression: the forecast; classification: the class -1/0/1."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Classification: probabilities of SELL, HOLD, BUY in columns 0, 1, 2."""
        raise ValidationError(f"{self.model_type} is not a classifier")

    def score_signal(self, X: np.ndarray) -> np.ndarray:
        """A continuous score to rank or trade on: the forecast, or P(buy) - P(sell)."""
        if self.is_classifier:
            proba = self.predict_proba(X)
            return proba[:, 2] - proba[:, 0]
        return self.predict(X)

    def prepare(self, X: np.ndarray) -> np.ndarray:
        """Raw features scaled as in training (unchanged when no normaliser was kept)."""
        if self.normalizer is None:
            return X
        from qts.ml.datasets import Normalizer

        return np.asarray(Normalizer.from_state(self.normalizer).transform(X))

    def save(self, path: str | Path) -> Path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "model_type": self.model_type,
            "config": self.config.to_dict(),
            "state": self._extra_state(),
            "normalizer": self.normalizer,
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, default=float))
        self._save_weights(folder)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> BaseModel:
        meta = json.loads((Path(path) / META_FILE).read_text())
        model = cls(merge_config(cls.config_class(), meta["config"]))
        model._restore(Path(path), meta["state"])
        model.normalizer = meta.get("normalizer")
        model.fitted = True
        return model

    # -- hooks for subclasses -------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {}

    @abstractmethod
    def _save_weights(self, folder: Path) -> None: ...

    @abstractmethod
    def _restore(self, folder: Path, state: dict[str, Any]) -> None: ...

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise ValidationError(f"{self.model_type} model used before fit()")


def load_config(
    cls: type[BaseModel],
    path: str | Path | None = None,
    config_dir: str | Path | None = None,
    **overrides: Any,
) -> ModelConfig:
    found = Path(path) if path is not None else config_path(cls.model_type, config_dir)
    values = read_yaml_config(found) if found is not None else {}
    return merge_config(cls.config_class(), {**values, **overrides})


def as_sequences(X: np.ndarray) -> np.ndarray:
    return X[:, None, :] if X.ndim == 2 else X


def as_tabular(X: np.ndarray) -> np.ndarray:
    return X[:, -1, :] if X.ndim == 3 else X
