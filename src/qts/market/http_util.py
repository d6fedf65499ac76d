"""A small GET-with-retries for the thin HTTP providers (Yahoo chart API, Naver chart API)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from qts.core.errors import RateLimitedError
from qts.market.network import FINAL_CAUSES, bad_status, classify, unreachable

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) qts-market-data"
# A server error is retried a few times, briefly; a longer outage is reported, not waited out.
SERVER_ERROR_RETRIES = 2


def get_with_retries(
    client: httpx.Client,
    url: str,
    params: dict[str, Any],
    *,
    provider: str = "http",
    max_retries: int = 4,
    max_wait_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """GET; on 429 wait for Retry-After (or back off) and retry; 502/503/504 retried briefly,
    then a `ServiceUnavailableError` naming the status; a DNS failure or refused connection
    fails at once; other statuses are returned."""
    for attempt in range(max_retries + 1):
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as exc:
            if attempt == max_retries or classify(exc) in FINAL_CAUSES:
                raise unreachable(provider, url, exc) from exc
            sleep(min(2.0**attempt, 30.0))
            continue
        status = response.status_code
        if status in (502, 503, 504) and "Retry-After" not in response.headers:
            if attempt >= min(max_retries, SERVER_ERROR_RETRIES):
                raise bad_status(provider, url, status)
            sleep(0.5 * 2.0**attempt)
            continue
        if status not in (429, 503):
            return response
        retry_after = response.headers.get("Retry-After")
        wait = float(retry_after) if retry_after and retry_after.isdigit() else 2.0**attempt
        if wait > max_wait_s or attempt == max_retries:
            raise RateLimitedError(
                f"{url}: rate limited (HTTP {status})",
                details={"retry_after_s": wait},
            )
        sleep(wait)
    raise AssertionError("unreachable")
