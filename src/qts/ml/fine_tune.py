"""Fine-tuning: the final fit of a training run warm-started from a registered version
(`qts train --init-from NAME@alias`, or the retraining job).

LightGBM continues boosting from the version's trees (`init_model`); a deep model starts from
its weights and target scaling. The inputs keep the version's normaliser (its trees and
weights were fitted in that scale). The walk-forward evaluation folds still train from scratch:
a warm start from a version that saw later bars would leak them into the folds, so the run's
out-of-sample figures are those of the recipe, and the promotion gate judges it as before.
"""

from __future__ import annotations

from pathlib import Path

from qts.core.errors import ValidationError
from qts.ml.models.base import BaseModel
from qts.ml.recipe import ModelRecipe


def warm_start(
    model: BaseModel, init_from: str | None, recipe: ModelRecipe, data_dir: str | Path | None,
    tracking_uri: str | None,
) -> str | None:  # fmt: skip
    """Fine-tuning: `model`'s final fit starts from the registered version `init_from`."""
    if init_from:
        model.warm_start = load_init(init_from, recipe.model_type, recipe.columns,
                                     recipe.lookback, data_dir, tracking_uri)  # fmt: skip
    return init_from


def load_init(
    ref: str, model_type: str, columns: list[str], lookback: int,
    data_dir: str | Path | None, tracking_uri: str | None,
) -> BaseModel:  # fmt: skip
    """The registered version to start from; refused unless it is of the same type and takes
    the same feature columns and lookback."""
    from qts.ml.registry import ModelRegistry

    if data_dir is None and tracking_uri is None:
        raise ValidationError("--init-from needs a model registry (a data dir or MLflow URI)")
    name, version, alias = _parse(ref)
    model, recipe = ModelRegistry(data_dir, tracking_uri).load_with_recipe(name, version, alias)
    check_compatible(ref, recipe, model_type, columns, lookback)
    from qts.ml.models.deep import DeepModel
    from qts.ml.models.lightgbm_model import LightGBMModel

    if not isinstance(model, LightGBMModel | DeepModel):
        raise ValidationError(f"{model_type} models cannot be warm-started (LightGBM and the "
                              "deep models can)")  # fmt: skip
    return model


def _parse(ref: str) -> tuple[str, str | None, str | None]:
    """(name, version, alias) of `NAME@alias`, `NAME/version` or `NAME` (= `@production`)."""
    if "@" in ref:
        name, _, alias = ref.partition("@")
        return name, None, alias
    if "/" in ref:
        name, _, version = ref.rpartition("/")
        if not version.isdigit():
            raise ValidationError(f"{ref!r}: the version must be a number")
        return name, version, None
    return ref, None, "production"


def check_compatible(
    ref: str, recipe: ModelRecipe | None, model_type: str, columns: list[str], lookback: int
) -> None:
    if recipe is None:
        raise ValidationError(f"{ref} has no recipe: its inputs are unknown, it cannot be tuned")
    problems = []
    if recipe.model_type != model_type:
        problems.append(f"it is a {recipe.model_type}, not a {model_type}")
    if recipe.columns != columns:
        problems.append("it takes other feature columns")
    if recipe.lookback != lookback:
        problems.append(f"its lookback is {recipe.lookback}, not {lookback}")
    if problems:
        raise ValidationError(f"cannot warm-start from {ref}: {'; '.join(problems)}")
