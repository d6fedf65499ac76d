"""`rl_policy`: trade a registered RL policy (dqn, ppo, a2c). Each symbol's target is the
policy's action at that bar (short/flat/long, or a continuous weight) times an equal share of
equity, or, for a portfolio policy, its weight of that symbol. The policy observes its own account (position, cash, unrealised P&L), rolled forward
from the first bar after its training window on the costs it was trained with, so the targets
depend only on the bars: backtest, paper and live decide the same. The access comes from
whoever runs the strategy (`qts.ml.rl.access`)."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from qts.core.errors import ValidationError
from qts.strategies.base import Universe, as_universe
from qts.strategies.ml_builtin import MODEL, ModelStrategy, _union_index
from qts.strategies.model_access import require_access
from qts.strategies.params import Param, ParamSet
from qts.strategies.registration import register


@register
class RlPolicy(ModelStrategy):
    name: ClassVar[str] = "rl_policy"
    uses_policy: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = ParamSet(
        MODEL,
        Param("warmup", "int", 260, low=0, high=100_000, description="history for features"),
    )

    def target_positions(self, data: pd.DataFrame | Universe) -> pd.DataFrame:
        universe = as_universe(data)
        access: Any = require_access(self.models, self.name)
        if not hasattr(access, "policy_targets"):
            raise ValidationError(
                "rl_policy needs a policy access: run it through qts backtest, paper or live, or "
                "bind qts.ml.rl.access.PolicyBacktestAccess(engine)"
            )
        targets = access.policy_targets(str(self.p["model"]), universe)
        frame = targets.reindex(_union_index(universe)).fillna(0.0)
        frame.index.name = "ts"
        return frame
