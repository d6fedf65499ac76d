"""Strategies that trade models: `ml_signal` (score -> target per symbol), `ml_topk`
(cross-sectional top-k with limited turnover) and `hybrid` (a rule strategy and a model
combined by vote, weighted sum, filter or regime).

They read scores through an injected `ModelAccess` (`bind_models`), so one class runs unchanged
in a backtest (point-in-time scores of the whole history, none inside the model's training
window), a paper session and live (the newest bar through the online store). `model` names a
registered version: `NAME@alias` (default alias production) or `NAME/version`.
`refit=walk_forward` asks the backtest wiring to refit the version's recipe on expanding
windows instead (a research mode; refused in paper and live).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

import qts.strategies.builtin  # noqa: F401  (registers the rule strategies)
from qts.core.errors import ValidationError
from qts.strategies.base import TargetStrategy, Universe, as_universe
from qts.strategies.model_access import require_access
from qts.strategies.params import Param, ParamSet, parse_param_pairs
from qts.strategies.registration import REGISTERED, register
from qts.strategies.signal_maps import hysteresis, topk_dropout, vol_target

MODEL = Param("model", "str", "", description="registered model: NAME@alias or NAME/version")
REFIT = Param(
    "refit", "str", "none", choices=("none", "walk_forward"),
    description="none: frozen weights; walk_forward: refit on expanding windows (research)",
)  # fmt: skip
REFIT_EVERY = Param("refit_every", "int", 21, low=1, high=10_000, description="bars per refit")
MIN_TRAIN = Param("min_train", "int", 120, low=20, high=100_000, description="first refit's bars")
WARMUP = Param("warmup", "int", 260, low=0, high=100_000, description="history for features")
ENTER = Param("enter", "float", 0.0, description="go long above this score")
EXIT = Param("exit", "float", 0.0, description="leave a long below this score (<= enter)")
SHORT = Param("allow_short", "bool", False, description="go short below -enter")


class ModelStrategy(TargetStrategy):
    """A target strategy fed by a model's scores through `self.models`."""

    uses_models: ClassVar[bool] = True

    def validate_params(self) -> None:
        if not str(self.p["model"]).strip():
            raise ValidationError(
                f"{self.name} needs --param model=NAME@alias (or NAME/version); "
                "`qts models list` shows the registered models"
            )
        if "exit" in self.p and self.p["exit"] > self.p["enter"]:
            raise ValidationError(f"{self.name}: exit must be <= enter")

    def model_refs(self) -> list[str]:
        return [str(self.p["model"])]

    @property
    def warmup_bars(self) -> int:
        return int(self.p["warmup"])

    def order_meta(self, symbol: str) -> dict[str, Any]:
        """Recorded on each order: the model version behind it."""
        return require_access(self.models, self.name).identity(str(self.p["model"]))

    def model_scores(self, universe: Universe) -> pd.DataFrame:
        access = require_access(self.models, self.name)
        index = _union_index(universe)
        return access.scores(str(self.p["model"]), universe).reindex(index)

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return self.target_positions({"ASSET": bars})["ASSET"]


def _union_index(universe: Universe) -> pd.DatetimeIndex:
    indexes = [pd.DatetimeIndex(bars.index) for bars in universe.values()]
    index = indexes[0]
    for other in indexes[1:]:
        index = index.union(other)
    return index


def _frame(columns: dict[str, np.ndarray], index: pd.DatetimeIndex) -> pd.DataFrame:
    frame = pd.DataFrame(columns, index=index).fillna(0.0)
    frame.index.name = "ts"
    return frame


@register
class MlSignal(ModelStrategy):
    """One model, one or many symbols: each symbol's score -> direction (threshold with
    hysteresis) -> size (full, or volatility-targeted), an equal share of equity per symbol."""

    name: ClassVar[str] = "ml_signal"
    params: ClassVar[tuple[Param, ...]] = ParamSet(
        MODEL, REFIT, REFIT_EVERY, MIN_TRAIN, WARMUP, ENTER, EXIT, SHORT,
        Param("sizing", "str", "full", choices=("full", "vol_target"),
              description="full: the whole share; vol_target: scaled to target_vol"),
        Param("target_vol", "float", 0.15, low=0.001, high=5.0, description="annualised"),
        Param("vol_window", "int", 20, low=2, high=1000, description="bars of realised vol"),
        Param("periods_per_year", "float", 252.0, low=1.0, description="for annualising"),
    )  # fmt: skip

    def target_positions(self, data: pd.DataFrame | Universe) -> pd.DataFrame:
        universe = as_universe(data)
        scores = self.model_scores(universe)
        weight = 1.0 / len(universe)
        columns = {}
        for symbol, bars in universe.items():
            s = scores[symbol].reindex(bars.index).to_numpy(np.float64)
            direction = hysteresis(s, self.p["enter"], self.p["exit"], self.p["allow_short"])
            if self.p["sizing"] == "vol_target":
                close = bars["close"].to_numpy(np.float64)
                direction = vol_target(
                    direction, close, self.p["target_vol"], self.p["vol_window"],
                    self.p["periods_per_year"],
                )  # fmt: skip
            columns[symbol] = pd.Series(direction * weight, index=bars.index)
        return _frame(columns, scores.index)  # type: ignore[arg-type]


