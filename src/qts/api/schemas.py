"""Request bodies the API adds to the services' own (`qts.services.*.schemas`, which the routers
use directly as bodies and response models). Unknown fields are refused so typos get a 422."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from qts.services.trading.schemas import TIMEFRAME_PATTERN, NewStrategy, StrategyChanges

__all__ = [
    "MAX_DB_INT",
    "STRATEGY_PATTERN",
    "TIMEFRAME_PATTERN",
    "ApiTime",
    "DbId",
    "Offset",
    "OptionalDbId",
    "RefreshRequest",
    "StrategyCreate",
    "StrategyUpdate",
    "StrictModel",
    "no_strategy_file",
]


# Integer columns are 32-bit on PostgreSQL (64-bit on SQLite): a larger id or offset would reach
# the database and fail there, so the API refuses it with a 422 first.
MAX_DB_INT = 2**31 - 1
DbId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
OptionalDbId = Annotated[int | None, Query(ge=1, le=MAX_DB_INT)]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT)]

# Times the bar store and pandas can represent (pandas: 1677..2262); year 41 is an input error.
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)


def _time_in_range(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not EARLIEST_TIME <= aware <= LATEST_TIME:
        raise ValueError(f"time must be between {EARLIEST_TIME:%Y} and {LATEST_TIME:%Y}")
    return value


ApiTime = Annotated[datetime, AfterValidator(_time_in_range)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RefreshRequest(StrictModel):
    refresh_token: str = Field(min_length=10)


# Through the API a strategy is a registered name or an installed `module:Class`; loading a
# .py file from the server's disk is left to the CLI, run by someone with a shell there.
STRATEGY_PATTERN = r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$"


def no_strategy_file(spec: str | None) -> str | None:
    if spec is not None and spec.split(":", 1)[0].endswith(".py"):
        raise ValueError("strategy files can be loaded from the command line only")
    return spec


class StrategyCreate(NewStrategy):
    """A new strategy through the API: a registered name or `module:Class`, never a file."""

    _no_file = field_validator("strategy_class")(no_strategy_file)

    strategy_class: str = Field(min_length=1, max_length=255, pattern=STRATEGY_PATTERN)


class StrategyUpdate(StrategyChanges):
    _no_file = field_validator("strategy_class")(no_strategy_file)

    strategy_class: str | None = Field(
        default=None, min_length=1, max_length=255, pattern=STRATEGY_PATTERN
    )
