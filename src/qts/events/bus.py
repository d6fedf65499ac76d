"""Event bus interface and its in-process implementation.

`publish` is synchronous and thread-safe so that any code (a job thread, a strategy runner, a
request handler) can call it. Subscribers are asyncio consumers (the WebSocket endpoint) that
receive events on their own loop through a bounded queue; a slow consumer loses its oldest
events rather than blocking publishers.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    data: dict[str, Any]
    ts: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps({"topic": self.topic, "data": self.data, "ts": self.ts}, default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        obj = json.loads(raw)
        return cls(topic=obj["topic"], data=obj["data"], ts=obj.get("ts", time.time()))


def topic_matches(pattern: str, topic: str) -> bool:
    """Exact match, or a trailing `*` wildcard (`bars:*` matches `bars:BTC/USDT`)."""
    if pattern.endswith("*"):
        return topic.startswith(pattern[:-1])
    return pattern == topic


class Subscription:
    """A consumer's queue and its current topic patterns; iterate it to receive events."""

    def __init__(self, bus: EventBus, topics: Iterable[str]) -> None:
        self._bus = bus
        self.topics: set[str] = set(topics)
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.dropped = 0

    def wants(self, topic: str) -> bool:
        return any(topic_matches(p, topic) for p in self.topics)

    def deliver(self, event: Event) -> None:
        """Called on the subscriber's loop."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def get(self, timeout: float | None = None) -> Event:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()

    async def add_topics(self, topics: Iterable[str]) -> None:
        self.topics.update(topics)
        await self._bus._topics_changed(self)

    async def remove_topics(self, topics: Iterable[str]) -> None:
        self.topics.difference_update(topics)
        await self._bus._topics_changed(self)

    async def close(self) -> None:
        await self._bus._unsubscribe(self)


class EventBus(ABC):
    @abstractmethod
    def publish(self, topic: str, data: dict[str, Any]) -> None: ...

    @abstractmethod
    async def subscribe(self, topics: Iterable[str]) -> Subscription: ...

    async def _topics_changed(self, sub: Subscription) -> None:  # noqa: B027 - optional hook
        pass

    @abstractmethod
    async def _unsubscribe(self, sub: Subscription) -> None: ...

    async def start(self) -> None:  # noqa: B027 - optional hook
        pass

    async def stop(self) -> None:  # noqa: B027 - optional hook
        pass

    def check(self) -> None:  # noqa: B027 - optional hook
        """Raise if the bus's backend is unreachable (used by /ready)."""


class InProcessEventBus(EventBus):
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        self.dispatch(Event(topic, data))

    def dispatch(self, event: Event) -> None:
        with self._lock:
            targets = [s for s in self._subs if s.wants(event.topic)]
        for sub in targets:
            try:
                sub.loop.call_soon_threadsafe(sub.deliver, event)
            except RuntimeError:  # subscriber's loop is closed
                with self._lock:
                    self._subs.discard(sub)

    async def subscribe(self, topics: Iterable[str]) -> Subscription:
        sub = Subscription(self, topics)
        with self._lock:
            self._subs.add(sub)
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)