@register
class MlTopK(ModelStrategy):
    """Cross-sectional: every `every` bars rank the universe by score and hold the best `k`
    (1/k of equity each), replacing at most `n_drop` held names (Qlib's TopkDropout idea)."""

    name: ClassVar[str] = "ml_topk"
    params: ClassVar[tuple[Param, ...]] = ParamSet(
        MODEL, REFIT, REFIT_EVERY, MIN_TRAIN, WARMUP,
        Param("k", "int", 5, low=1, high=10_000, description="names held"),
        Param("n_drop", "int", 1, low=0, high=10_000, description="most names replaced a rebalance"),
        Param("every", "int", 1, low=1, high=1000, description="bars between rebalances"),
    )  # fmt: skip

    def target_positions(self, data: pd.DataFrame | Universe) -> pd.DataFrame:
        universe = as_universe(data)
        scores = self.model_scores(universe)
        held = topk_dropout(scores, self.p["k"], self.p["n_drop"], self.p["every"])
        frame = held / float(self.p["k"])
        frame.index.name = "ts"
        return frame


COMBINE = ("vote", "weighted", "filter", "regime")


@register
class Hybrid(ModelStrategy):
    """A rule strategy and a model together. `vote`: the sign of rule plus model direction;
    `weighted`: weight * model + (1 - weight) * rule; `filter`: the rule's target where the
    model's direction confirms it, else flat; `regime`: the model trades while realised
    volatility is above its median of the last `regime_window` bars, the rule otherwise."""

    name: ClassVar[str] = "hybrid"
    params: ClassVar[tuple[Param, ...]] = ParamSet(
        MODEL, REFIT, REFIT_EVERY, MIN_TRAIN, WARMUP, ENTER, EXIT, SHORT,
        Param("rule", "str", "sma_cross", description="a registered target strategy"),
        Param("rule_params", "str", "", description="its parameters: k=v;k=v"),
        Param("combine", "str", "filter", choices=COMBINE, description="how they combine"),
        Param("weight", "float", 0.5, low=0.0, high=1.0, description="model weight (weighted)"),
        Param("vol_window", "int", 20, low=2, high=1000, description="bars of realised vol"),
        Param("regime_window", "int", 120, low=2, high=10_000, description="median window"),
    )  # fmt: skip

    def validate_params(self) -> None:
        super().validate_params()
        self.rule = _rule_strategy(str(self.p["rule"]), str(self.p["rule_params"]))

    @property
    def warmup_bars(self) -> int:
        return max(int(self.p["warmup"]), self.rule.warmup_bars)

    def target_positions(self, data: pd.DataFrame | Universe) -> pd.DataFrame:
        universe = as_universe(data)
        scores = self.model_scores(universe)
        weight = 1.0 / len(universe)
        columns = {}
        for symbol, bars in universe.items():
            rule = self.rule.symbol_targets(bars).astype(float).fillna(0.0).clip(-1, 1)
            s = scores[symbol].reindex(bars.index).to_numpy(np.float64)
            model = hysteresis(s, self.p["enter"], self.p["exit"], self.p["allow_short"])
            target = self._combine(rule.to_numpy(), model, bars)
            columns[symbol] = pd.Series(target * weight, index=bars.index)
        return _frame(columns, scores.index)  # type: ignore[arg-type]

    def _combine(self, rule: np.ndarray, model: np.ndarray, bars: pd.DataFrame) -> np.ndarray:
        how = self.p["combine"]
        if how == "vote":
            return np.sign(np.sign(rule) + model)
        if how == "weighted":
            return np.clip(self.p["weight"] * model + (1 - self.p["weight"]) * rule, -1, 1)
        if how == "filter":
            return np.where(np.sign(rule) == model, rule, 0.0)
        returns = bars["close"].astype(float).pct_change()
        vol = returns.rolling(self.p["vol_window"]).std()
        calm = vol.rolling(self.p["regime_window"], min_periods=1).median()
        volatile = (vol > calm).to_numpy()
        return np.where(volatile, model, rule)


def _is_rule(cls: type) -> bool:
    return issubclass(cls, TargetStrategy) and not issubclass(cls, ModelStrategy)


def _rule_strategy(name: str, params_text: str) -> TargetStrategy:
    cls = REGISTERED.get(name)
    if cls is None or not _is_rule(cls):
        rules = sorted(k for k, c in REGISTERED.items() if _is_rule(c))
        raise ValidationError(
            f"hybrid: rule must be a rule-based target strategy ({', '.join(rules)}), got {name!r}"
        )
    pairs = [p for p in params_text.replace(",", ";").split(";") if p.strip()]
    rule = cls(**parse_param_pairs(pairs))
    assert isinstance(rule, TargetStrategy)
    return rule
