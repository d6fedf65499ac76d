"""Leak control (fixed seeds, zero costs, a driftless random walk): given the next bar's return
in its observation, PPO and DQN trade it out of sample (Sharpe > 2, t > 3), which proves the
observation, action, fill and reward are wired bar for bar; without the leak no seed finds
skill (t < 2). Networks and step counts are tuned to keep this small on two cores."""

from __future__ import annotations

import pytest

pytest.importorskip("stable_baselines3")

from tests.ml_rl.leak_setup import oos_result

SMALL = {"net_arch": [32], "lookback": 1, "episode_length": 200, "n_envs": 4}
PPO = {**SMALL, "n_steps": 128, "batch_size": 128, "n_epochs": 5, "lr": 1e-3, "ent_coef": 0.0}
DQN = {**SMALL, "lr": 1e-3, "learning_starts": 500, "batch_size": 64, "train_freq": 4,
       "target_update_interval": 500, "exploration_fraction": 0.3}  # fmt: skip
STEPS = {"ppo": 8_000, "dqn": 8_000}
SETTINGS = {"ppo": PPO, "dqn": DQN}


@pytest.mark.parametrize("kind", ["ppo", "dqn"])
def test_policy_trades_a_leaked_next_return(kind: str) -> None:
    m = oos_result(kind, leak=True, seed=0, steps=STEPS[kind], **SETTINGS[kind])
    assert m["sharpe"] > 2.0, m
    assert m["sharpe_t"] > 3.0, m


@pytest.mark.parametrize("kind", ["ppo", "dqn"])
def test_no_skill_without_the_leak(kind: str) -> None:
    figures = [oos_result(kind, leak=False, seed=s, steps=STEPS[kind], **SETTINGS[kind])
               for s in range(3)]  # fmt: skip
    assert all(m["sharpe_t"] < 2.0 for m in figures), figures
