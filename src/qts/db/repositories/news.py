"""News items, each with the time qts first knew it (`known_at`), for point-in-time reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from qts.db.models import NewsItem


class NewsRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def insert_news(self, items: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Insert news items (dicts with NewsItem's fields); a known content_hash is skipped,
        so the first time an item was seen stays its `known_at`."""
        items = list(items)
        if not items:
            return {"inserted": 0, "skipped": 0}
        hashes = [i["content_hash"] for i in items]
        known = set()
        for start in range(0, len(hashes), 500):
            known |= set(
                self.s.scalars(
                    select(NewsItem.content_hash).where(
                        NewsItem.content_hash.in_(hashes[start : start + 500])
                    )
                )
            )
        fresh: dict[str, dict[str, Any]] = {}
        for item in items:
            if item["content_hash"] not in known:
                fresh.setdefault(item["content_hash"], item)
        if fresh:
            self.s.execute(insert(NewsItem), list(fresh.values()))
        return {"inserted": len(fresh), "skipped": len(items) - len(fresh)}

    def read_news(
        self,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        known_by: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        q = select(NewsItem).order_by(NewsItem.published_at)
        if symbol:
            q = q.where(NewsItem.symbols.like(f"%,{symbol},%"))
        if start:
            q = q.where(NewsItem.published_at >= start)
        if end:
            q = q.where(NewsItem.published_at <= end)
        if known_by:
            q = q.where(NewsItem.known_at <= known_by)
        return [
            {
                "published_at": n.published_at.isoformat(),
                "known_at": n.known_at.isoformat(),
                "symbols": [s for s in n.symbols.split(",") if s],
                "headline": n.headline,
                "body": n.body,
                "source": n.source,
                "url": n.url,
            }
            for n in self.s.scalars(q.limit(limit))
        ]
