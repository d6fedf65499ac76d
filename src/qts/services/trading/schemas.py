"""Strategies, orders and positions: what is asked of the trading services and what they answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from qts.db.models import Fill, Order, OrderEvent, Position, Strategy
from qts.services.schemas import Record, Request

TIMEFRAME_PATTERN = r"^[0-9]+(s|m|h|d|w|M)$"
Mode = Literal["paper", "live"]


class NewStrategy(Request):
    name: str = Field(min_length=1, max_length=128)
    # A registered name, `module:Class` or (from the CLI only) `path/to/file.py:Class`.
    strategy_class: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=dict)
    symbols: list[str] = Field(default_factory=list, max_length=500)
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    mode: Mode = "paper"


class StrategyChanges(Request):
    """Only the fields given are changed (`model_fields_set`)."""

    strategy_class: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    parameters: dict[str, Any] | None = None
    symbols: list[str] | None = Field(default=None, max_length=500)
    timeframe: str | None = Field(default=None, pattern=TIMEFRAME_PATTERN)
    mode: Mode | None = None


class StrategyRecord(Record):
    id: int
    name: str
    strategy_class: str
    description: str
    parameters: dict[str, Any]
    symbols: list[str]
    timeframe: str
    mode: str
    state: str
    runtime_state: dict[str, Any]
    created_by: str
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, st: Strategy) -> StrategyRecord:
        return cls(
            id=st.id, name=st.name, strategy_class=st.strategy_class, description=st.description,
            parameters=st.parameters, symbols=st.symbols, timeframe=st.timeframe, mode=st.mode,
            state=st.state, runtime_state=st.runtime_state, created_by=st.created_by,
            created_at=st.created_at.isoformat(), updated_at=st.updated_at.isoformat(),
        )  # fmt: skip


class OrderRecord(Record):
    id: int
    client_order_id: str
    broker_order_id: str | None
    strategy_id: int | None
    account: str
    exchange: str
    symbol: str
    side: str
    type: str
    quantity: float
    limit_price: float | None
    stop_price: float | None
    time_in_force: str
    status: str
    filled_quantity: float
    average_fill_price: float | None
    reject_reason: str
    reject_rule: str
    meta: dict[str, Any]
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, o: Order) -> OrderRecord:
        return cls(
            id=o.id, client_order_id=o.client_order_id, broker_order_id=o.broker_order_id,
            strategy_id=o.strategy_id, account=o.account, exchange=o.exchange, symbol=o.symbol,
            side=o.side, type=o.type, quantity=o.quantity, limit_price=o.limit_price,
            stop_price=o.stop_price, time_in_force=o.time_in_force, status=o.status,
            filled_quantity=o.filled_quantity, average_fill_price=o.average_fill_price,
            reject_reason=o.reject_reason, reject_rule=o.reject_rule, meta=o.meta,
            created_at=o.created_at.isoformat(), updated_at=o.updated_at.isoformat(),
        )  # fmt: skip


class OrderEventRecord(Record):
    ts: str
    from_status: str
    to_status: str
    details: dict[str, Any]

    @classmethod
    def from_row(cls, e: OrderEvent) -> OrderEventRecord:
        return cls(
            ts=e.ts.isoformat(), from_status=e.from_status, to_status=e.to_status,
            details=e.details,
        )  # fmt: skip


class FillRecord(Record):
    fill_id: str
    symbol: str
    side: str
    quantity: float
    price: float
    fee: float
    ts: str

    @classmethod
    def from_row(cls, f: Fill) -> FillRecord:
        return cls(
            fill_id=f.fill_id, symbol=f.symbol, side=f.side, quantity=f.quantity, price=f.price,
            fee=f.fee, ts=f.ts.isoformat(),
        )  # fmt: skip


class OrderDetail(OrderRecord):
    """One order with its state transitions and fills."""

    events: list[OrderEventRecord]
    fills: list[FillRecord]


class PositionRecord(Record):
    account: str
    symbol: str
    quantity: float
    average_price: float
    last_price: float | None
    unrealized_pnl: float | None
    realized_pnl: float
    fees: float
    updated_at: str
    currency: str = ""  # the symbol's trading currency (prices and P&L above are in it)

    @classmethod
    def from_row(cls, p: Position) -> PositionRecord:
        from qts.execution.currency import guess_currency

        unrealized = (
            (p.last_price - p.average_price) * p.quantity if p.last_price is not None else None
        )
        return cls(
            account=p.account, symbol=p.symbol, quantity=p.quantity,
            average_price=p.average_price, last_price=p.last_price, unrealized_pnl=unrealized,
            realized_pnl=p.realized_pnl, fees=p.fees, updated_at=p.updated_at.isoformat(),
            currency=p.currency or guess_currency(p.symbol),
        )  # fmt: skip
