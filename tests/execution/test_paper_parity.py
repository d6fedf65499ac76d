"""Paper-trading a replay of a data set gives exactly the backtest's fills on that data set."""

from __future__ import annotations

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
from qts.services.trading.order_service import OrderService
from qts.strategies.registry import create_strategy
from tests.execution.conftest import sample_bars


def _paper(db, bus, strategy, frame: pd.DataFrame, config: BacktestConfig, symbol: str):  # type: ignore[no-untyped-def]
    config = config.resolve([symbol], strategy_params=strategy.p)
    executor = PaperExecutor(config.fill_model, config.cash)
    service = OrderService(db, bus, {"paper": executor})
    runner = StrategyRunner(strategy, [symbol], service, config, executor, tag="parity")
    for ts, row in frame.iterrows():
        bar = Bar(
            symbol, "1d", ts.to_pydatetime(), row.open, row.high, row.low, row.close, row.volume
        )
        runner.on_bars({symbol: bar})
    with db.session() as s:
        rows = s.execute(
            select(Fill.ts, Fill.side, Fill.quantity, Fill.price, Fill.fee)
            .join(Order, Order.id == Fill.order_id)
            .order_by(Fill.id)
        ).all()
    return rows, executor


@pytest.mark.parametrize(
    ("relative", "spec", "params", "config"),
    [
        (
            "kr_daily/005930.csv",
            "sma_cross",
            {"fast": 5, "slow": 20},
            BacktestConfig(cash=10_000_000, slippage_bps=5),
        ),
        (
            "crypto_1h/BTC_USDT.csv",
            "rsi_reversion",
            {},
            BacktestConfig(
                cash=10_000,
                commission=0.001,
                sell_tax=0.0,
                fractional=True,
                qty_step=0.0001,
                asset_class="crypto",
            ),
        ),
    ],
)
def test_paper_replay_matches_backtest_fills(
    sqlite_db, bus, relative, spec, params, config
) -> None:  # type: ignore[no-untyped-def]
    frame = sample_bars(relative)
    if len(frame) > 2000:
        frame = frame.iloc[:2000]
    symbol = relative.split("/")[1].removesuffix(".csv")
    expected = run_backtest(create_strategy(spec, params), frame, config, symbol=symbol).fills
    rows, _executor = _paper(sqlite_db, bus, create_strategy(spec, params), frame, config, symbol)
    assert len(expected) >= 4, "the data set must produce trades for the comparison to mean much"
    assert len(rows) == len(expected)
    got_ts = [pd.Timestamp(r.ts) for r in rows]
    assert got_ts == list(expected["ts"])
    signed = np.array([(1 if r.side == "buy" else -1) * r.quantity for r in rows])
    np.testing.assert_allclose(signed, expected["quantity"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose([r.price for r in rows], expected["price"], rtol=1e-12)
    np.testing.assert_allclose([r.fee for r in rows], expected["fee"], rtol=1e-12)
