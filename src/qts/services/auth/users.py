"""User management and login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from qts.adapters.login_throttle import LoginThrottle
from qts.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
)
from qts.db import Database
from qts.db.models import RefreshTokenFamily, User
from qts.db.repositories.audit import AuditRepository
from qts.db.repositories.users import UserRepository
from qts.services.auth.schemas import NewUser, TokenPair, UserChanges, UserRecord
from qts.services.auth.security import (
    TokenService,
    hash_password,
    new_token_id,
    verify_password,
)
from qts.services.auth.user_cache import UserCache, note_user_change, user_changes


def create_user(db: Database, new: NewUser, actor: str = "cli") -> UserRecord:
    with db.session() as s:
        repo = UserRepository(s)
        if repo.by_username(new.username) is not None:
            raise ConflictError(f"user {new.username!r} already exists")
        user = repo.add(new.username, hash_password(new.password), new.role)
        AuditRepository(s).record(actor, "user.create", new.username, {"role": new.role})
        return UserRecord.from_row(user)


def list_users(db: Database) -> list[UserRecord]:
    with db.session() as s:
        return [UserRecord.from_row(u) for u in UserRepository(s).list()]


def update_user(db: Database, user_id: int, changes: UserChanges, actor: str) -> UserRecord:
    with db.session() as s:
        user = UserRepository(s).get(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} not found")
        audited: dict[str, Any] = {}
        if changes.role is not None and changes.role != user.role:
            user.role = audited["role"] = changes.role
        if changes.is_active is not None and changes.is_active != user.is_active:
            user.is_active = audited["is_active"] = changes.is_active
        if changes.password is not None:
            user.password_hash = hash_password(changes.password)
            audited["password"] = "changed"
        if audited:  # every token issued before the change stops working
            user.token_version += 1
        AuditRepository(s).record(actor, "user.update", user.username, audited)
        record = UserRecord.from_row(user)
    note_user_change()  # after the commit: cached users are read again
    return record


def delete_user(db: Database, user_id: int, actor: str) -> None:
    with db.session() as s:
        repo = UserRepository(s)
        user = repo.get(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} not found")
        if user.username == actor:
            raise ConflictError("you cannot delete yourself")
        repo.delete(user)
        AuditRepository(s).record(actor, "user.delete", user.username)
    note_user_change()


class AuthService:
    def __init__(
        self,
        db: Database,
        tokens: TokenService,
        throttle: LoginThrottle,
        refresh_grace_seconds: int = 10,
        user_cache_seconds: float = 0.0,
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.throttle = throttle
        self.refresh_grace = timedelta(seconds=refresh_grace_seconds)
        self.user_cache = UserCache(user_cache_seconds)

    def login(self, username: str, password: str, client: str = "") -> TokenPair:
        # The attempt is counted before the slow hash, so concurrent guesses cannot overrun it.
        attempt = self.throttle.acquire(username, client)
        with self.db.session() as s:
            user = UserRepository(s).by_username(username)
            ok = verify_password(user.password_hash if user else None, password)
            if not ok or user is None or not user.is_active:
                AuditRepository(s).record(username, "auth.login_failed", client)
                raise AuthenticationError("incorrect username or password")
            self.throttle.succeeded(attempt)
            AuditRepository(s).record(username, "auth.login", client)
            family = RefreshTokenFamily(
                id=new_token_id(),
                user_id=user.id,
                current_jti=new_token_id(),
                expires_at=datetime.now(UTC) + self.tokens.refresh_ttl,
            )
            s.add(family)
            return self._pair(user, family)

    def _pair(self, user: User, family: RefreshTokenFamily) -> TokenPair:
        return self.tokens.pair(
            user.username, user.role, user.token_version, family.id, family.current_jti
        )

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the token used is spent and a new one returned. The token rotated just
        before stays good for the grace period (two tabs refreshing at once); any other reuse
        means the token was copied, and the whole family is revoked."""
        claims = self.tokens.decode(refresh_token, "refresh")
        with self.db.session() as s:
            user = UserRepository(s).by_username(claims.subject)
            if user is None or not user.is_active or claims.version != user.token_version:
                raise AuthenticationError("token revoked")
            family = s.get(RefreshTokenFamily, claims.family, with_for_update=True)
            if family is None or family.revoked or family.user_id != user.id:
                raise AuthenticationError("token revoked")
            now = datetime.now(UTC)
            if claims.token_id == family.current_jti:
                family.previous_jti, family.current_jti = family.current_jti, new_token_id()
                family.rotated_at = now
                return self._pair(user, family)  # the role is read again: demotions apply
            in_grace = (
                family.rotated_at is not None and now - family.rotated_at <= self.refresh_grace
            )
            if claims.token_id == family.previous_jti and in_grace:
                return self._pair(user, family)  # the same current token the other tab got
            family.revoked = True
            AuditRepository(s).record(user.username, "auth.refresh_reuse", family.id)
        raise AuthenticationError("refresh token reused; sign in again")

    def current_user(self, access_token: str) -> UserRecord:
        claims = self.tokens.decode(access_token, "access")
        changes = user_changes()  # before the read: a change committed meanwhile wins
        with self.db.session() as s:
            user = UserRepository(s).by_username(claims.subject)
            if user is None or not user.is_active or claims.version != user.token_version:
                raise AuthenticationError("token revoked")
            record = UserRecord.from_row(user)
        self.user_cache.put(access_token, claims, record, changes)
        return record

    def cached_user(self, access_token: str) -> UserRecord | None:
        """The token's user without a database read when the cache still vouches for it;
        None means "ask `current_user`". Raises for an expired token already seen."""
        if not self.user_cache.enabled:
            return None
        claims = self.user_cache.claims(access_token)
        return self.user_cache.user(claims) if claims is not None else None
