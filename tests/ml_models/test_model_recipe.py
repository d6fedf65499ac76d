"""A registered model remembers its recipe; a version whose feature definitions changed (or
are gone) is refused by name; one name never holds two universes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qts.core.errors import ConflictError, ValidationError
from qts.ml.features import BASIC, default_registry, feature
from qts.ml.features.basic import BASIC_COLUMNS
from qts.ml.features.registry import FeatureRegistry
from qts.ml.pipeline import train
from qts.ml.registry import ModelRegistry
from qts.ml.samples import load_bars


def gap_ratio(bars: pd.DataFrame, ctx: object, window: int) -> pd.Series:
    return bars["open"] / bars["close"].shift(1).rolling(window).mean() - 1


def registry_with_custom(window: int = 5) -> FeatureRegistry:
    registry = default_registry()
    registry.register(BASIC)
    feature("gap_ratio", registry=registry, window=window)(gap_ratio)
    return registry


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, FeatureRegistry]:
    store = tmp_path_factory.mktemp("recipe")
    bars = {s: b.iloc[-300:] for s, b in load_bars(["005930", "000660"], "1d").items()}
    features = registry_with_custom()
    result = train(
        "lightgbm", bars, n_splits=2, feature_set="basic,gap_ratio", data_dir=store,
        overrides={"epochs": 10}, feature_registry=features,
    )  # fmt: skip
    return store, result, features


def test_the_version_carries_its_recipe(trained: tuple[Path, dict, FeatureRegistry]) -> None:
    store, result, features = trained
    registry = ModelRegistry(store)
    name = result["model_name"]
    assert name.startswith("qts-lightgbm-1d-h1-krx2-")
    recipe = registry.recipe(name, "1")
    assert recipe is not None
    assert recipe.universe == ("005930", "000660") and recipe.timeframe == "1d"
    assert recipe.horizon == 1 and recipe.lookback == 1 and recipe.feature_spec == "basic,gap_ratio"
    assert [(f.name, f.version) for f in recipe.features] == [
        ("basic", BASIC.version),
        ("gap_ratio", features.get("gap_ratio").version),
    ]
    assert recipe.columns == [*BASIC_COLUMNS, "gap_ratio"]
    assert recipe.label == {
        "kind": "forward_return", "label": "next_open", "price": "open, next bar", "log": False,
        "horizon": 1,
    }  # fmt: skip
    assert recipe.normalizer is not None and len(recipe.normalizer["center"]) == 9
    assert pd.Timestamp(recipe.train_start) < pd.Timestamp(recipe.train_end)
    assert recipe.train_end == result["recipe"]["train_end"]
    tags = {v["version"]: v["tags"] for v in registry.list_models()[0]["versions"]}["1"]
    assert tags["universe"] == "005930,000660" and tags["features"].startswith("basic@")
    model, loaded = registry.load_with_recipe(name, "1", features=features)
    assert loaded == recipe and model.normalizer == recipe.normalizer


def test_changed_or_missing_feature_definitions_are_refused(
    trained: tuple[Path, dict, FeatureRegistry],
) -> None:
    store, result, _ = trained
    registry = ModelRegistry(store)
    changed = registry_with_custom(window=7)  # same code, other parameters: another version
    with pytest.raises(ValidationError, match=r"definition changed: gap_ratio \(trained"):
        registry.load(result["model_name"], "1", features=changed)
    gone = registry_with_custom()
    gone.unregister("gap_ratio")
    with pytest.raises(ValidationError, match="not registered: gap_ratio") as info:
        registry.load(result["model_name"], "1", features=gone)
    assert info.value.details == {"missing": ["gap_ratio"], "changed": []}


def test_one_name_never_holds_two_universes(trained: tuple[Path, dict, FeatureRegistry]) -> None:
    store, result, _ = trained
    other = {"005380": load_bars(["005380"], "1d")["005380"].iloc[-300:]}
    with pytest.raises(ConflictError, match="trained on another universe"):
        train("lightgbm", other, n_splits=2, feature_set="basic", data_dir=store,
              model_name=result["model_name"], overrides={"epochs": 10})  # fmt: skip
    registry = ModelRegistry(store)
    versions = {m["name"]: len(m["versions"]) for m in registry.list_models()}
    assert versions == {result["model_name"]: 1}  # nothing was registered
