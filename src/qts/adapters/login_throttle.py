"""Failed-login throttling: after N failures for a username (or a client address) within the
window, further attempts are refused until the window passes. In process in embedded mode, in
Redis in scale-out mode so every API process shares the count."""

from __future__ import annotations

import threading
import time
from typing import Any


class LoginThrottle:
    def __init__(self, max_failures: int, window_seconds: int, redis_client: Any = None) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._redis = redis_client
        self._local: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(key: str) -> str:
        return f"qts:login-fail:{key}"

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when not throttled."""
        if self._redis is not None:
            k = self._key(key)
            count = int(self._redis.get(k) or 0)
            if count >= self.max_failures:
                return max(int(self._redis.ttl(k)), 1)
            return 0
        now = time.monotonic()
        with self._lock:
            hits = [t for t in self._local.get(key, []) if now - t < self.window]
            self._local[key] = hits
            if len(hits) >= self.max_failures:
                return max(int(self.window - (now - hits[0])) + 1, 1)
        return 0

    def failure(self, key: str) -> None:
        if self._redis is not None:
            k = self._key(key)
            pipe = self._redis.pipeline()
            pipe.incr(k)
            pipe.expire(k, self.window, nx=True)
            pipe.execute()
            return
        with self._lock:
            self._local.setdefault(key, []).append(time.monotonic())

    def success(self, key: str) -> None:
        if self._redis is not None:
            self._redis.delete(self._key(key))
            return
        with self._lock:
            self._local.pop(key, None)
