"""Paper replays of the model strategies give exactly their backtests' fills: the backtest
scores every bar point in time with frozen weights; the paper session scores the newest bar
through the online store, bar by bar, with its orders through the order service."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from qts.backtest.config import BacktestConfig
from qts.backtest.engine import run_backtest
from qts.core.types import Bar
from qts.db.models import Fill, Order
from qts.execution.paper import PaperExecutor
from qts.execution.runner import StrategyRunner
from qts.ml.model_access import BacktestModelAccess, LiveModelAccess
from qts.services.trading.order_service import OrderService
from qts.strategies.registry import create_strategy
from tests.ml_trading.conftest import TRAIN_END, engine_with

START = "2025-02-03"
END = "2025-03-14"  # 30 bars: each paper bar scores online (about 0.3 s here)
SIGNAL = ("ml_signal", {"model": "tiny/1", "enter": 0.0, "exit": -0.0002})
TOPK = ("ml_topk", {"model": "tiny/1", "k": 2, "n_drop": 1})
HYBRID = ("hybrid", {"model": "tiny/1", "rule_params": "fast=5;slow=20", "combine": "vote"})


def _paper(db, bus, strategy, bars: dict[str, pd.DataFrame], config: BacktestConfig):  # type: ignore[no-untyped-def]
    symbols = sorted(bars)
    config = config.resolve(symbols, strategy_params=strategy.p)
    executor = PaperExecutor(config.fill_model, config.cash)
    service = OrderService(db, bus, {"paper": executor})
    warmup = {s: b.loc[:TRAIN_END] for s, b in bars.items()}
    runner = StrategyRunner(
        strategy, symbols, service, config, executor, tag="mlparity", history=warmup
    )
    live = {s: b.loc[START:] for s, b in bars.items()}
    for ts in live[symbols[0]].index:
        runner.on_bars({
            s: Bar(s, "1d", ts.to_pydatetime(), *live[s].loc[ts, ["open", "high", "low", "close", "volume"]])
            for s in symbols if ts in live[s].index
        })  # fmt: skip
    with db.session() as s:
        fills = s.execute(
            select(Fill.ts, Fill.symbol, Fill.side, Fill.quantity, Fill.price, Fill.fee)
            .join(Order, Order.id == Fill.order_id)
            .order_by(Fill.ts, Fill.symbol)
        ).all()
        metas = [o.meta for o in s.scalars(select(Order))]
    return fills, metas


@pytest.mark.parametrize(("name", "params"), [SIGNAL, HYBRID])
def test_paper_replay_of_ml_signal_and_hybrid_matches_backtest(
    db, bus, krx5, tiny_model, name: str, params: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    """On SQLite and PostgreSQL."""
    _check_parity(db, bus, krx5, tiny_model, name, params)


def test_paper_replay_of_ml_topk_matches_backtest(db, bus, krx5, tiny_model) -> None:  # type: ignore[no-untyped-def]
    """On SQLite and PostgreSQL."""
    _check_parity(db, bus, krx5, tiny_model, *TOPK)


def _check_parity(db, bus, krx5, tiny_model, name: str, params: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    krx5 = {s: b.loc[:END] for s, b in krx5.items()}
    config = BacktestConfig(cash=100_000_000)
    strategy = create_strategy(name, params)
    strategy.bind_models(BacktestModelAccess(engine_with(tiny_model), START))
    expected = run_backtest(strategy, krx5, config, trade_start=START).fills
    expected = expected.sort_values(["ts", "symbol"], kind="stable").reset_index(drop=True)

    paper = create_strategy(name, params)
    published: list[Any] = []
    paper.bind_models(LiveModelAccess(engine_with(tiny_model), published.extend))
    rows, metas = _paper(db, bus, paper, krx5, config)

    assert len(expected) >= 6, "the model must trade out of sample for the comparison to mean much"
    assert len(rows) == len(expected)
    assert [pd.Timestamp(r.ts) for r in rows] == list(expected["ts"])
    assert [r.symbol for r in rows] == list(expected["symbol"])
    signed = np.array([(1 if r.side == "buy" else -1) * r.quantity for r in rows])
    np.testing.assert_allclose(signed, expected["quantity"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose([r.price for r in rows], expected["price"], rtol=1e-12)
    np.testing.assert_allclose([r.fee for r in rows], expected["fee"], rtol=1e-12)
    # Each order names the model version behind it; every bar's prediction was handed on once.
    assert metas and all(m["model"] == "tiny" and m["model_version"] == "1" for m in metas)
    n_bars = len(krx5["005930"].loc[START:])
    assert len(published) == n_bars * len(krx5)
    assert {p.symbol for p in published} == set(krx5)
