"""What the server serves besides the API: offline /docs and /redoc, and the dashboard bundle.

The docs pages load Swagger UI and ReDoc from the `fastapi-offline` package's copies, served
here under /docs-assets, and no web fonts, so they work on a machine without internet.

The dashboard is a single-page app built into a folder (`index.html` and hashed files under
`assets/`). Any GET that no route answers gets `index.html` (client-side routing), except
`/api/...`, which stays a JSON 404, and a missing `/assets/...` file, which is a plain 404 so a
stale page never runs HTML as JavaScript. Hashed assets are cached for a year; `index.html` is
revalidated on every load so a new release is picked up at once.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

import qts
from qts.api.errors import error_response

PACKAGE_STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
DOCS_ASSETS_URL = "/docs-assets"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# Paths the app answers itself; the SPA fallback never shadows them.
RESERVED_PREFIXES = ("api", "ws", "docs", "redoc", "openapi.json", "metrics", "health", "ready")


def docs_assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def mount_offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI), its OAuth2 redirect page and /redoc, from local files only."""
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


def has_bundle(static_dir: Path) -> bool:
    return (static_dir / "index.html").is_file()


def mount_dashboard(app: FastAPI, static_dir: Path) -> None:
    """The built dashboard at / with the SPA fallback; without a bundle, / says where the docs
    are. Call after every other route: the catch-all must come last."""
    if not has_bundle(static_dir):

        @app.get("/", include_in_schema=False)
        def root() -> dict[str, Any]:
            return {
                "name": "qts",
                "version": qts.__version__,
                "docs": "/docs",
                "health": "/health",
                "dashboard": None,
            }

        return
    base = static_dir.resolve()

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def dashboard(path: str) -> Response:
        first = path.split("/", 1)[0]
        if first in RESERVED_PREFIXES:
            return error_response(404, "not_found", f"no route for /{path}")
        file = _file_in(base, path)
        if file is not None and file.name != "index.html":
            cache = IMMUTABLE if first == "assets" else NO_CACHE
            return FileResponse(file, headers={"Cache-Control": cache})
        if first == "assets":
            return error_response(404, "not_found", f"no file /{path}")
        return FileResponse(base / "index.html", headers={"Cache-Control": NO_CACHE})


def _file_in(base: Path, path: str) -> Path | None:
    """The regular file `path` names inside `base`, never one outside it (no `..` escape)."""
    if not path:
        return None
    candidate = (base / path).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate
