"""The model zoo: one interface (`BaseModel`: fit, predict, save, load) over numpy arrays.

| type | model | task |
|---|---|---|
| lstm, transformer, tcn, nbeats | PyTorch sequence regressors | forward return |
| cnn, attention | PyTorch sequence classifiers | SELL/HOLD/BUY |
| lightgbm | gradient boosting on tabular features | either |
| stacking | ridge on base models' out-of-fold predictions | forward return |
| dqn, ppo, a2c | Stable-Baselines3 policies (`qts.ml.rl`) | target position |

torch and lightgbm are imported only when a model is fitted, loaded or built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qts.ml.models.base import BaseModel
from qts.ml.models.catalog import (
    SINGLE_MODEL_CLASSES,
    build_model,
    find_class,
    load_saved_model,
)
from qts.ml.models.config import ModelConfig, suggest_params
from qts.ml.models.stacking import StackingEnsemble
from qts.ml.rl.policy import POLICY_CLASSES

MODEL_CLASSES: dict[str, type[BaseModel]] = {
    **SINGLE_MODEL_CLASSES,
    StackingEnsemble.model_type: StackingEnsemble,
    **POLICY_CLASSES,
}
POLICY_TYPES = tuple(POLICY_CLASSES)
# The supervised models (fit on samples); policies learn on an environment (`qts.ml.rl`).
MODEL_TYPES = tuple(t for t in MODEL_CLASSES if t not in POLICY_CLASSES)


def model_class(model_type: str) -> type[BaseModel]:
    return find_class(model_type, MODEL_CLASSES)


def create_model(
    model_type: str, config_dir: str | Path | None = None, **overrides: Any
) -> BaseModel:
    """A model with its YAML settings (`configs/models/<type>.yaml` if found) and overrides."""
    return build_model(model_class(model_type), config_dir, **overrides)


def load_model(path: str | Path) -> BaseModel:
    return load_saved_model(path, MODEL_CLASSES)


__all__ = [
    "MODEL_CLASSES",
    "MODEL_TYPES",
    "POLICY_TYPES",
    "BaseModel",
    "ModelConfig",
    "create_model",
    "load_model",
    "model_class",
    "suggest_params",
]
