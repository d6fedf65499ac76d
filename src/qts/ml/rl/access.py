"""Model accesses that also play policies (`policy_targets`), for the `rl_policy` strategy:
the backtest's (frozen weights; a first traded bar inside the training window is refused) and
paper/live's (the alias looked up again at each bar; each newest decision handed on as a
prediction, like a model's score)."""

from __future__ import annotations

import time

import pandas as pd

from qts.core.errors import ValidationError
from qts.ml.inference import LoadedModel
from qts.ml.model_access import BacktestModelAccess, Bars, LiveModelAccess
from qts.ml.rl.policy import PolicyModel
from qts.ml.rl.rollout import policy_weights


def _targets(access: BacktestModelAccess, loaded: LoadedModel, data: Bars) -> pd.DataFrame:
    if not isinstance(loaded.model, PolicyModel):
        raise ValidationError(
            f"model {loaded.name} v{loaded.version} is a {loaded.recipe.model_type} model, not "
            "a policy: trade it with ml_signal (rl_policy trades dqn, ppo and a2c versions)"
        )
    frames = access.engine.feature_frames(loaded, data)
    weights = policy_weights(loaded.model, dict(data), frames, loaded.window_end)
    return weights.reindex(columns=list(data)).astype(float)


class PolicyBacktestAccess(BacktestModelAccess):
    """`policy_targets`: each symbol's target fraction of equity (equal shares for a
    single-symbol policy, a portfolio policy's own weights)."""

    def policy_targets(self, model: str, data: Bars) -> pd.DataFrame:
        return _targets(self, self.check_window(model, data), data)


class PolicyLiveAccess(LiveModelAccess):
    def policy_targets(self, model: str, data: Bars) -> pd.DataFrame:
        started = time.perf_counter()
        loaded = self._loaded(model)
        out = _targets(self, loaded, data)
        latency = (time.perf_counter() - started) * 1000.0
        fresh = []
        for symbol, bars in data.items():
            if not len(bars):
                continue
            ts = pd.Timestamp(bars.index[-1])
            value = out[symbol].get(ts)
            seen = (loaded.name, loaded.version, symbol, int(ts.value))
            if value is None or value != value or seen in self._seen:
                continue
            self._seen.add(seen)
            fresh.append(self.engine.prediction(loaded, symbol, ts, float(value), latency))
        if fresh and self.on_predictions is not None:
            self.on_predictions(fresh)
        return out
