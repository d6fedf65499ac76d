"""What a trading session is fed from, and a running session's handle."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeedSpec:
    kind: str = "replay"  # replay | live
    speed: float | None = None  # None: as fast as possible
    start: str | None = None
    end: str | None = None


@dataclass
class Session:
    strategy_id: int
    thread: threading.Thread
    stop: threading.Event = field(default_factory=threading.Event)
    bars: int = 0
    error: str = ""
    lock: Any = None  # held while the session runs, so only one process runs it
    lock_renewed: float = 0.0
    checked: float = -1e9  # monotonic time of the last look at the stored state (stop, cancels)
    saved: float = -1e9  # monotonic time the runner state was last written
