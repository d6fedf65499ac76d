"""Password hashing (argon2) and JWT access/refresh tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qts.core.errors import AuthenticationError
from qts.services.auth.schemas import TokenPair

ALGORITHM = "HS256"
ROLES = ("admin", "trader", "viewer")
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not reveal valid
    usernames. Made on first use: hashing is slow by design and start-up should not wait."""
    return _hasher.hash("qts-dummy-password")


TokenKind = Literal["access", "refresh"]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    role: str
    kind: TokenKind
    token_id: str
    expires_at: datetime
    version: int = 0  # the user's token version when issued
    family: str = ""  # refresh tokens: the login they descend from


def new_token_id() -> str:
    return uuid.uuid4().hex


class TokenService:
    def __init__(self, secret: str, access_minutes: int, refresh_days: int) -> None:
        self._secret = secret
        self.access_ttl = timedelta(minutes=access_minutes)
        self.refresh_ttl = timedelta(days=refresh_days)

    def issue(
        self,
        username: str,
        role: str,
        kind: TokenKind,
        version: int = 0,
        family: str = "",
        jti: str | None = None,
    ) -> str:
        now = datetime.now(UTC)
        ttl = self.access_ttl if kind == "access" else self.refresh_ttl
        payload: dict[str, Any] = {
            "sub": username,
            "role": role,
            "typ": kind,
            "jti": jti or new_token_id(),
            "ver": version,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        if family:
            payload["fam"] = family
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def pair(
        self, username: str, role: str, version: int = 0, family: str = "", refresh_jti: str = ""
    ) -> TokenPair:
        return TokenPair(
            access_token=self.issue(username, role, "access", version),
            refresh_token=self.issue(
                username, role, "refresh", version, family, refresh_jti or None
            ),
            expires_in=int(self.access_ttl.total_seconds()),
        )

    def decode(self, token: str, expected: TokenKind) -> TokenClaims:
        try:
            data = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError as e:
            raise AuthenticationError("token expired") from e
        except jwt.PyJWTError as e:
            raise AuthenticationError("invalid token") from e
        if data.get("typ") != expected:
            raise AuthenticationError(f"expected an {expected} token")
        if data.get("role") not in ROLES:
            raise AuthenticationError("invalid token")
        return TokenClaims(
            subject=str(data["sub"]),
            role=str(data["role"]),
            kind=expected,
            token_id=str(data.get("jti", "")),
            expires_at=datetime.fromtimestamp(int(data["exp"]), UTC),
            version=int(data.get("ver", 0)),
            family=str(data.get("fam", "")),
        )
