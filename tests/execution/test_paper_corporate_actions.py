"""Paper trading across corporate actions behaves like the backtest and a real broker: the
strategy sees adjusted bars, orders fill at the raw quotes, a held position follows a split
(quantity x ratio, cost basis kept) and is paid dividends in cash, once. Data: Samsung's 50:1
split of 2018-05-04 rebuilt as raw KRX quotes (`tests/data/corporate_actions/README.md`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from qts.backtest.engine import run_backtest
from qts.config import Settings
from qts.core.types import Bar, OrderTicket, OrderType, Side
from qts.db.models import AccountAction, Fill, Order, Position
from qts.db.models import Strategy as StrategyRow
from qts.execution.paper import PaperExecutor
from qts.execution.runner import StrategyRunner
from qts.market.corporate_actions import CorporateAction
from qts.services.context import AppContext
from qts.services.data.corporate_actions import import_csv, store
from qts.services.data.market_data import import_file
from qts.services.trading import accounts
from qts.services.trading.account_actions import record_paper_action, settle_shared_account
from qts.services.trading.order_service import OrderService
from qts.services.trading.paper_accounts import paper_config
from qts.services.trading.schemas import NewStrategy
from qts.services.trading.sessions import FeedSpec, TradingService
from qts.services.trading.strategies import create_strategy as store_strategy
from qts.strategies.registry import create_strategy
from tests.brokers.fakes import FakeKis

DATA = Path(__file__).resolve().parents[1] / "data" / "corporate_actions"
SYMBOL = "005930"
SPLIT = CorporateAction(SYMBOL, date(2018, 5, 4), "split", ratio=50.0, exchange="XKRX")
HOLD = "tests.execution.action_strategies:HoldLong"


def _raw() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "005930_raw.csv", dtype={"timestamp": str})
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True), name="ts")
    return frame.astype("float64")


def _ctx(tmp_path: Path, bars: bool = True) -> AppContext:
    from qts.db.migrate import upgrade

    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}", paper_cash=100_000_000
    )
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    if bars:
        import_file(ctx.db, DATA / "005930_raw.csv", SYMBOL, "1d")
    import_csv(ctx.db, DATA / "events.csv")  # the 50:1 split, as `qts data actions import`
    return ctx


def _replay(ctx: AppContext, name: str, spec: str, params: dict) -> tuple[int, TradingService]:  # type: ignore[type-arg]
    sid = store_strategy(
        ctx.db,
        NewStrategy(
            name=name, strategy_class=spec, parameters=params, symbols=[SYMBOL], timeframe="1d"
        ),
        actor="test",
    ).id
    trading = TradingService(ctx)
    trading.start(sid, "test", FeedSpec("replay"))
    session = trading.sessions[sid]
    session.thread.join(120)
    assert session.error == "" and session.bars == 282
    return sid, trading


def _fills(ctx: AppContext, account: str) -> pd.DataFrame:
    with ctx.db.session() as s:
        rows = s.execute(
            select(Fill.ts, Fill.side, Fill.quantity, Fill.price, Fill.fee)
            .join(Order, Order.id == Fill.order_id)
            .where(Order.account == account)
            .order_by(Fill.id)
        ).all()
    return pd.DataFrame(
        {
            "ts": [pd.Timestamp(r.ts).tz_convert("UTC") for r in rows],
            "quantity": [(1 if r.side == "buy" else -1) * r.quantity for r in rows],
            "price": [r.price for r in rows],
            "fee": [r.fee for r in rows],
        }
    )


def _backtest(ctx: AppContext, spec: str, params: dict):  # type: ignore[no-untyped-def,type-arg]
    strategy = create_strategy(spec, params)
    config = paper_config(ctx.settings, [SYMBOL], dict(strategy.p), ctx.db)
    return run_backtest(strategy, {SYMBOL: _raw()}, config, actions={SYMBOL: [SPLIT]})


def test_a_replay_across_the_split_fills_as_the_backtest_at_raw_prices(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    params = {"fast": 5, "slow": 20}
    _sid, _trading = _replay(ctx, "cross", "sma_cross", params)
    got, expected = _fills(ctx, "paper:cross"), _backtest(ctx, "sma_cross", params)
    assert len(expected.fills) >= 8 and len(got) == len(expected.fills)
    assert got["ts"].tolist() == expected.fills["ts"].tolist()
    np.testing.assert_allclose(got["quantity"], expected.fills["quantity"], rtol=1e-12)
    np.testing.assert_allclose(got["price"], expected.fills["price"], rtol=1e-12)
    np.testing.assert_allclose(got["fee"], expected.fills["fee"], rtol=1e-12)
    # The raw opens (this spec has no slippage): 2.5M-won shares before the split, ~50k after.
    assert (got["price"].to_numpy() == _raw()["open"].reindex(got["ts"]).to_numpy()).all()
    assert got["price"].iloc[0] > 2_000_000 and got["price"].iloc[-1] < 60_000
    now = accounts.summary(ctx, "paper:cross").now
    assert now.equity == pytest.approx(expected.metrics["final_equity"], rel=1e-9)
    ctx.close()


def test_a_paper_account_holding_through_the_split_gets_50_times_the_shares(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path)
    sid, trading = _replay(ctx, "hold", HOLD, {})
    expected = _backtest(ctx, HOLD, {})
    held = expected.positions[SYMBOL]
    before = held[pd.Timestamp("2018-04-27", tz="UTC")]
    with ctx.db.session() as s:
        pos = s.scalar(select(Position).where(Position.account == "paper:hold"))
        applied = s.scalars(select(AccountAction)).all()
        assert pos is not None
        quantity, average = pos.quantity, pos.average_price
    assert before > 0 and quantity == before * 50 == held.iloc[-1]
    first_price = float(_fills(ctx, "paper:hold")["price"].iloc[0])
    assert average == pytest.approx(first_price / 50)  # cost basis unchanged
    assert [(a.kind, a.ex_date, a.quantity, a.cash) for a in applied] == [
        ("split", date(2018, 5, 4), before, 0.0)
    ]
    # No fake loss: the account ends where the backtest does (and near its buy-and-hold gain).
    now = accounts.summary(ctx, "paper:hold").now
    assert now.equity == pytest.approx(expected.metrics["final_equity"], rel=1e-9)
    last = float(_raw()["close"].iloc[-1])
    assert now.unrealized_pnl == pytest.approx(quantity * (last - average))
    # The P&L is the held shares' move at the raw quotes (Samsung fell ~29% over the window);
    # left at `before` shares the account would show a fake 98% crash of ~ -88M.
    assert now.pnl == pytest.approx(now.unrealized_pnl - now.fees)
    assert now.pnl > -0.3e8 and before * last - before * first_price < -0.85e8
    # A second server (or a restart) never applies it twice.
    assert not record_paper_action(ctx.db, "paper:hold", SPLIT, before)
    trading.start(sid, "test", FeedSpec("replay"))  # resumes after its last bar: nothing new
    trading.sessions[sid].thread.join(60)
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AccountAction)) == 1
        assert s.scalar(select(Position.quantity).where(Position.account == "paper:hold")) == (
            quantity
        )
        row = s.get(StrategyRow, sid)
        assert row is not None and row.runtime_state["cash"] == pytest.approx(now.cash)
    ctx.close()


def _bar(day: str, price: float) -> Bar:
    ts = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return Bar("DIV", "1d", ts, price, price, price, price, 1000.0)


@pytest.mark.parametrize("held", [120.0, -40.0])
def test_a_dividend_pays_quantity_times_amount_once_and_a_short_pays_it(
    db, bus, held: float
) -> None:  # type: ignore[no-untyped-def]
    from qts.core.types import Position as Held

    dividend = CorporateAction("DIV", date(2024, 3, 4), "dividend", amount=2.5)
    config = paper_config(Settings(paper_cash=10_000.0, paper_market="us"), ["DIV"])
    executor = PaperExecutor(config.fill_model, 10_000.0, "paper:div")
    executor.portfolio.positions["DIV"] = Held("DIV", held, 100.0)
    service = OrderService(db, bus, {"paper:div": executor})
    with db.session() as s:
        s.add(Position(account="paper:div", symbol="DIV", quantity=held, average_price=100.0))
    runner = StrategyRunner(
        # still warming up over these bars: it trades nothing, the account only holds
        create_strategy("sma_cross", {"fast": 5, "slow": 20}), ["DIV"], service, config,
        executor, account="paper:div",
        actions={"DIV": [dividend]},
        settle_action=lambda action, q: record_paper_action(db, "paper:div", action, q),
    )  # fmt: skip
    runner.on_bars({"DIV": _bar("2024-03-01", 100.0)})
    cash = executor.portfolio.cash
    runner.on_bars({"DIV": _bar("2024-03-04", 97.5)})  # the ex-date's bar: paid at its open
    paid = held * 2.5  # 120 x 2.5 = 300 received; short 40 x 2.5 = 100 paid
    assert executor.portfolio.cash - cash == paid
    runner.on_bars({"DIV": _bar("2024-03-05", 98.0)})
    assert not record_paper_action(db, "paper:div", dividend, held)  # stored once
    with db.session() as s:
        rows = s.scalars(select(AccountAction)).all()
        assert [(r.kind, r.quantity, r.cash) for r in rows] == [("dividend", held, paid)]
        pos = s.scalar(select(Position).where(Position.account == "paper:div"))
        assert pos is not None and pos.realized_pnl == paid
    from qts.services.trading.currencies import paper_cash

    assert paper_cash(db, "paper:div", "USD", 10_000.0) == {"USD": 10_000.0 + paid}


def test_the_shared_paper_account_gets_the_split_once_its_bars_pass_the_ex_date(
    tmp_path: Path,
) -> None:
    from qts.db.migrate import upgrade

    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}", paper_cash=100_000_000
    )
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    raw = _raw()
    early = tmp_path / "early.csv"
    raw[raw.index < "2018-05-01"].rename_axis("timestamp").to_csv(early)
    import_file(ctx.db, early, SYMBOL, "1d")
    store(ctx.db, "XKRX", [SPLIT])
    trading = TradingService(ctx)
    out = trading.orders.place(
        OrderTicket(
            symbol=SYMBOL, side=Side.BUY, quantity=3, type=OrderType.MARKET, account="paper"
        ),
        actor="test",
    )
    assert out["status"] == "filled"
    assert settle_shared_account(ctx.db) == 0  # no bar on/after the ex-date stored yet
    import_file(ctx.db, DATA / "005930_raw.csv", SYMBOL, "1d")
    accounts.record_account_snapshots(ctx)  # the snapshot job settles the shared account
    assert settle_shared_account(ctx.db) == 0  # once
    with ctx.db.session() as s:
        pos = s.scalar(select(Position).where(Position.account == "paper"))
        assert pos is not None and pos.quantity == 150
    now = accounts.summary(ctx, "paper").now
    assert now.positions_value == 150 * pos.last_price
    ctx.close()


def test_live_reconciliation_adopts_a_split_without_reporting_a_mismatch(tmp_path: Path) -> None:
    from qts.execution.brokers import KisBroker, RetryPolicy
    from qts.execution.live import LiveExecutor
    from qts.services.trading.reconcile import reconcile

    ctx = _ctx(tmp_path, bars=False)
    with ctx.db.session() as s:
        s.add(Position(account="live:kis", symbol=SYMBOL, quantity=10, average_price=2_500_000))
        s.add(Position(account="live:kis", symbol="000660", quantity=7, average_price=90_000))
    # The broker already split 10 shares into 500; 000660 is off by one share (a real gap).
    with FakeKis(cash=1e6, holdings={SYMBOL: 500, "000660": 8}) as fake:
        broker = KisBroker(
            fake.app_key, fake.app_secret, "50012345-01", mock=True, base_url=fake.base_url,
            rate_per_s=500, retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02),
        )  # fmt: skip
        executor = LiveExecutor(broker, "live:kis")
        orders = OrderService(ctx.db, ctx.bus, {"live:kis": executor})
        report = reconcile(orders, executor, "test")
        assert report.splits_adopted == [
            {"symbol": SYMBOL, "qts": 10.0, "broker": 500.0, "ex_dates": ["2018-05-04"]}
        ]
        assert report.positions_repaired == [{"symbol": "000660", "qts": 7.0, "broker": 8.0}]
        with ctx.db.session() as s:
            pos = s.scalar(select(Position).where(Position.symbol == SYMBOL))
            assert pos is not None and (pos.quantity, pos.average_price) == (500, 50_000)
        again = reconcile(orders, executor, "test")  # settled: nothing left to adopt or repair
        assert again.splits_adopted == [] and again.positions_repaired == []
        broker.close()
    ctx.close()
