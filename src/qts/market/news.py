"""News items from CSV, JSON or RSS, each with the time qts could first have known it.

`known_at` rules (no look-ahead when features join news to bars):
* a `known_at` column/field, when present, is used as is;
* a publication time with a time of day is known from that moment;
* a bare publication date (day granularity, as nasdaq.com lists) is known only from the end of
  that day in `tz` (default US/Eastern), because the hour is unknown;
* RSS/Atom items are known from their pubDate, or from `fetched_at` when given (a live poll);
  an item with no date of its own is dated `fetched_at` and identified by headline and link only,
  so a second poll finds it again.

A provider's own sentiment score can come with each row (`ProviderScore`: its column and scale,
mapped to [-1, 1]); rows whose `news_flag` column is 0 carry no news and are left out (the layout
of daily-score files such as FNSPID's).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
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
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z]")
_ATOM = "{http://www.w3.org/2005/Atom}"
_UNDATED = datetime(1970, 1, 1, tzinfo=UTC)  # the hash time of items without a date of their own
NO_NEWS = {"0", "0.0", "false", "no", ""}


def language_of(text: str) -> str:
    """`ko` when the text has Hangul, `en` when it has Latin letters, else "" (not scored)."""
    if _HANGUL.search(text):
        return "ko"
    return "en" if _LATIN.search(text) else ""


@dataclass(frozen=True)
class ProviderScore:
    """A provider's own score column and its scale (`low:high`), mapped linearly to [-1, 1]."""

    column: str
    low: float = -1.0
    high: float = 1.0

    @classmethod
    def parse(cls, column: str, score_range: str | None = None) -> ProviderScore:
        if not score_range:
            return cls(column)
        try:
            low, high = (float(v) for v in score_range.split(":"))
        except ValueError:
            raise ValidationError(
                f"score range must be LOW:HIGH, e.g. 1:5, got {score_range!r}"
            ) from None
        if not low < high:
            raise ValidationError(f"score range {score_range!r}: LOW must be below HIGH")
        return cls(column, low, high)

    @property
    def model(self) -> str:
        return f"provider:{self.column}"[:128]

    def scale(self, raw: Any) -> float:
        value = float(raw)
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.column} {value} is outside {self.low:g}:{self.high:g}")
        return 2.0 * (value - self.low) / (self.high - self.low) - 1.0


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
        "language": language_of(headline),
        "sentiment": None,
        "sentiment_model": "",
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


def _scored_item(
    record: dict[str, Any], score: ProviderScore | None, **kwargs: Any
) -> dict[str, Any]:
    fields = _rename(record)
    if score is None:
        return make_item(fields, **kwargs)
    raw = next((v for k, v in record.items() if str(k).strip().lower() == score.column.lower()), "")
    if raw is None or str(raw).strip() == "":
        raise ValueError(f"no {score.column} value")
    value = score.scale(raw)
    if not str(fields.get("headline") or "").strip():  # a daily score file has no headline
        who = ",".join(_symbols(fields.get("symbols"))) or "-"
        fields["headline"] = f"{who} {score.column} {str(raw).strip()}"
    item = make_item(fields, **kwargs)
    item["sentiment"], item["sentiment_model"] = value, score.model
    return item


def _items(
    records: list[dict[str, Any]],
    where: str,
    score: ProviderScore | None = None,
    flag_column: str | None = "news_flag",
    **kwargs: Any,
) -> list[dict[str, Any]]:
    items, problems = [], []
    flag = (flag_column or "").lower()
    for i, record in enumerate(records, start=1):
        lower = {str(k).strip().lower(): v for k, v in record.items()}
        if flag and flag in lower and str(lower[flag]).strip().lower() in NO_NEWS:
            continue  # the provider says this row carries no news
        try:
            items.append(_scored_item(record, score, **kwargs))
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
    if not path.is_file():
        raise ValidationError(f"no news file at {path}")
    suffix = path.suffix.lower()
    if suffix in (".xml", ".rss", ".atom"):
        if kwargs.get("score") is not None:
            raise ValidationError("a provider score column applies to CSV and JSON files only")
        kwargs.pop("score", None)
        kwargs.pop("flag_column", None)
        return parse_rss(path.read_text(encoding="utf-8"), **kwargs)
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        records = data.get("items", []) if isinstance(data, dict) else data
        return _items(list(records), str(path), **kwargs)
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return _items(table.to_dict("records"), str(path), **kwargs)


def _rss_records(root: ElementTree.Element) -> list[dict[str, Any]]:
    records = []
    for node in root.iter("item"):
        pub = node.findtext("pubDate")
        records.append(
            {
                "published_at": parsedate_to_datetime(pub).isoformat() if pub else None,
                "headline": node.findtext("title"),
                "body": node.findtext("description") or "",
                "url": node.findtext("link") or "",
                "symbols": [c.text for c in node.findall("category") if c.text] or None,
            }
        )
    return records


def _atom_records(root: ElementTree.Element) -> list[dict[str, Any]]:
    records = []
    for node in root.iter(f"{_ATOM}entry"):
        links = node.findall(f"{_ATOM}link")
        link = next((x for x in links if x.get("rel", "alternate") == "alternate"), None)
        body = node.findtext(f"{_ATOM}summary") or node.findtext(f"{_ATOM}content") or ""
        terms = [c.get("term") for c in node.findall(f"{_ATOM}category") if c.get("term")]
        records.append(
            {
                "published_at": node.findtext(f"{_ATOM}published")
                or node.findtext(f"{_ATOM}updated"),
                "headline": node.findtext(f"{_ATOM}title"),
                "body": body,
                "url": (link.get("href") or "") if link is not None else "",
                "symbols": terms or None,
            }
        )
    return records


def parse_rss(
    text: str,
    *,
    fetched_at: datetime | None = None,
    symbols: list[str] | None = None,
    source: str = "",
    tz: str = "UTC",
) -> list[dict[str, Any]]:
    """Items of an RSS 2.0 feed (title, link, description, pubDate, category) or an Atom feed
    (title, link, summary/content, published/updated, category term)."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ValidationError(f"feed is not valid XML: {exc}") from exc
    if root.tag == f"{_ATOM}feed":
        records, title = _atom_records(root), root.findtext(f"{_ATOM}title")
    elif root.tag in ("rss", "channel") or root.find("channel") is not None:
        records, title = _rss_records(root), root.findtext("channel/title")
    else:
        raise ValidationError(f"not an RSS or Atom feed (root element <{root.tag}>)")
    undated = [i for i, r in enumerate(records) if not r["published_at"]]
    for record in records:
        record["source"] = title or source
        record["known_at"] = fetched_at.isoformat() if fetched_at else None
        if not record["published_at"] and fetched_at:
            record["published_at"] = fetched_at.isoformat()
    items = _items(records, "feed", symbols=symbols, tz=tz, flag_column=None)
    for i in undated:  # identified by headline and link, so every poll finds the same item
        items[i]["content_hash"] = content_hash(_UNDATED, items[i]["headline"], items[i]["url"])
    return items
