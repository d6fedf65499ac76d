"""Training progress of an SB3 algorithm handed to qts progress callbacks
`(step, losses, metrics)`: the MLflow run logger, the `training:<id>` WebSocket topic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

LOSS_KEYS = {
    "train/loss": "loss", "train/value_loss": "value_loss",
    "train/policy_gradient_loss": "policy_loss", "train/policy_loss": "policy_loss",
    "train/entropy_loss": "entropy_loss", "train/approx_kl": "approx_kl",
}  # fmt: skip


class ProgressBridge(BaseCallback):  # type: ignore[misc]
    """Every `every` steps: the mean reward and length of the episodes finished since the last
    report, and the algorithm's latest losses."""

    def __init__(self, callbacks: Sequence[Any], every: int) -> None:
        super().__init__(verbose=0)
        self.callbacks = list(callbacks)
        self.every = max(int(every), 1)
        self.rewards: list[float] = []
        self.lengths: list[int] = []
        self.curve: list[dict[str, float]] = []
        self._next = self.every

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            episode = info.get("episode")
            if episode is not None:
                self.rewards.append(float(episode["r"]))
                self.lengths.append(int(episode["l"]))
        if self.num_timesteps >= self._next:
            self._next += self.every
            self._report()
        return True

    def _report(self) -> None:
        values = self.model.logger.name_to_value
        losses = {name: float(values[key]) for key, name in LOSS_KEYS.items() if key in values}
        metrics: dict[str, float] = {"timesteps": float(self.num_timesteps)}
        if self.rewards:
            metrics["episode_reward"] = float(np.mean(self.rewards))
            metrics["episode_length"] = float(np.mean(self.lengths))
            metrics["episodes"] = float(len(self.rewards))
        self.rewards, self.lengths = [], []
        self.curve.append({**losses, **metrics})
        for callback in self.callbacks:
            callback(int(self.num_timesteps), losses, metrics)
