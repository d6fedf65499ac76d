from __future__ import annotations

from qts.events.bus import EventBus, InProcessEventBus


def make_event_bus(redis_url: str | None) -> EventBus:
    """Redis pub/sub when a Redis URL is configured (scale-out), else in process."""
    if redis_url:
        from qts.events.redis_bus import RedisEventBus

        return RedisEventBus(redis_url)
    return InProcessEventBus()
