"""Placing orders, the kill switch, and starting/stopping strategies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request, status
from pydantic import Field

from qts.api.deps import Ctx, CurrentUser, Trader
from qts.api.responses.system import KillSwitchChange, KillSwitchState
from qts.api.responses.trading import StrategyStarted, StrategyStopped
from qts.api.schemas import DbId, StrictModel
from qts.core.types import (
    MAX_PRICE,
    MAX_QUANTITY,
    MIN_PRICE,
    MIN_QUANTITY,
    OrderTicket,
    OrderType,
    Side,
    TimeInForce,
)
from qts.services.trading.schemas import OrderRecord
from qts.services.trading.sessions import FeedSpec, TradingService

router = APIRouter(tags=["trading"])


def trading(request: Request) -> TradingService:
    return request.app.state.trading  # type: ignore[no-any-return]


class OrderBody(StrictModel):
    symbol: str = Field(min_length=1, max_length=64)
    side: Side
    quantity: float = Field(ge=MIN_QUANTITY, le=MAX_QUANTITY, allow_inf_nan=False)
    type: OrderType = OrderType.MARKET
    limit_price: float | None = Field(default=None, ge=MIN_PRICE, le=MAX_PRICE, allow_inf_nan=False)
    stop_price: float | None = Field(default=None, ge=MIN_PRICE, le=MAX_PRICE, allow_inf_nan=False)
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str | None = Field(
        default=None, min_length=8, max_length=64, pattern=r"^[\w.:-]+$"
    )
    account: str = Field(default="paper", max_length=32)
    reference_price: float | None = Field(
        default=None, ge=MIN_PRICE, le=MAX_PRICE, allow_inf_nan=False
    )


class KillSwitchBody(StrictModel):
    on: bool


class FeedBody(StrictModel):
    kind: Literal["replay", "live"] = "replay"
    speed: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    start: str | None = None
    end: str | None = None


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderRecord)
def place_order(request: Request, user: Trader, body: OrderBody) -> dict[str, Any]:
    """Place a manual order through the same path as strategies: risk checks, then the executor.
    A retry with the same `client_order_id` returns the existing order."""
    ticket = OrderTicket(**body.model_dump())
    return trading(request).orders.place(ticket, actor=user.username)


@router.post("/orders/{order_id}/cancel", response_model=OrderRecord)
def cancel_order(request: Request, ctx: Ctx, user: Trader, order_id: DbId) -> dict[str, Any]:
    from qts.services.trading.orders import get_order

    order = get_order(ctx.db, order_id)
    return trading(request).orders.cancel(order.client_order_id, user.username)


@router.get("/system/kill-switch", response_model=KillSwitchState)
def kill_switch_state(request: Request, _user: CurrentUser) -> dict[str, Any]:
    return {"on": trading(request).orders.kill_switch_on()}


@router.post("/system/kill-switch", response_model=KillSwitchChange)
def kill_switch(request: Request, user: Trader, body: KillSwitchBody) -> dict[str, Any]:
    """On: cancel every open order and refuse new ones until switched off."""
    return trading(request).orders.set_kill_switch(body.on, user.username)


@router.post("/strategies/{strategy_id}/start", response_model=StrategyStarted)
def start_strategy(
    request: Request,
    user: Trader,
    strategy_id: DbId,
    feed: Annotated[FeedBody | None, Body()] = None,
) -> dict[str, Any]:
    spec = FeedSpec(**(feed or FeedBody()).model_dump())
    return trading(request).start(strategy_id, user.username, spec)


@router.post("/strategies/{strategy_id}/stop", response_model=StrategyStopped)
def stop_strategy(request: Request, user: Trader, strategy_id: DbId) -> dict[str, Any]:
    return trading(request).stop(strategy_id, user.username)
