"""Optuna studies over a model's declared search space (`search_space` in its YAML config).

Each trial trains on a purged walk-forward split and reports the out-of-sample daily
cross-sectional IC of every fold (the intermediate value Optuna's median pruner compares); the
objective is the mean fold IC. Policies (dqn, ppo, a2c) report each fold's out-of-sample net
Sharpe instead (`qts.ml.rl.tuning`).
Storage is the URL passed in (the qts database in the service layer; None: in memory). The
best trial's settings are then trained by `qts.ml.pipeline.train` and registered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.ml.evaluation.walk_forward import walk_forward_evaluate
from qts.ml.feature_path import FeatureSource
from qts.ml.models import create_model, model_class, suggest_params
from qts.ml.pipeline import lookback_for, train
from qts.ml.samples import Features, build_samples, load_bars


def tune(
    model_type: str,
    bars_by_symbol: Mapping[str, pd.DataFrame] | None = None,
    *,
    symbols: list[str] | None = None,
    timeframe: str = "1d",
    horizon: int = 1,
    trials: int = 10,
    n_splits: int = 3,
    epochs: int | None = None,
    feature_set: Features = "technical",
    storage: str | None = None,
    study_name: str | None = None,
    bars_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    register_best: bool = True,
    config_dir: str | Path | None = None,
    seed: int = 0,
    timeout: float | None = None,
    feature_source: FeatureSource | None = None,
) -> dict[str, Any]:
    import optuna

    cls = model_class(model_type)
    space = create_model(model_type, config_dir=config_dir).search_space
    if not space:
        raise ValidationError(f"{model_type} declares no search space")
    if bars_by_symbol is None:
        bars_by_symbol = load_bars(symbols, timeframe, bars_dir)
    source = feature_source if feature_source is not None else FeatureSource()
    fixed: dict[str, Any] = {"seed": seed}
    if epochs is not None:
        fixed["epochs"] = epochs
    if cls.input_kind == "policy":  # RL: the objective is the out-of-sample net Sharpe
        from qts.ml.rl.tuning import policy_objective

        objective = policy_objective(model_type, fixed, space, bars_by_symbol, timeframe,
                                     feature_set, source, n_splits, config_dir)  # fmt: skip
    else:
        objective = _objective(
            model_type, fixed, space, bars_by_symbol, horizon, timeframe, feature_set, source,
            n_splits, config_dir,
        )  # fmt: skip

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name or f"qts-{model_type}-{timeframe}-h{horizon}",
        storage=storage, direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )  # fmt: skip
    study.optimize(objective, n_trials=trials, timeout=timeout)
    states = [t.state.name for t in study.trials]
    out: dict[str, Any] = {
        "model_type": cls.model_type, "study": study.study_name, "trials": len(study.trials),
        "pruned": states.count("PRUNED"), "best_value": study.best_value,
        "best_params": study.best_params, "run_id": None, "version": None,
    }  # fmt: skip
    if register_best and (data_dir is not None or tracking_uri is not None):
        best = train(
            model_type, bars_by_symbol, timeframe=timeframe, horizon=horizon, n_splits=n_splits,
            feature_set=feature_set, data_dir=data_dir, tracking_uri=tracking_uri,
            feature_source=source,
            overrides={**fixed, **study.best_params}, config_dir=config_dir, seed=seed,
        )  # fmt: skip
        out.update(run_id=best["run_id"], version=best["version"], model_name=best["model_name"],
                   oos=best["oos"])  # fmt: skip
    return out


def _objective(
    model_type: str, fixed: dict[str, Any], space: dict[str, Any],
    bars_by_symbol: Mapping[str, pd.DataFrame], horizon: int, timeframe: str,
    feature_set: Features, source: FeatureSource, n_splits: int,
    config_dir: str | Path | None,
) -> Callable[[Any], float]:  # fmt: skip
    """The study's objective: mean daily IC over walk-forward folds, pruned fold by fold."""
    import optuna

    sample_cache: dict[int, Any] = {}

    def objective(trial: optuna.Trial) -> float:
        params = {**fixed, **suggest_params(trial, space)}
        lookback = lookback_for(model_type, params)
        if lookback not in sample_cache:
            sample_cache[lookback] = build_samples(
                bars_by_symbol, horizon, lookback, timeframe, feature_set, source
            )
        samples = sample_cache[lookback]
        ics: list[float] = []

        def report(fold: int, metrics: dict[str, Any]) -> None:
            # Daily cross-sectional IC; one symbol has none, its time-series corr stands in.
            ics.append(float(np.nan_to_num(metrics.get("ic", metrics.get("ts_corr", 0.0)))))
            trial.report(float(np.mean(ics)), fold)
            if trial.should_prune():
                raise optuna.TrialPruned()

        walk_forward_evaluate(
            samples, lambda: create_model(model_type, config_dir=config_dir, **params), n_splits,
            pd.Timedelta(0), on_fold=report, horizon=horizon,
        )  # fmt: skip
        return float(np.mean(ics))

    return objective
