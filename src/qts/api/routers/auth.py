from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from qts.api.deps import Auth, CurrentUser
from qts.api.schemas import RefreshRequest
from qts.services.auth.schemas import TokenPair, UserRecord

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenPair)
def login(
    auth: Auth, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenPair:
    """OAuth2 password flow: form fields `username` and `password`."""
    client = request.client.host if request.client else ""
    return auth.login(form.username, form.password, client)


@router.post("/refresh", response_model=TokenPair)
def refresh(auth: Auth, body: RefreshRequest) -> TokenPair:
    return auth.refresh(body.refresh_token)


@router.get("/me", response_model=UserRecord)
def me(user: CurrentUser) -> UserRecord:
    return user
