"""The `StrategyContext` of paper and live trading: what an `OrderStrategy` sees at each bar of a
`StrategyRunner`, the same view the backtest's event engine gives (`qts.backtest.events`).

Orders go through the runner's order gateway (stored, risk-checked, sent to the paper book or
the broker). Their client order ids derive from (strategy, bar time, submission number), so a
bar replayed after a crash submits the same ids and the gateway keeps each order single.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import pandas as pd

from qts.core.errors import QtsError, ValidationError
from qts.core.types import OrderIntent, OrderStatus, OrderType, Side
from qts.execution.executor import OrderGateway, OrderTicket
from qts.strategies.model_access import latest_features, latest_scores


class RunnerView(Protocol):
    """What the context reads of its `StrategyRunner` (a protocol: the runner imports us)."""

    # Read-only properties, so the runner's narrower attribute types satisfy them.
    @property
    def symbols(self) -> list[str]: ...

    @property
    def executor(self) -> object | None: ...  # the paper book, None with a broker

    @property
    def gateway(self) -> OrderGateway: ...

    @property
    def tag(self) -> str: ...

    @property
    def account(self) -> str: ...

    @property
    def strategy_id(self) -> int | None: ...

    def account_cash(self) -> float: ...

    def account_equity_now(self) -> float: ...

    def symbol_history(self, symbol: str, lookback: int | None = None) -> pd.DataFrame: ...

    def position(self, symbol: str) -> float: ...

    def open_orders(self, symbol: str | None = None) -> list[Any]: ...

    def last_close(self, symbol: str) -> float | None: ...

    @property
    def strategy(self) -> Any: ...


def client_id_part(symbol: str) -> str:
    """Brokers accept [A-Za-z0-9_-] in client ids: "BTC/USDT" becomes "BTCUSDT"."""
    return re.sub(r"[^A-Za-z0-9]", "", symbol)


class RunnerContext:
    """`StrategyContext` over a `StrategyRunner`, valid for the bar at `ts`."""

    def __init__(self, runner: RunnerView, ts: pd.Timestamp) -> None:
        self._runner = runner
        self._ts = ts
        self._submitted = 0
        self.placed: list[dict[str, Any]] = []  # the gateway's answers, in submission order

    @property
    def ts(self) -> pd.Timestamp:
        return self._ts

    @property
    def symbols(self) -> list[str]:
        return list(self._runner.symbols)

    @property
    def cash(self) -> float:
        return self._runner.account_cash()

    @property
    def equity(self) -> float:
        return self._runner.account_equity_now()

    def history(self, symbol: str, lookback: int | None = None) -> pd.DataFrame:
        return self._runner.symbol_history(symbol, lookback)

    def position(self, symbol: str) -> float:
        return self._runner.position(symbol)

    def predict(self, model: str, symbols: list[str] | None = None) -> dict[str, float]:
        names = symbols or self.symbols
        history = {s: self.history(s) for s in names}
        return latest_scores(self._runner.strategy.models, model, history, names)

    def features(self, model: str, symbols: list[str] | None = None) -> dict[str, dict[str, Any]]:
        names = symbols or self.symbols
        history = {s: self.history(s) for s in names}
        return latest_features(self._runner.strategy.models, model, history, names)

    def open_orders(self, symbol: str | None = None) -> list[Any]:
        return self._runner.open_orders(symbol)

    def submit(self, request: OrderIntent) -> str:
        runner = self._runner
        if request.symbol not in runner.symbols:
            raise ValidationError(f"unknown symbol {request.symbol!r}")
        if runner.executor is None and (
            request.stop_loss is not None or request.take_profit is not None
        ):
            raise ValidationError(
                "stop_loss / take_profit exits are filled by the paper book only; "
                "with a broker submit the exit orders yourself"
            )
        meta = dict(request.meta)
        if request.stop_loss is not None:
            meta["stop_loss"] = request.stop_loss
        if request.take_profit is not None:
            meta["take_profit"] = request.take_profit
        if request.tag:
            meta["tag"] = request.tag
        ms = int(self._ts.timestamp() * 1000)
        cid = f"{runner.tag}-{client_id_part(request.symbol)}-{ms}-o{self._submitted}"
        self._submitted += 1
        ticket = OrderTicket(
            symbol=request.symbol,
            side=Side(request.side),
            quantity=request.quantity,
            type=OrderType(request.type),
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            client_order_id=cid,
            strategy_id=runner.strategy_id,
            account=runner.account,
            reference_price=runner.last_close(request.symbol),
            meta=meta,
        )
        out = runner.gateway.place(ticket, actor=f"strategy:{runner.tag}")
        self.placed.append(out)
        return str(out["client_order_id"])

    def cancel(self, order_id: str) -> bool:
        runner = self._runner
        try:
            out = runner.gateway.cancel(order_id, actor=f"strategy:{runner.tag}")
        except QtsError:  # unknown, or already filled / cancelled
            return False
        return bool(OrderStatus(out["status"]) is OrderStatus.CANCELLED)
