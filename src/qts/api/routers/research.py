"""Backtests, the strategy catalogue, and features."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import Field, field_validator

from qts.api.deps import Ctx, CurrentUser, Trader
from qts.api.schemas import STRATEGY_PATTERN, TIMEFRAME_PATTERN, StrictModel, no_strategy_file

router = APIRouter(tags=["research"])


class BacktestBody(StrictModel):
    _no_file = field_validator("strategy")(no_strategy_file)

    strategy: str = Field(min_length=1, max_length=255, pattern=STRATEGY_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: list[str] = Field(min_length=1, max_length=100)
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    start: str | None = None
    end: str | None = None
    cash: float = Field(default=10_000.0, gt=0, allow_inf_nan=False)
    commission: float = Field(default=0.001, ge=0, le=0.1)
    slippage_bps: float = Field(default=0.0, ge=0, le=1000)


@router.get("/strategies-catalog")
def strategy_catalog(_user: CurrentUser) -> list[dict[str, Any]]:
    """Built-in and registered strategy classes with their declared parameters."""
    from qts.strategies.registry import list_strategies

    return list_strategies()


@router.post("/backtests", status_code=status.HTTP_202_ACCEPTED)
def create_backtest(ctx: Ctx, user: Trader, body: BacktestBody) -> dict[str, Any]:
    """Run a backtest on stored bars in the background; poll `GET /backtests/{id}`."""
    from qts.services.research import backtests

    return backtests.submit(ctx.db, ctx.bus, body.model_dump(), user.username)


@router.get("/backtests")
def list_backtests(
    ctx: Ctx,
    _user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    from qts.services.research import backtests

    return backtests.list_runs(ctx.db, limit, offset)


@router.get("/backtests/{run_id}")
def get_backtest(ctx: Ctx, _user: CurrentUser, run_id: str) -> dict[str, Any]:
    """Status, and when done the metrics, equity curve and trades."""
    from qts.services.research import backtests

    return backtests.get(ctx.db, run_id)


@router.get("/features")
def feature_definitions(ctx: Ctx, _user: CurrentUser) -> list[dict[str, Any]]:
    """Registered feature definitions: name, version, group, parameters, columns."""
    from qts.services.ml.features import list_definitions

    return list_definitions(db=ctx.db)


@router.get("/features/{symbol:path}")
def feature_vector(
    ctx: Ctx,
    _user: CurrentUser,
    symbol: str,
    timeframe: Annotated[str, Query(pattern=TIMEFRAME_PATTERN)] = "1d",
) -> dict[str, Any]:
    """The latest online feature vector of a symbol."""
    from qts.services.ml.features import latest_vector

    return latest_vector(symbol, timeframe, db=ctx.db)
