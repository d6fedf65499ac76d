"""`PortfolioEnv`: several symbols, one account, continuous portfolio weights (PPO, A2C).

The action is one target weight per symbol (in [-1, 1] where shorting is allowed, else
[0, 1]); weights whose absolute sum exceeds 1 are scaled down to a gross of 1. A symbol whose
target changed executes at the next open exactly as the vectorized engine executes a target
strategy over a universe: equity valued at the opens, sells before buys, symbols in sorted order,
one shared cash balance (the same sizing and fee functions as `TradingEnv`). Observation: each
symbol's feature window, then each symbol's position (fraction of equity), the cash fraction and
each symbol's unrealised P&L. Reward as in `TradingEnv` (net return of equity, penalties).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from qts.backtest.costs import order_fee
from qts.backtest.sizing import max_affordable, round_to_unit
from qts.core.errors import ValidationError
from qts.ml.rl.env import EnvArrays, EnvSettings, first_ready_row


def portfolio_weights(action: Any, low: float, step: float = 0.0) -> np.ndarray:
    """Clipped to [low, 1] each, scaled to a gross of at most 1, rounded to `step`."""
    w = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), low, 1.0)
    gross = float(np.abs(w).sum())
    if gross > 1.0:
        w = w / gross
    if step > 0:
        w = np.trunc(w / step) * step  # toward zero: the gross stays <= 1
    return w


class PortfolioEnv(gym.Env):  # type: ignore[type-arg]
    metadata = {"render_modes": []}

    def __init__(
        self,
        arrays: dict[str, EnvArrays],
        settings: EnvSettings | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        super().__init__()
        self.symbols = sorted(arrays)  # the engine's order
        self.arrays = [arrays[s] for s in self.symbols]
        first = self.arrays[0]
        if any(not a.index.equals(first.index) for a in self.arrays[1:]):
            raise ValidationError("the portfolio env needs every symbol on the same bar times")
        self.s = settings or EnvSettings()
        lookback, self.k = self.s.lookback, len(self.arrays)
        valid = np.logical_and.reduce([a.valid for a in self.arrays])
        self.start = max(first_ready_row(valid, lookback), start or 0)
        self.end = first.n if end is None else min(end, first.n)
        if self.end - self.start < 1:
            raise ValidationError("the environment has no bar at or after its start row")
        self.low = -1.0 if first.allow_short else 0.0
        self.action_space = spaces.Box(self.low, 1.0, shape=(self.k,), dtype=np.float32)
        self.f = first.features.shape[1]
        self.window = lookback * self.f
        width = self.k * self.window + 2 * self.k + 1
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(width,), dtype=np.float32)
        self.flat = [a.features.reshape(-1) for a in self.arrays]
        self.t = self.start
        self._reset_account()

    def _reset_account(self) -> None:
        k = self.k
        self.qty, self.basis, self.decided = np.zeros(k), np.zeros(k), np.zeros(k)
        self.cash = self.equity = self.peak = self.arrays[0].cash
        self.traded = self.fees = 0.0

    def targets_of(self, action: Any) -> np.ndarray:
        return portfolio_weights(action, self.low, self.s.weight_step)

    def _obs(self) -> np.ndarray:
        t, f, w, k = self.t, self.f, self.window, self.k
        out = np.empty(k * w + 2 * k + 1, dtype=np.float32)
        for j, flat in enumerate(self.flat):
            out[j * w : (j + 1) * w] = flat[(t + 1) * f - w : (t + 1) * f]
        close = np.array([a.close[t] for a in self.arrays])
        eq = self.equity if self.equity > 0 else np.inf
        out[k * w : k * w + k] = self.qty * close / eq
        out[k * w + k] = self.cash / eq
        out[k * w + k + 1 :] = self.qty * (close - self.basis) / eq
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

    def _rebalance(self, i: int, changed: np.ndarray, slip_row: int) -> None:
        """The engine's rebalance step at bar i for the symbols whose target changed."""
        a0 = self.arrays[0]
        equity = self.cash
        for q, a in zip(self.qty.tolist(), self.arrays, strict=True):
            if q != 0.0:  # the kernel's order of additions
                equity += q * a.open[i]
        delta = np.zeros(self.k)
        for j in np.nonzero(changed)[0].tolist():
            a, p = self.arrays[j], self.arrays[j].open[i]
            target = self.decided[j] if a.allow_short or self.decided[j] >= 0 else 0.0
            wanted = round_to_unit(target * equity / p, a.unit) if p > 0 and equity > 0 else 0.0
            delta[j] = wanted - self.qty[j]
        margin = (a0.leverage - 1.0) * max(equity, 0.0)
        self.traded = 0.0
        for side in (0, 1):  # sells first, then buys
            for k in range(self.k):
                d = float(delta[k])
                if (side == 0 and d < 0.0) or (side == 1 and d > 0.0):
                    self._fill(k, i, d, self.arrays[k].slip[slip_row], margin)

    def _fill(self, j: int, i: int, d: float, slip: float, margin: float) -> None:
        a, qty = self.arrays[j], float(self.qty[j])
        if d < 0.0:
            pe = a.open[i] * (1.0 - slip)
            q = -d if a.allow_short else min(-d, max(qty, 0.0))
            fee = order_fee(True, q, pe, a.commission, a.fixed_fee, a.min_fee, a.sell_tax[i])
            if q <= 0.0 or self.cash + q * pe - fee < -margin:
                return
            self.cash += q * pe - fee
            new = qty - q
            if new < 0.0 and qty <= 0.0:  # adding to (or opening) a short
                self.basis[j] = (self.basis[j] * -qty + pe * q) / -new
            elif new < 0.0:  # through zero: the remainder opens at this price
                self.basis[j] = pe
        else:
            pe = a.open[i] * (1.0 + slip)
            room = max_affordable(pe, self.cash + margin, a.unit, a.commission, a.fixed_fee,
                                  a.min_fee)  # fmt: skip
            q = min(d, room)
            if q <= 0.0:
                return
            fee = order_fee(False, q, pe, a.commission, a.fixed_fee, a.min_fee, 0.0)
            self.cash -= q * pe + fee
            new = qty + q
            if qty >= 0.0:
                self.basis[j] = (self.basis[j] * qty + pe * q) / new
            elif new > 0.0:
                self.basis[j] = pe
        self.qty[j] = 0.0 if abs(new) <= 1e-12 else new
        self.traded += q * pe
        self.fees += fee

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        t = self.t
        targets = self.targets_of(action)
        changed = targets != self.decided
        self.decided = np.where(changed, targets, self.decided)
        self.traded = 0.0
        if changed.any():
            self._rebalance(t + 1, changed, t)
        before = self.equity
        self.t = t = t + 1
        self.equity = equity = self.cash + float(
            sum(q * a.close[t] for q, a in zip(self.qty, self.arrays, strict=True))
        )
        reward = self._reward(before, equity)
        terminated = bool(equity <= 0.0)
        truncated = bool(not terminated and t >= self.stop)
        info = {"equity": equity, "targets": targets, "traded": self.traded, "row": t}
        return self._obs(), reward, terminated, truncated, info

    def _reward(self, before: float, equity: float) -> float:
        s = self.s
        ret = (equity - before) / before if before > 0.0 else 0.0
        reward = s.reward_scale * ret
        if s.drawdown_penalty:
            old_dd = 1.0 - before / self.peak
            self.peak = max(self.peak, equity)
            reward -= s.drawdown_penalty * max(1.0 - equity / self.peak - old_dd, 0.0)
        reward -= s.volatility_penalty * ret * ret
        if s.turnover_penalty and before > 0.0:
            reward -= s.turnover_penalty * self.traded / before
        return float(reward) if np.isfinite(reward) else 0.0
