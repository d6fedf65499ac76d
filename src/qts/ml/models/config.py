"""Model configuration: one dataclass per model type, loadable from `configs/models/<type>.yaml`.

A YAML file holds the dataclass fields at the top level plus an optional `search_space` mapping
(the Optuna space of that model):

    hidden_size: 32
    search_space:
      lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      hidden_size: {type: int, low: 16, high: 64, step: 16}
      dropout: {type: float, low: 0.0, high: 0.3}
      optimizer: {type: categorical, choices: [adam, adamw]}

Files are looked up in: an explicit path, `$QTS_MODEL_CONFIG_DIR`, `./configs/models`, then the
copy shipped in the package (`qts/configs/models`); the dataclass defaults apply where no file is
found.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from qts.core.errors import ValidationError

PACKAGE_MODEL_CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "models"


@dataclass
class ModelConfig:
    """Fields shared by every model; model types extend it with their own."""

    seed: int = 0
    task: str = "regression"  # or "classification" (classes -1/0/1 = SELL/HOLD/BUY)
    # Training (deep models; LightGBM reads lr/epochs as learning_rate/num_boost_round).
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adamw"  # adam | adamw | sgd
    scheduler: str = "cosine"  # none | cosine | step | plateau | onecycle
    grad_clip: float | None = 1.0
    patience: int = 5
    loss: str = "mse"  # mse | ic | mse_ic | ce | focal
    focal_gamma: float = 2.0
    mixed_precision: bool = True  # used only on CUDA
    dropout: float = 0.1
    search_space: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Any:
        return merge_config(self, changes)


def merge_config(config: Any, changes: dict[str, Any]) -> Any:
    """A copy of `config` with `changes`; unknown keys are an error (typos must not pass)."""
    known = {f.name for f in fields(config)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValidationError(
            f"unknown settings for {type(config).__name__}: {unknown}", {"known": sorted(known)}
        )
    return dataclasses.replace(config, **changes)


def config_path(model_type: str, config_dir: str | Path | None = None) -> Path | None:
    candidates: list[Path] = []
    if config_dir is not None:
        candidates.append(Path(config_dir))
    if os.environ.get("QTS_MODEL_CONFIG_DIR"):
        candidates.append(Path(os.environ["QTS_MODEL_CONFIG_DIR"]))
    candidates += [Path("configs") / "models", PACKAGE_MODEL_CONFIG_DIR]
    for folder in candidates:
        path = folder / f"{model_type}.yaml"
        if path.is_file():
            return path
    return None


def read_yaml_config(path: str | Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValidationError(f"model config {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"model config {path} must be a mapping of settings")
    return data


def suggest_params(trial: Any, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Draw one value per declared parameter from an Optuna trial."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        kind = spec.get("type", "float")
        if kind == "float":
            params[name] = trial.suggest_float(
                name, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log", False))
            )
        elif kind == "int":
            params[name] = trial.suggest_int(
                name, int(spec["low"]), int(spec["high"]), step=int(spec.get("step", 1)),
                log=bool(spec.get("log", False)),
            )  # fmt: skip
        elif kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(spec["choices"]))
        else:
            raise ValidationError(f"search space entry {name!r} has unknown type {kind!r}")
    return params
