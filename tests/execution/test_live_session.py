"""A stored strategy trading live against the fake KIS server, and the kill switch stopping a
running strategy's orders at the next bar."""

from __future__ import annotations

from pathlib import Path

from qts.config import Settings
from qts.execution.brokers import KisBroker, RetryPolicy
from qts.execution.live import LiveExecutor
from qts.services.context import AppContext
from qts.services.data.market_data import import_file
from qts.services.trading.live import follow_up
from qts.services.trading.reconcile import reconcile
from qts.services.trading.schemas import NewStrategy
from qts.services.trading.sessions import FeedSpec, TradingService
from qts.services.trading.strategies import create_strategy
from tests.brokers.fakes import FakeBinanceSpot, FakeKis

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def _ctx(tmp_path: Path, **extra: object) -> AppContext:
    from qts.db.migrate import upgrade

    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'q.db'}",
        paper_cash=10_000_000,
        **extra,  # type: ignore[arg-type]
    )
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    return ctx


def test_live_strategy_orders_reach_the_broker_and_positions_match(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, live_trading_enabled=True)
    with FakeKis(cash=50_000_000, prices={"005930": 70_000.0}) as fake:
        broker = KisBroker(
            fake.app_key,
            fake.app_secret,
            "50012345-01",
            mock=True,
            base_url=fake.base_url,
            rate_per_s=500,
            retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02),
        )
        executor = LiveExecutor(broker, "live:kis")
        trading = TradingService(ctx)
        trading.live_executor = executor
        sid = create_strategy(
            ctx.db,
            NewStrategy(
                name="live-x",
                strategy_class="sma_cross",
                parameters={"fast": 5, "slow": 20},
                symbols=["005930"],
                timeframe="1d",
                mode="live",
            ),
            actor="test",
        ).id
        trading.start(sid, "test", FeedSpec("live"))
        processed = trading.step_stored_bars(sid)
        follow_up(trading.orders, executor)
        assert processed == 370
        assert len(fake.ledger.orders) >= 4
        # A live target order is sized from the broker account's equity when decided (a full
        # position of a 50M account at ~70k is hundreds of shares, not the 1-share minimum).
        first = min(fake.ledger.orders.values(), key=lambda o: o.created_at)
        assert first.side == "buy" and first.quantity > 100
        # A second run has no new bars: no new orders (the runner state was saved).
        assert trading.step_stored_bars(sid) == 0
        report = reconcile(trading.orders, executor, "test")
        assert report.positions_repaired == [] and report.unknown_at_qts == []
        state = trading.orders.account_state("live:kis")
        assert state.positions.get("005930", 0.0) == fake.ledger.holding("005930")
        broker.close()
    ctx.close()


