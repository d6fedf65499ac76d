"""The single models by type name, and building or loading one by name.

Kept apart from `qts.ml.models` (which adds the stacking ensemble) because the ensemble itself
builds and loads its base models through this table: single models only, never itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qts.core.errors import NotFoundError, ValidationError
from qts.ml.models.base import META_FILE, BaseModel, load_config
from qts.ml.models.deep import (
    AttentionClassifier,
    CNNClassifier,
    LSTMModel,
    NBeatsModel,
    TCNModel,
    TransformerModel,
)
from qts.ml.models.lightgbm_model import LightGBMModel

SINGLE_MODEL_CLASSES: dict[str, type[BaseModel]] = {
    cls.model_type: cls
    for cls in (
        LSTMModel, TransformerModel, TCNModel, NBeatsModel, CNNClassifier, AttentionClassifier,
        LightGBMModel,
    )
}  # fmt: skip


def find_class(model_type: str, classes: dict[str, type[BaseModel]]) -> type[BaseModel]:
    try:
        return classes[model_type]
    except KeyError:
        import difflib

        near = difflib.get_close_matches(model_type, list(classes), n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise NotFoundError(
            f"unknown model type {model_type!r}; {hint}models: {', '.join(classes)}",
            {"known": list(classes), "did_you_mean": near[0] if near else None},
        ) from None


def build_model(
    cls: type[BaseModel], config_dir: str | Path | None = None, **overrides: Any
) -> BaseModel:
    """A model with its YAML settings (`configs/models/<type>.yaml` if found) and overrides."""
    return cls(load_config(cls, None, config_dir, **overrides))


def load_saved_model(path: str | Path, classes: dict[str, type[BaseModel]]) -> BaseModel:
    meta_path = Path(path) / META_FILE
    if not meta_path.is_file():
        raise ValidationError(f"{path} holds no saved qts model ({META_FILE} missing)")
    model_type = json.loads(meta_path.read_text())["model_type"]
    return find_class(model_type, classes).load(path)
