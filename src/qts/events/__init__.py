"""The event bus: in-process in embedded mode, Redis pub/sub in scale-out mode."""

from qts.events.bus import Event, EventBus, InProcessEventBus, Subscription, topic_matches
from qts.events.factory import make_event_bus

__all__ = [
    "Event",
    "EventBus",
    "InProcessEventBus",
    "Subscription",
    "make_event_bus",
    "topic_matches",
]
