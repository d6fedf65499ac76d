"""Job locks: a job never overlaps itself, in one process or across workers."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

log = logging.getLogger(__name__)


class InProcessJobLocks:
    """Embedded mode: one process runs the schedule, a set of held names is enough."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._mutex = threading.Lock()

    def acquire(self, name: str, ttl_seconds: float, owner: str | None = None) -> object | None:
        with self._mutex:
            if name in self._held:
                return None
            self._held.add(name)
            return name

    def release(self, name: str, token: object) -> None:
        with self._mutex:
            self._held.discard(name)


class RedisJobLocks:
    """Scale-out: a Redis lock per job shared by every worker; the TTL frees the lock of a
    worker that died mid-run. With an `owner` (the Celery task id) the lock's value is that id,
    so the same task delivered again after its worker died takes its own lock over at once
    instead of being skipped until the TTL runs out."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def key(self, name: str) -> str:
        return f"{self._prefix}job-lock:{name}"

    def acquire(self, name: str, ttl_seconds: float, owner: str | None = None) -> object | None:
        lock = self._client.lock(
            self.key(name), timeout=max(ttl_seconds, 1.0), blocking=False, thread_local=False
        )
        if lock.acquire(token=owner):
            return lock
        if owner is not None and self._client.get(self.key(name)) == owner.encode():
            lock.local.token = owner.encode()
            lock.reacquire()  # restart the TTL: this delivery now holds it
            log.warning("job %s: took over the lock of an earlier delivery of task %s", name, owner)
            return lock
        return None

    def release(self, name: str, token: object) -> None:
        from redis.exceptions import LockError

        try:
            token.release()  # type: ignore[attr-defined]
        except LockError:  # expired while running: another worker may hold it now
            log.warning("job lock for %s expired before the run finished", name)


def key_prefix() -> str:
    """Prefix of every Redis key the workers write (tests set their own to stay isolated)."""
    return os.environ.get("QTS_WORKERS_KEY_PREFIX", "qts:")
