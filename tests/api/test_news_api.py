"""GET /api/v1/market/news: stored news newest first with sentiment, language, symbols and
known_at; filtered by symbol and publication time, paged by offset; any signed-in role reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from qts.config import Settings
from qts.db import Database
from qts.services.data import news as news_service

NEWS_CSV = (
    "published_at,headline,symbols\n"
    '2024-03-04T09:00:00+09:00,"삼성전자, 3분기 영업이익 급증",\n'
    "2024-03-05T10:00:00-05:00,Apple shares surge after record profit,\n"
    '2024-03-06T10:00:00-05:00,"Apple hit by fraud lawsuit, shares crash",AAPL\n'
    "2024-03-07,$MSFT and Apple rally,\n"
)


def _seed(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text(NEWS_CSV, encoding="utf-8")
    db = Database(settings.effective_database_url)
    try:
        assert news_service.import_news(db, path, korean_model="")["inserted"] == 4
    finally:
        db.dispose()


def test_news_pages_newest_first_with_sentiment(
    client: TestClient,
    settings: Settings,
    auth_headers: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    _seed(settings, tmp_path)
    h = auth_headers("viewer")
    r = client.get("/api/v1/market/news?symbol=AAPL&limit=2", headers=h)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["next_offset"] == 2 and page["limit"] == 2 and page["offset"] == 0
    first, second = page["items"]
    assert first["headline"] == "$MSFT and Apple rally" and first["symbols"] == ["MSFT", "AAPL"]
    # A date-only item is known from the end of its day in New York.
    assert first["known_at"] == "2024-03-08T05:00:00+00:00"
    assert second["symbols"] == ["AAPL"] and second["sentiment"] < -0.3
    assert second["sentiment_model"] == "vader" and second["language"] == "en"
    last = client.get("/api/v1/market/news?symbol=AAPL&limit=2&offset=2", headers=h).json()
    assert [i["headline"] for i in last["items"]] == ["Apple shares surge after record profit"]
    assert last["next_offset"] is None and last["items"][0]["sentiment"] > 0.3

    korean = client.get("/api/v1/market/news?symbol=005930", headers=h).json()["items"]
    assert len(korean) == 1 and korean[0]["language"] == "ko"
    assert korean[0]["sentiment"] is None and korean[0]["sentiment_model"] == ""

    window = client.get(
        "/api/v1/market/news",
        params={"start": "2024-03-05T00:00:00Z", "end": "2024-03-06T23:59:59Z"},
        headers=h,
    ).json()["items"]
    assert [i["published_at"][:10] for i in window] == ["2024-03-06", "2024-03-05"]


def test_news_needs_a_signed_in_user_and_valid_paging(
    client: TestClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    assert client.get("/api/v1/market/news").status_code == 401
    h = auth_headers("viewer")
    assert client.get("/api/v1/market/news?limit=0", headers=h).status_code == 422
    assert client.get("/api/v1/market/news?offset=-1", headers=h).status_code == 422
    empty = client.get("/api/v1/market/news", headers=h).json()
    assert empty == {"items": [], "limit": 100, "offset": 0, "next_offset": None}
