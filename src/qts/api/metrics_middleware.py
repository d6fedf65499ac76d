"""Request latency by route template, and `GET /metrics` for Prometheus.

The lead's app factory calls `mount_metrics(app)` once, before the app starts.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qts.observability import metrics

UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The matched route's path template; a fixed label for anything unmatched (404 scans)."""
    route = scope.get("route")
    path = getattr(route, "path", None) if route is not None else None
    return str(path) if path else UNMATCHED


class MetricsMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer streaming responses)."""

    def __init__(self, app: ASGIApp, exclude: tuple[str, ...] = ("/metrics",)) -> None:
        self.app = app
        self.exclude = exclude

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exclude:
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            metrics.observe_request(
                scope.get("method", "GET"),
                route_template(scope),
                status,
                time.perf_counter() - start,
            )


def mount_metrics(app: FastAPI, path: str = "/metrics") -> None:
    """Add the latency middleware and the Prometheus scrape endpoint to `app`."""
    app.add_middleware(MetricsMiddleware, exclude=(path,))

    async def prometheus_metrics() -> Any:
        body, content_type = metrics.render()
        return Response(content=body, media_type=content_type)

    app.add_api_route(path, prometheus_metrics, methods=["GET"], include_in_schema=False)
