from __future__ import annotations

from typing import Any

from fastapi import APIRouter

import qts
from qts.api.deps import Ctx, CurrentUser
from qts.services.health import component_status

router = APIRouter(prefix="/system", tags=["system"])


@router.get("/version")
def version(_user: CurrentUser) -> dict[str, Any]:
    return {"version": qts.__version__}


@router.get("")
@router.get("/status")
def status(ctx: Ctx, _user: CurrentUser) -> dict[str, Any]:
    """Version, mode and the state of each component. Never returns a secret."""
    return {
        "version": qts.__version__,
        **ctx.settings.public_summary(),
        "components": component_status(ctx),
    }
