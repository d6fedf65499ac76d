"""Reinforcement-learning agents that trade under the backtest's own fills and costs.

* `env` / `trading_env`: the Gymnasium environment (one symbol; its step is the vectorized
  engine's rebalance step: sizing, lots, fees, dated sell tax, slippage).
* `policy`: SB3 DQN, PPO and A2C as model types (`dqn`, `ppo`, `a2c`).
* `rollout`: a policy played greedily over bars (its own position state rolled forward), the
  targets the `rl_policy` strategy trades and evaluation scores.
* `train`: walk-forward training and out-of-sample evaluation beside buy-and-hold, a random
  policy and the best rule strategy; MLflow logging and registration (`qts train --model ppo`).

gymnasium and stable-baselines3 come with the `rl` extra.
"""
