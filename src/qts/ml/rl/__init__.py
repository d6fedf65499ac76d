"""Reinforcement-learning agents that trade under the backtest's own fills and costs.

* `env` / `trading_env`: the Gymnasium environment (one symbol; its step is the vectorized
  engine's rebalance step: sizing, lots, fees, dated sell tax, slippage).
* `policy`: SB3 DQN, PPO and A2C as model types (`dqn`, `ppo`, `a2c`).
* `rollout`: a policy played greedily over bars (its own position state rolled forward), the
  targets the `rl_policy` strategy trades and evaluation scores.
* `train` / `evaluation`: walk-forward training, out-of-sample evaluation through the engine
  beside buy-and-hold, a random policy and the best rule strategy, the promotion gate.
* `registration`: `train_policy` (what `qts train --model ppo` runs): MLflow logging of episode
  reward, length and losses, the table; registration with the recipe.
* `access`: the model accesses that play a registered policy for the `rl_policy` strategy.

gymnasium and stable-baselines3 come with the `rl` extra.
"""
