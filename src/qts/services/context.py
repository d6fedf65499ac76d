"""The application context: settings, database and event bus, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qts.config import Settings, get_settings
from qts.db import Database
from qts.events import EventBus, make_event_bus


@dataclass
class AppContext:
    settings: Settings
    db: Database
    bus: EventBus
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> AppContext:
        settings = settings or get_settings()
        settings.ensure_data_dir()
        return cls(
            settings=settings,
            db=Database(settings.effective_database_url),
            bus=make_event_bus(settings.redis_url),
        )

    def redis(self) -> Any:
        """A shared sync Redis client in scale-out mode, None in embedded mode."""
        if not self.settings.redis_url:
            return None
        if "redis" not in self.extras:
            import redis

            # Short timeouts: a Redis that stopped answering must not hang requests.
            self.extras["redis"] = redis.Redis.from_url(
                self.settings.redis_url, socket_connect_timeout=2, socket_timeout=2
            )
        return self.extras["redis"]

    def close(self) -> None:
        client = self.extras.pop("redis", None)
        if client is not None:
            client.close()
        self.db.dispose()
