"""News: import files, poll RSS/Atom feeds (the `news` job), read pages for the API.

Every item is mapped to symbols when its source names none (ticker mentions, the symbols
table's company names, a small Korean/English alias list), scored once by its language (VADER
for English, the local Korean model for Korean, or the provider's own score), and stored once:
an item seen before keeps its first `known_at`. A bad file or feed stores nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qts.config import get_settings
from qts.core.errors import QtsError, ValidationError
from qts.db import Database
from qts.db.repositories.news import NewsRepository
from qts.services.context import AppContext
from qts.services.data.market_data import resolve_database

log = logging.getLogger(__name__)
_said: set[str] = set()  # notes the news job has logged in this process (each said once)


def _korean_model(korean_model: str | Path | None) -> str | Path | None:
    return korean_model if korean_model is not None else get_settings().kr_sentiment_model


def store_items(
    db: Database, items: list[dict[str, Any]], korean_model: str | Path | None = None
) -> dict[str, Any]:
    """Map symbols, score the new items, insert them; returns counts and notes."""
    from qts.market.news_symbols import SymbolMatcher, map_symbols
    from qts.ml.features.news_scores import score_news_items

    with db.session() as s:
        repo = NewsRepository(s)
        known = repo.known_hashes([i["content_hash"] for i in items])
        fresh = [i for i in items if i["content_hash"] not in known]
        mapped = map_symbols(fresh, SymbolMatcher(repo.symbol_names())) if fresh else 0
    scores = score_news_items(fresh, _korean_model(korean_model))
    with db.session() as s:
        counts = NewsRepository(s).insert_news(items)
    by_model: dict[str, int] = {}
    for item in fresh:
        if item["sentiment"] is not None:
            by_model[item["sentiment_model"]] = by_model.get(item["sentiment_model"], 0) + 1
    return {
        **counts,
        "mapped": mapped,
        "without_symbols": sum(1 for i in fresh if not i["symbols"]),
        "scored": by_model,
        "unscored": scores["unscored"],
        "notes": scores["notes"],
    }


def rescore_news(
    db: Database | None, korean_model: str | Path | None = None, batch: int = 500
) -> dict[str, Any]:
    """Score the stored items that have none (Korean items imported before a Korean model was
    installed); their `known_at` is unchanged, so features see them as before, now scored."""
    from qts.ml.features.news_scores import score_news_items

    database = resolve_database(db)
    scored: dict[str, int] = {}
    unscored, after = 0, 0
    notes: list[str] = []
    while True:
        with database.session() as s:
            items = NewsRepository(s).unscored(after, batch)
        if not items:
            break
        result = score_news_items(items, _korean_model(korean_model))
        with database.session() as s:
            NewsRepository(s).set_scores(items)
        for model, n in result["scored"].items():
            scored[model] = scored.get(model, 0) + n
        unscored += result["unscored"]
        notes.extend(n for n in result["notes"] if n not in notes)
        after = items[-1]["id"]
    return {"scored": scored, "unscored": unscored, "notes": notes}


def import_news(
    db: Database | None,
    path: str | Path,
    *,
    symbols: list[str] | None = None,
    tz: str = "US/Eastern",
    source: str = "",
    score_column: str | None = None,
    score_range: str | None = None,
    flag_column: str | None = "news_flag",
    korean_model: str | Path | None = None,
) -> dict[str, Any]:
    """Import a CSV, JSON or RSS/Atom file; all rows or none (the parser's rule)."""
    from qts.market.news import ProviderScore, parse_news_file

    score = ProviderScore.parse(score_column, score_range) if score_column else None
    if score_range and not score_column:
        raise ValidationError("--score-range needs --score-column")
    options: dict[str, Any] = {"symbols": symbols, "tz": tz, "source": source}
    if Path(path).suffix.lower() not in (".xml", ".rss", ".atom"):
        options.update(score=score, flag_column=flag_column)
    elif score is not None:
        raise ValidationError("a provider score column applies to CSV and JSON files only")
    try:
        items = parse_news_file(path, **options)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"{path}: not a readable news file: {exc}") from exc
    return {"file": str(path), "items": len(items), **store_items(
        resolve_database(db), items, korean_model
    )}  # fmt: skip


def fetch_news(
    db: Database | None,
    urls: list[str],
    *,
    symbols: list[str] | None = None,
    timeout: float = 15.0,
    korean_model: str | Path | None = None,
    transport: Any = None,
) -> dict[str, Any]:
    """Poll each feed once; items are known from this fetch. One feed's failure does not stop
    the others; it is reported under `errors` (its items are not stored)."""
    from qts.market.news_feeds import fetch_feed

    if not urls:
        raise ValidationError("no feed URL given (pass --url or set QTS_NEWS_FEEDS)")
    database = resolve_database(db)
    feeds: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for url in urls:
        try:
            items = fetch_feed(
                url,
                timeout=timeout,
                fetched_at=datetime.now(UTC),
                symbols=symbols,
                transport=transport,
            )
        except QtsError as exc:
            errors[url] = exc.message
            continue
        feeds[url] = {"items": len(items), **store_items(database, items, korean_model)}
    return {"feeds": feeds, "errors": errors}


def collect_news(ctx: AppContext) -> dict[str, Any]:
    """The `news` job: poll the configured feeds (`QTS_NEWS_FEEDS`); nothing when none are set.
    The run fails (and is retried) when every feed failed."""
    urls = list(ctx.settings.news_feeds)
    if not urls:
        return {"feeds": 0, "note": "no feeds configured (QTS_NEWS_FEEDS)"}
    result = fetch_news(ctx.db, urls, korean_model=ctx.settings.kr_sentiment_model)
    if result["errors"] and not result["feeds"]:
        raise RuntimeError("; ".join(f"{u}: {m}" for u, m in result["errors"].items()))
    for url, message in result["errors"].items():
        log.warning("news job: feed %s failed: %s", url, message)
    for feed in result["feeds"].values():
        for note in feed["notes"]:
            key = note.split(": ", 1)[-1]
            if key not in _said:
                _said.add(key)
                log.warning("news job: %s", note)
    inserted = sum(f["inserted"] for f in result["feeds"].values())
    return {"feeds": len(urls), "inserted": inserted, **result}


def page_news(
    db: Database | None,
    symbol: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Newest first, with `next_offset` for the next page (None on the last one)."""
    with resolve_database(db).session() as s:
        rows = NewsRepository(s).page_news(symbol, start, end, limit=limit, offset=offset)
    more = len(rows) > limit
    return {
        "items": rows[:limit],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }
