"""A paper session writes a bar step in one transaction, and nothing at all for a bar where
nothing happened (no order, fill or cancel); a resume after such bars still ends exactly as an
uninterrupted run (tests/execution/test_paper_crash.py kills it at random moments)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, select

from qts.config import Settings
from qts.db.models import Fill, Order
from qts.services.context import AppContext
from qts.services.data.market_data import import_file
from qts.services.trading import sessions
from qts.services.trading.schemas import NewStrategy
from qts.services.trading.sessions import FeedSpec, TradingService
from qts.services.trading.strategies import create_strategy

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def test_only_bars_that_change_something_open_a_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qts.db.migrate import upgrade

    monkeypatch.setattr(sessions, "CHECKPOINT_S", 1e9)  # no time-based checkpoint in this run
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}", paper_cash=10_000_000
    )
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    sid = create_strategy(
        ctx.db,
        NewStrategy(
            name="quiet",
            strategy_class="sma_cross",
            parameters={"fast": 10, "slow": 30},
            symbols=["005930"],
            timeframe="1d",
        ),
        actor="test",
    ).id
    begun: list[str] = []

    @event.listens_for(ctx.db.engine, "before_cursor_execute")
    def _count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN IMMEDIATE"):
            begun.append(statement)

    trading = TradingService(ctx)
    trading.start(sid, "test", FeedSpec("replay"))
    session = trading.sessions[sid]
    session.thread.join(120)
    assert session.error == "" and session.bars == 370
    with ctx.db.session() as s:
        decided = {c.rsplit("-", 1)[1] for c in s.scalars(select(Order.client_order_id))}
        filled = {f.ts for f in s.scalars(select(Fill))}
    assert len(decided) >= 4
    # One transaction per bar that decided an order or filled one (and the first bar's
    # checkpoint), none for the other bars.
    assert len(begun) <= len(decided) + len(filled) + 1 < 370 // 4
    ctx.close()
