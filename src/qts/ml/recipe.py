"""What a registered model needs to be fed as it was trained: its recipe.

A recipe names the features (with the version hash of each definition's code and parameters),
the label, the normaliser's state, the universe (symbols), timeframe, horizon, lookback and the
training window. It is saved beside the model (`recipe.json` in the model folder and in the run)
and summarised in the version's tags; batch inference, evaluation and retraining read it, and
a version whose features are missing or have changed since training is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from qts.core.errors import ValidationError
from qts.ml.feature_store.protocols import FeatureKey
from qts.ml.features.definition import FeatureDefinition
from qts.ml.features.registry import REGISTRY, FeatureRegistry

RECIPE_FILE = "recipe.json"
SIDE_DATA_INPUTS = ("fundamentals", "news")


@dataclass(frozen=True)
class FeatureUse:
    """One feature definition as a model used it."""

    name: str
    version: str  # hash of the definition's code, parameters and inputs
    code_hash: str
    group: str
    columns: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    # Side-data features (fundamentals, news) read a missing figure as 0 rather than dropping
    # the bar: most bars of most symbols have no fresh news or report.
    missing_as_zero: bool = False

    @classmethod
    def of(cls, definition: FeatureDefinition, columns: Sequence[str]) -> FeatureUse:
        info = definition.describe()
        return cls(
            name=definition.name, version=definition.version, code_hash=info["code_hash"],
            group=definition.group, columns=tuple(columns), params=info["params"],
            missing_as_zero=any(i in SIDE_DATA_INPUTS for i in definition.inputs),
        )  # fmt: skip

    @property
    def key(self) -> FeatureKey:
        return FeatureKey(self.name, self.version, self.columns)


def universe_hash(symbols: Sequence[str]) -> str:
    return hashlib.sha256(",".join(sorted(set(symbols))).encode()).hexdigest()[:6]


def universe_tag(symbols: Sequence[str]) -> str:
    """A short readable name for a set of symbols: market hint, count and hash, e.g.
    `krx5-3fa2c1`. The hash alone tells universes apart; the hint is for people."""
    unique = sorted(set(symbols))
    if all(re.fullmatch(r"\d{6}", s) for s in unique):
        market = "krx"
    elif all(re.search(r"[/_-](USDT|USDC|USD|BTC|ETH|KRW)$", s) for s in unique):
        market = "crypto"
    elif all(re.fullmatch(r"[A-Z][A-Z.]{0,5}", s) for s in unique):
        market = "us"
    else:
        market = "u"
    return f"{market}{len(unique)}-{universe_hash(unique)}"


@dataclass(frozen=True)
class ModelRecipe:
    model_type: str
    feature_spec: str  # as asked, e.g. "technical,time"
    features: tuple[FeatureUse, ...]
    label: dict[str, Any]
    universe: tuple[str, ...]
    timeframe: str
    horizon: int
    lookback: int
    train_start: str
    train_end: str
    normalizer: dict[str, Any] | None = None

    @property
    def columns(self) -> list[str]:
        return [c for f in self.features for c in f.columns]

    @property
    def keys(self) -> list[FeatureKey]:
        return [f.key for f in self.features]

    @property
    def universe_tag(self) -> str:
        return universe_tag(self.universe)

    def with_normalizer(self, state: dict[str, Any] | None) -> ModelRecipe:
        return replace(self, normalizer=state)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["universe_tag"] = self.universe_tag
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRecipe:
        try:
            features = tuple(
                FeatureUse(**{**f, "columns": tuple(f["columns"])}) for f in data["features"]
            )
            return cls(
                model_type=data["model_type"], feature_spec=data["feature_spec"],
                features=features, label=dict(data["label"]), universe=tuple(data["universe"]),
                timeframe=data["timeframe"], horizon=int(data["horizon"]),
                lookback=int(data["lookback"]), train_start=data["train_start"],
                train_end=data["train_end"], normalizer=data.get("normalizer"),
            )  # fmt: skip
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"malformed model recipe: {exc}") from exc

    def tags(self) -> dict[str, str]:
        """The recipe's summary as MLflow tags (values are short strings)."""
        return {
            "universe": ",".join(self.universe)[:4000],
            "universe_hash": universe_hash(self.universe),
            "universe_tag": self.universe_tag,
            "features": ",".join(f"{f.name}@{f.version}" for f in self.features)[:4000],
            "feature_spec": self.feature_spec,
            "timeframe": self.timeframe,
            "horizon": str(self.horizon),
            "train_start": self.train_start,
            "train_end": self.train_end,
        }

    def definitions(self, registry: FeatureRegistry | None = None) -> list[FeatureDefinition]:
        """The registered definitions of this recipe's features; refuses (naming them) when a
        feature is not registered here or its definition changed since training."""
        registry = registry if registry is not None else REGISTRY
        missing, changed, found = [], [], []
        for use in self.features:
            if use.name not in registry:
                missing.append(use.name)
                continue
            d = registry.get(use.name)
            if d.version != use.version:
                changed.append(f"{use.name} (trained {use.version}, now {d.version})")
            found.append(d)
        if missing or changed:
            parts = []
            if missing:
                parts.append(f"not registered: {', '.join(missing)}")
            if changed:
                parts.append(f"definition changed: {', '.join(changed)}")
            raise ValidationError(
                f"the model's features are unavailable ({'; '.join(parts)}); import the module "
                "that defines them, restore the definitions, or retrain",
                {"missing": missing, "changed": changed},
            )
        return found
