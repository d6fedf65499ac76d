from __future__ import annotations

from fastapi import APIRouter, status

from qts.api.deps import Admin, Ctx
from qts.api.schemas import DbId
from qts.services.auth import users as svc
from qts.services.auth.schemas import NewUser, UserChanges, UserRecord

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserRecord])
def list_users(ctx: Ctx, _admin: Admin) -> list[UserRecord]:
    return svc.list_users(ctx.db)


@router.post("", response_model=UserRecord, status_code=status.HTTP_201_CREATED)
def create_user(ctx: Ctx, admin: Admin, body: NewUser) -> UserRecord:
    return svc.create_user(ctx.db, body, actor=admin.username)


@router.patch("/{user_id}", response_model=UserRecord)
def update_user(ctx: Ctx, admin: Admin, user_id: DbId, body: UserChanges) -> UserRecord:
    return svc.update_user(ctx.db, user_id, body, admin.username)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(ctx: Ctx, admin: Admin, user_id: DbId) -> None:
    svc.delete_user(ctx.db, user_id, admin.username)
