"""Bodies of starting and stopping strategies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class FeedOut(BaseModel):
    kind: Literal["replay", "live"]
    speed: float | None
    start: str | None
    end: str | None


class StrategyStarted(BaseModel):
    id: int
    state: Literal["running"]
    feed: FeedOut


class StrategyStopped(BaseModel):
    id: int
    state: Literal["stopped"]
