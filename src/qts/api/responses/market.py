"""Bodies of /api/v1/market/*, the strategy catalogue and the feature endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class SymbolDataset(BaseModel):
    timeframe: str
    bars: int
    first: str
    last: str


class DatasetOut(SymbolDataset):
    exchange: str
    symbol: str


class SymbolOut(BaseModel):
    """A known symbol; the instrument fields are None for one known only from stored bars."""

    exchange: str
    symbol: str
    name: str | None = None
    asset_class: str | None = None
    currency: str | None = None
    lot_size: float | None = None
    tick_size: float | None = None
    quantity_step: float | None = None
    datasets: list[SymbolDataset]


class BarOut(BaseModel):
    ts: str
    open: float
    high: float
    low: float
    close: float
    volume: float


class BarPage(BaseModel):
    exchange: str
    symbol: str
    timeframe: str
    items: list[BarOut]
    limit: int
    offset: int
    next_after: str | None  # pass as `after` for the next page; None on the last one


class NewsItemOut(BaseModel):
    """A stored news item: `known_at` is when qts first could have known it (features use it),
    `sentiment` in [-1, 1] or None when not scored (Korean text with no Korean model)."""

    id: int
    published_at: str
    known_at: str
    symbols: list[str]
    headline: str
    body: str
    source: str
    url: str
    sentiment: float | None
    sentiment_model: str  # vader | finbert:<folder> | provider:<column> | "" (not scored)
    language: str  # ko | en | ""


class NewsPage(BaseModel):
    items: list[NewsItemOut]  # newest first
    limit: int
    offset: int
    next_offset: int | None  # pass as `offset` for the next page; None on the last one


ParamValue = bool | int | float | str | None


class StrategyParam(BaseModel):
    """A declared strategy parameter: what a form needs to draw and check its field."""

    name: str
    type: str  # int | float | bool | str
    default: ParamValue
    low: float | None
    high: float | None
    choices: list[ParamValue] | None
    step: float | None
    description: str


class StrategyInfo(BaseModel):
    name: str
    kind: str  # target | orders
    description: str
    params: list[StrategyParam]


class FeatureDefinitionOut(BaseModel):
    name: str
    version: str
    group: str
    params: dict[str, Any]  # the definition's own parameters (free-form per definition)
    inputs: list[str]
    columns: list[str]
    code_hash: str
    description: str
    current: bool


class FeatureVectorOut(BaseModel):
    entity: str
    timeframe: str
    as_of: dict[str, str]  # feature id -> time of the bar its value was computed at
    values: dict[str, float | None]
