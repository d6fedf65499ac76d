"""News items, each with the time qts first knew it (`known_at`), for point-in-time reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from qts.db.models import NewsItem
from qts.db.models.market import Symbol


def _as_dict(n: NewsItem) -> dict[str, Any]:
    return {
        "id": n.id,
        "published_at": n.published_at.isoformat(),
        "known_at": n.known_at.isoformat(),
        "symbols": [s for s in n.symbols.split(",") if s],
        "headline": n.headline,
        "body": n.body,
        "source": n.source,
        "url": n.url,
        "sentiment": n.sentiment,
        "sentiment_model": n.sentiment_model,
        "language": n.language,
    }


class NewsRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def known_hashes(self, hashes: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(hashes), 500):
            known |= set(
                self.s.scalars(
                    select(NewsItem.content_hash).where(
                        NewsItem.content_hash.in_(hashes[start : start + 500])
                    )
                )
            )
        return known

    def insert_news(self, items: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Insert news items (dicts with NewsItem's fields); a known content_hash is skipped,
        so the first time an item was seen stays its `known_at`."""
        items = list(items)
        if not items:
            return {"inserted": 0, "skipped": 0}
        known = self.known_hashes([i["content_hash"] for i in items])
        fresh: dict[str, dict[str, Any]] = {}
        for item in items:
            if item["content_hash"] not in known:
                fresh.setdefault(item["content_hash"], item)
        if fresh:
            self.s.execute(insert(NewsItem), list(fresh.values()))
        return {"inserted": len(fresh), "skipped": len(items) - len(fresh)}

    def unscored(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        """Items stored without a sentiment score, by id after `after_id`."""
        q = (
            select(NewsItem.id, NewsItem.headline, NewsItem.language)
            .where(NewsItem.sentiment.is_(None), NewsItem.id > after_id)
            .order_by(NewsItem.id)
            .limit(limit)
        )
        return [
            {"id": i, "headline": h, "language": lang, "sentiment": None}
            for i, h, lang in self.s.execute(q).all()
        ]

    def set_scores(self, items: Iterable[dict[str, Any]]) -> int:
        """Store the scores of items (id, sentiment, sentiment_model) that now have one."""
        rows = [
            {"id": i["id"], "sentiment": i["sentiment"], "sentiment_model": i["sentiment_model"]}
            for i in items
            if i.get("sentiment") is not None
        ]
        if rows:
            self.s.execute(update(NewsItem), rows)
        return len(rows)

    def symbol_names(self) -> dict[str, str]:
        """Company name → symbol from the symbols table (rows with a name)."""
        rows = self.s.execute(select(Symbol.name, Symbol.symbol).where(Symbol.name != "")).all()
        return {name: symbol for name, symbol in rows if name}

    @staticmethod
    def _filtered(
        q: Select[Any],
        symbol: str | None,
        start: datetime | None,
        end: datetime | None,
        known_by: datetime | None = None,
    ) -> Select[Any]:
        if symbol:
            q = q.where(NewsItem.symbols.like(f"%,{symbol},%"))
        if start:
            q = q.where(NewsItem.published_at >= start)
        if end:
            q = q.where(NewsItem.published_at <= end)
        if known_by:
            q = q.where(NewsItem.known_at <= known_by)
        return q

    def read_news(
        self,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        known_by: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Items in publication order (oldest first)."""
        q = self._filtered(select(NewsItem), symbol, start, end, known_by)
        q = q.order_by(NewsItem.published_at, NewsItem.id).limit(limit)
        return [_as_dict(n) for n in self.s.scalars(q)]

    def page_news(
        self,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Newest first; one more row than `limit` is read so the caller knows a next page."""
        q = self._filtered(select(NewsItem), symbol, start, end)
        q = q.order_by(NewsItem.published_at.desc(), NewsItem.id.desc())
        return [_as_dict(n) for n in self.s.scalars(q.offset(offset).limit(limit + 1))]
