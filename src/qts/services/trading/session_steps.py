"""What a trading session does around each bar step besides the runner: a look at the stored
state (a stop or cancels from another process) and saving the runner state."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from qts.db.models import Strategy as StrategyRow
from qts.execution.runner import StrategyRunner
from qts.services.trading.paper_accounts import drop_orders_cancelled_elsewhere
from qts.services.trading.session_types import Session

# A session at full speed looks for a stop or cancels from another process at most this often
# (seconds): a replay runs thousands of bars a second.
CHECK_S = 0.5


def still_running(db: Any, runner: StrategyRunner, session: Session) -> bool:
    """Whether the strategy is still to run (it may have been stopped from another process);
    drops from the paper book the orders cancelled elsewhere. Looked up at most every
    CHECK_S seconds."""
    now = time.monotonic()
    if now - session.checked < CHECK_S:
        return True
    session.checked = now
    with db.session() as s:
        row = s.get(StrategyRow, session.strategy_id)
        if row is None or row.state != "running":
            return False
    if runner.executor is not None:
        drop_orders_cancelled_elsewhere(db, runner)
    return True


def save_runner(db: Any, strategy_id: int, runner: StrategyRunner) -> None:
    """Keep the runner state (a restart resumes exactly there) and mark the account's
    positions at the last closes."""
    from qts.db.repositories.orders import PositionRepository

    with db.session() as s:
        positions = PositionRepository(s)
        for symbol in runner.symbols:
            close = runner.last_close(symbol)
            pos = positions.get(runner.account, symbol) if close is not None else None
            if pos is not None:
                pos.last_price = close
        row = s.get(StrategyRow, strategy_id)
        if row is not None:
            row.runtime_state = {
                **(row.runtime_state or {}),
                "runner": runner.state.to_dict(),
                "cash": runner.executor.portfolio.cash if runner.executor else None,
                "updated_at": datetime.now(UTC).isoformat(),
            }
