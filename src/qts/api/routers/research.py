"""Backtests, the strategy catalogue, and features."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field, field_validator

from qts.api.deps import Ctx, CurrentUser, Trader
from qts.api.json_response import documented, json_response
from qts.api.responses.market import FeatureDefinitionOut, FeatureVectorOut, StrategyInfo
from qts.api.schemas import STRATEGY_PATTERN, TIMEFRAME_PATTERN, Offset, no_strategy_file
from qts.services.research.backtest_types import BacktestRequest, BacktestRunOut, BacktestRunPage

router = APIRouter(tags=["research"])


class BacktestBody(BacktestRequest):
    """The backtest request with every run option (None: the market preset); through the API a
    strategy is a registered name or an installed class, never a file on the server."""

    _no_file = field_validator("strategy")(no_strategy_file)

    strategy: str = Field(min_length=1, max_length=255, pattern=STRATEGY_PATTERN)


@router.get("/strategies-catalog", response_model=list[StrategyInfo])
def strategy_catalog(_user: CurrentUser) -> list[dict[str, Any]]:
    """Built-in and registered strategy classes with their declared parameters."""
    from qts.strategies.registry import list_strategies

    return list_strategies()


@router.post("/backtests", status_code=status.HTTP_202_ACCEPTED)
def create_backtest(ctx: Ctx, user: Trader, body: BacktestBody) -> BacktestRunOut:
    """Run a backtest on stored bars in the background; poll `GET /backtests/{id}`."""
    from qts.services.research import backtests
    from qts.strategies.registry import check_strategy_allowed

    check_strategy_allowed(body.strategy, ctx.settings.strategy_packages)
    return backtests.submit(ctx.db, ctx.bus, body, user.username, ctx.settings)


@router.get("/backtests")
def list_backtests(
    ctx: Ctx,
    _user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> BacktestRunPage:
    from qts.services.research import backtests

    return backtests.list_runs(ctx.db, limit, offset)


@router.get("/backtests/{run_id}")
def get_backtest(ctx: Ctx, _user: CurrentUser, run_id: str) -> BacktestRunOut:
    """Status, and when done the metrics, equity curve and trades."""
    from qts.services.research import backtests

    return backtests.get(ctx.db, run_id)


@router.get("/features", response_model=list[FeatureDefinitionOut])
def feature_definitions(ctx: Ctx, _user: CurrentUser) -> list[dict[str, Any]]:
    """Registered feature definitions: name, version, group, parameters, columns."""
    from qts.services.ml.features import list_definitions

    return list_definitions(db=ctx.db)


@router.get("/features/{symbol:path}", **documented(FeatureVectorOut))
def feature_vector(
    ctx: Ctx,
    _user: CurrentUser,
    symbol: str,
    timeframe: Annotated[str, Query(pattern=TIMEFRAME_PATTERN)] = "1d",
) -> Response:
    """The latest online feature vector of a symbol."""
    from qts.services.ml.features import latest_vector

    return json_response(latest_vector(symbol, timeframe, db=ctx.db))
