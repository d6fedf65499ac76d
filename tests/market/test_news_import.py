"""News import: symbols mapped from Korean and English headlines (tickers, the symbols table's
names, aliases), a provider's own score mapped to [-1, 1], Atom feeds, and a bad file that
stores nothing, through the service and `qts data news import`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qts.cli.main import app
from qts.core.errors import ValidationError
from qts.db import Database
from qts.db.repositories.market import MarketRepository
from qts.db.repositories.news import NewsRepository
from qts.market.news import ProviderScore, language_of, parse_rss
from qts.market.news_symbols import SymbolMatcher, company_name
from qts.services.data import news as news_service


@pytest.mark.parametrize(
    ("headline", "symbols"),
    [
        ("삼성전자, 3분기 영업이익 10조 돌파", ["005930"]),
        ("SK하이닉스가 HBM 공급을 늘린다", ["000660"]),  # a particle after the name
        ("삼성전자우 배당 확대", ["005935"]),  # the longer name wins
        ("카카오(035720) 주가 급등", ["035720"]),
        ("현대차 005380.KS 신고가", ["005380"]),
        ("Apple beats estimates; $MSFT slips", ["MSFT", "AAPL"]),
        ("Samsung Electronics and SK hynix lead chip rally", ["005930", "000660"]),
        ("Applebee's opens 20 restaurants", []),  # a name inside another word is not a match
        ("Oil prices steady", []),
    ],
)
def test_symbols_from_korean_and_english_headlines(headline: str, symbols: list[str]) -> None:
    assert SymbolMatcher().symbols_in(headline) == symbols


def test_symbols_table_names_and_ambiguity() -> None:
    matcher = SymbolMatcher({"Visa Inc. Class A": "V", "(주)에코프로비엠": "247540",
                             "Acme Corp.": "ACM1", "ACME Corporation": "ACM2"})  # fmt: skip
    assert matcher.symbols_in("Visa and 에코프로비엠 rally") == ["V", "247540"]
    assert matcher.symbols_in("Acme recalls products") == []  # two symbols claim "Acme"
    assert company_name("Samsung Electronics Co., Ltd.") == "Samsung Electronics"
    assert language_of("SK하이닉스 급등") == "ko" and language_of("Apple") == "en"
    assert language_of("123 456") == ""


def test_provider_score_maps_its_range_onto_minus_one_to_one() -> None:
    score = ProviderScore.parse("sentiment_gpt", "1:5")
    assert [score.scale(v) for v in (1, 3, 4, 5)] == [-1.0, 0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="outside 1:5"):
        score.scale(6)
    for bad in ("5:1", "1-5", "a:b"):
        with pytest.raises(ValidationError):
            ProviderScore.parse("s", bad)


def test_atom_feed_and_undated_items() -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Desk</title>'
        '<entry><title>Nvidia soars</title><link rel="alternate" href="https://d.example/1"/>'
        "<published>2024-10-08T15:00:00Z</published><category term='NVDA'/></entry></feed>"
    )
    (item,) = parse_rss(atom)
    assert (item["symbols"], item["url"], item["source"]) == (
        ",NVDA,",
        "https://d.example/1",
        "Desk",
    )
    rss = (
        "<rss><channel><item><title>No date</title><link>https://x/1</link></item></channel></rss>"
    )

    one = parse_rss(rss, fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
    two = parse_rss(rss, fetched_at=datetime(2024, 1, 2, tzinfo=UTC))
    assert one[0]["content_hash"] == two[0]["content_hash"]  # the same item on every poll
    assert one[0]["known_at"].isoformat() == "2024-01-01T00:00:00+00:00"
    with pytest.raises(ValidationError, match="not an RSS or Atom feed"):
        parse_rss("<html><body/></html>")
    with pytest.raises(ValidationError, match="not valid XML"):
        parse_rss("<rss><channel>")


def test_import_maps_names_from_the_symbols_table_and_scores(
    sqlite_db: Database, tmp_path: Path
) -> None:
    with sqlite_db.session() as s:
        MarketRepository(s).upsert_symbol("XKRX", "247540", name="에코프로비엠")
    path = tmp_path / "n.json"
    path.write_text(
        '{"items": [{"published": "2024-05-02T09:00:00+09:00", "title": "에코프로비엠 수주"},'
        '{"published": "2024-05-02T10:00:00-04:00", "title": "Great quarter for Apple",'
        ' "tickers": "AAPL,MSFT"}]}',
        encoding="utf-8",
    )
    out = news_service.import_news(sqlite_db, path, korean_model="")
    assert (out["inserted"], out["mapped"], out["without_symbols"]) == (2, 1, 0)
    with sqlite_db.session() as s:
        (eco,) = NewsRepository(s).read_news("247540")
        (apple,) = NewsRepository(s).read_news("MSFT")
    assert eco["language"] == "ko" and eco["sentiment"] is None
    assert apple["symbols"] == ["AAPL", "MSFT"] and apple["sentiment"] > 0.5  # named: kept


def test_a_bad_file_stores_nothing(sqlite_db: Database, tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(
        "date,ticker,news_flag,sentiment_gpt\n2024-01-02,KO,1,4\n2024-01-03,KO,0,3\n"
        "2024-01-04,KO,1,9\n"
    )
    with pytest.raises(ValidationError, match="1 news row"):
        news_service.import_news(sqlite_db, scores, score_column="sentiment_gpt", score_range="1:5")
    with pytest.raises(ValidationError, match="--score-range needs --score-column"):
        news_service.import_news(sqlite_db, scores, score_range="1:5")
    with sqlite_db.session() as s:
        assert NewsRepository(s).read_news() == []
    scores.write_text(scores.read_text().replace(",9\n", ",2\n"))
    out = news_service.import_news(
        sqlite_db, scores, score_column="sentiment_gpt", score_range="1:5"
    )
    assert out["inserted"] == 2 and out["scored"] == {"provider:sentiment_gpt": 2}
    with sqlite_db.session() as s:
        stored = NewsRepository(s).read_news("KO")
    assert [n["sentiment"] for n in stored] == [0.5, -0.5]  # the news_flag 0 row is no news


def test_cli_import_reports_and_refuses_bad_files(
    fresh_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QTS_KR_SENTIMENT_MODEL", raising=False)
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,headline\n2024-01-02,ok\nnot a date,broken\n")
    r = runner.invoke(app, ["data", "news", "import", str(bad)])
    assert r.exit_code == 2 and "nothing loaded" in r.output and "row 2" in r.output
    r = runner.invoke(app, ["data", "news", "import", str(tmp_path / "missing.csv")])
    assert r.exit_code == 2 and "no news file" in r.output
    good = Path(__file__).resolve().parents[1] / "data" / "news" / "headlines.csv"
    r = runner.invoke(app, ["data", "news", "import", str(good)])
    assert r.exit_code == 0, r.output
    assert "imported 4 items: 4 new" in r.output and "4 mapped" in r.output
    assert "QTS_KR_SENTIMENT_MODEL" in r.output  # the Korean model is missing: said once
    r = runner.invoke(app, ["data", "news", "list", "--symbol", "TSLA", "--json"])
    assert r.exit_code == 0 and '"sentiment_model": "vader"' in r.output


def test_cli_fetch_polls_a_feed_and_a_second_poll_adds_nothing(fresh_data_dir: Path) -> None:
    from tests.market.fake_news_feed import FakeNewsFeeds

    feeds = FakeNewsFeeds().start()
    try:
        runner = CliRunner()
        url = f"{feeds.base_url}/atom"
        r = runner.invoke(app, ["data", "news", "fetch", "--url", url])
        assert r.exit_code == 0 and "1 items, 1 new" in r.output, r.output
        r = runner.invoke(app, ["data", "news", "fetch", "--url", url, "--json"])
        assert r.exit_code == 0 and '"inserted": 0' in r.output and '"skipped": 1' in r.output
        r = runner.invoke(app, ["data", "news", "fetch", "--url", f"{feeds.base_url}/nope"])
        assert r.exit_code == 3 and "HTTP 404" in r.output
    finally:
        feeds.stop()
