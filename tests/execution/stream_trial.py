"""A KRX paper session fed by the bar stream from the fake KIS WebSocket, shared by
`test_stream_session.py` and `benchmarks/bench_stream_latency.py`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from qts.config import Settings
from qts.db.models import Fill, Order, Strategy
from qts.market.kis import KisQuotations
from qts.market.kis_stream import KisRealtimeStream
from qts.services.context import AppContext
from qts.services.data.bar_stream import BarStream
from qts.services.data.live_collection import LiveSymbol
from qts.services.trading.schemas import NewStrategy
from qts.services.trading.sessions import FeedSpec, TradingService
from qts.services.trading.strategies import create_strategy
from tests.brokers.fakes.kis_market import FakeKisMarket, SimClock
from tests.brokers.fakes.kis_ws import FakeKisWebSocket
from tests.market.krx_minutes import session_start_s

PARAMS = {"fast": 3, "slow": 8}
KIS_ENV = {
    "QTS_KIS_APP_KEY": "PSfakeAppKey0001",
    "QTS_KIS_APP_SECRET": "fake-app-secret-value",
    "QTS_KIS_ACCOUNT_NO": "50012345-01",
}


def make_context(data_dir: Path, **settings: Any) -> AppContext:
    """A migrated SQLite context (the caller sets KIS_ENV in the environment)."""
    from qts.db.migrate import upgrade

    config = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'q.db'}",
        paper_cash=10_000_000,
        **settings,
    )
    upgrade(config.effective_database_url)
    return AppContext.from_settings(config)


def strategy(ctx: AppContext, name: str) -> int:
    new = NewStrategy(
        name=name, strategy_class="sma_cross", parameters=PARAMS, symbols=["005930"], timeframe="1m"
    )
    return create_strategy(ctx.db, new, actor="test").id


def trades(ctx: AppContext, sid: int) -> list[tuple]:
    with ctx.db.session() as s:
        rows = s.execute(
            select(Order.client_order_id, Fill.side, Fill.quantity, Fill.price, Fill.ts)
            .join(Fill, Fill.order_id == Order.id)
            .where(Order.strategy_id == sid)
            .order_by(Fill.ts)
        ).all()
    return [(cid.rsplit("-", 1)[1], side, qty, price, ts) for cid, side, qty, price, ts in rows]


def last_ts(ctx: AppContext, sid: int) -> str | None:
    with ctx.db.session() as s:
        row = s.get(Strategy, sid)
        assert row is not None
        return ((row.runtime_state or {}).get("runner") or {}).get("last_ts")


def stream_session(ctx: AppContext, frame: pd.DataFrame, interval_s: float, kill=None):  # type: ignore[no-untyped-def]
    """Play `frame` through the fake KIS WebSocket into a running live-feed paper session."""
    trading = TradingService(ctx)
    sid = strategy(ctx, "krx-stream")
    trading.start(sid, "test", FeedSpec("live"))
    clock = SimClock(session_start_s())
    bars = {"005930": frame}
    with FakeKisMarket(bars, clock=clock, mock=True) as rest_fake:
        rest = KisQuotations(
            rest_fake.app_key, rest_fake.app_secret, mock=True, base_url=rest_fake.base_url,
            clock=clock, rate_per_s=100,
        )  # fmt: skip
        with FakeKisWebSocket(bars, clock, rest_fake.approval_keys, interval_s=interval_s) as ws:
            if kill is not None:
                ws.kill(*kill)
            feed = KisRealtimeStream(
                ["005930"], rest, ws_url=ws.url, clock=clock, reconnect_delay=0.02
            )
            spec = LiveSymbol(provider="kis", exchange="XKRX", symbol="005930", timeframe="1m")
            options = {"base_url": rest_fake.base_url, "clock": clock, "rate_per_s": 100}
            stream = BarStream(ctx, [spec], [feed], provider_options={"kis": options})
            stream.start_thread()
            last = frame.index[-1].isoformat()
            deadline = time.monotonic() + 60
            while last_ts(ctx, sid) != last and time.monotonic() < deadline:
                time.sleep(0.05)
            stream.stop()
        rest.close()
    return sid, stream, ws


def replay(ctx: AppContext) -> int:
    trading = TradingService(ctx)
    sid = strategy(ctx, "krx-replay")
    trading.start(sid, "test", FeedSpec("replay"))
    trading.sessions[sid].thread.join(60)
    return sid


def order_delays(ctx: AppContext, sid: int, ws: FakeKisWebSocket) -> list[float]:
    """Seconds from each bar's close (the next minute's first trade leaving the fake) to the
    order decided on it, for the bars a trade closed."""
    with ctx.db.session() as s:
        orders = s.execute(
            select(Order.client_order_id, Order.created_at).where(Order.strategy_id == sid)
        ).all()
    delays = []
    for cid, created in orders:
        closing = ws.sent_wall.get(("005930", int(cid.rsplit("-", 1)[1]) + 60_000))
        if closing is not None:
            stamp = pd.Timestamp(created)
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
            delays.append(stamp.timestamp() - closing)
    return delays
