"""Walk-forward training of a policy (`qts train --model dqn|ppo|a2c`): the bars are cut into
`n_splits + 1` blocks; fold k trains on every bar before block k (features normalised on those
bars only) and plays the policy on block k only. Each fold, for each seed, beside buy-and-hold,
a random policy and the best rule strategy (`qts.ml.rl.evaluation`). The final policy learns
on the whole window (first seed), is logged to MLflow (episode reward and length, losses, the
out-of-sample table, the gate) and registered like every model, with its recipe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.core.errors import ValidationError
from qts.ml.datasets import Normalizer, training_window
from qts.ml.feature_path import FeatureSource, ensure_offline, training_frames
from qts.ml.features.registry import FeatureRegistry
from qts.ml.recipe import FeatureUse, universe_tag
from qts.ml.rl import evaluation as ev
from qts.ml.rl.env import action_levels, env_arrays, run_spec
from qts.ml.rl.policy import PolicyModel
from qts.ml.rl.portfolio_env import PortfolioEnv
from qts.ml.rl.rollout import portfolio_rollout, rollout_targets
from qts.ml.rl.trading_env import TradingEnv
from qts.ml.samples import Features, feature_definitions, load_bars

Progress = Callable[[int, dict[str, float], dict[str, float]], None]


@dataclass
class Prepared:
    """The universe's bars, raw feature frames (one row per bar), features used and run spec."""

    bars: dict[str, pd.DataFrame]
    frames: dict[str, pd.DataFrame]
    uses: list[FeatureUse]
    spec: BacktestConfig
    index: pd.DatetimeIndex  # union of bar times
    timeframe: str
    feature_spec: str


def prepare(
    bars: Mapping[str, pd.DataFrame], timeframe: str, features: Features,
    source: FeatureSource | None, registry: FeatureRegistry | None,
    config: BacktestConfig | None,
) -> Prepared:  # fmt: skip
    from qts.ml.features import FeatureContext
    from qts.ml.features.leakcheck import require_no_lookahead

    definitions = feature_definitions(features, registry)
    symbol, first = next(iter(bars.items()))
    require_no_lookahead(definitions, first, FeatureContext(symbol=symbol, timeframe=timeframe))
    source = source if source is not None else FeatureSource()
    uses = ensure_offline(source, definitions, bars, timeframe)
    frames = training_frames(source, uses, bars, timeframe)
    spec = run_spec(config, symbol)
    if not spec.resolved:
        spec = spec.resolve(sorted(bars))
    index = pd.DatetimeIndex(sorted(set().union(*(b.index for b in bars.values()))))
    text = features if isinstance(features, str) else ",".join(
        f if isinstance(f, str) else f.name for f in features
    )  # fmt: skip
    return Prepared(dict(bars), frames, uses, spec, index, timeframe, text)


def fit_policy(
    model_type: str, prep: Prepared, cut: pd.Timestamp | None, params: dict[str, Any],
    config_dir: str | Path | None = None, epochs: int | None = None,
    callbacks: Sequence[Progress] = (),
) -> PolicyModel:  # fmt: skip
    """A policy learnt on the bars before `cut` (all when None), features normalised on them."""
    from qts.ml.models import create_model

    keep = {s: (b.index < cut) if cut is not None else np.ones(len(b), bool)
            for s, b in prep.bars.items()}  # fmt: skip
    norm = Normalizer().fit(pd.concat([prep.frames[s].loc[m] for s, m in keep.items()]))
    policy = create_model(model_type, config_dir, **params)
    if not isinstance(policy, PolicyModel):
        raise ValidationError(f"{model_type} is not a policy type")
    settings = policy.config.env_settings(training=True)
    arrays = [
        env_arrays(prep.bars[s].loc[m], norm.transform(prep.frames[s].loc[m]), prep.spec, s)
        for s, m in keep.items()
    ]
    if policy.config.portfolio:  # one env over the universe, one account
        by_symbol = dict(zip(keep, arrays, strict=True))
        env_fns: list[Any] = [partial(PortfolioEnv, by_symbol, settings)] * policy.config.n_envs
    else:
        env_fns = [partial(TradingEnv, arrays[i % len(arrays)], settings)
                   for i in range(policy.config.n_envs)]  # fmt: skip
    steps = epochs * sum(a.n for a in arrays) if epochs else None
    policy.learn(env_fns, action_levels(prep.spec.sizer.allow_short), steps, callbacks)
    policy.normalizer = norm.state()
    policy.meta = {"run_spec": prep.spec.to_dict(), "feature_columns": list(norm.columns_ or []),
                   "universe": list(prep.bars)}  # fmt: skip
    return policy


def fold_bounds(n: int, n_splits: int, lookback: int) -> list[tuple[int, int]]:
    """Rows [start, end) of each test block: the last `n_splits` of `n_splits + 1` blocks."""
    block = n // (n_splits + 1)
    if n_splits < 1 or block < max(lookback + 2, 10):
        raise ValidationError(
            f"{n} bars are too few for {n_splits} walk-forward folds (each block needs at least "
            f"{max(lookback + 2, 10)} bars); use fewer folds or more bars"
        )
    starts = [n - (n_splits - k) * block for k in range(n_splits)]
    return [(s, starts[i + 1] if i + 1 < n_splits else n) for i, s in enumerate(starts)]


