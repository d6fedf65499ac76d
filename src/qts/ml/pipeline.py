"""One call for the CLI, the API and the workers: build samples, evaluate out of sample
(purged walk-forward, once per seed), backtest the signal net of costs against buy-and-hold and
a naive baseline, trade the scores as a top-k book (`qts.ml.evaluation.portfolio`), fit the
final model on all data in the training window, log everything to MLflow and register a version.

The training window is [`start`, `end`]: bars after `end` are dropped before anything is built,
so no label of the model reaches past it; every registered version records it (`train_end`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.ml.datasets import training_window
from qts.ml.datasets.normalize import Normalizer
from qts.ml.evaluation.backtest import compare_with_baselines
from qts.ml.evaluation.metrics import regression_metrics
from qts.ml.evaluation.portfolio import topk_portfolio
from qts.ml.evaluation.summary import headline, seed_summary
from qts.ml.evaluation.walk_forward import (
    SampleSet,
    WalkForwardResult,
    fit_fold,
    scores_frame,
    walk_forward_evaluate,
)
from qts.ml.feature_path import FeatureSource
from qts.ml.features.registry import FeatureRegistry
from qts.ml.fine_tune import warm_start
from qts.ml.models import BaseModel, create_model, model_class
from qts.ml.recipe import ModelRecipe, universe_tag
from qts.ml.samples import Features, build_store_samples, feature_definitions, label_spec, load_bars

if TYPE_CHECKING:
    from qts.backtest.config import BacktestConfig

ProgressCallback = Any  # (epoch, losses, metrics) -> None


def default_model_name(
    model_type: str, timeframe: str, horizon: int, symbols: Sequence[str] = ()
) -> str:
    """`qts-<type>-<timeframe>-h<horizon>-<universe tag>`: one universe per name."""
    base = f"qts-{model_type}-{timeframe}-h{horizon}"
    return f"{base}-{universe_tag(symbols)}" if symbols else base


def lookback_for(model_type: str, overrides: Mapping[str, Any]) -> int:
    cls = model_class(model_type)
    if cls.input_kind == "tabular":
        return 1
    return int(overrides.get("lookback", getattr(cls.config_class(), "lookback", 20)))


def _model_factory(
    model_type: str, overrides: dict[str, Any], config_dir: str | Path | None
) -> Any:
    return lambda: create_model(model_type, config_dir=config_dir, **overrides)


def fit_final(
    model: BaseModel, samples: SampleSet, callbacks: Sequence[ProgressCallback] = ()
) -> BaseModel:
    """Fit on every sample with a normaliser fitted on them (a warm-started model keeps its
    init's); the normaliser travels with it. Early stopping (if the model does it) validates
    on the last dates, purged."""
    init = model.warm_start.normalizer if model.warm_start is not None else None
    norm = Normalizer.from_state(init) if init is not None else None
    norm = fit_fold(model, samples, np.arange(len(samples.X)), callbacks=callbacks,
                    normalizer=norm)[0]  # fmt: skip
    model.normalizer = norm.state()
    return model


def _plots(result: WalkForwardResult, samples: SampleSet) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.scatter(result.scores, samples.returns[result.rows], s=4, alpha=0.5)
    ax1.set_xlabel("out-of-sample score")
    ax1.set_ylabel("realised forward return")
    key = "ic" if result.metrics.get("cross_sectional") else "ts_corr"
    ax2.bar([f["fold"] for f in result.folds], [f.get(key, np.nan) for f in result.folds])
    ax2.set_xlabel("fold")
    ax2.set_ylabel("daily IC" if key == "ic" else "time-series correlation")
    fig.tight_layout()
    return fig


def train(
    model_type: str,
    bars_by_symbol: Mapping[str, pd.DataFrame] | None = None,
    *,
    symbols: list[str] | None = None,
    timeframe: str = "1d",
    horizon: int = 1,
    epochs: int | None = None,
    n_splits: int = 4,
    feature_set: Features = "technical",
    bars_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    register: bool = True,
    model_name: str | None = None,
    overrides: dict[str, Any] | None = None,
    config_dir: str | Path | None = None,
    callbacks: Sequence[ProgressCallback] = (),
    mode: str = "long_flat",
    shuffle_labels: bool = False,
    seed: int = 0,
    feature_source: FeatureSource | None = None,
    feature_registry: FeatureRegistry | None = None,
    seeds: Sequence[int] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    label: str = "next_open",
    backtest_config: BacktestConfig | None = None,
    top_k: int | None = None,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
    init_from: str | None = None,
) -> dict[str, Any]:
    """Train and evaluate one model type; returns OOS metrics, backtest figures and the MLflow
    run id and registered version (`data_dir`/`tracking_uri` None: nothing is logged).

    Features are read from `feature_source`'s offline store (in memory when None); the model is
    registered with its recipe (`qts.ml.recipe`) under `model_name`, by default a name carrying
    the universe; a name already holding another universe is refused. `seeds`: evaluate once
    per seed (per-seed metrics and mean ± sd in `seed_summary`); the first seed's run is the
    one backtested and registered. `start`/`end`: the training window. `label`: "next_open"
    (default) or "close". `backtest_config`: costs of the top-k portfolio view (default: the
    universe's market presets). `on_fold(k, fold)` after each fold of each seed (progress).
    `init_from`: a registered version the final fit starts from (`qts.ml.fine_tune`)."""
    started = time.perf_counter()
    if model_class(model_type).input_kind == "policy":  # unknown types fail before any work
        return _train_policy(dict(locals()))  # RL: learns on an environment (qts.ml.rl)
    bars_by_symbol = _universe(bars_by_symbol, symbols, timeframe, bars_dir, start, end)
    params, seed_list = _training_params(overrides, seed, seeds, epochs)
    lookback = lookback_for(model_type, params)
    if model_type == "stacking":
        params.setdefault("purge_gap", horizon * len(bars_by_symbol))
    name = model_name or default_model_name(model_type, timeframe, horizon, list(bars_by_symbol))
    if register and (data_dir is not None or tracking_uri is not None):
        from qts.ml.registry import ModelRegistry

        ModelRegistry(data_dir, tracking_uri).check_universe(name, list(bars_by_symbol))
    samples, recipe = _samples_and_recipe(
        model_type, bars_by_symbol, horizon, lookback, timeframe, feature_set, feature_source,
        feature_registry, label,
    )  # fmt: skip
    runs = [
        walk_forward_evaluate(
            samples, _model_factory(model_type, {**params, "seed": s}, config_dir), n_splits,
            pd.Timedelta(0), shuffle_labels, s, horizon=horizon, on_fold=on_fold,
        )
        for s in seed_list
    ]  # fmt: skip
    result = _evaluation_result(model_type, bars_by_symbol, samples, runs, seed_list, label,
                                mode, timeframe, horizon, lookback, backtest_config, top_k)  # fmt: skip
    model = _model_factory(model_type, params, config_dir)()
    result["init_from"] = warm_start(model, init_from, recipe, data_dir, tracking_uri)
    if data_dir is None and tracking_uri is None:
        fit_final(model, samples, callbacks)
        recipe = recipe.with_normalizer(model.normalizer)
    else:
        recipe = _log_and_register(result, model, samples, runs[0], params, callbacks, data_dir,
                                   tracking_uri, register, name, recipe)  # fmt: skip
    result["recipe"] = recipe.to_dict() | {"normalizer": None}  # the arrays stay in MLflow
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _train_policy(options: dict[str, Any]) -> dict[str, Any]:
    """`train` of a policy type (dqn, ppo, a2c): `qts.ml.rl.registration.train_policy`."""
    from qts.ml.rl.registration import train_policy

    if options.get("init_from"):
        raise ValidationError("init_from warm-starts supervised models; a policy learns anew")
    return train_policy(options.pop("model_type"), options.pop("bars_by_symbol"), **options)


def _samples_and_recipe(
    model_type: str, bars_by_symbol: Mapping[str, pd.DataFrame], horizon: int, lookback: int,
    timeframe: str, feature_set: Features, feature_source: FeatureSource | None,
    feature_registry: FeatureRegistry | None, label: str,
) -> tuple[SampleSet, ModelRecipe]:  # fmt: skip
    """The samples from the feature store (after the look-ahead check) and the recipe that
    will travel with the model."""
    require_causal_features(bars_by_symbol, feature_set, timeframe, feature_registry)
    samples, uses = build_store_samples(
        bars_by_symbol, horizon, lookback, timeframe, feature_set, feature_source,
        feature_registry, label=label,
    )  # fmt: skip
    recipe = ModelRecipe(
        model_type=model_type, feature_spec=_spec_text(feature_set), features=tuple(uses),
        label={**label_spec(label), "horizon": horizon}, universe=tuple(bars_by_symbol),
        timeframe=timeframe, horizon=horizon, lookback=lookback,
        train_start=str(samples.times.min()), train_end=str(samples.label_ends.max()),
    )  # fmt: skip
    return samples, recipe


def _universe(
    bars_by_symbol: Mapping[str, pd.DataFrame] | None, symbols: list[str] | None, timeframe: str,
    bars_dir: str | Path | None, start: str | pd.Timestamp | None, end: str | pd.Timestamp | None,
) -> Mapping[str, pd.DataFrame]:  # fmt: skip
    """The bars to train on (given, or loaded), cut to the training window: nothing after `end`."""
    if bars_by_symbol is None:
        bars_by_symbol = load_bars(symbols, timeframe, bars_dir)
    elif symbols:
        bars_by_symbol = {s: bars_by_symbol[s] for s in symbols}
    return training_window(bars_by_symbol, start, end)


def _training_params(
    overrides: dict[str, Any] | None, seed: int, seeds: Sequence[int] | None, epochs: int | None
) -> tuple[dict[str, Any], list[int]]:
    """The model parameters (first seed, epochs) and the seeds to evaluate with."""
    params = dict(overrides or {})
    params.setdefault("seed", seed)
    seed_list = [int(s) for s in seeds] if seeds else [int(params["seed"])]
    params["seed"] = seed_list[0]
    if epochs is not None:
        params["epochs"] = epochs
    return params, seed_list


def _evaluation_result(
    model_type: str, bars_by_symbol: Mapping[str, pd.DataFrame], samples: SampleSet,
    runs: list[WalkForwardResult], seed_list: list[int], label: str, mode: str, timeframe: str,
    horizon: int, lookback: int, backtest_config: BacktestConfig | None, top_k: int | None,
) -> dict[str, Any]:  # fmt: skip
    """The first seed's out-of-sample figures and backtest beside its baselines, the per-seed
    summary and the top-k portfolio view."""
    from qts.backtest.config import BacktestConfig

    wf = runs[0]
    oos_start, oos_end = samples.times[wf.rows].min(), samples.label_ends[wf.rows].max()
    scores = scores_frame(samples, wf)
    bt = compare_with_baselines(
        bars_by_symbol, scores, oos_start, oos_end, mode=mode, timeframe=timeframe, horizon=horizon
    )
    naive_score = _naive_scores(samples, wf.rows)
    result: dict[str, Any] = {
        "model_type": model_type, "symbols": list(bars_by_symbol), "timeframe": timeframe,
        "horizon": horizon, "samples": len(samples.X), "features": len(samples.feature_names),
        "lookback": lookback, "oos_start": str(oos_start), "oos_end": str(oos_end),
        "oos": wf.metrics, "folds": wf.folds, "backtest": bt,
        "naive_oos": regression_metrics(
            naive_score, samples.returns[wf.rows], samples.times[wf.rows],
            samples.symbols[wf.rows], seed_list[0], horizon,
        ),
        "run_id": None, "model_name": None, "version": None,
    }  # fmt: skip
    result.update(_evaluation_extras(samples, runs, seed_list, label))
    result["portfolio"] = topk_portfolio(
        scores, bars_by_symbol, backtest_config or BacktestConfig(),
        k=top_k, horizon=horizon, end=oos_end,
    )  # fmt: skip
    return result


def require_causal_features(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    feature_set: Features,
    timeframe: str,
    registry: FeatureRegistry | None = None,
) -> None:
    """The look-ahead check on the first symbol's bars before any training: a feature whose
    row t changes when later bars are added raises `ValidationError` naming it."""
    from qts.ml.features import FeatureContext
    from qts.ml.features.leakcheck import require_no_lookahead

    symbol, bars = next(iter(bars_by_symbol.items()))
    definitions = feature_definitions(feature_set, registry)
    require_no_lookahead(definitions, bars, FeatureContext(symbol=symbol, timeframe=timeframe))


def _evaluation_extras(
    samples: SampleSet, runs: list[WalkForwardResult], seeds: list[int], label: str
) -> dict[str, Any]:
    """Per-seed figures and their mean ± sd, the training window and the feature list."""
    return {
        "label": label, "seeds": seeds,
        "per_seed": [{"seed": s, **headline(r.metrics)} for s, r in zip(seeds, runs, strict=True)],
        "seed_summary": seed_summary([r.metrics for r in runs]),
        "train_start": str(samples.times.min()), "train_end": str(samples.label_ends.max()),
        "feature_names": list(samples.feature_names),
    }  # fmt: skip


def _naive_scores(samples: SampleSet, rows: np.ndarray) -> np.ndarray:
    """Last bar's return (the 'tomorrow repeats today' forecast) where the features hold it."""
    for name in ("ret_1", "logret_1"):
        if name in samples.feature_names:
            j = samples.feature_names.index(name)
            X = samples.X[rows]
            return X[:, -1, j] if X.ndim == 3 else X[:, j]
    return np.full(len(rows), np.nan)


def _log_and_register(
    result: dict[str, Any], model: BaseModel, samples: SampleSet, wf: WalkForwardResult,
    params: dict[str, Any], callbacks: Sequence[ProgressCallback], data_dir: str | Path | None,
    tracking_uri: str | None, register: bool, name: str, recipe: ModelRecipe,
) -> ModelRecipe:  # fmt: skip
    from qts.ml.registry import ModelRegistry

    registry = ModelRegistry(data_dir, tracking_uri)
    window = {"train_start": result["train_start"], "train_end": result["train_end"]}
    with registry.start_run(
        "qts-training", run_name=name, tags={"model_type": result["model_type"], **window}
    ) as run:
        run.log_params({**window, "label": result["label"], "init_from": result["init_from"],
                        "seeds": ",".join(map(str, result["seeds"]))})  # fmt: skip
        run.log_params({
            "model_type": result["model_type"], "symbols": ",".join(result["symbols"]),
            "timeframe": result["timeframe"], "horizon": result["horizon"],
            "lookback": result["lookback"], "features": result["features"],
            "config": model.config.to_dict() | {"search_space": None},
        })  # fmt: skip
        for fold in wf.folds:
            run.log_metrics(
                {f"fold_{k}": v for k, v in fold.items() if isinstance(v, float)}, fold["fold"]
            )
        fit_final(model, samples, [*callbacks, run.epoch_callback("final_")])
        oos = {f"oos_{k}": v for k, v in wf.metrics.items() if isinstance(v, float)}
        bt = {f"{who}_{k}": v for who, m in result["backtest"].items() for k, v in m.items()}
        run.log_metrics({**oos, "oos_sharpe": result["backtest"]["model"]["sharpe"], **bt})
        run.log_metrics(_summary_metrics(result))
        run.log_dict(
            {k: v for k, v in result.items() if k != "backtest"} | {"backtest": result["backtest"]},
            "result.json",
        )
        fig = _plots(wf, samples)
        run.log_figure(fig, "oos_scores.png")
        import matplotlib.pyplot as plt

        plt.close(fig)
        recipe = recipe.with_normalizer(model.normalizer)
        from qts.ml.monitoring import build_reference

        reference = build_reference(samples, model, result["train_end"]).to_dict()
        uri = registry.log_model(
            run.run_id, model, samples.X[:5], recipe=recipe, reference=reference
        )
        result["run_id"] = run.run_id
    if register:
        result["model_name"] = name
        result["version"] = registry.register(
            uri,
            name,
            run.run_id,
            tags={"model_type": result["model_type"], **window, **recipe.tags()},
        )
    return recipe


def _spec_text(features: Features) -> str:
    if isinstance(features, str):
        return features
    return ",".join(f if isinstance(f, str) else f.name for f in features)


def _summary_metrics(result: dict[str, Any]) -> dict[str, float]:
    """Mean and sd over seeds, and the top-k portfolio beside its baselines, as run metrics."""
    out: dict[str, float] = {}
    for key in ("ic", "rank_ic", "icir", "ic_t_stat", "ts_corr"):
        entry = result["seed_summary"].get(key)
        if entry is not None:
            out[f"seeds_{key}_mean"] = entry["mean"]
            if entry["sd"] is not None:
                out[f"seeds_{key}_sd"] = entry["sd"]
    for who in ("model", "buy_and_hold", "naive"):
        for key in ("sharpe", "total_return", "max_drawdown", "turnover"):
            if key in result["portfolio"][who]:
                out[f"topk_{who}_{key}"] = result["portfolio"][who][key]
    return out


def check_model_type(model_type: str) -> None:
    try:
        model_class(model_type)
    except Exception as exc:
        raise ValidationError(str(exc)) from exc
