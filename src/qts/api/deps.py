"""Request dependencies: the app context, the current user and role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from qts.core.errors import AuthenticationError, PermissionDeniedError
from qts.services.auth.schemas import UserRecord
from qts.services.auth.users import AuthService
from qts.services.context import AppContext

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)
ROLE_RANK = {"viewer": 0, "trader": 1, "admin": 2}


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def get_auth(request: Request) -> AuthService:
    return request.app.state.auth  # type: ignore[no-any-return]


Ctx = Annotated[AppContext, Depends(get_ctx)]
Auth = Annotated[AuthService, Depends(get_auth)]


def current_user(auth: Auth, token: Annotated[str | None, Depends(oauth2_scheme)]) -> UserRecord:
    if not token:
        raise AuthenticationError("not authenticated")
    return auth.current_user(token)


CurrentUser = Annotated[UserRecord, Depends(current_user)]


def require_role(minimum: str) -> Callable[..., UserRecord]:
    def check(user: CurrentUser) -> UserRecord:
        if ROLE_RANK[user.role] < ROLE_RANK[minimum]:
            raise PermissionDeniedError(f"this action needs the {minimum} role")
        return user

    return check


Trader = Annotated[UserRecord, Depends(require_role("trader"))]
Admin = Annotated[UserRecord, Depends(require_role("admin"))]