def test_kill_switch_stops_a_running_strategy_at_the_next_bar(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    trading = TradingService(ctx)
    sid = create_strategy(
        ctx.db,
        NewStrategy(
            name="paper-k",
            strategy_class="sma_cross",
            parameters={"fast": 3, "slow": 8},
            symbols=["005930"],
            timeframe="1d",
        ),
        actor="test",
    ).id
    trading.start(sid, "test", FeedSpec("live"))  # stored bars, run by step_stored_bars
    from sqlalchemy import select

    from qts.db.models import Order, Strategy

    # Run the first half of the bars, then pull the switch, then the rest.
    with ctx.db.session() as s:
        row = s.get(Strategy, sid)
        assert row is not None
    import pandas as pd

    frames = pd.read_csv(SAMPLE / "kr_daily" / "005930.csv")
    cut = pd.Timestamp(frames["timestamp"].iloc[185], tz="UTC")
    import qts.services.data.market_data as md

    full = md.read_bars("005930", "1d", db=ctx.db)
    original = md.read_bars
    md.read_bars = lambda *a, **k: full[full.index <= cut]  # type: ignore[assignment]
    try:
        trading.step_stored_bars(sid)
    finally:
        md.read_bars = original  # type: ignore[assignment]
    trading.orders.set_kill_switch(True, "test")
    trading.step_stored_bars(sid)
    with ctx.db.session() as s:
        after = s.scalars(
            select(Order).where(
                Order.created_at >= pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=5)
            )
        ).all()
        late = [o for o in after if int(o.client_order_id.rsplit("-", 1)[1]) > cut.value // 10**6]
    assert late, "the strategy kept deciding after the switch"
    assert all(o.status == "rejected" and o.reject_rule == "kill_switch" for o in late)
    ctx.close()


def test_a_session_runs_in_one_process_only(tmp_path: Path, redis_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from qts.core.errors import ConflictError

    monkeypatch.setenv("QTS_WORKERS_KEY_PREFIX", f"qts-test-{tmp_path.name}:")
    first = _ctx(tmp_path, redis_url=redis_url)
    second = AppContext.from_settings(first.settings)  # another API process, same Redis and DB
    sid = create_strategy(
        first.db,
        NewStrategy(
            name="one-only",
            strategy_class="sma_cross",
            parameters={"fast": 3, "slow": 8},
            symbols=["005930"],
            timeframe="1d",
        ),
        actor="test",
    ).id
    a, b = TradingService(first), TradingService(second)
    a.start(sid, "test", FeedSpec("replay", speed=86_400.0))  # one bar a second: still running
    with pytest.raises(ConflictError, match="another process"):
        b.start(sid, "test", FeedSpec("replay"))
    a.stop(sid, "test")
    b.start(sid, "test", FeedSpec("replay"))  # free again once the first stopped
    b.stop(sid, "test")
    first.close()
    second.close()


def test_paper_session_on_live_bars_matches_the_backtest(tmp_path: Path) -> None:
    """`qts paper --live`: closed bars fetched from a (fake) Binance as they come are traded by
    the paper account exactly as the backtest trades the same bars."""
    import threading

    import numpy as np
    import pandas as pd
    from sqlalchemy import select

    from qts.backtest.engine import run_backtest
    from qts.db.models import Fill
    from qts.market.files import load_bars_file
    from qts.services.trading.live import BarSource, run_live
    from qts.services.trading.paper_accounts import paper_config
    from qts.strategies.registry import create_strategy as make

    bars = load_bars_file(SAMPLE / "crypto_1h" / "BTC_USDT.csv").iloc[-600:]
    ctx = _ctx(tmp_path)
    trading = TradingService(ctx)
    params = {"fast": 5, "slow": 20}
    sid = create_strategy(
        ctx.db,
        NewStrategy(
            name="btc-live",
            strategy_class="sma_cross",
            parameters=params,
            symbols=["BTC/USDT"],
            timeframe="1h",
        ),
        actor="test",
    ).id
    trading.start(sid, "test", FeedSpec("live"))
    with FakeBinanceSpot(bars={"BTCUSDT": bars}) as fake:
        # Reach back far enough (from today) to cover the 600 stored test bars.
        source = BarSource(
            "ccxt",
            "binance",
            warmup_bars=20_000,
            options={"base_url": fake.base_url, "sleep": lambda s: None},
        )
        assert run_live(trading, sid, 0.0, threading.Event(), source=source, cycles=1) == 600
        assert run_live(trading, sid, 0.0, threading.Event(), source=source, cycles=1) == 0
    config = paper_config(ctx.settings)
    expected = run_backtest(make("sma_cross", params), {"BTC/USDT": bars}, config).fills
    with ctx.db.session() as s:
        rows = s.execute(
            select(Fill.ts, Fill.side, Fill.quantity, Fill.price).order_by(Fill.id)
        ).all()
    assert len(rows) == len(expected) > 4
    assert [pd.Timestamp(r.ts) for r in rows] == list(expected["ts"])
    np.testing.assert_allclose(
        [(1 if r.side == "buy" else -1) * r.quantity for r in rows], expected["quantity"]
    )
    np.testing.assert_allclose([r.price for r in rows], expected["price"])
    ctx.close()
