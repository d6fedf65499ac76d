"""The model zoo: one interface (`BaseModel`: fit, predict, save, load) over numpy arrays.

| type | model | task |
|---|---|---|
| lstm, transformer, tcn, nbeats | PyTorch sequence regressors | forward return |
| cnn, attention | PyTorch sequence classifiers | SELL/HOLD/BUY |
| lightgbm | gradient boosting on tabular features | either |
| stacking | ridge on base models' out-of-fold predictions | forward return |

torch and lightgbm are imported only when a model is fitted, loaded or built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qts.core.errors import NotFoundError, ValidationError
from qts.ml.models.base import META_FILE, BaseModel, load_config
from qts.ml.models.config import ModelConfig, suggest_params
from qts.ml.models.deep import (
    AttentionClassifier,
    CNNClassifier,
    LSTMModel,
    NBeatsModel,
    TCNModel,
    TransformerModel,
)
from qts.ml.models.lightgbm_model import LightGBMModel
from qts.ml.models.stacking import StackingEnsemble

MODEL_CLASSES: dict[str, type[BaseModel]] = {
    cls.model_type: cls
    for cls in (
        LSTMModel, TransformerModel, TCNModel, NBeatsModel, CNNClassifier, AttentionClassifier,
        LightGBMModel, StackingEnsemble,
    )
}  # fmt: skip
MODEL_TYPES = tuple(MODEL_CLASSES)


def model_class(model_type: str) -> type[BaseModel]:
    try:
        return MODEL_CLASSES[model_type]
    except KeyError:
        raise NotFoundError(
            f"unknown model type {model_type!r}", {"known": list(MODEL_TYPES)}
        ) from None


def create_model(
    model_type: str, config_dir: str | Path | None = None, **overrides: Any
) -> BaseModel:
    """A model with its YAML settings (`configs/models/<type>.yaml` if found) and overrides."""
    cls = model_class(model_type)
    return cls(load_config(cls, None, config_dir, **overrides))


def load_model(path: str | Path) -> BaseModel:
    meta_path = Path(path) / META_FILE
    if not meta_path.is_file():
        raise ValidationError(f"{path} holds no saved qts model ({META_FILE} missing)")
    model_type = json.loads(meta_path.read_text())["model_type"]
    return model_class(model_type).load(path)


__all__ = [
    "MODEL_CLASSES",
    "MODEL_TYPES",
    "BaseModel",
    "ModelConfig",
    "create_model",
    "load_model",
    "model_class",
    "suggest_params",
]
