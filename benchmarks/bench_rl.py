"""RL throughput: environment steps per second of the qts trading env (single symbol,
discrete actions, the backtest's fills and costs) beside a bare Gymnasium env that only
indexes precomputed arrays (the floor any env pays: Python call, observation slice), both
driven the same way (reset, then a fixed action sequence); then the wall time of learning N
steps with each SB3 algorithm (the model configs' settings) on the CPU, and on CUDA when
present. Target: >= 50,000 env steps/s on one core.

    python benchmarks/bench_rl.py [--steps 200000] [--train-steps 100000] [--algos dqn,ppo,a2c]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium import spaces
from rich.console import Console
from rich.table import Table

from qts.backtest.config import BacktestConfig
from qts.ml.rl.env import EnvSettings, action_levels, env_arrays
from qts.ml.rl.trading_env import TradingEnv
from qts.ml.samples import load_bars

LOOKBACK, FEATURES = 8, 16


class BareEnv(gym.Env):  # type: ignore[type-arg]
    """Indexes arrays and nothing else: observation = a precomputed window, reward = a
    precomputed return."""

    def __init__(self, features: np.ndarray, returns: np.ndarray, lookback: int) -> None:
        self.flat = features.reshape(-1)
        self.f = features.shape[1]
        self.window = lookback * self.f
        self.returns = returns.tolist()
        self.start, self.end = lookback - 1, len(returns) - 1
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(-np.inf, np.inf, (self.window,), np.float32)
        self.t = self.start

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        self.t = self.start
        return self.flat[(self.t + 1) * self.f - self.window : (self.t + 1) * self.f], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t = t = self.t + 1
        reward = self.returns[t] * action
        obs = self.flat[(t + 1) * self.f - self.window : (t + 1) * self.f]
        return obs, reward, False, t >= self.end, {}


def market() -> tuple[pd.DataFrame, np.ndarray]:
    bars = load_bars(["BTC/USDT"], "1h")["BTC_USDT"]
    rng = np.random.default_rng(0)
    return bars, rng.normal(size=(len(bars), FEATURES)).astype(np.float32)


def drive(env: gym.Env, steps: int, n_actions: int) -> float:  # type: ignore[type-arg]
    """Steps per second of `steps` steps (reset at each episode end), after a warm-up."""
    actions = np.random.default_rng(1).integers(0, n_actions, steps).tolist()
    env.reset(seed=0)
    for a in actions[:2000]:  # warm-up
        if any(env.step(a)[2:4]):
            env.reset()
    env.reset(seed=0)
    t0 = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - t0)


def env_rows(steps: int) -> list[tuple[str, float]]:
    bars, feats = market()
    config = BacktestConfig(slippage_bps=2.0, allow_short=True)
    arrays = env_arrays(bars, feats, config, "BTC/USDT")
    ours = TradingEnv(arrays, EnvSettings(lookback=LOOKBACK))
    returns = bars["close"].pct_change().fillna(0.0).to_numpy()
    bare = BareEnv(feats, returns, LOOKBACK)
    return [
        ("bare env (array indexing only)", drive(bare, steps, 2)),
        ("qts TradingEnv (fills, costs, sizing)", drive(ours, steps, 3)),
    ]


def train_rows(algos: Sequence[str], steps: int, devices: Sequence[str]) -> list[tuple[str, ...]]:
    from qts.ml.models import create_model

    bars, feats = market()
    arrays = env_arrays(bars, feats, BacktestConfig(allow_short=True), "BTC/USDT")
    rows = []
    for device in devices:
        for algo in algos:
            policy: Any = create_model(algo, device=device, seed=0)
            settings = policy.config.env_settings(training=True)
            fns = [partial(TradingEnv, arrays, settings)] * policy.config.n_envs
            t0 = time.perf_counter()
            policy.learn(fns, action_levels(True), steps)
            seconds = time.perf_counter() - t0
            rows.append((device, algo, f"{policy.config.n_envs}", f"{seconds:,.1f}",
                         f"{steps / seconds:,.0f}"))  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200_000, help="env steps per env")
    parser.add_argument("--train-steps", type=int, default=100_000, help="0: skip training")
    parser.add_argument("--algos", default="dqn,ppo,a2c")
    args = parser.parse_args(argv)
    console = Console()
    table = Table(title=f"Env steps/s, one symbol ({LOOKBACK}x{FEATURES} window), one process")
    for col in ("env", "steps/s", "vs bare"):
        table.add_column(col)
    rows = env_rows(args.steps)
    for name, rate in rows:
        table.add_row(name, f"{rate:,.0f}", f"{rate / rows[0][1]:.2f}")
    console.print(table)
    if args.train_steps:
        import torch

        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        table = Table(title=f"Learning {args.train_steps:,} steps (configs/models/*.yaml settings)")
        for col in ("device", "algorithm", "envs", "seconds", "steps/s"):
            table.add_column(col)
        for row in train_rows(args.algos.split(","), args.train_steps, devices):
            table.add_row(*row)
        console.print(table)
    console.print(f"CPU cores visible: {os.cpu_count()}; torch threads: 1 (config torch_threads)")


if __name__ == "__main__":
    main()
