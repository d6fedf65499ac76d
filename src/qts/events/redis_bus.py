"""Redis pub/sub event bus: events published by any process reach every API process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from qts.events.bus import Event, InProcessEventBus, Subscription

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "qts:events:"


class RedisEventBus(InProcessEventBus):
    """Publishes to Redis; one listener task per process fans messages out to local subscribers.

    The listener subscribes with one pattern for all qts channels, so local topic changes need no
    round trip to Redis.
    """

    def __init__(self, url: str, prefix: str = CHANNEL_PREFIX) -> None:
        super().__init__()
        import redis

        self.url = url
        self.prefix = prefix
        self._sync = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._listener: asyncio.Task[None] | None = None

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        """Best effort: events follow writes already committed, so a Redis outage loses the
        notification (clients re-read on reconnect) but never fails the write that made it."""
        import redis

        try:
            self._sync.publish(self.prefix + topic, Event(topic, data).to_json())
        except redis.RedisError as e:
            log.warning("event on %s not published: Redis unavailable (%s)", topic, e)

    def check(self) -> None:
        self._sync.ping()

    async def subscribe(self, topics: Iterable[str]) -> Subscription:
        sub = await super().subscribe(topics)
        await self._ensure_listener()
        return sub

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.done():
            return
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(ready))
        await asyncio.wait_for(ready.wait(), 10)

    async def _listen(self, ready: asyncio.Event) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(self.prefix + "*")
            ready.set()
            async for msg in pubsub.listen():
                if msg.get("type") != "pmessage":
                    continue
                try:
                    event = Event.from_json(msg["data"])
                except (ValueError, KeyError):
                    log.warning("dropping a malformed event on %s", msg.get("channel"))
                    continue
                self.dispatch(event)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        self._sync.close()
