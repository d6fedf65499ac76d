"""A policy played greedily over bars: the targets it decides, its own account rolled forward
through the env (position, cash and unrealised P&L are part of what it observes).

The rollout starts flat at `start` and decides a target at every bar from there to the last
one given (the newest bar included: that is the decision paper and live trade). Its account is
the policy's own bookkeeping on the run spec it was trained with, so the same bars always give
the same targets: the backtest and a paper session replaying the bars trade the same orders.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.core.errors import ValidationError
from qts.ml.rl.env import EnvArrays, env_arrays, first_ready_row
from qts.ml.rl.trading_env import TradingEnv


def rollout_targets(
    policy: Any, arrays: EnvArrays, start: int, end: int | None = None, rng: Any = None
) -> np.ndarray:
    """Targets decided at rows `start`..`end - 1` (NaN before). `policy`: a `PolicyModel`, or
    None with `rng` for the random policy (uniform actions)."""
    end = arrays.n if end is None else end
    out = np.full(arrays.n, np.nan)
    settings = policy.config.env_settings() if policy is not None else None
    if end - start < 1:
        return out
    env = TradingEnv(arrays, settings, start=start, end=end)
    obs, _ = env.reset()
    while True:
        if policy is not None:
            action = policy.actions(obs[None, :])[0]
        else:
            action = env.action_space.sample() if rng is None else _random_action(env, rng)
        out[env.t] = env.target_of(action)
        if env.t >= end - 1:
            return out
        obs, _, terminated, _, _ = env.step(action)
        if terminated:  # equity gone: flat from here
            out[env.t : end] = 0.0
            return out


def _random_action(env: TradingEnv, rng: np.random.Generator) -> Any:
    if hasattr(env.action_space, "n"):
        return int(rng.integers(0, env.action_space.n))
    return rng.uniform(env.levels[0], 1.0, size=(1,)).astype(np.float32)


def normalised(policy: Any, features: pd.DataFrame) -> pd.DataFrame:
    """Raw features scaled by the normaliser fitted on the policy's training rows."""
    from qts.ml.datasets import Normalizer

    if policy.normalizer is None:
        raise ValidationError(f"{policy.model_type} policy has no normaliser: train it again")
    return Normalizer.from_state(policy.normalizer).transform(features)  # type: ignore[no-any-return]


def policy_run_spec(policy: Any) -> BacktestConfig:
    spec = policy.meta.get("run_spec") or {}
    return BacktestConfig.from_dict(spec) if spec else BacktestConfig()


def policy_targets(
    policy: Any, bars: pd.DataFrame, features: pd.DataFrame, after: Any, symbol: str
) -> pd.Series:
    """The policy's target at each bar after `after` (its training window's end), NaN before
    and while its features warm up."""
    index = pd.DatetimeIndex(bars.index)
    out = pd.Series(np.nan, index=index)
    after_ts = pd.Timestamp(after)
    if after_ts.tzinfo is None and index.tz is not None:
        after_ts = after_ts.tz_localize(index.tz)
    first = int(index.searchsorted(after_ts, side="right"))
    if first >= len(index):
        return out
    frame = normalised(policy, features.reindex(index))
    arrays = env_arrays(bars, frame, policy_run_spec(policy), symbol)
    try:
        ready = first_ready_row(arrays.valid, policy.config.lookback)
    except ValidationError:
        return out  # features still warming up
    if max(ready, first) < len(index):
        out[:] = rollout_targets(policy, arrays, max(ready, first))
    return out


def portfolio_rollout(
    policy: Any, arrays: dict[str, EnvArrays], start: int, end: int | None = None,
    rng: Any = None,
) -> pd.DataFrame:  # fmt: skip
    """Weights (columns: symbols, sorted) decided at rows `start`..`end - 1` by a portfolio
    policy (`policy` None with `rng`: uniform random weights); NaN before."""
    from qts.ml.rl.portfolio_env import PortfolioEnv

    settings = policy.config.env_settings() if policy is not None else None
    env = PortfolioEnv(arrays, settings, start=start, end=end)
    n = next(iter(arrays.values())).n
    end = n if end is None else end
    out = np.full((n, env.k), np.nan)
    obs, _ = env.reset()
    while True:
        if policy is not None:
            action = policy.actions(obs[None, :])[0]
        else:
            action = rng.uniform(env.low, 1.0, size=env.k)
        out[env.t] = env.targets_of(action)
        if env.t >= end - 1:
            break
        obs, _, terminated, _, _ = env.step(action)
        if terminated:
            out[env.t : end] = 0.0
            break
    return pd.DataFrame(out, columns=env.symbols)


def policy_weights(
    policy: Any, bars: dict[str, pd.DataFrame], frames: dict[str, pd.DataFrame], after: Any
) -> pd.DataFrame:
    """Each symbol's target fraction of equity at each bar after `after`: a single-symbol
    policy's target times an equal share, or a portfolio policy's weights (its universe)."""
    if not policy.config.portfolio:
        columns = {s: policy_targets(policy, b, frames[s], after, s) / len(bars)
                   for s, b in bars.items()}  # fmt: skip
        return pd.DataFrame(columns)
    universe = list(policy.meta.get("universe") or [])
    if sorted(universe) != sorted(bars):
        raise ValidationError(
            f"this portfolio policy trades its training universe ({', '.join(universe)}), "
            f"not {', '.join(bars)}"
        )
    index = pd.DatetimeIndex(next(iter(bars.values())).index)
    first = int(index.searchsorted(_aware(after, index), side="right"))
    spec = policy_run_spec(policy)
    arrays = {
        s: env_arrays(b, normalised(policy, frames[s].reindex(b.index)), spec, s)
        for s, b in bars.items()
    }
    if first >= len(index):
        return pd.DataFrame(np.nan, index=index, columns=list(bars))
    try:
        weights = portfolio_rollout(policy, arrays, first)
    except ValidationError:
        return pd.DataFrame(np.nan, index=index, columns=list(bars))  # features warming up
    return weights.set_axis(index)[list(bars)]


def _aware(value: Any, index: pd.DatetimeIndex) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize(index.tz) if ts.tzinfo is None and index.tz is not None else ts
