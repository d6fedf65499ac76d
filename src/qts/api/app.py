"""FastAPI app factory: REST under /api/v1, /ws, health checks and the built dashboard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

import qts
from qts.adapters.login_throttle import LoginThrottle
from qts.api.access_log import install_redaction
from qts.api.body_limit import BodyLimitMiddleware
from qts.api.errors import error_response, install_error_handlers
from qts.api.metrics_middleware import mount_metrics
from qts.api.routers import auth, market, ml, orders, research, strategies, system, trading, users
from qts.api.ws import router as ws_router
from qts.config import Settings, get_settings
from qts.services.auth.security import TokenService
from qts.services.auth.users import AuthService
from qts.services.context import AppContext
from qts.services.ops.health import readiness
from qts.services.trading.sessions import TradingService

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(settings: Settings | None = None, ctx: AppContext | None = None) -> FastAPI:
    settings = settings or (ctx.settings if ctx else get_settings())
    settings.check_production()
    ctx = ctx or AppContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ctx.bus.start()
        for hook in app.state.startup_hooks:
            await hook(app)
        from qts.workers.embedded import start_embedded_runner

        job_runner = start_embedded_runner(ctx)  # embedded mode only; Celery beat otherwise
        if settings.resume_strategies:
            app.state.trading.resume_running()
        try:
            yield
        finally:
            if job_runner is not None:
                job_runner.stop()
            app.state.trading.shutdown()
            for hook in reversed(app.state.shutdown_hooks):
                await hook(app)
            await ctx.bus.stop()

    app = FastAPI(
        title="qts",
        version=qts.__version__,
        description="Quant trading system API. Authenticate at /api/v1/auth/login.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    app.state.auth = _auth_service(settings, ctx)
    app.state.trading = TradingService(ctx)

    install_error_handlers(app)
    install_redaction()
    mount_metrics(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": qts.__version__}

    @app.get("/ready", tags=["health"])
    def ready() -> JSONResponse:
        checks = readiness(ctx)
        ok = all(c["ok"] for c in checks.values())
        if not ok:
            return error_response(503, "not_ready", "a component is unavailable", checks)
        return JSONResponse({"status": "ready", "checks": checks})

    api = APIRouter(prefix="/api/v1")
    for module in (auth, users, strategies, orders, trading, market, research, ml, system):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(ws_router)
    _mount_dashboard(app)
    return app


def _auth_service(settings: Settings, ctx: AppContext) -> AuthService:
    tokens = TokenService(
        settings.jwt_secret_value(), settings.access_token_minutes, settings.refresh_token_days
    )
    throttle = LoginThrottle(
        settings.login_max_failures,
        settings.login_lockout_seconds,
        ctx.redis(),
        user_max_failures=settings.login_user_max_failures,
    )
    return AuthService(
        ctx.db,
        tokens,
        throttle,
        settings.refresh_reuse_grace_seconds,
        user_cache_seconds=settings.user_cache_seconds,
    )


def _mount_dashboard(app: FastAPI) -> None:
    index = STATIC_DIR / "index.html"
    if index.is_file():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
        return

    @app.get("/", include_in_schema=False)
    def root() -> dict[str, Any]:
        return {"name": "qts", "version": qts.__version__, "docs": "/docs", "health": "/health"}
