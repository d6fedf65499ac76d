"""The `news` job polls the configured RSS/Atom feeds (a local fake server, loopback): items are
stored once with `known_at` = the first poll, mapped to symbols and scored; a second poll adds
nothing; no feeds configured: the job does nothing; a failing feed fails the run by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qts.config import Settings
from qts.db.migrate import upgrade
from qts.db.repositories.news import NewsRepository
from qts.services.context import AppContext
from qts.services.ops.jobs import run_job
from qts.workers.schedule import WorkerSettings, load_schedule
from tests.market.fake_news_feed import FakeNewsFeeds

TARGET = "qts.services.data.news.collect_news"


@pytest.fixture
def feeds() -> Iterator[FakeNewsFeeds]:
    server = FakeNewsFeeds().start()
    yield server
    server.stop()


def _ctx(tmp_path: Path, news_feeds: list[str]) -> AppContext:
    settings = Settings(
        _env_file=None, data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'qts.db'}",
        redis_url=None, news_feeds=news_feeds, kr_sentiment_model=None,
    )  # fmt: skip
    upgrade(settings.effective_database_url)
    return AppContext.from_settings(settings)


def test_news_job_polls_feeds_once_and_dedups(feeds: FakeNewsFeeds, tmp_path: Path) -> None:
    job = load_schedule(WorkerSettings(_env_file=None)).get("news")
    assert job.target == TARGET and job.queue == "market"
    ctx = _ctx(tmp_path, [f"{feeds.base_url}/rss", f"{feeds.base_url}/atom"])
    try:
        first = run_job(ctx, "news", TARGET)
        assert first.outcome == "success", first.error
        assert first.result["inserted"] == 4 and first.result["errors"] == {}
        rss = first.result["feeds"][f"{feeds.base_url}/rss"]
        assert rss["scored"] == {"vader": 2} and rss["unscored"] == 1  # no Korean model here
        assert "QTS_KR_SENTIMENT_MODEL" in rss["notes"][0]
        with ctx.db.session() as s:
            stored = {n["headline"]: n for n in NewsRepository(s).read_news()}
        samsung = stored["삼성전자, 3분기 영업이익 급증"]
        assert samsung["symbols"] == ["005930"] and samsung["sentiment"] is None
        assert samsung["published_at"] == "2024-10-07T23:00:00+00:00"
        tesla = stored["Fraud probe widens at $TSLA, shares crash"]  # no pubDate: the poll's
        assert tesla["symbols"] == ["TSLA"] and tesla["sentiment"] < -0.3
        assert tesla["published_at"] == tesla["known_at"] > "2025"  # known from the poll
        msft = stored["Microsoft beats estimates as cloud sales soar"]
        assert msft["symbols"] == ["MSFT"] and msft["source"] == "Atom Desk"
        assert stored["Apple shares surge after record profit"]["symbols"] == ["AAPL"]

        second = run_job(ctx, "news", TARGET)
        assert second.outcome == "success" and second.result["inserted"] == 0
        assert sum(f["skipped"] for f in second.result["feeds"].values()) == 4
        with ctx.db.session() as s:
            again = {n["headline"]: n for n in NewsRepository(s).read_news()}
        assert again == stored  # first-seen known_at kept, nothing duplicated
        assert feeds.requests.count("/rss") == 2
    finally:
        ctx.close()


def test_news_job_is_idle_without_feeds_and_names_a_failing_feed(
    feeds: FakeNewsFeeds, tmp_path: Path
) -> None:
    idle_ctx = _ctx(tmp_path / "idle", [])
    try:
        idle = run_job(idle_ctx, "news", TARGET)
        assert idle.outcome == "success" and idle.result["feeds"] == 0
        assert feeds.requests == []
    finally:
        idle_ctx.close()
    feeds.bodies["/rss"] = (500, "text/plain", "down")
    feeds.bodies["/atom"] = (200, "text/html", "<html><body>not a feed</body></html>")
    ctx = _ctx(tmp_path / "bad", [f"{feeds.base_url}/rss", f"{feeds.base_url}/atom"])
    try:
        failed = run_job(ctx, "news", TARGET)
        assert failed.outcome == "failed"
        assert "HTTP 500" in failed.error and "not an RSS or Atom feed" in failed.error
        with ctx.db.session() as s:
            assert NewsRepository(s).read_news() == []
    finally:
        ctx.close()
