"""Polling an RSS 2.0 or Atom feed over HTTP: one GET, its items known from the fetch time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from qts.core.errors import ValidationError
from qts.market.network import bad_status, unreachable
from qts.market.news import parse_rss

USER_AGENT = "qts-news/1"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8"
MAX_FEED_BYTES = 10 * 1024 * 1024


def fetch_feed(
    url: str,
    *,
    timeout: float = 15.0,
    fetched_at: datetime | None = None,
    symbols: list[str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[dict[str, Any]]:
    """The feed's items as news_items rows, `known_at` = the fetch time (a live poll).

    Network failures raise ServiceUnavailableError naming the host and cause; an answer that is
    not a feed raises ValidationError, and then no item of it is returned."""
    if not url.startswith(("http://", "https://")):
        raise ValidationError(f"a feed URL must start with http:// or https://, got {url!r}")
    fetched_at = fetched_at or datetime.now(UTC)
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    try:
        with httpx.Client(
            timeout=timeout, headers=headers, follow_redirects=True, transport=transport
        ) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise unreachable("news feed", url, exc) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise bad_status("news feed", url, response.status_code)
    if response.status_code != 200:
        raise ValidationError(f"news feed {url}: HTTP {response.status_code}")
    if len(response.content) > MAX_FEED_BYTES:
        raise ValidationError(f"news feed {url}: over {MAX_FEED_BYTES // 2**20} MiB")
    try:
        return parse_rss(response.text, fetched_at=fetched_at, symbols=symbols)
    except ValidationError as exc:
        raise ValidationError(f"news feed {url}: {exc.message}", details=exc.details) from exc
