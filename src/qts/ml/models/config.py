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
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from qts.core.errors import ValidationError

PACKAGE_MODEL_CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "models"

# Field types with their ranges; `validate_config` checks values against them.
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
HoldOutFraction = Annotated[float, Field(ge=0, lt=1)]  # dropout, validation tail: keeps some
SampleFraction = Annotated[float, Field(gt=0, le=1)]  # share of rows/features drawn: some
Seed = Annotated[int, Field(ge=0, lt=2**32)]
Task = Literal["regression", "classification"]  # classes -1/0/1 = SELL/HOLD/BUY
Optimizer = Literal["adam", "adamw", "sgd"]
Scheduler = Literal["none", "cosine", "step", "plateau", "onecycle"]
SEARCH_TYPES = ("float", "int", "categorical")


@dataclass
class FitSettings:
    """How a model is fitted: shared by every `ModelConfig` and the torch `TrainerConfig`.
    LightGBM reads `lr`/`epochs` as learning_rate/num_boost_round."""

    seed: Seed = 0
    epochs: PositiveInt = 20
    batch_size: PositiveInt = 128
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 0.0
    optimizer: Optimizer = "adamw"
    scheduler: Scheduler = "cosine"
    grad_clip: PositiveFloat | None = 1.0
    patience: NonNegativeInt = 5  # epochs without validation improvement before stopping (0: never)
    mixed_precision: bool = True  # CUDA only: bf16 where supported, else fp16 with scaling

    def __post_init__(self) -> None:
        validate_config(self)

    def cross_checks(self) -> dict[str, str]:
        """Problems involving more than one field (subclasses add theirs)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Any:
        return merge_config(self, changes)


@dataclass
class ModelConfig(FitSettings):
    """Fields shared by every model; model types extend it with their own."""

    task: Task = "regression"
    loss: str = "mse"  # each model type narrows it to the losses it knows
    focal_gamma: NonNegativeFloat = 2.0
    dropout: HoldOutFraction = 0.1
    search_space: dict[str, dict[str, Any]] = field(default_factory=dict)

    def cross_checks(self) -> dict[str, str]:
        problems = super().cross_checks()
        known = {f.name for f in fields(self)} - {"search_space"}
        for name, spec in self.search_space.items():
            problem = (
                f"not a setting of {type(self).__name__}"
                if name not in known
                else _search_spec_problem(spec)
            )
            if problem:
                problems[f"search_space.{name}"] = problem
        return problems


def _search_spec_problem(spec: dict[str, Any]) -> str:
    kind = spec.get("type", "float")
    if kind not in SEARCH_TYPES:
        return f"type must be one of {', '.join(SEARCH_TYPES)}, not {kind!r}"
    if kind == "categorical":
        choices = spec.get("choices")
        return "" if isinstance(choices, list) and choices else "needs a non-empty list of choices"
    try:
        low, high = float(spec["low"]), float(spec["high"])
    except (KeyError, TypeError, ValueError):
        return "needs numbers low and high"
    if low > high:
        return f"low {low} is above high {high}"
    if spec.get("log") and low <= 0:
        return "a log scale needs low > 0"
    return ""


_ADAPTERS: dict[type, dict[str, TypeAdapter[Any]]] = {}


def _field_adapters(cls: type) -> dict[str, TypeAdapter[Any]]:
    adapters = _ADAPTERS.get(cls)
    if adapters is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        adapters = {f.name: TypeAdapter(hints[f.name]) for f in fields(cls)}
        _ADAPTERS[cls] = adapters
    return adapters


def validate_config(config: FitSettings) -> None:
    """Check every field against its declared type and range (numbers given as text, as YAML
    reads `1e-3`, are converted), then the cross-field checks; one error lists all problems."""
    problems: dict[str, str] = {}
    for name, adapter in _field_adapters(type(config)).items():
        value = getattr(config, name)
        try:
            setattr(config, name, adapter.validate_python(value))
        except PydanticValidationError as exc:
            problems[name] = f"{exc.errors()[0]['msg']} (got {value!r})"
    if not problems:
        problems = config.cross_checks()
    if problems:
        listed = "; ".join(f"{name}: {problem}" for name, problem in problems.items())
        raise ValidationError(f"invalid {type(config).__name__} settings: {listed}", problems)


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