def play(
    policy: PolicyModel | None, prep: Prepared, norm: Normalizer, lo: pd.Timestamp,
    hi: pd.Timestamp, rng: np.random.Generator | None = None, portfolio: bool = False,
) -> pd.DataFrame:  # fmt: skip
    """Each symbol's decided target from `lo` to `hi` (the policy's account starts flat at
    `lo`), an equal share of equity per symbol (a portfolio policy: its weights); `policy`
    None: the random policy."""
    if portfolio or (policy is not None and policy.config.portfolio):
        return _play_portfolio(policy, prep, norm, lo, hi, rng)
    columns = {}
    for s, bars in prep.bars.items():
        part = bars.loc[bars.index <= hi]
        arrays = env_arrays(part, norm.transform(prep.frames[s].loc[part.index]), prep.spec, s)
        start = int(part.index.searchsorted(lo))
        targets = rollout_targets(policy, arrays, start, rng=rng)
        columns[s] = pd.Series(targets, index=part.index)
    return pd.DataFrame(columns).reindex(prep.index[prep.index <= hi]) / len(prep.bars)


def _play_portfolio(
    policy: PolicyModel | None, prep: Prepared, norm: Normalizer, lo: pd.Timestamp,
    hi: pd.Timestamp, rng: np.random.Generator | None,
) -> pd.DataFrame:  # fmt: skip
    index = prep.index[prep.index <= hi]
    arrays = {s: env_arrays(b.reindex(index), norm.transform(prep.frames[s].reindex(index)),
                            prep.spec, s) for s, b in prep.bars.items()}  # fmt: skip
    weights = portfolio_rollout(policy, arrays, int(index.searchsorted(lo)), rng=rng)
    return weights.set_axis(index)[list(prep.bars)]


def evaluate(
    model_type: str, prep: Prepared, folds: list[tuple[int, int]], seeds: list[int],
    params: dict[str, Any], config_dir: str | Path | None, epochs: int | None,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Per seed and fold: the policy and the random policy on the block; per fold, once:
    buy-and-hold and the best rule. Returns the table (mean ± sd over seeds) and the folds."""
    idx, tf = prep.index, prep.timeframe
    policy_runs: dict[int, list[ev.BlockRun]] = {s: [] for s in seeds}
    random_runs: dict[int, list[ev.BlockRun]] = {s: [] for s in seeds}
    bh_runs, rule_runs, fold_rows = [], [], []
    for k, (a, b) in enumerate(folds, start=1):
        lo, hi = idx[a], idx[b - 1]
        bh_runs.append(
            ev.targets_run(ev.buy_and_hold(prep.bars, idx), prep.bars, prep.spec, lo, hi)
        )
        rule, run = ev.best_rule(prep.bars, prep.spec, idx[0], lo, hi, tf)
        rule_runs.append(run)
        row: dict[str, Any] = {"fold": k, "test_start": str(lo), "test_end": str(hi),
                               "best_rule": rule}  # fmt: skip
        for s in seeds:
            policy = fit_policy(model_type, prep, lo, {**params, "seed": s}, config_dir, epochs)
            norm = Normalizer.from_state(policy.normalizer or {})
            policy_runs[s].append(ev.targets_run(play(policy, prep, norm, lo, hi), prep.bars,
                                                 prep.spec, lo, hi))  # fmt: skip
            rng = np.random.default_rng(10_000 * s + k)
            random = play(None, prep, norm, lo, hi, rng, policy.config.portfolio)
            random_runs[s].append(ev.targets_run(random, prep.bars, prep.spec, lo, hi))
            row[f"seed_{s}_sharpe"] = ev.chain(policy_runs[s][-1:], prep.bars, tf)["sharpe"]
            if on_fold is not None:
                on_fold(k, row)
        fold_rows.append(row)
    per_seed = [{"seed": s, **ev.chain(policy_runs[s], prep.bars, tf)} for s in seeds]
    table = {
        "policy": ev.mean_sd([{k: v for k, v in p.items() if k != "seed"} for p in per_seed]),
        "buy_and_hold": ev.chain(bh_runs, prep.bars, tf),
        "random": ev.mean_sd([ev.chain(random_runs[s], prep.bars, tf) for s in seeds]),
        "best_rule": ev.chain(rule_runs, prep.bars, tf),
    }
    return {"table": table, "per_seed": per_seed, "folds": fold_rows}


def default_policy_name(model_type: str, timeframe: str, symbols: Sequence[str]) -> str:
    return f"qts-{model_type}-{timeframe}-h1-{universe_tag(symbols)}"


def universe(
    bars: Mapping[str, pd.DataFrame] | None, symbols: list[str] | None, timeframe: str,
    bars_dir: str | Path | None, start: Any, end: Any,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    if bars is None:
        bars = load_bars(symbols, timeframe, bars_dir)
    elif symbols:
        bars = {s: bars[s] for s in symbols}
    return dict(training_window(bars, start, end))
