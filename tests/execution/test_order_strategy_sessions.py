"""An order strategy (resting stop orders, attached stop-loss / take-profit, cancels) trades a
paper session exactly as the backtest trades the same bars, also across a restart; sessions
load the strategy's warm-up history before its first decision."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sqlalchemy import select

from qts.backtest.engine import run_backtest
from qts.config import Settings
from qts.db.models import Bar as BarRow
from qts.db.models import Fill, Order
from qts.services.context import AppContext
from qts.services.data.market_data import import_file, read_bars
from qts.services.trading.paper_accounts import paper_config
from qts.services.trading.schemas import NewStrategy
from qts.services.trading.sessions import FeedSpec, TradingService
from qts.services.trading.strategies import create_strategy
from qts.strategies import OrderStrategy, Param, ParamSet, StrategyContext, TargetStrategy
from qts.strategies.registry import create_strategy as make

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"
PARAMS = {"entry": 15, "exit": 8, "stop_loss": 0.03, "take_profit": 0.06}


def _ctx(tmp_path: Path) -> AppContext:
    from qts.db.migrate import upgrade

    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'q.db'}",
        paper_cash=10_000_000,
        paper_commission=0.00015,
        paper_slippage_bps=5,
    )
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    return ctx


def _stored(ctx: AppContext, spec: str, params: dict[str, Any], name: str = "s") -> int:
    data = {
        "name": name,
        "strategy_class": spec,
        "parameters": params,
        "symbols": ["005930"],
        "timeframe": "1d",
    }
    return create_strategy(ctx.db, NewStrategy.parse(**data), actor="test").id


def _replay(ctx: AppContext, sid: int, **feed: Any) -> None:
    trading = TradingService(ctx)
    trading.start(sid, "test", FeedSpec("replay", **feed))
    session = trading.sessions[sid]
    session.thread.join(120)
    assert not session.thread.is_alive() and session.error == ""


def _stored_fills(ctx: AppContext) -> list[Any]:
    with ctx.db.session() as s:
        return list(
            s.execute(
                select(
                    Fill.ts, Fill.side, Fill.quantity, Fill.price, Fill.fee, Order.client_order_id
                )
                .join(Order, Order.id == Fill.order_id)
                .order_by(Fill.id)
            ).all()
        )


def _assert_same_fills(rows: list[Any], expected: pd.DataFrame) -> None:
    assert len(rows) == len(expected)
    assert [pd.Timestamp(r.ts) for r in rows] == list(expected["ts"])
    signed = [(1 if r.side == "buy" else -1) * r.quantity for r in rows]
    np.testing.assert_allclose(signed, expected["quantity"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose([r.price for r in rows], expected["price"], rtol=1e-12)
    np.testing.assert_allclose([r.fee for r in rows], expected["fee"], rtol=1e-12)


def test_channel_breakout_paper_replay_matches_backtest_fills(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    sid = _stored(ctx, "channel_breakout", PARAMS)
    _replay(ctx, sid)
    bars = read_bars("005930", "1d", db=ctx.db)
    config = paper_config(ctx.settings)
    expected = run_backtest(make("channel_breakout", PARAMS), {"005930": bars}, config).fills
    rows = _stored_fills(ctx)
    assert len(expected) >= 8
    _assert_same_fills(rows, expected)
    # The attached exits and the trailing stop all traded, through the order service.
    ids = [r.client_order_id for r in rows]
    assert any(i.endswith("-sl") for i in ids) and any(i.endswith("-tp") for i in ids)
    with ctx.db.session() as s:
        statuses = set(s.scalars(select(Order.status)))
        open_left = s.scalars(select(Order).where(Order.status == "submitted")).all()
    assert "cancelled" in statuses  # re-placed resting orders were cancelled
    assert all(o.strategy_id == sid for o in open_left)
    ctx.close()


def test_order_strategy_resumes_after_a_restart_with_its_resting_orders(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    sid = _stored(ctx, "channel_breakout", PARAMS)
    bars = read_bars("005930", "1d", db=ctx.db)
    cut = bars.index[200]
    _replay(ctx, sid, end=cut.isoformat())
    with ctx.db.session() as s:
        resting = s.scalars(select(Order).where(Order.status == "submitted")).all()
    assert resting, "the restart must carry resting orders over for the test to mean much"
    ctx.close()
    ctx = AppContext.from_settings(ctx.settings)  # a new process: state from the database only
    _replay(ctx, sid)
    config = paper_config(ctx.settings)
    expected = run_backtest(make("channel_breakout", PARAMS), {"005930": bars}, config).fills
    _assert_same_fills(_stored_fills(ctx), expected)
    ctx.close()


class RecordsHistory(OrderStrategy):
    """Notes how many bars of history it sees at each decision."""

    params = ParamSet(Param("needs", "int", 50, low=1, high=5000))
    seen: ClassVar[list[int]] = []

    @property
    def warmup_bars(self) -> int:
        return int(self.params.needs)

    def on_bar(self, ctx: StrategyContext) -> None:
        RecordsHistory.seen.append(len(ctx.history("005930")))


class NeedsLongHistory(TargetStrategy):
    """A target strategy with a long warm-up (flat throughout)."""

    params = ParamSet(Param("needs", "int", 500, low=1, high=5000))

    @property
    def warmup_bars(self) -> int:
        return int(self.params.needs)

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return pd.Series(0.0, index=bars.index)


def test_a_replay_from_a_start_decides_first_with_the_warmup_history(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    bars = read_bars("005930", "1d", db=ctx.db)
    RecordsHistory.seen.clear()
    sid = _stored(ctx, f"{__name__}:RecordsHistory", {"needs": 50})
    _replay(ctx, sid, start=bars.index[100].isoformat(), end=bars.index[110].isoformat())
    # 50 bars before the start, then the start bar itself.
    assert RecordsHistory.seen[:2] == [51, 52]
    assert len(RecordsHistory.seen) == 11
    RecordsHistory.seen.clear()
    sid = _stored(ctx, f"{__name__}:RecordsHistory", {"needs": 300}, name="long")
    _replay(ctx, sid, start=bars.index[100].isoformat(), end=bars.index[101].isoformat())
    assert RecordsHistory.seen[0] == 101  # fewer stored than asked: all there are
    ctx.close()


def test_live_bars_fetch_reaches_back_the_strategy_warmup(tmp_path: Path) -> None:
    """A strategy needing 500 bars gets 500 fetched on a first live run, not a fixed 300."""
    from qts.market.frames import timeframe_ms
    from qts.services.trading.live import BarSource, run_live
    from tests.brokers.fakes import FakeBinanceSpot

    step = timeframe_ms("1h")
    last_closed = (int(pd.Timestamp.now(tz="UTC").value // 1_000_000) // step - 1) * step
    index = pd.to_datetime(np.arange(last_closed - 799 * step, last_closed + 1, step), unit="ms")
    close = 100 + np.cumsum(np.random.default_rng(1).normal(0, 1, len(index)))
    frame = pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0},
        index=index.tz_localize("UTC"),
    )
    ctx = _ctx(tmp_path)
    trading = TradingService(ctx)
    data = {
        "name": "long-live",
        "strategy_class": f"{__name__}:NeedsLongHistory",
        "parameters": {"needs": 500},
        "symbols": ["BTC/USDT"],
        "timeframe": "1h",
    }
    sid = create_strategy(ctx.db, NewStrategy.parse(**data), actor="test").id
    trading.start(sid, "test", FeedSpec("live"))
    with FakeBinanceSpot(bars={"BTCUSDT": frame}) as fake:
        options = {"base_url": fake.base_url, "sleep": lambda s: 0}
        source = BarSource("ccxt", "binance", options=options)
        run_live(trading, sid, 0.0, threading.Event(), source=source, cycles=1)
    with ctx.db.session() as s:
        stored = s.scalars(select(BarRow.ts).where(BarRow.symbol == "BTC/USDT")).all()
    assert 500 <= len(stored) < 800
    ctx.close()
