"""Market data: symbols and stored datasets, paged bars and news."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Response

from qts.api.deps import Ctx, CurrentUser
from qts.api.json_response import documented, json_response
from qts.api.responses.market import BarPage, DatasetOut, NewsPage, SymbolOut
from qts.api.schemas import TIMEFRAME_PATTERN, ApiTime, Offset
from qts.services.data import market_data
from qts.services.data import news as news_service

router = APIRouter(prefix="/market", tags=["market"])


@router.get("/symbols", response_model=list[SymbolOut])
def symbols(ctx: Ctx, _user: CurrentUser) -> list[dict[str, Any]]:
    """Known symbols with exchange, asset class, currency, lot size, tick size and quantity step."""
    return market_data.list_symbols(ctx.db)


@router.get("/datasets", response_model=list[DatasetOut])
def datasets(ctx: Ctx, _user: CurrentUser) -> list[dict[str, Any]]:
    """Stored (exchange, symbol, timeframe) series with their bar counts and time ranges."""
    return market_data.list_datasets(ctx.db)


# Bar pages are read in two threads at a time, not one per request in flight: more threads
# only trade the GIL back and forth (16 at once halved throughput); the rest wait in the loop.
_BAR_READERS = anyio.CapacityLimiter(2)


@router.get("/bars", **documented(BarPage))
async def bars(
    ctx: Ctx,
    _user: CurrentUser,
    symbol: Annotated[str, Query(min_length=1, max_length=64)],
    timeframe: Annotated[str, Query(pattern=TIMEFRAME_PATTERN)] = "1d",
    start: ApiTime | None = None,
    end: ApiTime | None = None,
    exchange: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Offset = 0,
    after: ApiTime | None = None,
) -> Response:
    """Bars in time order (`end` inclusive). Page with `offset`, or with `after=<next_after>`."""
    read = partial(
        market_data.page_bars,
        symbol,
        timeframe,
        start,
        end,
        exchange=exchange,
        limit=limit,
        offset=offset,
        after=after,
        db=ctx.db,
    )
    return json_response(await anyio.to_thread.run_sync(read, limiter=_BAR_READERS))


@router.get("/news", response_model=NewsPage)
def news(
    ctx: Ctx,
    _user: CurrentUser,
    symbol: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    start: ApiTime | None = None,
    end: ApiTime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Stored news, newest first (`start`/`end` bound the publication time, `end` inclusive),
    with each item's sentiment, its model, language, symbols and `known_at`."""
    return news_service.page_news(ctx.db, symbol, start, end, limit=limit, offset=offset)
