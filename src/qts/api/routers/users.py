from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from qts.api.deps import Admin, Ctx
from qts.api.schemas import UserCreate, UserOut, UserUpdate
from qts.services.auth import users as svc

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(ctx: Ctx, _admin: Admin) -> list[dict[str, Any]]:
    return svc.list_users(ctx.db)


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(ctx: Ctx, admin: Admin, body: UserCreate) -> dict[str, Any]:
    return svc.create_user(ctx.db, body.username, body.password, body.role, actor=admin["username"])


@router.patch("/{user_id}", response_model=UserOut)
def update_user(ctx: Ctx, admin: Admin, user_id: int, body: UserUpdate) -> dict[str, Any]:
    return svc.update_user(
        ctx.db, user_id, admin["username"], body.role, body.is_active, body.password
    )


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(ctx: Ctx, admin: Admin, user_id: int) -> None:
    svc.delete_user(ctx.db, user_id, admin["username"])
