"""KRW-BTC from the fake Upbit: one-minute candles fetched through ccxt (Upbit's 200-a-call
paging), a paper session and a fake-live session trading them; the live one's orders reach the
fake within Upbit's rules and its positions equal the exchange's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from qts.config import Settings
from qts.db.models import Fill, Order
from qts.execution.brokers import RetryPolicy
from qts.execution.brokers.upbit import UpbitBroker
from qts.execution.live import LiveExecutor
from qts.market.files import load_bars_file
from qts.services.context import AppContext
from qts.services.data.market_data import fetch, read_bars
from qts.services.trading.live import follow_up
from qts.services.trading.reconcile import reconcile
from qts.services.trading.schemas import NewStrategy
from qts.services.trading.sessions import FeedSpec, TradingService
from qts.services.trading.strategies import create_strategy
from tests.brokers.fakes.upbit import FakeUpbit

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def krw_btc_minutes(count: int) -> pd.DataFrame:
    """Sample BTC/USDT hours as KRW-BTC minutes at 1,350 KRW/USDT, on the 1,000 KRW unit."""
    hours = load_bars_file(SAMPLE / "crypto_1h" / "BTC_USDT.csv").iloc[:count]
    prices = (hours[["open", "high", "low", "close"]] * 1350 / 1000).round() * 1000
    frame = prices.assign(volume=hours["volume"].round(4))
    frame.index = pd.date_range("2024-09-14", periods=count, freq="1min", tz="UTC", name="ts")
    return frame


@pytest.fixture
def ctx(tmp_path: Path):  # type: ignore[no-untyped-def]
    from qts.db.migrate import upgrade

    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}",
        paper_cash=10_000_000, live_trading_enabled=True,
    )  # fmt: skip
    upgrade(settings.effective_database_url)
    context = AppContext.from_settings(settings)
    yield context
    context.close()


def _strategy(ctx: AppContext, name: str, mode: str) -> int:
    # live target strategies are sized by the runner's paper path today (one unit): a fixed
    # coin quantity shows Upbit's rules on real sizes
    new = NewStrategy(
        name=name, strategy_class="tests.execution.krw_strategies:FixedQuantityCross",
        parameters={"fast": 3, "slow": 8, "quantity": 0.002}, symbols=["BTC/KRW"],
        timeframe="1m", mode=mode,
    )  # fmt: skip
    return create_strategy(ctx.db, new, actor="test").id


def test_paper_and_fake_live_upbit_sessions_trade_krw_btc(ctx: AppContext) -> None:
    frame = krw_btc_minutes(260)
    last = float(frame["close"].iloc[-1])
    with FakeUpbit(candles={"KRW-BTC": frame}, prices={"KRW-BTC": last}, cash=50_000_000) as fake:
        out = fetch(
            "ccxt", "upbit", "BTC/KRW", "1m", frame.index[0], until=frame.index[-1] + pd.Timedelta("1min"),
            db=ctx.db, provider_options={"base_url": fake.base_url},
        )  # fmt: skip
        assert out["fetched"] == 260 and len(fake.requests_for_path("/v1/candles/minutes/1")) >= 2
        pd.testing.assert_frame_equal(
            read_bars("BTC/KRW", "1m", db=ctx.db), frame, check_freq=False
        )

        trading = TradingService(ctx)
        paper = _strategy(ctx, "upbit-paper", "paper")
        trading.start(paper, "test", FeedSpec("replay"))
        trading.sessions[paper].thread.join(60)
        with ctx.db.session() as s:
            paper_fills = s.scalars(
                select(Fill)
                .join(Order, Fill.order_id == Order.id)
                .where(Order.strategy_id == paper)
            ).all()
        assert len(paper_fills) >= 4

        broker = UpbitBroker(
            fake.access_key, fake.secret_key, base_url=fake.base_url, rate_per_s=500,
            retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02),
        )  # fmt: skip
        executor = LiveExecutor(broker, "live:upbit")
        trading.live_executor = executor
        live = _strategy(ctx, "upbit-live", "live")
        trading.start(live, "test", FeedSpec("live"))
        assert trading.step_stored_bars(live) == 260
        follow_up(trading.orders, executor)
        sent = fake.requests_for_path("/v1/orders")
        assert len(sent) >= 4 and all(r.body["ord_type"] in ("price", "market") for r in sent)
        assert all(int(r.body["price"]) >= 5000 for r in sent if r.body["ord_type"] == "price")
        with ctx.db.session() as s:
            statuses = s.scalars(select(Order.status).where(Order.strategy_id == live)).all()
        assert statuses and set(statuses) <= {"filled", "rejected"}
        report = reconcile(trading.orders, executor, "test")
        assert report.positions_repaired == [] and report.unknown_at_qts == []
        held = trading.orders.account_state("live:upbit").positions.get("BTC/KRW", 0.0)
        assert held == pytest.approx(fake.ledger.holding("BTC"), abs=1e-8)
        assert np.isfinite(held)
        broker.close()
