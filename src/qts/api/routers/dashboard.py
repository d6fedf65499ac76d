"""Accounts' equity and P&L over time, and optimisation runs started from the API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import Field, field_validator

from qts.api.deps import Ctx, CurrentUser, Trader
from qts.api.schemas import STRATEGY_PATTERN, ApiTime, Offset, no_strategy_file
from qts.services.research import optimizations
from qts.services.research.optimization_types import (
    OptimizationRequest,
    OptimizationRunOut,
    OptimizationRunPage,
)
from qts.services.trading import accounts
from qts.services.trading.accounts import AccountSummary, EquityHistory

router = APIRouter()
AccountName = Annotated[str, Query(min_length=1, max_length=32)]


@router.get("/accounts", response_model=list[AccountSummary], tags=["accounts"])
def list_accounts(ctx: Ctx, _user: CurrentUser) -> list[AccountSummary]:
    """Paper and live accounts with their equity, cash and P&L now."""
    return accounts.list_accounts(ctx)


@router.get("/accounts/equity", response_model=EquityHistory, tags=["accounts"])
def account_equity(
    ctx: Ctx,
    _user: CurrentUser,
    account: AccountName,
    since: ApiTime | None = None,
    until: ApiTime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> EquityHistory:
    """An account's equity and P&L over time (snapshots kept by the `account_snapshots` job
    when its figures change; the latest `limit` in [since, until], oldest first) and now."""
    return accounts.history(ctx, account, since, until, limit)


class OptimizationBody(OptimizationRequest):
    """Through the API a strategy is a registered name or an installed class, never a file."""

    _no_file = field_validator("strategy")(no_strategy_file)

    strategy: str = Field(min_length=1, max_length=255, pattern=STRATEGY_PATTERN)


@router.post(
    "/optimizations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OptimizationRunOut,
    tags=["research"],
)
def create_optimization(ctx: Ctx, user: Trader, body: OptimizationBody) -> OptimizationRunOut:
    """Search a strategy's parameters in the background; follow `GET /optimizations/{id}`
    (`trials_done` / `trials_total`) or the WebSocket topic `optimizations`."""
    from qts.strategies.registry import check_strategy_allowed

    check_strategy_allowed(body.strategy, ctx.settings.strategy_packages)
    return optimizations.submit(ctx.db, ctx.bus, body, user.username)


@router.get("/optimizations", response_model=OptimizationRunPage, tags=["research"])
def list_optimizations(
    ctx: Ctx,
    _user: CurrentUser,
    status: Literal["queued", "running", "done", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> OptimizationRunPage:
    return optimizations.list_runs(ctx.db, limit, offset, status)


@router.get("/optimizations/{run_id}", response_model=OptimizationRunOut, tags=["research"])
def get_optimization(ctx: Ctx, _user: CurrentUser, run_id: str) -> OptimizationRunOut:
    """Status, progress and, when done, every trial and the best parameters (walk-forward:
    each fold's choice and the stitched out-of-sample figures)."""
    return optimizations.get(ctx.db, run_id)
