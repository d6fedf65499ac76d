"""Client order id -> broker order id journal, for brokers with no client-id field (KIS, Kiwoom).

Before an order is sent, its intent (symbol, side, quantity, price, time) is written under the
qts client order id; once the broker answers, the broker's order number is added. If the answer
is lost (timeout, crash), the intent without an order number tells the next `submit` of the same
client order id to look the order up in the broker's list of today's orders first, and adopt a
matching order nobody has claimed, instead of sending a second one.

`JsonlOrderIdStore` appends one JSON line per change and fsyncs it, so the journal survives a
crash of the process; the order service may supply any other `OrderIdStore` (e.g. a table).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class OrderIntent:
    client_order_id: str
    symbol: str
    side: str
    quantity: float
    price: float | None
    created_at: float  # epoch seconds
    broker_order_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OrderIdStore(Protocol):
    def get(self, client_order_id: str) -> OrderIntent | None: ...

    def put(self, intent: OrderIntent) -> None: ...

    def by_broker_id(self, broker_order_id: str) -> OrderIntent | None: ...

    def claimed_broker_ids(self) -> set[str]: ...


class InMemoryOrderIdStore:
    """Journal kept in memory: enough for one process lifetime and for tests."""

    def __init__(self) -> None:
        self._intents: dict[str, OrderIntent] = {}
        self._lock = threading.Lock()

    def get(self, client_order_id: str) -> OrderIntent | None:
        with self._lock:
            intent = self._intents.get(client_order_id)
            return None if intent is None else OrderIntent(**asdict(intent))

    def put(self, intent: OrderIntent) -> None:
        with self._lock:
            self._intents[intent.client_order_id] = OrderIntent(**asdict(intent))

    def by_broker_id(self, broker_order_id: str) -> OrderIntent | None:
        with self._lock:
            for intent in self._intents.values():
                if intent.broker_order_id == broker_order_id:
                    return OrderIntent(**asdict(intent))
        return None

    def claimed_broker_ids(self) -> set[str]:
        with self._lock:
            return {i.broker_order_id for i in self._intents.values() if i.broker_order_id}


class JsonlOrderIdStore(InMemoryOrderIdStore):
    """The in-memory journal, replayed from and appended (fsync'd) to a JSON-lines file."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a torn last line from a crash mid-write
                super().put(OrderIntent(**record))

    def put(self, intent: OrderIntent) -> None:
        line = json.dumps(asdict(intent), separators=(",", ":"), ensure_ascii=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        super().put(intent)
