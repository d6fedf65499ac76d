"""Offline /docs and /redoc, and the dashboard bundle at / with its SPA fallback and caching."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from qts.api.app import create_app
from qts.api.server import banner
from qts.db.migrate import upgrade
from tests.api.conftest import make_settings

INDEX = "<!doctype html><html><head><script type=module src=/assets/app-1a2b3c.js></script>"
INDEX += "</head><body><div id=root></div></body></html>"


class AssetLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


def asset_urls(html: str) -> list[str]:
    parser = AssetLinks()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-1a2b3c.js").write_text("console.log('qts')")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the bundle")
    return root


def app_client(tmp_path: Path, **extra: object) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'qts.db'}", **extra)
    upgrade(settings.effective_database_url)
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
    app.state.ctx.close()


@pytest.fixture
def spa(tmp_path: Path, bundle: Path) -> Iterator[TestClient]:
    yield from app_client(tmp_path, static_dir=bundle)


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[TestClient]:
    yield from app_client(tmp_path, static_dir=tmp_path / "no-bundle")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_server_itself(spa: TestClient, page: str) -> None:
    r = spa.get(page)
    assert r.status_code == 200
    urls = asset_urls(r.text)
    assert urls, "the page references its script"
    assert "googleapis" not in r.text and "cdn." not in r.text
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} references {url}"
        assert url.startswith("/"), url
        assert spa.get(url).status_code == 200, url
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts and all(len(spa.get(u).content) > 100_000 for u in scripts)
    assert "/openapi.json" in r.text


def test_swagger_oauth_redirect_page_is_served(spa: TestClient) -> None:
    assert spa.get("/docs/oauth2-redirect").status_code == 200


def test_index_and_spa_routes_get_the_bundle_revalidated(spa: TestClient) -> None:
    for path in ("/", "/strategies", "/orders/12", "/market/005930.KS", "/ml/models/x/v3"):
        r = spa.get(path)
        assert r.status_code == 200, path
        assert r.text == INDEX
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["content-type"].startswith("text/html")
    assert spa.get("/index.html").headers["cache-control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year(spa: TestClient) -> None:
    r = spa.get("/assets/app-1a2b3c.js")
    assert r.status_code == 200 and r.text == "console.log('qts')"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in r.headers["content-type"]
    other = spa.get("/favicon.svg")
    assert other.status_code == 200 and other.headers["cache-control"] == "no-cache"
    missing = spa.get("/assets/app-000000.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_fallback_never_shadows_the_api_or_leaves_the_bundle(spa: TestClient) -> None:
    r = spa.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert spa.get("/api/v2/orders").status_code == 404
    assert spa.get("/api/v1/orders").status_code == 401  # the real route, unauthenticated
    assert spa.get("/health").json()["status"] == "ok"
    assert spa.get("/openapi.json").json()["info"]["title"] == "qts"
    assert spa.get("/metrics").status_code == 200
    assert spa.get("/docs").headers["content-type"].startswith("text/html")
    assert spa.get("/docs/nothing").status_code == 404
    assert spa.post("/strategies").status_code == 405
    for escape in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"):
        assert "outside the bundle" not in spa.get(escape).text


def test_without_a_bundle_root_points_to_the_docs(bare: TestClient, tmp_path: Path) -> None:
    r = bare.get("/")
    assert r.status_code == 200
    assert r.json()["docs"] == "/docs" and r.json()["dashboard"] is None
    assert bare.get("/strategies").status_code == 404
    assert bare.get("/docs").status_code == 200


def test_banner_names_the_dashboard_only_when_a_bundle_is_there(
    tmp_path: Path, bundle: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'qts.db'}"
    with_bundle = banner(make_settings(tmp_path, db, static_dir=bundle), "127.0.0.1", 8000)
    assert with_bundle.startswith("dashboard on http://127.0.0.1:8000/")
    without = banner(make_settings(tmp_path, db, static_dir=tmp_path / "none"), "127.0.0.1", 8000)
    assert "dashboard on" not in without and "/docs" in without
