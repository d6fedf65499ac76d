"""A small GET-with-retries for the thin HTTP providers (Yahoo chart API, Naver chart API)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from qts.core.errors import RateLimitedError

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) qts-market-data"


def get_with_retries(
    client: httpx.Client,
    url: str,
    params: dict[str, Any],
    *,
    max_retries: int = 4,
    max_wait_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """GET; on 429/503 wait for Retry-After (or back off) and retry; other statuses returned."""
    for attempt in range(max_retries + 1):
        try:
            response = client.get(url, params=params)
        except httpx.TransportError:
            if attempt == max_retries:
                raise
            sleep(min(2.0**attempt, 30.0))
            continue
        if response.status_code not in (429, 503):
            return response
        retry_after = response.headers.get("Retry-After")
        wait = float(retry_after) if retry_after and retry_after.isdigit() else 2.0**attempt
        if wait > max_wait_s or attempt == max_retries:
            raise RateLimitedError(
                f"{url}: rate limited (HTTP {response.status_code})",
                details={"retry_after_s": wait},
            )
        sleep(wait)
    raise AssertionError("unreachable")
