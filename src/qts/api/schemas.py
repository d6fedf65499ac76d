"""Request and response bodies. Unknown fields are refused so typos get a 422, not silence."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from qts.services.auth.schemas import NewUser, UserChanges, UserRecord


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RefreshRequest(StrictModel):
    refresh_token: str = Field(min_length=10)


# Bodies and answers the services define (one class for the API, the CLI and the service).
UserCreate = NewUser
UserUpdate = UserChanges
UserOut = UserRecord


TIMEFRAME_PATTERN = r"^[0-9]+(s|m|h|d|w|M)$"
# Through the API a strategy is a registered name or an installed `module:Class`; loading a
# .py file from the server's disk is left to the CLI, run by someone with a shell there.
STRATEGY_PATTERN = r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$"


def no_strategy_file(spec: str | None) -> str | None:
    if spec is not None and spec.split(":", 1)[0].endswith(".py"):
        raise ValueError("strategy files can be loaded from the command line only")
    return spec


class StrategyCreate(StrictModel):
    _no_file = field_validator("strategy_class")(no_strategy_file)

    name: str = Field(min_length=1, max_length=128)
    strategy_class: str = Field(min_length=1, max_length=255, pattern=STRATEGY_PATTERN)
    description: str = Field(default="", max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=dict)
    symbols: list[str] = Field(default_factory=list, max_length=500)
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    mode: Literal["paper", "live"] = "paper"


class StrategyUpdate(StrictModel):
    _no_file = field_validator("strategy_class")(no_strategy_file)

    strategy_class: str | None = Field(
        default=None, min_length=1, max_length=255, pattern=STRATEGY_PATTERN
    )
    description: str | None = Field(default=None, max_length=10_000)
    parameters: dict[str, Any] | None = None
    symbols: list[str] | None = Field(default=None, max_length=500)
    timeframe: str | None = Field(default=None, pattern=TIMEFRAME_PATTERN)
    mode: Literal["paper", "live"] | None = None


class StrategyOut(BaseModel):
    id: int
    name: str
    strategy_class: str
    description: str
    parameters: dict[str, Any]
    symbols: list[Any]
    timeframe: str
    mode: str
    state: str
    runtime_state: dict[str, Any]
    created_by: str
    created_at: str
    updated_at: str


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
