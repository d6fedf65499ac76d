"""Failed-login throttling, counted before the password hash is checked.

Every login attempt first takes a slot, atomically, in three counters over a sliding (in
process) or fixed (Redis) window; the slot is kept if the password is wrong and given back if it
is right, so concurrent guesses can never check more passwords than the limits allow:

* `user+ip`: `max_failures` wrong passwords for one user from one address lock that pair only;
  the user can still log in from elsewhere, so an attacker cannot lock a user out this way.
* `ip`: `ip_max_failures` wrong passwords from one address, whatever the usernames (password
  spraying); a success gives back its own slot and never clears the others.
* `user`: past `user_max_failures` wrong passwords for a user from all addresses (a distributed
  attack), attempts for that user are spaced by a delay that doubles with each further failure,
  up to `max_delay` seconds: the attacker gets one guess per delay, and the user waits at most
  `max_delay` seconds, never a lockout that lasts as long as the attack.

In scale-out mode the counters live in Redis so every API process shares them; when Redis does
not answer, the process falls back to its own counters rather than refusing every login.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from qts.core.errors import RateLimitedError

log = logging.getLogger(__name__)
PREFIX = "qts:login"


@dataclass
class Attempt:
    """The slots one login attempt holds; given back by `LoginThrottle.succeeded`."""

    keys: list[str]
    local: bool
    stamps: dict[str, float] = field(default_factory=dict)


class LoginThrottle:
    def __init__(
        self,
        max_failures: int,
        window_seconds: int,
        redis_client: Any = None,
        ip_max_failures: int | None = None,
        user_max_failures: int = 20,
        max_delay: int = 30,
    ) -> None:
        self.window = window_seconds
        self.max_delay = max_delay
        self._limits = {
            "pair": max_failures,
            "ip": ip_max_failures if ip_max_failures is not None else 4 * max_failures,
            "user": user_max_failures,
        }
        self._redis = redis_client
        self._local: dict[str, list[float]] = {}
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, ip: str) -> dict[str, str]:
        user = username.lower()
        keys = {"pair": f"{PREFIX}:pair:{user}|{ip}", "user": f"{PREFIX}:user:{user}"}
        if ip:
            keys["ip"] = f"{PREFIX}:ip:{ip}"
        return keys

    def acquire(self, username: str, ip: str) -> Attempt:
        """Take a slot for one attempt, or raise RateLimitedError with `retry_after`."""
        keys = self.keys(username, ip)
        if self._redis is not None:
            try:
                return self._acquire_redis(keys)
            except RateLimitedError:
                raise
            except Exception as e:  # Redis down: keep logins working on this process's counts
                log.warning("login throttle: Redis unavailable (%s); counting in process", e)
        return self._acquire_local(keys)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: give back this attempt's slots (the user+ip pair's earlier
        failures are forgiven; the address's and the user's other failures stay counted)."""
        pair, others = attempt.keys[0], attempt.keys[1:]
        if attempt.local:
            with self._lock:
                self._local.pop(pair, None)
                for k in others:
                    stamps = self._local.get(k, [])
                    if attempt.stamps.get(k) in stamps:
                        stamps.remove(attempt.stamps[k])
            return
        try:
            pipe = self._redis.pipeline()
            pipe.delete(pair)
            for k in others:
                pipe.decr(k)
            pipe.execute()
        except Exception as e:
            log.warning("login throttle: could not give back a slot (%s)", e)

    # In process ------------------------------------------------------------------------------
    def _acquire_local(self, keys: dict[str, str]) -> Attempt:
        now = time.monotonic()
        with self._lock:
            counts = {}
            for kind, k in keys.items():
                hits = [t for t in self._local.get(k, []) if now - t < self.window]
                self._local[k] = hits
                counts[kind] = len(hits)
            for kind in ("pair", "ip"):
                if kind in keys and counts[kind] >= self._limits[kind]:
                    oldest = self._local[keys[kind]][0]
                    self._refuse(math.ceil(self.window - (now - oldest)))
            user_key = keys["user"]
            if counts["user"] >= self._limits["user"]:
                wait = self._next_slot.get(user_key, 0.0) - now
                if wait > 0:
                    self._refuse(math.ceil(wait))
                self._next_slot[user_key] = now + self._delay(counts["user"] + 1)
            stamps = {}
            for k in keys.values():
                self._local[k].append(now)
                stamps[k] = now
        return Attempt(_ordered(keys), local=True, stamps=stamps)

    # Redis -------------------------------------------------------------------------------------
    def _acquire_redis(self, keys: dict[str, str]) -> Attempt:
        ordered = _ordered(keys)
        pipe = self._redis.pipeline()
        for k in ordered:
            pipe.incr(k)
            pipe.expire(k, self.window, nx=True)
        results = pipe.execute()
        counts = {kind: int(results[2 * ordered.index(k)]) for kind, k in keys.items()}
        over = [
            kind for kind in ("pair", "ip") if kind in keys and counts[kind] > self._limits[kind]
        ]
        if over:
            self._undo(ordered)
            self._refuse(max(int(self._redis.ttl(keys[kind])) for kind in over))
        if counts["user"] > self._limits["user"]:
            delay_ms = int(self._delay(counts["user"]) * 1000)
            slot = f"{keys['user']}:slot"
            if not self._redis.set(slot, 1, nx=True, px=delay_ms):
                self._undo(ordered)
                self._refuse(math.ceil(max(int(self._redis.pttl(slot)), 1) / 1000))
        return Attempt(ordered, local=False)

    def _undo(self, ordered: list[str]) -> None:
        pipe = self._redis.pipeline()
        for k in ordered:
            pipe.decr(k)
        pipe.execute()

    # Shared ------------------------------------------------------------------------------------
    def _delay(self, failures: int) -> float:
        excess = max(failures - self._limits["user"], 0)
        return float(min(2 ** min(excess, 16), self.max_delay))

    @staticmethod
    def _refuse(retry_after: int) -> None:
        raise RateLimitedError(
            "too many failed logins; try again later", {"retry_after": max(retry_after, 1)}
        )


def _ordered(keys: dict[str, str]) -> list[str]:
    """The pair key first (`succeeded` deletes it), then the counters it decrements."""
    return [keys["pair"], *(keys[k] for k in ("ip", "user") if k in keys)]
