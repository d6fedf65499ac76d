"""Typed boundary of backtest runs: the run options (derived from the run spec), the request
the API accepts and the CLI builds, and the stored run returned to both."""

from __future__ import annotations

import typing
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from qts.backtest.config import (
    ASSET_CLASSES,
    ENGINES,
    FILL_AT,
    PRICE_ADJUSTMENTS,
    REBALANCE,
    BacktestConfig,
)
from qts.backtest.presets import MARKETS
from qts.core.errors import ValidationError
from qts.market.frames import timeframe_ms

# Options with a closed set of values are Literals in the schema, so clients see the choices.
_CHOICES: dict[str, tuple[str, ...]] = {
    "market": ("auto", *MARKETS),
    "fill_at": FILL_AT,
    "rebalance": REBALANCE,
    "asset_class": ASSET_CLASSES,
    "engine": ENGINES,
    "price_adjustment": PRICE_ADJUSTMENTS,
}


class RunOptionsBase(BaseModel):
    """Every option of `BacktestConfig`; None takes the market preset. Checked by building the
    spec itself, so the API, the CLI and the engine refuse exactly the same values."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _check_spec(self) -> RunOptionsBase:
        try:
            self.to_config()
        except ValidationError as e:
            raise ValueError(e.message) from e
        return self

    def to_config(self) -> BacktestConfig:
        names = {f.name for f in fields(BacktestConfig)}
        return BacktestConfig(**{k: v for k, v in self.model_dump().items() if k in names})


def _option_fields() -> dict[str, Any]:
    hints = typing.get_type_hints(BacktestConfig)
    out: dict[str, Any] = {}
    for f in fields(BacktestConfig):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        kind = Literal[_CHOICES[f.name]] if f.name in _CHOICES else hints[f.name]  # type: ignore[valid-type]
        out[f.name] = (kind, Field(default=default))
    return out


if TYPE_CHECKING:
    RunOptions = RunOptionsBase
else:
    RunOptions = create_model(
        "RunOptions", __base__=RunOptionsBase, __module__=__name__, **_option_fields()
    )


def run_options(values: dict[str, Any]) -> BacktestConfig:
    """The run spec from option values (unset ones dropped), with a plain error message."""
    try:
        options = RunOptions.model_validate({k: v for k, v in values.items() if v is not None})
    except PydanticValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ValidationError(f"{where}: {message}" if where else message) from None
    return options.to_config()


class BacktestRequest(RunOptions):
    """A backtest on stored bars: what to run, on which data, with which run options."""

    strategy: str = Field(min_length=1, max_length=255)
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: list[str] = Field(min_length=1, max_length=100)
    timeframe: str = "1d"  # type: ignore[assignment]  # the bars' timeframe, required here
    start: str | None = None
    end: str | None = None

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        try:
            timeframe_ms(value)
        except ValidationError as e:
            raise ValueError(e.message) from e
        return value


Number = float | None  # a figure as stored: None where it was undefined


class EquityPoint(BaseModel):
    ts: str
    equity: Number
    drawdown: Number
    benchmark: Number


class TradeOut(BaseModel):
    """One round trip; an open trade has no exit yet."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    symbol: str
    side: str
    size: Number
    entry_time: str | None
    entry_price: Number
    exit_time: str | None = None
    exit_price: Number = None
    pnl: Number = None
    fees: Number = None
    return_: Number = Field(default=None, alias="return")
    bars: Number = None
    status: str | None = None


class BacktestResultOut(BaseModel):
    """A finished run's result: the run spec used, metrics, equity curve and trades."""

    model_config = ConfigDict(extra="allow")

    strategy: str
    params: dict[str, Any]
    symbols: list[str]
    config: dict[str, Any]  # the run spec's values (the options of BacktestRequest)
    start: str | None
    end: str | None
    metrics: dict[str, Number]
    equity_curve: list[EquityPoint]
    trades: list[TradeOut]
    warnings: list[str] = []


class BacktestRunOut(BaseModel):
    """A stored run: its request, status and, when done, metrics (and the full result)."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    strategy: str
    params: dict[str, Any]
    request: dict[str, Any]
    metrics: dict[str, Number] | None = None
    error: str | None = None
    created_by: str
    created_at: str
    finished_at: str | None = None
    result: BacktestResultOut | None = None


class BacktestRunPage(BaseModel):
    items: list[BacktestRunOut]
    total: int
    limit: int
    offset: int
