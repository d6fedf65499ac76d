"""Routing, batching and rate limiting of notifications, one sender thread per channel.

`Notifier.publish` never blocks and never raises: a trading loop must not wait on Slack.
Each channel has a bounded queue. Its sender waits `batch_seconds` after the first event so
that a burst becomes a few messages, takes up to `max_batch` events per message, and spends one
token of a token bucket (`burst` tokens, refilled at `rate_per_minute`) per HTTP request. While
it waits for a token more events pile up and join the next message, so a long burst degrades to
bigger messages rather than more of them. A provider's 429 makes the sender sleep the
Retry-After it was given and send the same message again: nothing is lost to rate limits.
Events are dropped only (a) when a channel's queue is full (the oldest waiting events go; the
next message states how many) or (b) when a message still fails after `max_retries` network or
server errors, or is refused outright (bad webhook, unknown chat); drops are logged and counted
in the `qts_notifications_dropped_total` metric.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from qts.observability import metrics
from qts.services.notifications.channels import (
    Channel,
    PermanentError,
    RetryAfter,
    TransientError,
)
from qts.services.notifications.config import ALL_EVENTS
from qts.services.notifications.events import Notification, format_batch, take_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    rate_per_minute: float = 20.0
    burst: int = 5
    batch_seconds: float = 2.0
    max_batch: int = 20
    queue_size: int = 1000
    max_retries: int = 5
    max_retry_after: float = 300.0


class TokenBucket:
    def __init__(self, rate_per_second: float, capacity: int) -> None:
        self.rate = rate_per_second
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.updated = time.monotonic()

    def wait_time(self) -> float:
        """Seconds until a token is available (0 now); does not take it."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class ChannelSender:
    def __init__(self, channel: Channel, kinds: set[str], limits: Limits) -> None:
        self.channel = channel
        self.kinds = kinds
        self.limits = limits
        self._queue: deque[Notification] = deque()
        self._cond = threading.Condition()
        self._bucket = TokenBucket(limits.rate_per_minute / 60.0, limits.burst)
        self._stop = threading.Event()
        self._busy = False
        self.dropped_pending = 0  # queue-full drops not yet announced in a message
        self.dropped_total = 0
        self.sent_messages = 0
        self._thread = threading.Thread(
            target=self._run, name=f"qts-notify-{channel.name}", daemon=True
        )
        self._thread.start()

    def wants(self, kind: str) -> bool:
        return ALL_EVENTS in self.kinds or kind in self.kinds

    def put(self, event: Notification) -> None:
        with self._cond:
            if len(self._queue) >= self.limits.queue_size:
                self._queue.popleft()
                self.dropped_pending += 1
                self.dropped_total += 1
                metrics.record_notification(self.channel.name, dropped=1, reason="queue_full")
            self._queue.append(event)
            self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and not self._busy

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True when the sender should go on."""
        return not self._stop.wait(seconds) if seconds > 0 else not self._stop.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                while not self._queue and not self._stop.is_set():
                    self._cond.wait(0.5)
                if self._stop.is_set():
                    return
                first_ts = self._queue[0].ts
                self._busy = True
            try:
                self._send_next_batch(first_ts)
            except Exception:  # the sender thread must survive anything
                log.exception("notification sender for %s failed", self.channel.name)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _send_next_batch(self, first_ts: float) -> None:
        # Let a burst gather, unless a full message is already waiting.
        with self._cond:
            deadline = time.monotonic() + max(
                0.0, self.limits.batch_seconds - (time.time() - first_ts)
            )
            while len(self._queue) < self.limits.max_batch and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        while (wait := self._bucket.wait_time()) > 0:
            if not self._sleep(wait):
                return
        self._bucket.take()
        with self._cond:
            pending = list(self._queue)
            count = take_batch(pending, self.limits.max_batch, self.channel.max_chars)
            batch = [self._queue.popleft() for _ in range(count)]
            dropped, self.dropped_pending = self.dropped_pending, 0
        self._deliver(batch, dropped)

    def _deliver(self, batch: list[Notification], dropped: int) -> None:
        text = format_batch(batch, dropped, self.channel.max_chars)
        failures = 0
        while True:
            try:
                self.channel.send(text)
                self.sent_messages += 1
                metrics.record_notification(self.channel.name, sent=1)
                return
            except RetryAfter as exc:
                failures += 1
                wait = min(exc.seconds, self.limits.max_retry_after)
                log.warning("%s rate-limited us: retrying in %.1fs", self.channel.name, wait)
                # The provider's limit is stricter than ours: empty our bucket too.
                self._bucket.tokens = 0.0
            except TransientError as exc:
                failures += 1
                wait = min(2.0 ** (failures - 1), 60.0)
                log.warning(
                    "%s delivery failed (%s): retrying in %.1fs", self.channel.name, exc, wait
                )
            except PermanentError as exc:
                self._drop(batch, f"{exc}", "refused")
                return
            if failures > self.limits.max_retries:
                self._drop(batch, "too many retries", "retries")
                return
            if not self._sleep(wait):
                self._drop(batch, "shutting down", "shutdown")
                return

    def _drop(self, batch: list[Notification], why: str, reason: str) -> None:
        self.dropped_total += len(batch)
        metrics.record_notification(self.channel.name, dropped=len(batch), reason=reason)
        log.error("dropped %d %s notification(s): %s", len(batch), self.channel.name, why)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout)
        self.channel.close()


class Notifier:
    """Routes each event to the channels whose rules accept its kind."""

    def __init__(self, senders: list[ChannelSender]) -> None:
        self.senders = senders

    @property
    def enabled(self) -> bool:
        return bool(self.senders)

    def publish(self, event: Notification) -> int:
        """Queue `event` for every channel that wants it; returns how many will send it."""
        targets = [s for s in self.senders if s.wants(str(event.kind))]
        for sender in targets:
            sender.put(event)
        return len(targets)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was sent or dropped; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s.idle() for s in self.senders):
                return True
            time.sleep(0.02)
        return False

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        for sender in self.senders:
            sender.stop()
