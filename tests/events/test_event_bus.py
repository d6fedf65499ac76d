from __future__ import annotations

import asyncio
import threading

from qts.events import InProcessEventBus, topic_matches
from qts.events.redis_bus import RedisEventBus


def test_topic_patterns() -> None:
    assert topic_matches("bars:*", "bars:BTC/USDT")
    assert topic_matches("orders", "orders")
    assert not topic_matches("orders", "orders2")
    assert not topic_matches("bars:005930", "bars:000660")


def test_in_process_bus_delivers_from_other_threads_in_order() -> None:
    async def run() -> list[int]:
        bus = InProcessEventBus()
        sub = await bus.subscribe(["orders"])
        t = threading.Thread(target=lambda: [bus.publish("orders", {"n": i}) for i in range(100)])
        t.start()
        got = [(await sub.get(5)).data["n"] for _ in range(100)]
        t.join()
        await sub.close()
        bus.publish("orders", {"n": -1})  # no subscriber left: nothing to deliver, no error
        return got

    assert asyncio.run(run()) == list(range(100))


def test_slow_subscriber_drops_oldest_instead_of_blocking() -> None:
    async def run() -> tuple[int, int]:
        bus = InProcessEventBus()
        sub = await bus.subscribe(["x"])
        for i in range(1500):
            bus.publish("x", {"n": i})
        await asyncio.sleep(0.05)
        first = (await sub.get(1)).data["n"]
        return first, sub.dropped

    first, dropped = asyncio.run(run())
    assert dropped == 500 and first == 500


def test_redis_bus_round_trip(redis_url: str) -> None:
    async def run() -> dict:  # type: ignore[type-arg]
        bus = RedisEventBus(redis_url, prefix="qts:test-events:")
        sub = await bus.subscribe(["training:*"])
        bus.publish("orders", {"skip": True})
        bus.publish("training:run1", {"epoch": 3})
        ev = await sub.get(5)
        await sub.close()
        await bus.stop()
        return {"topic": ev.topic, **ev.data}

    assert asyncio.run(run()) == {"topic": "training:run1", "epoch": 3}
