from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from qts.api.deps import Ctx, CurrentUser, Trader
from qts.api.schemas import Page, StrategyCreate, StrategyOut, StrategyUpdate
from qts.services.trading import strategies as svc

router = APIRouter(prefix="/strategies", tags=["strategies"])


@router.get("", response_model=Page)
def list_strategies(
    ctx: Ctx,
    _user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    state: Literal["stopped", "running", "error"] | None = None,
) -> dict[str, Any]:
    return svc.list_strategies(ctx.db, limit, offset, state)


@router.post("", response_model=StrategyOut, status_code=status.HTTP_201_CREATED)
def create_strategy(ctx: Ctx, user: Trader, body: StrategyCreate) -> dict[str, Any]:
    return svc.create_strategy(ctx.db, body.model_dump(), user.username)


@router.get("/{strategy_id}", response_model=StrategyOut)
def get_strategy(ctx: Ctx, _user: CurrentUser, strategy_id: int) -> dict[str, Any]:
    return svc.get_strategy(ctx.db, strategy_id)


@router.patch("/{strategy_id}", response_model=StrategyOut)
def update_strategy(
    ctx: Ctx, user: Trader, strategy_id: int, body: StrategyUpdate
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return svc.update_strategy(ctx.db, strategy_id, changes, user.username)


@router.delete("/{strategy_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_strategy(ctx: Ctx, user: Trader, strategy_id: int) -> None:
    svc.delete_strategy(ctx.db, strategy_id, user.username)
