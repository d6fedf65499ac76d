"""Trading in this process: the order service, the paper account, and strategy sessions.

A session runs one stored strategy on a feed (a replay of stored bars, or a live stream) in its
own thread: every bar is published on `bars:<symbol>`, fed to the strategy runner, and the
runner's state is saved with the strategy in the bar's one transaction (with its fills, orders,
positions and the paper account's cash), so a restarted process resumes exactly where it
stopped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import nullcontext
from functools import partial
from typing import Any

import pandas as pd

from qts.core.errors import ConflictError, NotFoundError, ValidationError
from qts.core.types import Bar
from qts.db.models import Strategy as StrategyRow
from qts.db.repositories.audit import AuditRepository
from qts.execution.risk import RiskLimits, RiskManager
from qts.execution.runner import RunnerState, StrategyRunner
from qts.services.context import AppContext
from qts.services.data.market_data import symbol_in_session
from qts.services.trading.account_actions import record_paper_action
from qts.services.trading.accounts import currency_resolver
from qts.services.trading.order_notifications import notify_and_count
from qts.services.trading.order_service import OrderService
from qts.services.trading.paper_accounts import open_paper_account, paper_config
from qts.services.trading.paper_desk import LatestBarPaperExecutor
from qts.services.trading.session_bars import SessionBars, read_session_bars, view_bars
from qts.services.trading.session_steps import save_runner, still_running
from qts.services.trading.session_types import FeedSpec, Session
from qts.strategies.base import Strategy

log = logging.getLogger(__name__)


SESSION_LOCK_TTL_S = 120.0
# A session saves its runner state when no bar needed to at most this often (seconds).
CHECKPOINT_S = 1.0


class TradingService:
    def __init__(self, ctx: AppContext, notify: Any = notify_and_count) -> None:
        self.ctx = ctx
        settings = ctx.settings
        shared = paper_config(settings, symbols=[])
        # Manual orders on `paper` fill at once at the latest stored bar (`paper_desk`).
        self.paper = LatestBarPaperExecutor(ctx.db, shared)
        limits = RiskLimits.from_dict(settings.risk_limits)
        self.orders = OrderService(
            ctx.db,
            ctx.bus,
            {"paper": self.paper},
            RiskManager(limits, symbol_in_session, currency_resolver(ctx)),
            notify=notify,
        )
        self.sessions: dict[int, Session] = {}
        self.live_executor: Any = None  # set by the live loop (qts live)
        self._lock = threading.Lock()

    # Sessions ----------------------------------------------------------------------------------
    def start(self, strategy_id: int, actor: str, feed: FeedSpec | None = None) -> dict[str, Any]:
        feed = feed or FeedSpec()
        with self._lock:
            if strategy_id in self.sessions and self.sessions[strategy_id].thread.is_alive():
                raise ConflictError(f"strategy {strategy_id} is already running")
            with self.ctx.db.session() as s:
                row = s.get(StrategyRow, strategy_id)
                if row is None:
                    raise NotFoundError(f"strategy {strategy_id} not found")
                if row.mode == "live" and not self.ctx.settings.live_trading_enabled:
                    raise ValidationError("live trading is not enabled in configuration")
                if not row.symbols:
                    raise ValidationError("the strategy has no symbols")
                runtime = dict(row.runtime_state or {})
                runtime["feed"] = feed.__dict__
                row.runtime_state = runtime
                row.state = "running"
                AuditRepository(s).record(actor, "strategy.start", row.name, feed.__dict__)
                spec = (
                    row.strategy_class,
                    dict(row.parameters),
                    list(row.symbols),
                    row.timeframe,
                    row.name,
                )
            if feed.kind == "live":
                # Bars arrive through the market data jobs; the `strategies` job runs them.
                self.ctx.bus.publish(
                    "system", {"type": "strategy", "id": strategy_id, "state": "running"}
                )
                return {"id": strategy_id, "state": "running", "feed": feed.__dict__}
            session = Session(strategy_id, threading.Thread(target=lambda: None))
            session.lock = self._locks().acquire(f"session:{strategy_id}", SESSION_LOCK_TTL_S)
            if session.lock is None:
                raise ConflictError(f"strategy {strategy_id} is running in another process")
            session.lock_renewed = time.monotonic()
            session.thread = threading.Thread(
                target=self._run_thread,
                args=(session, spec, feed),
                daemon=True,
                name=f"strategy-{strategy_id}",
            )
            self.sessions[strategy_id] = session
            session.thread.start()
        self.ctx.bus.publish("system", {"type": "strategy", "id": strategy_id, "state": "running"})
        return {"id": strategy_id, "state": "running", "feed": feed.__dict__}

    def stop(self, strategy_id: int, actor: str, wait: float = 10.0) -> dict[str, Any]:
        session = self.sessions.get(strategy_id)
        if session is not None:
            session.stop.set()
            session.thread.join(wait)
        with self.ctx.db.session() as s:
            row = s.get(StrategyRow, strategy_id)
            if row is None:
                raise NotFoundError(f"strategy {strategy_id} not found")
            row.state = "stopped"
            AuditRepository(s).record(actor, "strategy.stop", row.name)
        self.ctx.bus.publish("system", {"type": "strategy", "id": strategy_id, "state": "stopped"})
        return {"id": strategy_id, "state": "stopped"}

    def resume_running(self) -> list[int]:
        """After a restart: start again every strategy stored as running, from its saved state."""
        with self.ctx.db.session() as s:
            rows = [
                (r.id, dict(r.runtime_state or {}))
                for r in s.query(StrategyRow).filter_by(state="running")
            ]
        resumed = []
        for sid, runtime in rows:
            feed = FeedSpec(**runtime.get("feed", {}))
            if feed.kind == "live":
                continue  # the `strategies` job carries live strategies on
            try:
                self.start(sid, "system:resume", feed)
                resumed.append(sid)
            except Exception as e:
                log.error("could not resume strategy %s: %s", sid, e)
        return resumed

    def shutdown(self) -> None:
        for session in list(self.sessions.values()):
            session.stop.set()
        for session in list(self.sessions.values()):
            session.thread.join(10)

    # Internals ---------------------------------------------------------------------------------
    def _locks(self) -> Any:
        from qts.services.ops.jobs import job_locks

        return job_locks(self.ctx)

    def _run_thread(self, session: Session, spec: tuple[Any, ...], feed: FeedSpec) -> None:
        try:
            asyncio.run(self._run(session, spec, feed))
            state = "stopped"
        except Exception as e:
            log.exception("strategy %s failed", session.strategy_id)
            session.error = f"{type(e).__name__}: {e}"
            state = "error"
        finally:
            if session.lock is not None:
                self._locks().release(f"session:{session.strategy_id}", session.lock)
        if not session.stop.is_set() or state == "error":
            with self.ctx.db.session() as s:
                row = s.get(StrategyRow, session.strategy_id)
                if row is not None:
                    row.state = state
                    row.runtime_state = {**(row.runtime_state or {}), "error": session.error}
            self.ctx.bus.publish(
                "system", {"type": "strategy", "id": session.strategy_id, "state": state}
            )

    def _build_runner(
        self, strategy_id: int, spec: tuple[Any, ...], bars: SessionBars
    ) -> tuple[StrategyRunner, SessionBars]:
        """The runner with its saved state, and `bars` split at what it has processed (history)
        and what it has not (frames); the warm-up history and those bars warm it up."""
        from qts.strategies.registry import create_strategy

        strategy_class, params, symbols, _timeframe, name = spec
        with self.ctx.db.session() as s:
            row = s.get(StrategyRow, strategy_id)
            assert row is not None
            state = RunnerState.from_dict((row.runtime_state or {}).get("runner"))
            mode = row.mode
        if state.last_ts is not None:  # resume: bars up to last_ts are history, not news
            bars = bars.resume_after(pd.Timestamp(state.last_ts))
        history = bars.strategy_history()
        strategy = create_strategy(strategy_class, params)
        if strategy.uses_models:  # online store and inference engine; predictions kept
            from qts.services.ml.model_strategies import bind_for_session

            bind_for_session(self.ctx, strategy)
        if mode == "live":
            return self._live_runner(strategy, strategy_id, symbols, state, history), bars
        account = f"paper:{name}"
        executor = open_paper_account(self.ctx, self.orders, account, strategy_id)
        runner = StrategyRunner(
            strategy,
            symbols,
            self.orders,
            paper_config(self.ctx.settings, symbols, dict(strategy.p), self.ctx.db),
            executor,
            account=account,
            strategy_id=strategy_id,
            tag=f"s{strategy_id}",
            state=state,
            history=history,
            actions=bars.actions,
            settle_action=partial(record_paper_action, self.ctx.db, account),
            marks=bars.raw_marks(),
        )
        return runner, bars

    def _live_runner(
        self,
        strategy: Strategy,
        strategy_id: int,
        symbols: list[str],
        state: RunnerState,
        history: dict[str, pd.DataFrame],
    ) -> StrategyRunner:
        from qts.execution.live import live_equity
        from qts.services.trading.currencies import base_converter

        live = self.live_executor
        if live is None:
            raise ValidationError("live strategies run under `qts live`, which connects the broker")
        self.orders.executors[live.account] = live
        # Before the next decision: orders claimed by a sender that stopped are settled with
        # the broker (the broker is the truth for a live account).
        from qts.services.trading.reconcile import SETTLE_AFTER_S, ReconcileReport, settle_claims

        settle_claims(self.orders, live, ReconcileReport(live.account), SETTLE_AFTER_S)

        def positions() -> dict[str, float]:
            return dict(self.orders.account_state(live.account).positions)

        # a KIS account's USD cash and US positions count in its KRW equity through FX
        to_base = base_converter(self.ctx.db, self.orders.risk.account_currency_of(live.account))

        return StrategyRunner(
            strategy,
            symbols,
            self.orders,
            paper_config(self.ctx.settings, symbols, dict(strategy.p), self.ctx.db),
            None,
            account=live.account,
            strategy_id=strategy_id,
            tag=f"s{strategy_id}",
            state=state,
            history=history,
            account_equity=lambda marks: live_equity(live, positions(), dict(marks), to_base),
            account_position=lambda symbol: positions().get(symbol, 0.0),
            account_open_orders=lambda symbol: self._open_orders(live.account, strategy_id, symbol),
        )

    def _open_orders(self, account: str, strategy_id: int, symbol: str | None) -> list[Any]:
        """A live strategy's open orders as stored (the broker's answers are applied to them)."""
        from qts.services.trading.orders import open_order_ids

        ids = open_order_ids(self.ctx.db, account, strategy_id, symbol)
        return [self.orders.domain_order(i) for i in ids]

    async def _run(self, session: Session, spec: tuple[Any, ...], feed: FeedSpec) -> None:
        from qts.market.feeds import bar_to_event
        from qts.market.replay import ReplayFeed
        from qts.strategies.registry import create_strategy

        symbols, timeframe = spec[2], spec[3]
        # The strategy's warm-up: that many stored bars before the replay's start are history.
        warmup = create_strategy(spec[0], spec[1]).warmup_bars
        stored = read_session_bars(self.ctx.db, symbols, timeframe, feed.start, feed.end, warmup)
        runner, bars = self._build_runner(session.strategy_id, spec, stored)
        views = bars.views()  # the adjusted bars the strategy sees (symbols with actions)
        replay = ReplayFeed(bars.frames, timeframe, speed=feed.speed)
        group: dict[str, Bar] = {}
        async for bar in replay:
            if session.stop.is_set():
                await replay.aclose()
                break
            if group and next(iter(group.values())).ts != bar.ts:
                self._step(runner, group, session, view_bars(views, group))
                group = {}
            group[bar.symbol] = bar
            self.ctx.bus.publish(f"bars:{bar.symbol}", bar_to_event(bar))
        if group and not session.stop.is_set():
            self._step(runner, group, session, view_bars(views, group))
        save_runner(self.ctx.db, session.strategy_id, runner)

    def step_stored_bars(self, strategy_id: int) -> int:
        """Run a strategy on the bars stored since it last ran (the live feed: bars collected
        by the market data jobs). Returns the number of bar times processed."""
        from qts.market.feeds import bar_to_event, make_bar

        with self.ctx.db.session() as s:
            row = s.get(StrategyRow, strategy_id)
            if row is None:
                raise NotFoundError(f"strategy {strategy_id} not found")
            spec = (
                row.strategy_class,
                dict(row.parameters),
                list(row.symbols),
                row.timeframe,
                row.name,
            )
        try:
            stored = read_session_bars(self.ctx.db, spec[2], spec[3], None, None, 0)
        except NotFoundError:  # a bar event seen before the symbol's first bar is committed
            return 0
        runner, bars = self._build_runner(strategy_id, spec, stored)
        new, views = bars.frames, bars.views()
        session = Session(strategy_id, threading.current_thread())
        times = sorted({ts for f in new.values() for ts in f.index})
        for ts in times:
            group = {}
            for sym, f in new.items():
                if ts in f.index:
                    r = f.loc[ts]
                    group[sym] = make_bar(
                        sym, spec[3], ts.to_pydatetime(), (r.open, r.high, r.low, r.close, r.volume)
                    )
                    self.ctx.bus.publish(f"bars:{sym}", bar_to_event(group[sym]))
            self._step(runner, group, session, view_bars(views, group))
            if session.stop.is_set():
                break
        save_runner(self.ctx.db, strategy_id, runner)
        return session.bars

    def _step(
        self,
        runner: StrategyRunner,
        bars: dict[str, Bar],
        session: Session,
        view: dict[str, Bar] | None = None,
    ) -> None:
        # A paper bar step is one transaction: its fills, orders, positions, cash and runner
        # state commit together or not at all, so a crash anywhere in it resumes at this bar
        # as if it never started (and an order decided at this bar cannot fill on it). The
        # transaction begins at the step's first database use: a bar that fills, orders and
        # cancels nothing writes nothing (its runner state is recomputed from the stored bars
        # on a resume), and the state is saved with the next bar that does, or at the next
        # checkpoint. A live step commits each claim before its send (the broker is the
        # truth) and saves its state every bar.
        if not still_running(self.ctx.db, runner, session):  # reads: no write lock taken
            session.stop.set()  # stopped from another process (CLI, another API server)
            return
        paper = runner.executor is not None
        atomic = self.ctx.db.deferred_transaction() if paper else nullcontext(None)
        with atomic as step:
            runner.on_bars(bars, view)
            now = time.monotonic()
            if step is None or step.opened or now - session.saved > CHECKPOINT_S:
                save_runner(self.ctx.db, session.strategy_id, runner)
                session.saved = now
        session.bars += 1
        if (
            session.lock is not None
            and time.monotonic() - session.lock_renewed > SESSION_LOCK_TTL_S / 4
        ):
            if hasattr(session.lock, "reacquire"):  # a Redis lock: push its expiry out again
                session.lock.reacquire()
            session.lock_renewed = time.monotonic()
