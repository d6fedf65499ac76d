"""The scheduled jobs that follow live orders and keep online features fresh, on real parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qts.config import Settings
from qts.core.types import OrderTicket, OrderType, Side
from qts.execution.live import LiveExecutor
from qts.services.context import AppContext
from qts.services.trading.live import follow_up_open_orders, make_broker
from qts.services.trading.order_service import OrderService
from tests.brokers.fakes import FakeKis

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def _ctx(tmp_path: Path, **extra: object) -> AppContext:
    from qts.db.migrate import upgrade

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}", **extra)  # type: ignore[arg-type]
    upgrade(settings.effective_database_url)
    return AppContext.from_settings(settings)


def test_follow_up_applies_broker_fills_to_open_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeKis(cash=10_000_000, prices={"005930": 70_000.0}) as fake:
        monkeypatch.setenv("QTS_KIS_APP_KEY", fake.app_key)
        monkeypatch.setenv("QTS_KIS_APP_SECRET", fake.app_secret)
        monkeypatch.setenv("QTS_KIS_ACCOUNT_NO", "50012345-01")
        ctx = _ctx(
            tmp_path, live_trading_enabled=True, live_broker="kis", broker_base_url=fake.base_url
        )
        assert follow_up_open_orders(_ctx(tmp_path / "off")) == {
            "skipped": "no live broker configured"
        }
        # The same journal (client id -> KIS order number) as the job's own client uses.
        broker = make_broker(ctx.settings, "kis")
        service = OrderService(ctx.db, ctx.bus, {"live:kis": LiveExecutor(broker, "live:kis")})
        placed = service.place(
            OrderTicket(
                "005930",
                Side.BUY,
                10,
                OrderType.LIMIT,
                limit_price=69_000,
                account="live:kis",
                client_order_id="follow-0001",
            )
        )
        assert placed["status"] == "submitted"
        [ledger_order] = fake.ledger.orders.values()
        fake.ledger.fill(ledger_order.order_id, 4, 68_900)
        assert follow_up_open_orders(ctx) == {"open": 1, "changed": 1}
        order = service.find("follow-0001")
        assert order["status"] == "partially_filled" and order["filled_quantity"] == 4
        assert order["average_fill_price"] == 68_900
        # Running the job again applies nothing twice.
        assert follow_up_open_orders(ctx) == {"open": 1, "changed": 0}
        assert service.account_state("live:kis").positions == {"005930": 4}
        broker.close()
        ctx.close()


def test_features_job_fills_the_online_store_for_live_symbols(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qts.services.data.market_data import import_file
    from qts.services.ml.features import compute_online_features, latest_vector, reset_caches

    ctx = _ctx(tmp_path)
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    monkeypatch.setenv(
        "QTS_LIVE_SYMBOLS",
        json.dumps(
            [{"provider": "krx", "exchange": "XKRX", "symbol": "005930", "timeframe": "1d"}]
        ),
    )
    reset_caches()
    out = compute_online_features(ctx)
    assert out["005930"]["rows"] > 0
    vector = latest_vector("005930", "1d", db=ctx.db)
    assert set(vector["as_of"]) >= {k for k in vector["as_of"] if k.startswith("technical@")}
    assert all(ts.startswith("2025-06-17") for ts in vector["as_of"].values())
    assert len(vector["values"]) >= 60
    ctx.close()
