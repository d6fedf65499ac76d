from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from qts.api.deps import Ctx, CurrentUser
from qts.api.schemas import ApiTime, DbId, Offset, OptionalDbId
from qts.core.types import OrderStatus
from qts.db.repositories.orders import OrderFilter
from qts.services.schemas import Page
from qts.services.trading import orders as svc
from qts.services.trading.schemas import OrderDetail, OrderRecord, PositionRecord

router = APIRouter(tags=["orders"])


@router.get("/orders", response_model=Page[OrderRecord])
def list_orders(
    ctx: Ctx,
    _user: CurrentUser,
    symbol: str | None = None,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    side: Literal["buy", "sell"] | None = None,
    strategy_id: OptionalDbId = None,
    account: str | None = None,
    since: ApiTime | None = None,
    until: ApiTime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[OrderRecord]:
    f = OrderFilter(
        symbol=symbol,
        status=[s.value for s in status] if status else None,
        side=side,
        strategy_id=strategy_id,
        account=account,
        since=since,
        until=until,
    )
    return svc.list_orders(ctx.db, f, limit, offset)


@router.get("/orders/{order_id}", response_model=OrderDetail)
def get_order(ctx: Ctx, _user: CurrentUser, order_id: DbId) -> OrderDetail:
    return svc.get_order(ctx.db, order_id)


@router.get("/positions", response_model=list[PositionRecord])
def list_positions(
    ctx: Ctx, _user: CurrentUser, account: str | None = None, include_flat: bool = False
) -> list[PositionRecord]:
    return svc.list_positions(ctx.db, account, include_flat)
