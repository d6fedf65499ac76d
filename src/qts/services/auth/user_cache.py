"""The users behind access tokens, cached so an authenticated read does not query the database.

An entry is the user as read from the database for one token version. It answers only while

- the token's version is the entry's (a password, role or active change bumps the version),
- no user was changed through this process since the entry was read (`user_changes`), so a
  demotion, deactivation or deletion made through this server applies to the very next request,
- it is younger than `ttl` seconds: a change made by another process (a second server on the
  same database, a direct SQL edit) applies within `ttl`.

Decoded claims are cached by token string too (signature checked once); expiry is checked on
every use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from qts.core.errors import AuthenticationError
from qts.services.auth.schemas import UserRecord
from qts.services.auth.security import TokenClaims

_changes = 0
_changes_lock = threading.Lock()


def user_changes() -> int:
    """How many user changes this process has committed (read before reading a user)."""
    return _changes


def note_user_change() -> None:
    """Call after committing a change to a user: every cached user stops answering."""
    global _changes
    with _changes_lock:
        _changes += 1


class UserCache:
    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self.wall_clock = wall_clock
        self._claims: dict[str, TokenClaims] = {}
        # username -> (token version, user, read at (clock), user_changes() before the read)
        self._users: dict[str, tuple[int, UserRecord, float, int]] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def claims(self, token: str) -> TokenClaims | None:
        """The cached claims of a token checked before; raises once it has expired."""
        claims = self._claims.get(token)
        if claims is not None and claims.expires_at.timestamp() <= self.wall_clock():
            self._claims.pop(token, None)
            raise AuthenticationError("token expired")
        return claims

    def user(self, claims: TokenClaims) -> UserRecord | None:
        entry = self._users.get(claims.subject)
        if entry is None:
            return None
        version, user, read_at, changes = entry
        if version != claims.version or changes != _changes or self.clock() - read_at >= self.ttl:
            return None
        return user

    def put(self, token: str, claims: TokenClaims, user: UserRecord, changes: int) -> None:
        """Remember `user`, read from the database after `user_changes()` returned `changes`."""
        if not self.enabled:
            return
        if len(self._claims) >= self.max_entries:
            self._claims.clear()  # rare (many live tokens): start over rather than track age
        if len(self._users) >= self.max_entries:
            self._users.clear()
        self._claims[token] = claims
        self._users[claims.subject] = (claims.version, user, self.clock(), changes)
