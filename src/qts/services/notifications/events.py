"""Notification events and how they read as chat messages."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any


class EventKind(enum.StrEnum):
    ORDER_FILL = "order_fill"
    ORDER_REJECTED = "order_rejected"
    RISK_LIMIT = "risk_limit"
    KILL_SWITCH = "kill_switch"
    JOB_FAILURE = "job_failure"
    DRIFT = "drift"
    MODEL_PROMOTION = "model_promotion"


ICONS = {
    EventKind.ORDER_FILL: "✅",
    EventKind.ORDER_REJECTED: "⛔",
    EventKind.RISK_LIMIT: "⚠️",
    EventKind.KILL_SWITCH: "🛑",
    EventKind.JOB_FAILURE: "❌",
    EventKind.DRIFT: "📉",
    EventKind.MODEL_PROMOTION: "🚀",
}


@dataclass(frozen=True, slots=True)
class Notification:
    kind: EventKind
    title: str
    text: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def _fields_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.fields.items())

    def full_text(self) -> str:
        """The message for an event sent on its own."""
        lines = [f"{ICONS[self.kind]} {self.title}"]
        if self.text:
            lines.append(self.text)
        if self.fields:
            lines.append(self._fields_text())
        return "\n".join(lines)

    def line(self) -> str:
        """One line for a batched message."""
        parts = [f"{ICONS[self.kind]} {self.title}"]
        if self.text:
            parts.append(self.text)
        line = " - ".join(parts)
        if self.fields:
            line += f" ({self._fields_text()})"
        return line


def format_batch(events: list[Notification], dropped: int, max_chars: int) -> str:
    """One message for a batch; every event keeps a line (shortened if it must be)."""
    if len(events) == 1 and not dropped:
        text = events[0].full_text()
    else:
        header = f"qts: {len(events)} notifications"
        if dropped:
            header += f" ({dropped} earlier ones dropped: queue full)"
        text = "\n".join([header, *(e.line() for e in events)])
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text


def take_batch(pending: list[Notification], max_events: int, max_chars: int) -> int:
    """How many of `pending` fit in one message (at least one: a long line is shortened)."""
    total = 40  # header
    count = 0
    for event in pending[:max_events]:
        total += len(event.line()) + 1
        if count and total > max_chars:
            break
        count += 1
    return max(count, 1) if pending else 0
