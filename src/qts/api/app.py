"""FastAPI app factory: REST under /api/v1, /ws, health checks and the built dashboard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

import qts
from qts.adapters.login_throttle import LoginThrottle
from qts.api.access_log import install_redaction
from qts.api.body_limit import BodyLimitMiddleware
from qts.api.errors import error_response, install_error_handlers
from qts.api.metrics_middleware import mount_metrics
from qts.api.responses.system import HealthOut, ReadyOut
from qts.api.routers import (
    auth,
    dashboard,
    dashboard_ml,
    market,
    ml,
    orders,
    research,
    strategies,
    system,
    trading,
    users,
)
from qts.api.web_assets import PACKAGE_STATIC_DIR, mount_dashboard, mount_offline_docs
from qts.api.ws import router as ws_router
from qts.config import Settings, get_settings
from qts.services.auth.security import TokenService
from qts.services.auth.users import AuthService
from qts.services.context import AppContext
from qts.services.ops.health import readiness
from qts.services.trading.sessions import TradingService

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, ctx: AppContext | None = None) -> FastAPI:
    settings = settings or (ctx.settings if ctx else get_settings())
    settings.check_production()
    ctx = ctx or AppContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ctx.bus.start()
        for hook in app.state.startup_hooks:
            await hook(app)
        from qts.workers.embedded import start_embedded_runner, start_embedded_stream

        job_runner = start_embedded_runner(ctx)  # embedded mode only; Celery beat otherwise
        bar_stream = start_embedded_stream(ctx)  # embedded mode only; `qts stream` otherwise
        if settings.resume_strategies:
            app.state.trading.resume_running()
        try:
            yield
        finally:
            if job_runner is not None:
                job_runner.stop()
            if bar_stream is not None:
                bar_stream.stop()
            app.state.trading.shutdown()
            for hook in reversed(app.state.shutdown_hooks):
                await hook(app)
            await ctx.bus.stop()

    app = FastAPI(
        title="qts",
        version=qts.__version__,
        description="Quant trading system API. Authenticate at /api/v1/auth/login.",
        lifespan=lifespan,
        docs_url=None,  # served from local files by mount_offline_docs
        redoc_url=None,
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

    _add_health_routes(app, ctx)

    api = APIRouter(prefix="/api/v1")
    routers = (auth, users, strategies, orders, trading, market, research, dashboard_ml, ml)
    for module in (*routers, dashboard, system):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(ws_router)
    mount_offline_docs(app)
    mount_dashboard(app, settings.static_dir or PACKAGE_STATIC_DIR)
    return app


def _add_health_routes(app: FastAPI, ctx: AppContext) -> None:
    """/health (the process answers) and /ready (its dependencies answer)."""

    @app.get("/health", tags=["health"], response_model=HealthOut)
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": qts.__version__}

    @app.get(
        "/ready",
        tags=["health"],
        response_model=ReadyOut,
        responses={503: {"description": "a component is unavailable"}},
    )
    def ready() -> JSONResponse:
        checks = readiness(ctx)
        ok = all(c["ok"] for c in checks.values())
        if not ok:
            return error_response(503, "not_ready", "a component is unavailable", checks)
        return JSONResponse({"status": "ready", "checks": checks})


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
