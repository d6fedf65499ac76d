"""An order strategy reaches models through its context: `ctx.predict` and `ctx.features`
give the same values in the event backtest and in a paper runner, bar by bar."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.engine import run_backtest
from qts.core.types import Bar
from qts.execution.paper import PaperExecutor
from qts.execution.runner import StrategyRunner
from qts.ml.model_access import BacktestModelAccess, LiveModelAccess
from qts.services.trading.order_service import OrderService
from qts.strategies import OrderStrategy, StrategyContext
from tests.ml_trading.conftest import TRAIN_END, engine_with

START, END = "2025-02-03", "2025-02-14"


class Recorder(OrderStrategy):
    """Writes down what its context says the model predicts (and one feature) at each bar."""

    name: ClassVar[str] = "recorder"
    uses_models: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[pd.Timestamp, dict[str, float], float]] = []

    def on_bar(self, ctx: StrategyContext) -> None:
        if ctx.ts >= pd.Timestamp(START, tz="UTC"):
            scores = ctx.predict("tiny/1", ["005930", "000660"])
            feature = ctx.features("tiny/1", ["005930"])["005930"]["logret_1"]
            self.seen.append((ctx.ts, scores, feature))


def test_order_strategy_context_predicts_the_same_in_backtest_and_paper(
    krx5: dict[str, pd.DataFrame], tiny_model: tuple[Any, Any], sqlite_db, bus
) -> None:  # type: ignore[no-untyped-def]
    bars = {s: krx5[s].loc[:END] for s in ("005930", "000660")}
    in_backtest = Recorder()
    in_backtest.bind_models(BacktestModelAccess(engine_with(tiny_model), START))
    run_backtest(in_backtest, bars, BacktestConfig(cash=10_000_000), trade_start=START)

    in_paper = Recorder()
    in_paper.bind_models(LiveModelAccess(engine_with(tiny_model)))
    config = BacktestConfig(cash=10_000_000).resolve(sorted(bars))
    executor = PaperExecutor(config.fill_model, config.cash)
    runner = StrategyRunner(
        in_paper, sorted(bars), OrderService(sqlite_db, bus, {"paper": executor}), config,
        executor, history={s: b.loc[:TRAIN_END] for s, b in bars.items()},
    )  # fmt: skip
    for ts in bars["005930"].loc[START:].index:
        runner.on_bars({s: Bar(s, "1d", ts.to_pydatetime(), *b.loc[ts, ["open", "high", "low",
                       "close", "volume"]]) for s, b in bars.items()})  # fmt: skip
    assert len(in_backtest.seen) == len(in_paper.seen) == 10
    for (t1, s1, f1), (t2, s2, f2) in zip(in_backtest.seen, in_paper.seen, strict=True):
        assert t1 == t2 and f1 == f2
        assert s1 == s2 and all(v == v for v in s1.values())  # finite, after the window
