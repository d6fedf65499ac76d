"""News items from CSV, JSON or RSS, each with the time qts could first have known it.

`known_at` rules (no look-ahead when features join news to bars):
* a `known_at` column/field, when present, is used as is;
* a publication time with a time of day is known from that moment;
* a bare publication date (day granularity, as nasdaq.com lists) is known only from the end of
  that day in `tz` (default US/Eastern), because the hour is unknown;
* RSS items are known from their pubDate, or from `fetched_at` when given (a live poll).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd

from qts.core.errors import ValidationError

FIELDS = {
    "published_at": (
        "published_at",
        "published",
        "date",
        "datetime",
        "timestamp",
        "time",
        "pubdate",
    ),
    "headline": ("headline", "title"),
    "body": ("body", "summary", "content", "text", "description"),
    "source": ("source", "publisher"),
    "url": ("url", "link"),
    "symbols": ("symbols", "symbol", "tickers", "ticker", "stock"),
    "known_at": ("known_at",),
}
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def content_hash(published_at: datetime, headline: str, url: str) -> str:
    key = f"{published_at.isoformat()}|{headline.strip()}|{url.strip()}"
    return hashlib.sha256(key.encode()).hexdigest()


def _symbols(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [s.strip() for s in re.split(r"[,|;]", str(value)) if s.strip()]


def _times(text: Any, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(published_at UTC, known_at UTC) from a publication time as written."""
    raw = str(text).strip()
    ts = pd.Timestamp(raw)
    if _DATE_ONLY.match(raw):
        local = ts.tz_localize(tz)
        return local.tz_convert("UTC"), (local + pd.Timedelta(days=1)).tz_convert("UTC")
    ts = ts.tz_localize(tz) if ts.tzinfo is None else ts
    ts = ts.tz_convert("UTC")
    return ts, ts


def make_item(
    record: dict[str, Any],
    *,
    tz: str = "US/Eastern",
    source: str = "",
    symbols: list[str] | None = None,
) -> dict[str, Any]:
    """A news_items row from one record whose keys already use our field names."""
    headline = str(record.get("headline") or "").strip()
    if not headline or record.get("published_at") in (None, ""):
        raise ValueError("a news item needs a headline and a publication time")
    published, known = _times(record["published_at"], tz)
    if record.get("known_at") not in (None, "") and not pd.isna(record.get("known_at")):
        known = pd.Timestamp(record["known_at"])
        known = (known.tz_localize(tz) if known.tzinfo is None else known).tz_convert("UTC")
    syms = _symbols(record.get("symbols")) or list(symbols or [])
    url = str(record.get("url") or "").strip()
    body = record.get("body")
    return {
        "published_at": published.to_pydatetime(),
        "known_at": max(known, published).to_pydatetime(),
        "symbols": "," + ",".join(syms) + "," if syms else "",
        "headline": headline,
        "body": "" if body is None or (isinstance(body, float) and pd.isna(body)) else str(body),
        "source": str(record.get("source") or source or "")[:128],
        "url": url,
        "content_hash": content_hash(published.to_pydatetime(), headline, url),
    }


def _rename(record: dict[str, Any]) -> dict[str, Any]:
    lower = {str(k).strip().lower(): v for k, v in record.items()}
    out = {}
    for field, aliases in FIELDS.items():
        for alias in aliases:
            if alias in lower:
                out[field] = lower[alias]
                break
    return out


def _items(records: list[dict[str, Any]], where: str, **kwargs: Any) -> list[dict[str, Any]]:
    items, problems = [], []
    for i, record in enumerate(records, start=1):
        try:
            items.append(make_item(_rename(record), **kwargs))
        except (ValueError, TypeError) as exc:
            problems.append({"row": i, "message": str(exc)})
    if problems:
        raise ValidationError(
            f"{where}: {len(problems)} news row(s) unusable; nothing loaded",
            details={"source": where, "errors": problems[:1000]},
        )
    return items


def parse_news_file(path: str | Path, **kwargs: Any) -> list[dict[str, Any]]:
    """CSV, JSON (a list, or {"items": [...]}) or RSS/XML, chosen by the file suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xml", ".rss"):
        return parse_rss(path.read_text(encoding="utf-8"), **kwargs)
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        records = data.get("items", []) if isinstance(data, dict) else data
        return _items(list(records), str(path), **kwargs)
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return _items(table.to_dict("records"), str(path), **kwargs)


def parse_rss(
    text: str,
    *,
    fetched_at: datetime | None = None,
    symbols: list[str] | None = None,
    source: str = "",
    tz: str = "UTC",
) -> list[dict[str, Any]]:
    """Items of an RSS 2.0 feed (title, link, description, pubDate, category)."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ValidationError(f"RSS feed is not valid XML: {exc}") from exc
    channel_title = root.findtext("channel/title") or source
    items = []
    for node in root.iter("item"):
        pub = node.findtext("pubDate")
        published = parsedate_to_datetime(pub).isoformat() if pub else None
        categories = [c.text for c in node.findall("category") if c.text]
        record = {
            "published_at": published,
            "headline": node.findtext("title"),
            "body": node.findtext("description") or "",
            "url": node.findtext("link") or "",
            "source": channel_title,
            "symbols": categories or None,
            "known_at": fetched_at.isoformat() if fetched_at else None,
        }
        items.append(record)
    return _items(items, "rss", symbols=symbols, tz=tz)
