"""RL policies as models: Stable-Baselines3 DQN, PPO and A2C behind the model interface, so
they are configured from `configs/models/{dqn,ppo,a2c}.yaml` (with Optuna search spaces),
saved, logged to MLflow, registered and loaded like every other model type.

A policy does not fit (X, y): `learn(env_fns)` trains it on `qts.ml.rl` environments (one per
env function, vectorised with SB3's `DummyVecEnv`). `predict(obs)` maps observation rows (the
env's: feature window, position, cash fraction, unrealised P&L) to target fractions of equity
(greedy actions). torch and SB3 are imported only when a policy learns or is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from qts.core.errors import ValidationError
from qts.ml.models.base import BaseModel, ProgressCallback
from qts.ml.models.config import (
    HoldOutFraction,
    ModelConfig,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SampleFraction,
)
from qts.ml.rl.env import EnvSettings, action_target

POLICY_FILE = "policy.zip"
Discount = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


@dataclass
class PolicyConfig(ModelConfig):
    """Settings of an RL policy: the env's (lookback, actions, reward penalties), the network
    and the algorithm's. `lr` is the learning rate and `batch_size` the minibatch (PPO, DQN);
    `epochs` is not used (`qts train --epochs N` means N passes over the training bars)."""

    lookback: PositiveInt = 8
    total_timesteps: PositiveInt = 50_000
    n_envs: PositiveInt = 4
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    gamma: Discount = 0.99
    action_space: Literal["discrete", "continuous"] = "discrete"
    portfolio: bool = False  # one env over the universe, a weight per symbol (PPO, A2C)
    weight_step: NonNegativeFloat = 0.0
    reward_scale: PositiveFloat = 100.0
    drawdown_penalty: NonNegativeFloat = 0.0
    volatility_penalty: NonNegativeFloat = 0.0
    turnover_penalty: NonNegativeFloat = 0.0
    episode_length: NonNegativeInt = 512
    n_steps: PositiveInt = 128  # PPO/A2C: steps per env per update
    n_epochs: PositiveInt = 10  # PPO: passes over each rollout
    gae_lambda: Discount = 0.95
    ent_coef: NonNegativeFloat = 0.0
    clip_range: PositiveFloat = 0.2
    buffer_size: PositiveInt = 50_000  # DQN replay buffer
    learning_starts: NonNegativeInt = 1000
    train_freq: PositiveInt = 4
    target_update_interval: PositiveInt = 1000
    exploration_fraction: SampleFraction = 0.2
    exploration_final_eps: HoldOutFraction = 0.05
    device: str = "auto"  # cuda when present
    torch_threads: PositiveInt = 1

    def cross_checks(self) -> dict[str, str]:
        problems = super().cross_checks()
        if any(int(n) <= 0 for n in self.net_arch):
            problems["net_arch"] = "layer sizes must be > 0"
        if self.portfolio and self.action_space != "continuous":
            problems["portfolio"] = "portfolio weights need action_space: continuous"
        return problems

    def env_settings(self, training: bool = False) -> EnvSettings:
        return EnvSettings(
            lookback=self.lookback, action_space=self.action_space, weight_step=self.weight_step,
            reward_scale=self.reward_scale, drawdown_penalty=self.drawdown_penalty,
            volatility_penalty=self.volatility_penalty, turnover_penalty=self.turnover_penalty,
            episode_length=self.episode_length if training else 0, random_start=training,
        )  # fmt: skip


@dataclass
class DQNConfig(PolicyConfig):
    def cross_checks(self) -> dict[str, str]:
        problems = super().cross_checks()
        if self.action_space != "discrete":
            problems["action_space"] = "DQN takes discrete actions only"
        return problems


class PolicyModel(BaseModel):
    """An SB3 policy; subclasses name the algorithm."""

    config_class: ClassVar[type[ModelConfig]] = PolicyConfig
    input_kind: ClassVar[str] = "policy"

    def __init__(self, config: ModelConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.algo: Any = None
        self.levels: tuple[float, ...] = (0.0, 1.0)
        self.meta: dict[str, Any] = {}  # feature columns, run spec: what the rollout rebuilds

    # -- learning -----------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, X_val: Any = None, y_val: Any = None,
            callbacks: Sequence[ProgressCallback] = ()) -> BaseModel:  # fmt: skip
        raise ValidationError(
            f"{self.model_type} is a policy: it learns from an environment (qts.ml.rl.train)"
        )

    def learn(
        self,
        env_fns: Sequence[Callable[[], Any]],
        levels: tuple[float, ...],
        total_timesteps: int | None = None,
        callbacks: Sequence[ProgressCallback] = (),
    ) -> PolicyModel:
        import torch
        from stable_baselines3.common.monitor import Monitor
        from stable_baselines3.common.vec_env import DummyVecEnv

        from qts.ml.rl.progress import ProgressBridge

        cfg = self.config
        torch.set_num_threads(int(cfg.torch_threads))
        vec = DummyVecEnv([lambda fn=fn: Monitor(fn()) for fn in env_fns])  # type: ignore[misc]
        self.levels = tuple(levels)
        self.algo = self._build(vec)
        steps = int(total_timesteps or cfg.total_timesteps)
        bridge = ProgressBridge(callbacks, every=max(steps // 20, len(env_fns)))
        self.algo.learn(total_timesteps=steps, callback=bridge, log_interval=10**9)
        self.history = {"steps": steps, "curve": bridge.curve}
        self.fitted = True
        return self

    def _build(self, vec: Any) -> Any:
        raise NotImplementedError

    def _common(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "learning_rate": cfg.lr, "gamma": cfg.gamma, "seed": cfg.seed, "verbose": 0,
            "device": _device(cfg.device),
            "policy_kwargs": {"net_arch": [int(n) for n in cfg.net_arch]},
        }  # fmt: skip

    # -- acting -------------------------------------------------------------------------------
    def actions(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        obs = np.asarray(obs, dtype=np.float32)
        action, _ = self.algo.predict(obs, deterministic=True)
        return np.asarray(action)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Target fractions of equity for observation rows (n, obs_dim)."""
        X = np.asarray(X, dtype=np.float32)
        want = int(np.prod(self.algo.observation_space.shape)) if self.algo is not None else 0
        if X.ndim != 2 or X.shape[1] != want:
            raise ValidationError(
                f"{self.model_type} policy reads observations of {want} values (features window, "
                "position, cash, unrealised P&L); trade it with the rl_policy strategy"
            )
        settings = self.config.env_settings()
        if self.config.portfolio:  # one weight per symbol (n, symbols)
            from qts.ml.rl.portfolio_env import portfolio_weights

            low, step = self.levels[0], settings.weight_step
            return np.array([portfolio_weights(a, low, step) for a in self.actions(X)])
        return np.array([action_target(a, settings, self.levels) for a in self.actions(X)])

    def prepare(self, X: np.ndarray) -> np.ndarray:
        return X  # observations are built normalised (`qts.ml.rl.rollout`)

    # -- persistence --------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {"levels": list(self.levels), **self.meta}

    def _save_weights(self, folder: Path) -> None:
        self._require_fitted()
        self.algo.save(folder / POLICY_FILE)

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        self.levels = tuple(float(v) for v in state.pop("levels"))
        self.meta = dict(state)
        self.algo = self._algo_class().load(
            folder / POLICY_FILE, device=_device(self.config.device)
        )

    @classmethod
    def _algo_class(cls) -> Any:
        import stable_baselines3

        return getattr(stable_baselines3, cls.model_type.upper())


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class DQNPolicy(PolicyModel):
    model_type: ClassVar[str] = "dqn"
    config_class: ClassVar[type[ModelConfig]] = DQNConfig

    def _build(self, vec: Any) -> Any:
        from stable_baselines3 import DQN

        cfg = self.config
        return DQN(
            "MlpPolicy", vec, buffer_size=cfg.buffer_size, learning_starts=cfg.learning_starts,
            batch_size=cfg.batch_size, train_freq=cfg.train_freq,
            target_update_interval=cfg.target_update_interval,
            exploration_fraction=cfg.exploration_fraction,
            exploration_final_eps=cfg.exploration_final_eps, **self._common(),
        )  # fmt: skip


class PPOPolicy(PolicyModel):
    model_type: ClassVar[str] = "ppo"

    def _build(self, vec: Any) -> Any:
        from stable_baselines3 import PPO

        cfg = self.config
        batch = min(cfg.batch_size, cfg.n_steps * vec.num_envs)
        return PPO(
            "MlpPolicy", vec, n_steps=cfg.n_steps, batch_size=batch, n_epochs=cfg.n_epochs,
            gae_lambda=cfg.gae_lambda, ent_coef=cfg.ent_coef, clip_range=cfg.clip_range,
            **self._common(),
        )  # fmt: skip


class A2CPolicy(PolicyModel):
    model_type: ClassVar[str] = "a2c"

    def _build(self, vec: Any) -> Any:
        from stable_baselines3 import A2C

        cfg = self.config
        return A2C(
            "MlpPolicy", vec, n_steps=cfg.n_steps, gae_lambda=cfg.gae_lambda,
            ent_coef=cfg.ent_coef, **self._common(),
        )  # fmt: skip


POLICY_CLASSES: dict[str, type[BaseModel]] = {
    cls.model_type: cls for cls in (DQNPolicy, PPOPolicy, A2CPolicy)
}
