"""Client-side rate limiting (token bucket) and a retry policy with exponential backoff.

One `TokenBucket` per broker account is shared by every thread that talks to it, so the
process as a whole stays under the broker's published request rate instead of discovering it
through rate-limit errors. The retry policy only decides *when* to retry; *whether* a retry is
safe is decided by the caller (see `errors.UnknownOutcomeError`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from qts.core.errors import ValidationError


class TokenBucket:
    """`rate` tokens per second, bursts up to `capacity`; `acquire()` blocks until one is free."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValidationError(f"token bucket rate must be positive, got {rate}")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self, tokens: float = 1.0) -> float:
        """Take `tokens` if available and return 0, else return the seconds to wait."""
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                return 0.0
            return (tokens - self._tokens) / self.rate

    def acquire(self, tokens: float = 1.0) -> float:
        """Block until `tokens` are taken; returns the seconds spent waiting."""
        waited = 0.0
        while True:
            wait = self.try_acquire(tokens)
            if wait <= 0:
                return waited
            self._sleep(wait)
            waited += wait

    def penalize(self, seconds: float) -> None:
        """After a rate-limit answer: empty the bucket so everyone backs off for `seconds`."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0) - seconds * self.rate


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits base * factor**n, capped at max_delay."""

    max_attempts: int = 4
    base_delay_s: float = 0.2
    factor: float = 2.0
    max_delay_s: float = 10.0
    jitter: float = 0.1
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def delays(self) -> Iterator[float]:
        """The waits between attempts (max_attempts - 1 of them)."""
        for attempt in range(self.max_attempts - 1):
            delay = min(self.base_delay_s * self.factor**attempt, self.max_delay_s)
            yield delay * (1.0 + random.uniform(0, self.jitter))

    def wait(self, attempt: int, at_least_s: float | None = None) -> None:
        delay = min(self.base_delay_s * self.factor**attempt, self.max_delay_s)
        delay *= 1.0 + random.uniform(0, self.jitter)
        if at_least_s is not None:
            delay = max(delay, min(at_least_s, self.max_delay_s))
        self.sleep(delay)
