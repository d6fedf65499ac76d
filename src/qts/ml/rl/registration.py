"""Train, evaluate, log and register one policy type (the body of `qts train --model ppo`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.ml.feature_path import FeatureSource
from qts.ml.features.registry import FeatureRegistry
from qts.ml.recipe import ModelRecipe
from qts.ml.rl import evaluation as ev
from qts.ml.rl.env import EnvSettings, env_arrays
from qts.ml.rl.policy import PolicyModel
from qts.ml.rl.portfolio_env import PortfolioEnv
from qts.ml.rl.trading_env import TradingEnv
from qts.ml.rl.train import (
    Prepared,
    default_policy_name,
    evaluate,
    fit_policy,
    fold_bounds,
    prepare,
    universe,
)
from qts.ml.samples import Features

POLICY_LABEL = {"kind": "policy", "reward": "net equity change after costs", "label": "policy"}


def train_policy(
    model_type: str, bars_by_symbol: Mapping[str, pd.DataFrame] | None = None, **options: Any
) -> dict[str, Any]:
    """`qts.ml.pipeline.train` for policy types (same options; horizon, label and the top-k
    view do not apply): walk-forward evaluation, the final fit, MLflow and registration."""
    started = time.perf_counter()
    result = train_and_register(model_type, bars_by_symbol, **options)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def train_and_register(
    model_type: str, bars_by_symbol: Mapping[str, pd.DataFrame] | None = None, *,
    symbols: list[str] | None = None, timeframe: str = "1d", n_splits: int = 4,
    feature_set: Features = "technical", bars_dir: str | Path | None = None,
    data_dir: str | Path | None = None, tracking_uri: str | None = None, register: bool = True,
    model_name: str | None = None, overrides: dict[str, Any] | None = None,
    config_dir: str | Path | None = None, callbacks: Sequence[Any] = (), seed: int = 0,
    seeds: Sequence[int] | None = None, feature_source: FeatureSource | None = None,
    feature_registry: FeatureRegistry | None = None, start: Any = None, end: Any = None,
    backtest_config: BacktestConfig | None = None, epochs: int | None = None,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None, **_not_for_policies: Any,
) -> dict[str, Any]:  # fmt: skip
    bars = universe(bars_by_symbol, symbols, timeframe, bars_dir, start, end)
    params = dict(overrides or {})
    seed_list = [int(s) for s in seeds] if seeds else [int(params.get("seed", seed))]
    params["seed"] = seed_list[0]
    name = model_name or default_policy_name(model_type, timeframe, list(bars))
    logging = data_dir is not None or tracking_uri is not None
    if register and logging:
        from qts.ml.registry import ModelRegistry

        ModelRegistry(data_dir, tracking_uri).check_universe(name, list(bars))
    prep = prepare(bars, timeframe, feature_set, feature_source, feature_registry, backtest_config)
    from qts.ml.models import create_model

    lookback = int(create_model(model_type, config_dir, **params).config.lookback)
    folds = fold_bounds(len(prep.index), n_splits, lookback)
    evaluated = evaluate(model_type, prep, folds, seed_list, params, config_dir, epochs, on_fold)
    result = _result(model_type, prep, folds, seed_list, lookback, evaluated)
    policy = fit_policy(model_type, prep, None, params, config_dir, epochs,
                        [*callbacks, _curve_collector(result)])  # fmt: skip
    recipe = _recipe(model_type, prep, lookback).with_normalizer(policy.normalizer)
    if logging:
        _log_and_register(result, policy, prep, recipe, data_dir, tracking_uri, register, name)
    result["recipe"] = recipe.to_dict() | {"normalizer": None}
    return result


def _curve_collector(result: dict[str, Any]) -> Callable[..., None]:
    result["training_curve"] = []

    def collect(step: int, losses: dict[str, float], metrics: dict[str, float]) -> None:
        result["training_curve"].append({"step": step, **losses, **metrics})

    return collect


def _result(
    model_type: str, prep: Prepared, folds: list[tuple[int, int]], seeds: list[int],
    lookback: int, evaluated: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    table = evaluated["table"]
    backtest = {who: {k: table[who].get(k) for k in (*ev.KEYS, "sharpe_sd")
                      if table[who].get(k) is not None}
                for who in ev.WHO}  # fmt: skip
    return {
        "kind": "policy", "model_type": model_type, "symbols": list(prep.bars),
        "timeframe": prep.timeframe, "horizon": 1, "lookback": lookback,
        "samples": int(sum(len(b) for b in prep.bars.values())),
        "features": len(prep.frames[next(iter(prep.frames))].columns),
        "oos_start": str(prep.index[folds[0][0]]), "oos_end": str(prep.index[-1]),
        "train_start": str(prep.index[0]), "train_end": str(prep.index[-1]),
        "seeds": seeds, "per_seed": evaluated["per_seed"], "folds": evaluated["folds"],
        "oos": table["policy"], "backtest": backtest, "table": table,
        "gate": ev.policy_gate(table), "run_spec": prep.spec.to_dict(),
        "run_id": None, "model_name": None, "version": None,
    }  # fmt: skip


def _recipe(model_type: str, prep: Prepared, lookback: int) -> ModelRecipe:
    return ModelRecipe(
        model_type=model_type, feature_spec=prep.feature_spec, features=tuple(prep.uses),
        label=dict(POLICY_LABEL), universe=tuple(prep.bars), timeframe=prep.timeframe,
        horizon=1, lookback=lookback, train_start=str(prep.index[0]),
        train_end=str(prep.index[-1]),
    )  # fmt: skip


def example_observations(policy: PolicyModel, prep: Prepared) -> np.ndarray:
    """A few observations (for the MLflow signature)."""
    from qts.ml.datasets import Normalizer

    norm = Normalizer.from_state(policy.normalizer or {})
    arrays = {s: env_arrays(b, norm.transform(prep.frames[s]), prep.spec, s)
              for s, b in prep.bars.items()}  # fmt: skip
    settings = EnvSettings(lookback=policy.config.lookback)
    env: Any = (PortfolioEnv(arrays, settings) if policy.config.portfolio
                else TradingEnv(next(iter(arrays.values())), settings))  # fmt: skip
    obs = [env.reset(seed=0)[0]]
    for _ in range(4):
        obs.append(env.step(env.action_space.sample())[0])
    return np.asarray(obs, dtype=np.float64)


def _log_and_register(
    result: dict[str, Any], policy: PolicyModel, prep: Prepared, recipe: ModelRecipe,
    data_dir: str | Path | None, tracking_uri: str | None, register: bool, name: str,
) -> None:  # fmt: skip
    from qts.ml.registry import ModelRegistry

    registry = ModelRegistry(data_dir, tracking_uri)
    window = {"train_start": result["train_start"], "train_end": result["train_end"]}
    tags = {"model_type": result["model_type"], "kind": "policy", **window}
    with registry.start_run("qts-training", run_name=name, tags=tags) as run:
        run.log_params({**window, "seeds": ",".join(map(str, result["seeds"])),
                        "model_type": result["model_type"], "symbols": ",".join(result["symbols"]),
                        "timeframe": result["timeframe"], "lookback": result["lookback"],
                        "features": result["features"],
                        "config": policy.config.to_dict() | {"search_space": None}})  # fmt: skip
        for fold in result["folds"]:
            run.log_metrics({f"fold_{k}": v for k, v in fold.items() if isinstance(v, float)},
                            fold["fold"])  # fmt: skip
        for point in result["training_curve"]:
            run.log_metrics({f"final_{k}": v for k, v in point.items() if k != "step"},
                            point["step"])  # fmt: skip
        run.log_metrics(_run_metrics(result))
        run.log_dict(result, "result.json")
        uri = registry.log_model(run.run_id, policy, example_observations(policy, prep),
                                 recipe=recipe)  # fmt: skip
        result["run_id"] = run.run_id
    if register:
        result["model_name"] = name
        gate = "passed" if result["gate"]["passed"] else "failed"
        result["version"] = registry.register(
            uri, name, run.run_id, tags={**tags, **recipe.tags(), "policy_gate": gate}
        )


def _run_metrics(result: dict[str, Any]) -> dict[str, float]:
    """oos_* of the policy (mean over seeds), each baseline's figures, the gate as 0/1."""
    table = result["table"]
    out = {f"oos_{k}": v for k, v in table["policy"].items()}
    for who in ("buy_and_hold", "random", "best_rule"):
        out.update({f"{who}_{k}": v for k, v in table[who].items()})
    out["policy_gate_passed"] = float(result["gate"]["passed"])
    return out
