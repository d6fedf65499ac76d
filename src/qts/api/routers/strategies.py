from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from qts.api.deps import Ctx, CurrentUser, Trader
from qts.api.schemas import DbId, Offset, StrategyCreate, StrategyUpdate
from qts.services.schemas import Page
from qts.services.trading import strategies as svc
from qts.services.trading.schemas import StrategyRecord

router = APIRouter(prefix="/strategies", tags=["strategies"])


@router.get("", response_model=Page[StrategyRecord])
def list_strategies(
    ctx: Ctx,
    _user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
    state: Literal["stopped", "running", "error"] | None = None,
) -> Page[StrategyRecord]:
    return svc.list_strategies(ctx.db, limit, offset, state)


@router.post("", response_model=StrategyRecord, status_code=status.HTTP_201_CREATED)
def create_strategy(ctx: Ctx, user: Trader, body: StrategyCreate) -> StrategyRecord:
    from qts.strategies.registry import check_strategy_allowed

    check_strategy_allowed(body.strategy_class, ctx.settings.strategy_packages)
    return svc.create_strategy(ctx.db, body, user.username)


@router.get("/{strategy_id}", response_model=StrategyRecord)
def get_strategy(ctx: Ctx, _user: CurrentUser, strategy_id: DbId) -> StrategyRecord:
    return svc.get_strategy(ctx.db, strategy_id)


@router.patch("/{strategy_id}", response_model=StrategyRecord)
def update_strategy(
    ctx: Ctx, user: Trader, strategy_id: DbId, body: StrategyUpdate
) -> StrategyRecord:
    from qts.strategies.registry import check_strategy_allowed

    if body.strategy_class is not None:
        check_strategy_allowed(body.strategy_class, ctx.settings.strategy_packages)
    return svc.update_strategy(ctx.db, strategy_id, body, user.username)


@router.delete("/{strategy_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_strategy(ctx: Ctx, user: Trader, strategy_id: DbId) -> None:
    svc.delete_strategy(ctx.db, strategy_id, user.username)
