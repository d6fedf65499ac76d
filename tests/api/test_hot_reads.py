"""The hot read endpoints (/market/bars, /features/{symbol}) write their JSON directly: the
bodies are what the services return, and the schemas stay declared in OpenAPI."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import login

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


@pytest.fixture(autouse=True)
def fresh_online_store() -> Iterator[None]:
    """The embedded online store is per process: leave none of these vectors to other tests."""
    from qts.services.ml.features import reset_caches

    reset_caches()
    yield
    reset_caches()


def _viewer(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(client, 'viewer')['access_token']}"}


def test_bars_and_features_bodies_equal_the_services(sqlite_client: TestClient) -> None:
    from qts.services.data import market_data
    from qts.services.ml.features import build_features, latest_vector

    db = sqlite_client.app.state.ctx.db  # type: ignore[attr-defined]
    market_data.import_file(db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    h = _viewer(sqlite_client)
    r = sqlite_client.get("/api/v1/market/bars?symbol=005930&limit=370", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == market_data.page_bars("005930", "1d", limit=370, db=db)
    assert r.json()["items"][0]["ts"] == "2023-12-05T00:00:00+00:00"

    build_features(["005930"], "1d", db=db)
    r = sqlite_client.get("/api/v1/features/005930?timeframe=1d", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    served = latest_vector("005930", "1d", db=db)
    assert body == served
    assert len(body["values"]) > 100
    # Undefined values (no fundamentals stored) are null, never NaN, which is not JSON.
    assert any(v is None for v in body["values"].values())
    assert all(v is None or math.isfinite(v) for v in body["values"].values())
    r = sqlite_client.get("/api/v1/features/NOPE?timeframe=1d", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert sqlite_client.get("/api/v1/features/005930").status_code == 401


def test_hot_read_schemas_are_declared_in_openapi(sqlite_client: TestClient) -> None:
    spec = sqlite_client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def ok_schema(path: str) -> dict:  # type: ignore[type-arg]
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        return content["application/json"]["schema"]  # type: ignore[no-any-return]

    assert ok_schema("/api/v1/market/bars") == {"$ref": "#/components/schemas/BarPage"}
    page = schemas["BarPage"]["properties"]
    assert set(page) == {
        "exchange",
        "symbol",
        "timeframe",
        "items",
        "limit",
        "offset",
        "next_after",
    }
    assert set(schemas["BarOut"]["properties"]) == {"ts", "open", "high", "low", "close", "volume"}
    vector_ref = ok_schema("/api/v1/features/{symbol}")
    assert vector_ref == {"$ref": "#/components/schemas/FeatureVectorOut"}
    assert set(schemas["FeatureVectorOut"]["properties"]) == {
        "entity",
        "timeframe",
        "as_of",
        "values",
    }
