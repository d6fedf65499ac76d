"""Job targets used only by the worker tests (called as `fn(ctx, **kwargs)` like real ones)."""

from __future__ import annotations

import time
from typing import Any


def add(ctx: Any, a: int, b: int) -> dict[str, Any]:
    return {"sum": a + b, "database": ctx.db.engine.dialect.name}


def fail(ctx: Any, message: str = "exchange timed out") -> None:
    raise RuntimeError(message)


def sleep(ctx: Any, seconds: float = 0.3) -> dict[str, float]:
    time.sleep(seconds)
    return {"slept": seconds}
