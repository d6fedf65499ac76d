"""The Optuna objective of a policy type: the walk-forward out-of-sample net Sharpe (the
policy's, through the engine, one seed per trial), reported fold by fold for the pruner."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qts.ml.feature_path import FeatureSource
from qts.ml.models import create_model, suggest_params
from qts.ml.rl.train import evaluate, fold_bounds, prepare
from qts.ml.samples import Features


def policy_objective(
    model_type: str, fixed: dict[str, Any], space: dict[str, Any],
    bars_by_symbol: Mapping[str, pd.DataFrame], timeframe: str, feature_set: Features,
    source: FeatureSource, n_splits: int, config_dir: str | Path | None,
) -> Callable[[Any], float]:  # fmt: skip
    import optuna

    prep = prepare(dict(bars_by_symbol), timeframe, feature_set, source, None, None)

    def objective(trial: optuna.Trial) -> float:
        params = {**fixed, **suggest_params(trial, space)}
        epochs = params.pop("epochs", None)
        seed = int(params.get("seed", 0))
        lookback = int(create_model(model_type, config_dir, **params).config.lookback)
        sharpes: list[float] = []

        def report(fold: int, row: dict[str, Any]) -> None:
            sharpes.append(float(np.nan_to_num(row[f"seed_{seed}_sharpe"])))
            trial.report(float(np.mean(sharpes)), fold)
            if trial.should_prune():
                raise optuna.TrialPruned()

        folds = fold_bounds(len(prep.index), n_splits, lookback)
        result = evaluate(model_type, prep, folds, [seed], params, config_dir, epochs, report)
        return float(result["table"]["policy"]["sharpe"])

    return objective
