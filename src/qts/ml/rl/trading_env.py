"""`TradingEnv`: the single-symbol Gymnasium environment over `EnvArrays` (see `qts.ml.rl.env`
for the fill, cost and reward rules it follows)."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from qts.backtest.costs import order_fee
from qts.backtest.sizing import max_affordable, round_to_unit
from qts.core.errors import ValidationError
from qts.ml.rl.env import (
    STATE_COLUMNS,
    EnvArrays,
    EnvSettings,
    action_levels,
    action_target,
    first_ready_row,
)


class TradingEnv(gym.Env):  # type: ignore[type-arg]
    """Bars `start`..`end` (rows; `end` exclusive) of one symbol. An episode begins flat with
    the run spec's cash at `start` (or a random row when `settings.random_start`) and ends at
    the last bar or after `settings.episode_length` steps (truncated), or when equity is gone
    (terminated)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        arrays: EnvArrays,
        settings: EnvSettings | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        super().__init__()
        self.a = arrays
        self.s = settings or EnvSettings()
        lookback = self.s.lookback
        self.start = max(first_ready_row(arrays.valid, lookback), start or 0)
        self.end = arrays.n if end is None else min(end, arrays.n)
        if self.end - self.start < 1:  # one bar: a decision, no step (a rollout's newest bar)
            raise ValidationError("the environment has no bar at or after its start row")
        self.levels = action_levels(arrays.allow_short)
        low = self.levels[0]
        if self.s.action_space == "discrete":
            self.action_space: spaces.Space[Any] = spaces.Discrete(len(self.levels))
        else:
            self.action_space = spaces.Box(low, 1.0, shape=(1,), dtype=np.float32)
        self.n_features = arrays.features.shape[1]
        width = lookback * self.n_features + len(STATE_COLUMNS)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(width,), dtype=np.float32)
        self._window = lookback * self.n_features
        self._flat = arrays.features.reshape(-1)  # row t's window ends at (t + 1) * f
        self.t = self.start
        self._reset_account()

    # -- account ---------------------------------------------------------------------------------
    def _reset_account(self) -> None:
        self.qty = 0.0
        self.cash = self.a.cash
        self.decided = 0.0  # the target decided at the previous bar (the engine's "prev")
        self.cost_basis = 0.0  # average fill price of the open position
        self.equity = self.a.cash
        self.peak = self.a.cash
        self.traded = 0.0  # notional traded by the last step
        self.fees = 0.0

    def target_of(self, action: Any) -> float:
        """The target fraction of equity an action asks for."""
        if self.s.action_space == "discrete":
            return self.levels[int(action)]
        return action_target(action, self.s, self.levels)

    def _execute(self, i: int, target: float, slip: float) -> None:
        """Trade to `target` at bar i's open: the engine's rebalance step for one symbol."""
        a = self.a
        p = a.open[i]
        qty, cash = self.qty, self.cash
        equity = cash + qty * p if qty != 0.0 else cash
        if not a.allow_short and target < 0.0:
            target = 0.0
        wanted = round_to_unit(target * equity / p, a.unit) if p > 0.0 and equity > 0.0 else 0.0
        delta = wanted - qty
        margin = (a.leverage - 1.0) * max(equity, 0.0)
        self.traded = 0.0
        if delta < 0.0:
            pe = p * (1.0 - slip)
            q = -delta if a.allow_short else min(-delta, max(qty, 0.0))
            fee = order_fee(True, q, pe, a.commission, a.fixed_fee, a.min_fee, a.sell_tax[i])
            if q <= 0.0 or cash + q * pe - fee < -margin:
                return
            if qty - q < 0.0 and qty <= 0.0:  # adding to (or opening) a short
                self.cost_basis = (self.cost_basis * -qty + pe * q) / (q - qty)
            elif qty - q < 0.0:  # through zero: the remainder opens at this price
                self.cost_basis = pe
            self.cash, self.qty = cash + q * pe - fee, qty - q
        elif delta > 0.0:
            pe = p * (1.0 + slip)
            room = max_affordable(pe, cash + margin, a.unit, a.commission, a.fixed_fee, a.min_fee)
            q = min(delta, room)
            if q <= 0.0:
                return
            fee = order_fee(False, q, pe, a.commission, a.fixed_fee, a.min_fee, 0.0)
            if qty >= 0.0:
                self.cost_basis = (self.cost_basis * qty + pe * q) / (qty + q)
            elif qty + q > 0.0:
                self.cost_basis = pe
            self.cash, self.qty = cash - q * pe - fee, qty + q
        else:
            return
        if abs(self.qty) <= 1e-12:
            self.qty = 0.0
        self.traded, self.fees = q * pe, self.fees + fee

    # -- gymnasium ---------------------------------------------------------------------------------
    def _obs(self) -> np.ndarray:
        t, f = self.t, self.n_features
        out = np.empty(self._window + 3, dtype=np.float32)
        out[: self._window] = self._flat[(t + 1) * f - self._window : (t + 1) * f]
        equity = self.equity
        if equity > 0.0:
            close = self.a.close[t]
            out[-3] = self.qty * close / equity
            out[-2] = self.cash / equity
            out[-1] = self.qty * (close - self.cost_basis) / equity
        else:
            out[-3:] = 0.0
        return out

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = self.start
        length = self.s.episode_length
        if self.s.random_start and length and self.end - self.start > length + 1:
            self.t = int(self.np_random.integers(self.start, self.end - length))
        self.stop = self.end - 1 if not length else min(self.end - 1, self.t + length)
        self._reset_account()
        return self._obs(), {"row": self.t}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        t = self.t
        target = self.target_of(action)
        self.traded = 0.0
        if target != self.decided:  # on_change: a new target executes at the next open
            self._execute(t + 1, target, self.a.slip[t])
            self.decided = target
        before = self.equity
        self.t = t = t + 1
        self.equity = equity = self.cash + self.qty * self.a.close[t]
        reward = self._reward(before, equity)
        terminated = equity <= 0.0
        truncated = not terminated and t >= self.stop
        info = {"equity": equity, "target": target, "traded": self.traded, "row": t}
        return self._obs(), reward, terminated, truncated, info

    def _reward(self, before: float, equity: float) -> float:
        s = self.s
        ret = (equity - before) / before if before > 0.0 else 0.0
        reward = s.reward_scale * ret
        if s.drawdown_penalty:
            old_dd = 1.0 - before / self.peak
            self.peak = max(self.peak, equity)
            reward -= s.drawdown_penalty * max(1.0 - equity / self.peak - old_dd, 0.0)
        if s.volatility_penalty:
            reward -= s.volatility_penalty * ret * ret
        if s.turnover_penalty and before > 0.0:
            reward -= s.turnover_penalty * self.traded / before
        return float(reward) if math.isfinite(reward) else 0.0
