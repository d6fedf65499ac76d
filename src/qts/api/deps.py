"""Request dependencies: the app context, the current user and role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from qts.core.errors import AuthenticationError, PermissionDeniedError
from qts.services.auth.schemas import UserRecord
from qts.services.auth.users import AuthService
from qts.services.context import AppContext

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)
ROLE_RANK = {"viewer": 0, "trader": 1, "admin": 2}


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, a hop that costs more than the work itself on every request.
async def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


async def get_auth(request: Request) -> AuthService:
    return request.app.state.auth  # type: ignore[no-any-return]


Ctx = Annotated[AppContext, Depends(get_ctx)]
Auth = Annotated[AuthService, Depends(get_auth)]


async def current_user(
    auth: Auth, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> UserRecord:
    """The token's user: from the user cache when it vouches for it, else read from the
    database in the thread pool (and cached)."""
    if not token:
        raise AuthenticationError("not authenticated")
    user = auth.cached_user(token)
    if user is None:
        user = await run_in_threadpool(auth.current_user, token)
    return user


CurrentUser = Annotated[UserRecord, Depends(current_user)]


def require_role(minimum: str) -> Callable[..., Any]:
    async def check(user: CurrentUser) -> UserRecord:
        if ROLE_RANK[user.role] < ROLE_RANK[minimum]:
            raise PermissionDeniedError(f"this action needs the {minimum} role")
        return user

    return check


Trader = Annotated[UserRecord, Depends(require_role("trader"))]
Admin = Annotated[UserRecord, Depends(require_role("admin"))]
