"""Sessions stepped by bars as they arrive: a `bars:<symbol>` event from the bar stream
(`"source": "stream"`, published after the bar is stored) steps every running live-feed
strategy holding that symbol at that timeframe, through `TradingService.step_stored_bars` (the
same step the 60-second `strategies` job takes, so both paths give the same decisions).

A strategy on several symbols is stepped once each of them has a bar stored at the event's
time, so its bar group is whole. One lock per strategy (`strategy-step:<id>`, in process or in
Redis) keeps the stream and the job from stepping it at the same time; a step is idempotent
anyway (the runner resumes after its last bar), so a bar is decided on once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from qts.services.context import AppContext

log = logging.getLogger(__name__)
STEP_LOCK_TTL_S = 120.0


def step_live_strategy(
    ctx: AppContext, trading: Any, strategy_id: int, wait_s: float = 30.0
) -> int:
    """Step one strategy on its newly stored bars under its step lock; waits for a step in
    progress elsewhere (then finds less or nothing to do). Returns the bar times processed."""
    from qts.services.ops.jobs import job_locks

    locks = job_locks(ctx)
    name = f"strategy-step:{strategy_id}"
    deadline = time.monotonic() + wait_s
    token = locks.acquire(name, STEP_LOCK_TTL_S)
    while token is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"strategy {strategy_id} is being stepped elsewhere")
        time.sleep(0.01)
        token = locks.acquire(name, STEP_LOCK_TTL_S)
    try:
        return int(trading.step_stored_bars(strategy_id))
    finally:
        locks.release(name, token)


def live_strategies_on(
    ctx: AppContext, symbol: str, timeframe: str, with_broker: bool = False
) -> list[tuple[int, list[str]]]:
    """(id, symbols) of the running live-feed strategies on `symbol` at `timeframe`; those
    trading through a broker only `with_broker` (else `qts live`, which holds the broker
    connection, steps them)."""
    from qts.db.repositories.strategies import StrategyRepository

    with ctx.db.session() as s:
        return [
            (st.id, list(st.symbols))
            for st in StrategyRepository(s).list(limit=10_000, state="running")
            if (st.runtime_state or {}).get("feed", {}).get("kind") == "live"
            and st.timeframe == timeframe
            and symbol in (st.symbols or [])
            and (with_broker or st.mode != "live")
        ]


def group_complete(ctx: AppContext, symbols: list[str], timeframe: str, ts_ms: int) -> bool:
    from qts.db.repositories.market import MarketRepository

    with ctx.db.session() as s:
        repo = MarketRepository(s)
        for symbol in symbols:
            exchanges = repo.exchanges_of(symbol, timeframe)
            last = repo.last_bar_ms(exchanges[0], symbol, timeframe) if exchanges else None
            if last is None or last < ts_ms:
                return False
    return True


class SessionStepper:
    def __init__(self, ctx: AppContext, trading: Any = None) -> None:
        if trading is None:
            from qts.services.trading.sessions import TradingService

            trading = TradingService(ctx)
        self.ctx, self.trading = ctx, trading
        self.steps: list[tuple[int, str, int]] = []  # (strategy, bar ts, bar times processed)
        self.errors: list[str] = []
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="qts-stream-step")
        self._sub: Any = None
        self._task: asyncio.Task[Any] | None = None

    async def run(self, ready: asyncio.Event | None = None) -> None:
        self._task = asyncio.current_task()
        self._sub = await self.ctx.bus.subscribe(["bars:*"])
        if ready is not None:
            ready.set()
        loop = asyncio.get_running_loop()
        try:
            async for event in self._sub:
                if event.data.get("source") != "stream":
                    continue  # replays and job steps publish bars too: only stored stream bars
                await loop.run_in_executor(self._pool, self.step_for, event.data)
        finally:
            await self._sub.close()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def step_for(self, bar: dict[str, Any]) -> None:
        ts_ms = int(pd.Timestamp(bar["ts"]).value // 1_000_000)
        with_broker = self.trading.live_executor is not None
        strategies = live_strategies_on(self.ctx, bar["symbol"], bar["timeframe"], with_broker)
        for sid, symbols in strategies:
            if len(symbols) > 1 and not group_complete(self.ctx, symbols, bar["timeframe"], ts_ms):
                continue  # the last of the group's bars steps it
            try:
                done = step_live_strategy(self.ctx, self.trading, sid)
                self.steps.append((sid, bar["ts"], done))
            except Exception as exc:  # one strategy's failure must not stop the others
                self.errors.append(f"{sid}: {type(exc).__name__}: {exc}")
                log.exception("stepping strategy %s on %s failed", sid, bar["symbol"])
