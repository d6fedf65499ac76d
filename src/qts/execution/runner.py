"""The strategy runner: the backtest's event loop, run one bar at a time on a live or replayed
feed, with every order going through the order gateway (risk checks, persistence, events).

Per bar, as in `qts.backtest.events`: (1) the paper executor matches pending orders against the
bar's open; (2) the bar joins the history; (3) the strategy decides from the history up to this
bar: a target strategy's changed target becomes a market order sized at the next bar's open, an
order strategy's `on_bar` submits and cancels orders through a `RunnerContext`.
The decision step does not grow with the history: target strategies with a `target_stepper`
(the built-ins) take one new row per symbol and bar, others a declared `history_window` or,
failing both, the whole history (`qts.execution.target_decisions`); an order strategy gets the
`lookback` rows it asks for. `rows_handed` counts them. A symbol without a bar at a time keeps
its position and is not filled or decided there.
Corporate actions: a paper runner given `actions` fills at the raw bars `on_bars` gets while
the strategy decides from `view` (the adjusted bars); at a symbol's first bar on/after an
ex-date the held position follows the split or is paid the dividend before any fill
(`qts.execution.paper_actions`), and `settle_action` records it once in the account's store.
Client order ids are derived from (strategy, symbol, bar time), so replaying a bar after a crash
re-sends the same ids and the gateway's idempotency keeps orders single.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.costs import SlippageModel
from qts.core.types import Bar, OrderStatus, OrderType, Side
from qts.execution.bar_history import BarHistory
from qts.execution.executor import ExecutionReport, OrderGateway, OrderTicket
from qts.execution.paper import PaperExecutor
from qts.execution.paper_actions import Settle, apply_action, due_actions
from qts.execution.strategy_context import RunnerContext, client_id_part
from qts.execution.target_decisions import TargetDecisions
from qts.market.corporate_actions import PRICE_COLUMNS, CorporateAction
from qts.strategies.base import OrderStrategy, Strategy, TargetStrategy

log = logging.getLogger(__name__)


@dataclass
class RunnerState:
    """What survives a restart (stored with the strategy)."""

    decided: dict[str, float] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # symbol -> client order id
    next_slip: dict[str, float] = field(default_factory=dict)
    last_ts: str | None = None
    bars_seen: int = 0
    rows_handed: int = 0  # bar rows given to the strategy over all bars (O(1) per bar: ~bars)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decided": self.decided,
            "pending": self.pending,
            "next_slip": self.next_slip,
            "last_ts": self.last_ts,
            "bars_seen": self.bars_seen,
            "rows_handed": self.rows_handed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RunnerState:
        data = data or {}
        return cls(
            decided=dict(data.get("decided", {})),
            pending=dict(data.get("pending", {})),
            next_slip=dict(data.get("next_slip", {})),
            last_ts=data.get("last_ts"),
            bars_seen=int(data.get("bars_seen", 0)),
            rows_handed=int(data.get("rows_handed", 0)),
        )


class StrategyRunner:
    def __init__(
        self,
        strategy: Strategy,
        symbols: list[str],
        gateway: OrderGateway,
        config: BacktestConfig | None = None,
        executor: PaperExecutor | None = None,
        account: str = "paper",
        strategy_id: int | None = None,
        tag: str = "run",
        state: RunnerState | None = None,
        history: Mapping[str, pd.DataFrame] | None = None,
        account_equity: Callable[[Mapping[str, float]], float] | None = None,
        account_position: Callable[[str], float] | None = None,
        account_open_orders: Callable[[str | None], list[Any]] | None = None,
        actions: Mapping[str, Sequence[CorporateAction]] | None = None,
        settle_action: Settle | None = None,
        marks: Mapping[str, float] | None = None,
    ) -> None:
        if not isinstance(strategy, TargetStrategy | OrderStrategy):
            raise TypeError("the runner drives target and order strategies")
        self.strategy = strategy
        self.symbols = list(symbols)
        self.gateway = gateway
        self.config = config or BacktestConfig()
        self.executor = executor
        self.account = account
        self.strategy_id = strategy_id
        self.tag = tag
        self.state = state or RunnerState()
        # Live accounts (no paper executor): orders are sized when decided, from the venue's
        # equity and position, since a broker cannot size an order at its fill.
        self.account_equity = account_equity
        self.account_position = account_position
        self.account_open_orders = account_open_orders
        if executor is None and (account_equity is None or account_position is None):
            raise TypeError("a live runner needs account_equity and account_position")
        self.bars = BarHistory(self.symbols, history)
        self._marks: dict[str, float] = {}
        for s in self.symbols:
            close = self.bars.last_close(s)
            if close is not None:
                self._marks[s] = close
        # The raw last closes when `history` is adjusted: positions are valued at raw prices.
        self._marks.update({s: float(c) for s, c in (marks or {}).items() if s in self.bars})
        self.actions = {s: list(a) for s, a in (actions or {}).items() if a and s in self.bars}
        self.settle_action = settle_action
        self.decisions = (
            TargetDecisions(strategy, self.symbols, self.bars)
            if isinstance(strategy, TargetStrategy)
            else None
        )
        self._last_ts = pd.Timestamp(self.state.last_ts) if self.state.last_ts else None
        self._handed_mark = 0
        self._slippage: dict[str, SlippageModel] = {}

    @property
    def rows_handed(self) -> int:
        """Bar rows handed to the strategy so far (stepped rows and history frames)."""
        stepped = self.decisions.stepped if self.decisions is not None else 0
        return stepped + self.bars.handed

    def history(self) -> dict[str, pd.DataFrame]:
        return {s: self.symbol_history(s) for s in self.symbols}

    def symbol_history(self, symbol: str, lookback: int | None = None) -> pd.DataFrame:
        """Bars of `symbol` up to the current one (the last `lookback` of them). With corporate
        actions they are adjusted as of now, as the event backtest shows them: scaled so the
        newest bar is the raw quote orders are priced against."""
        frame = self.bars.frame(symbol, lookback)
        seen, raw = self.bars.last_close(symbol), self._marks.get(symbol)
        if symbol in self.actions and seen and raw and raw != seen:
            frame[list(PRICE_COLUMNS)] = frame[list(PRICE_COLUMNS)] * (raw / seen)
        return frame

    def last_close(self, symbol: str) -> float | None:
        return self._marks.get(symbol)

    def account_equity_now(self) -> float:
        if self.executor is not None:
            return self.executor.portfolio.equity(self._marks)
        assert self.account_equity is not None
        return self.account_equity(self._marks)

    def account_cash(self) -> float:
        if self.executor is not None:
            return self.executor.portfolio.cash
        held = sum(self.position(s) * self._marks.get(s, 0.0) for s in self.symbols)
        return self.account_equity_now() - held

    def position(self, symbol: str) -> float:
        if self.executor is not None:
            return self.executor.portfolio.quantity(symbol)
        assert self.account_position is not None
        return self.account_position(symbol)

    def open_orders(self, symbol: str | None = None) -> list[Any]:
        if self.executor is not None:
            return self.executor.book.open_orders(symbol)
        return self.account_open_orders(symbol) if self.account_open_orders else []

    def on_bars(
        self, bars: Mapping[str, Bar], view: Mapping[str, Bar] | None = None
    ) -> list[dict[str, Any]]:
        """Process the bars of one timestamp (fills at them); the strategy sees `view` instead
        where given (adjusted bars). Returns the orders placed."""
        bars = {s: b for s, b in bars.items() if s in self.bars}
        view = view or {}
        if not bars:
            return []
        ts = pd.Timestamp(next(iter(bars.values())).ts)
        if self._last_ts is not None and ts <= self._last_ts:
            return []  # already processed (a replay after restart)
        close_mode = self.config.fill_at == "close"
        prev_marks = dict(self._marks)
        if isinstance(self.strategy, OrderStrategy) and self.state.bars_seen == 0:
            self.strategy.on_start(RunnerContext(self, ts))
        if self.executor is not None:
            if self.actions:
                self._apply_actions(bars, ts)
            slip = {s: self.state.next_slip.get(s, 0.0) for s in bars}
            self._apply_all(
                self.executor.on_bar(bars, "open", slip, prev_marks, include_market=not close_mode)
            )
        for s, bar in bars.items():
            seen = view.get(s, bar)
            self.bars.append(s, ts, (seen.open, seen.high, seen.low, seen.close, seen.volume))
            self._marks[s] = bar.close
        if isinstance(self.strategy, OrderStrategy):
            ctx = RunnerContext(self, ts)
            self.strategy.on_bar(ctx)
            placed = ctx.placed
        else:
            placed = self._decide(ts, bars, {**bars, **view} if view else bars)
        self._update_slip(bars)
        if close_mode and self.executor is not None:
            slip = {s: self.state.next_slip.get(s, 0.0) for s in bars}
            self._apply_all(self.executor.on_bar(bars, "close", slip, prev_marks))
        self._last_ts = ts
        self.state.last_ts = ts.isoformat()
        self.state.bars_seen += 1
        handed = self.rows_handed
        self.state.rows_handed += handed - self._handed_mark
        self._handed_mark = handed
        return placed

    def _apply_actions(self, bars: Mapping[str, Bar], ts: pd.Timestamp) -> None:
        """Splits and dividends between each symbol's previous bar and this one, at the open."""
        assert self.executor is not None
        for s in bars:
            own = self.actions.get(s)
            previous = self.bars.last_ts(s) if own else None
            if own and previous is not None:
                for action in due_actions(own, previous, ts):
                    apply_action(self.executor, action, self.settle_action)

    def _update_slip(self, bars: Mapping[str, Bar]) -> None:
        """The slippage fraction of fills at the next bar, as the backtest's at this bar.
        Without a volatility term it is a constant; with one, the backtest's rolling
        volatility runs over the whole close history (its value depends on where the series
        starts), so it is computed only for a symbol with an order left to fill."""
        for s in bars:
            slippage = self._slippage.get(s)
            if slippage is None:  # built once: the config builds a new model per access
                slippage = self._slippage[s] = self.config.slippage_for(s)
            if slippage.vol_mult == 0:
                self.state.next_slip[s] = slippage.bps / 1e4
            elif self.executor is not None and self.executor.book.open_orders(s):
                self.state.next_slip[s] = float(slippage.fractions(self.bars.closes(s))[-1])

    def _decide(
        self, ts: pd.Timestamp, bars: Mapping[str, Bar], seen: Mapping[str, Bar]
    ) -> list[dict[str, Any]]:
        """Targets from the bars the strategy sees; orders at the raw `bars`."""
        assert self.decisions is not None
        targets = self.decisions.targets(seen)
        placed = []
        for s in self.symbols:
            if s not in bars:
                continue  # no bar, no news: the position is held, nothing is filled here
            target = targets.get(s, 0.0)
            if not math.isfinite(target):
                target = self.state.decided.get(s, 0.0)
            previous = self.state.decided.get(s, 0.0)
            changed = target != previous or self.config.rebalance == "every_bar"
            self.state.decided[s] = target
            if not changed:
                continue
            pending = self.state.pending.pop(s, None)
            if pending is not None:
                self._cancel_quietly(pending)
            place = self._place_target if self.executor is not None else self._place_live
            out = place(s, target, ts, bars[s].close)
            if out is not None:
                placed.append(out)
        return placed

    def _place_target(
        self, symbol: str, target: float, ts: pd.Timestamp, close: float
    ) -> dict[str, Any]:
        equity = self.executor.portfolio.equity(self._marks) if self.executor else 0.0
        held = self.executor.portfolio.quantity(symbol) if self.executor else 0.0
        estimate = abs(target * equity / close - held) if close > 0 else 0.0
        unit = self.config.sizer.unit(symbol)
        side = Side.BUY if target * equity / max(close, 1e-12) >= held else Side.SELL
        ticket = OrderTicket(
            symbol=symbol,
            side=side,
            # The risk check sees the estimated size; the fill is sized at the next bar's price.
            quantity=max(estimate, unit),
            type=OrderType.MARKET,
            client_order_id=f"{self.tag}-{client_id_part(symbol)}-{int(ts.timestamp() * 1000)}",
            strategy_id=self.strategy_id,
            account=self.account,
            reference_price=close,
            meta={"target": target, "sized_at_fill": True, **self.strategy.order_meta(symbol)},
        )
        out = self.gateway.place(ticket, actor=f"strategy:{self.tag}")
        if not OrderStatus(out["status"]).is_terminal:
            self.state.pending[symbol] = out["client_order_id"]
        return out

    def _place_live(
        self, symbol: str, target: float, ts: pd.Timestamp, close: float
    ) -> dict[str, Any] | None:
        assert self.account_equity is not None and self.account_position is not None
        equity = self.account_equity(self._marks)
        held = self.account_position(symbol)
        wanted = self.config.sizer.target_quantity(target, equity, close, symbol)
        delta = wanted - held
        if delta == 0:
            return None
        ticket = OrderTicket(
            symbol=symbol,
            side=Side.BUY if delta > 0 else Side.SELL,
            quantity=abs(delta),
            type=OrderType.MARKET,
            client_order_id=f"{self.tag}-{client_id_part(symbol)}-{int(ts.timestamp() * 1000)}",
            strategy_id=self.strategy_id,
            account=self.account,
            reference_price=close,
            meta={"target": target, **self.strategy.order_meta(symbol)},
        )
        return self.gateway.place(ticket, actor=f"strategy:{self.tag}")

    def _apply_all(self, reports: list[ExecutionReport]) -> None:
        assert self.executor is not None
        actor = f"strategy:{self.tag}"
        for child in self.executor.created:  # exits made by fills: store them before reports
            self.gateway.record_exit(child, self.account, self.strategy_id, actor)
        for report in reports:
            self._apply(report)

    def _apply(self, report: ExecutionReport) -> None:
        out = self.gateway.apply_report(report)
        if report.status is OrderStatus.FILLED and out["status"] == "partially_filled":
            # The paper book filled what cash allowed and closed the order: so does the store.
            self._cancel_quietly(report.client_order_id)
        if OrderStatus(out["status"]).is_terminal:
            for s, cid in list(self.state.pending.items()):
                if cid == report.client_order_id:
                    del self.state.pending[s]

    def _cancel_quietly(self, client_order_id: str) -> None:
        try:
            self.gateway.cancel(client_order_id, actor=f"strategy:{self.tag}")
        except Exception as e:  # already filled or gone: nothing to cancel
            log.debug("cancel of %s skipped: %s", client_order_id, e)
