"""Model settings are checked for type and range when they are made: from defaults, YAML files,
overrides or `replace`, with one clear error naming every bad field."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from qts.core.errors import ValidationError
from qts.ml.models import MODEL_TYPES, create_model, model_class
from qts.ml.models.config import FitSettings, ModelConfig
from qts.ml.training import TrainerConfig


def test_the_example_from_the_issue_names_every_bad_field() -> None:
    with pytest.raises(ValidationError) as info:
        create_model("lightgbm", lr="fast", num_leaves=-3, epochs="many")
    message = info.value.message
    assert message.startswith("invalid LightGBMConfig settings: ")
    assert set(info.value.details) == {"lr", "num_leaves", "epochs"}
    assert "valid number" in info.value.details["lr"] and "'fast'" in info.value.details["lr"]
    assert "greater than or equal to 2 (got -3)" in info.value.details["num_leaves"]
    assert "valid integer" in info.value.details["epochs"]


@pytest.mark.parametrize(
    ("model_type", "overrides", "field"),
    [
        ("lstm", {"epochs": 0}, "epochs"),
        ("lstm", {"batch_size": -8}, "batch_size"),
        ("lstm", {"lr": 0.0}, "lr"),
        ("lstm", {"lr": float("nan")}, "lr"),
        ("lstm", {"weight_decay": -0.1}, "weight_decay"),
        ("lstm", {"grad_clip": float("inf")}, "grad_clip"),
        ("lstm", {"patience": -1}, "patience"),
        ("lstm", {"seed": -1}, "seed"),
        ("lstm", {"dropout": 1.0}, "dropout"),
        ("lstm", {"optimizer": "adagrad"}, "optimizer"),
        ("lstm", {"scheduler": "linear"}, "scheduler"),
        ("lstm", {"task": "ranking"}, "task"),
        ("lstm", {"loss": "l2"}, "loss"),
        ("lstm", {"hidden_size": 0}, "hidden_size"),
        ("lstm", {"lookback": "long"}, "lookback"),
        ("tcn", {"kernel_size": 0}, "kernel_size"),
        ("lightgbm", {"feature_fraction": 0.0}, "feature_fraction"),
        ("lightgbm", {"bagging_fraction": 1.5}, "bagging_fraction"),
        ("lightgbm", {"loss": "mse"}, "loss"),
        ("stacking", {"n_folds": 0}, "n_folds"),
        ("stacking", {"base_models": "lightgbm"}, "base_models"),
    ],
)
def test_a_bad_value_is_refused_by_name(
    model_type: str, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError, match=f"settings: {field}: ") as info:
        create_model(model_type, **overrides)
    assert list(info.value.details) == [field]


def test_numbers_written_as_text_become_numbers() -> None:
    # PyYAML reads `lr: 1e-3` (no dot) as the text "1e-3".
    config = create_model("lstm", lr="1e-3", epochs=3.0).config
    assert config.lr == 0.001 and config.epochs == 3 and isinstance(config.epochs, int)
    with pytest.raises(ValidationError, match="epochs"):
        create_model("lstm", epochs=2.5)


def test_fields_that_must_agree_are_checked_together() -> None:
    with pytest.raises(ValidationError, match="loss: classification needs loss ce or focal"):
        create_model("lstm", task="classification")
    with pytest.raises(ValidationError, match="loss: regression needs loss"):
        create_model("cnn", task="regression")
    assert create_model("lstm", task="classification", loss="ce").is_classifier
    with pytest.raises(ValidationError, match="n_heads: d_model 10 must be a multiple"):
        create_model("transformer", d_model=10, n_heads=4)
    with pytest.raises(ValidationError, match="base_models: must name single models"):
        create_model("stacking", base_models=["lightgbm", "stacking"])
    with pytest.raises(ValidationError, match=r"base_overrides: .*\['lstm'\]"):
        create_model("stacking", base_models=["lightgbm"], base_overrides={"lstm": {}})
    with pytest.raises(ValidationError, match="task: the stacking ensemble regresses"):
        create_model("stacking", task="classification")


@pytest.mark.parametrize(
    ("space", "problem"),
    [
        ({"lrr": {"type": "float", "low": 0.1, "high": 1}}, "not a setting of LSTMConfig"),
        ({"lr": {"type": "uniform", "low": 0.1, "high": 1}}, "type must be one of"),
        ({"lr": {"type": "float", "low": 1, "high": 0.1}}, "low 1.0 is above high 0.1"),
        ({"lr": {"type": "float", "low": 0, "high": 1, "log": True}}, "log scale needs low > 0"),
        ({"hidden_size": {"type": "int", "low": 8}}, "needs numbers low and high"),
        ({"loss": {"type": "categorical", "choices": []}}, "non-empty list of choices"),
    ],
)
def test_a_bad_search_space_is_refused(space: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        create_model("lstm", search_space=space)


def test_a_bad_yaml_file_and_replace_are_checked_too(tmp_path: Path) -> None:
    (tmp_path / "lstm.yaml").write_text("hidden_size: 16\nlr: quick\n")
    with pytest.raises(ValidationError, match="lr: Input should be a valid number"):
        create_model("lstm", config_dir=tmp_path)
    config = create_model("lstm").config
    with pytest.raises(ValidationError, match="batch_size"):
        config.replace(batch_size=0)
    assert config.batch_size == 128  # the original is untouched


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_every_default_is_valid(model_type: str) -> None:
    config = model_class(model_type).config_class()
    assert isinstance(config, ModelConfig)
    assert config.replace() == config


def test_trainer_settings_come_from_the_model_config() -> None:
    shared = {f.name for f in fields(FitSettings)}
    assert shared <= {f.name for f in fields(TrainerConfig)}
    assert shared <= {f.name for f in fields(ModelConfig)}
    model = create_model(
        "tcn", epochs=7, lr=0.02, batch_size=16, patience=0, seed=11, scheduler="step",
        device="cpu", checkpoint_dir="ckpt", resume=True,
    )  # fmt: skip
    trainer = TrainerConfig.for_model(model.config)
    expected = {name: getattr(model.config, name) for name in shared}
    assert {name: getattr(trainer, name) for name in shared} == expected
    assert (trainer.device, trainer.checkpoint_dir, trainer.resume) == ("cpu", "ckpt", True)
    assert trainer.progress is False  # the model config's, not the trainer's default
    assert TrainerConfig.for_model(model.config, epochs=1).epochs == 1
    with pytest.raises(ValidationError, match="min_delta"):
        TrainerConfig(min_delta=-1.0)
