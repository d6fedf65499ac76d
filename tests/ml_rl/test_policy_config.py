"""The policy configs shipped in configs/models load, carry valid Optuna spaces, and refuse
bad settings; a policy saves and loads with its levels, normaliser and run spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from qts.core.errors import ValidationError
from qts.ml.models import POLICY_TYPES, create_model, load_model
from qts.ml.models.config import config_path, read_yaml_config
from qts.ml.rl.env import EnvSettings, action_levels, env_arrays
from qts.ml.rl.policy import PolicyModel
from qts.ml.rl.trading_env import TradingEnv
from tests.ml_rl.leak_setup import ZERO_COSTS, features, random_walk


@pytest.mark.parametrize("kind", POLICY_TYPES)
def test_shipped_config_and_search_space(kind: str) -> None:
    path = config_path(kind)
    assert path is not None and path.name == f"{kind}.yaml"
    model = create_model(kind)
    assert model.config.total_timesteps == read_yaml_config(path)["total_timesteps"]
    assert {"lr", "gamma", "lookback"} <= set(model.search_space)


def test_bad_policy_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="DQN takes discrete actions only"):
        create_model("dqn", action_space="continuous")
    with pytest.raises(ValidationError, match="gamma"):
        create_model("ppo", gamma=1.5)
    with pytest.raises(ValidationError, match="is a policy"):
        create_model("a2c").fit(np.zeros((3, 2)), np.zeros(3))


def test_policy_saves_and_loads_acting_the_same(tmp_path: Path) -> None:
    bars = random_walk(400)
    arrays = env_arrays(bars, features(bars, leak=False), ZERO_COSTS, "RW/USDT")
    policy = create_model("ppo", net_arch=[8], n_envs=1, n_steps=32, batch_size=32, lookback=2)
    assert isinstance(policy, PolicyModel)
    policy.learn([lambda: TradingEnv(arrays, EnvSettings(lookback=2))], action_levels(True), 64)
    policy.normalizer, policy.meta = {"method": "zscore"}, {"run_spec": {"cash": 1.0}}
    obs = np.stack([TradingEnv(arrays, EnvSettings(lookback=2)).reset(seed=0)[0]] * 3)
    loaded = load_model(policy.save(tmp_path / "p"))
    assert isinstance(loaded, PolicyModel) and loaded.levels == (-1.0, 0.0, 1.0)
    assert loaded.meta == {"run_spec": {"cash": 1.0}} and loaded.normalizer == policy.normalizer
    np.testing.assert_array_equal(loaded.predict(obs), policy.predict(obs))
    with pytest.raises(ValidationError, match="rl_policy strategy"):
        loaded.predict(np.zeros((2, 5)))


def test_tuning_a_policy_maximises_out_of_sample_sharpe() -> None:
    from qts.ml.samples import load_bars
    from qts.ml.tuning import tune

    bars = {"005930": load_bars(["005930"], "1d")["005930"]}
    out = tune("dqn", bars, trials=2, n_splits=2, feature_set="basic", register_best=False,
               config_dir=None, epochs=1)  # fmt: skip
    assert out["trials"] == 2 and np.isfinite(out["best_value"])
    assert set(out["best_params"]) >= {"lr", "gamma", "lookback"}
