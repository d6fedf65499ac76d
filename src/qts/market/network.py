"""Name why a provider could not be reached, in one line: the provider, the URL's host and the
cause (DNS, refused, timeout, HTTP status). Used by the HTTP providers and the ccxt client."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from qts.core.errors import ServiceUnavailableError

CAUSES = {
    "dns": "DNS lookup failed (unknown host, or no network)",
    "refused": "connection refused",
    "timeout": "timed out",
    "tls": "TLS handshake failed",
    "connection": "connection failed",
}
# A DNS failure or a refused connection is an answer, not a hiccup: retrying only delays it.
FINAL_CAUSES = frozenset({"dns", "refused", "tls"})
_DNS_TEXT = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "getaddrinfo failed",
    "failed to resolve",
    "no address associated",
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def classify(exc: BaseException) -> str:
    """'dns', 'refused', 'timeout', 'tls' or 'connection', from `exc` and its causes."""
    found = "connection"
    for e in _chain(exc):
        text = str(e).lower()
        name = type(e).__name__
        if (
            isinstance(e, socket.gaierror)
            or "NameResolution" in name
            or any(t in text for t in _DNS_TEXT)
        ):
            return "dns"
        if isinstance(e, ConnectionRefusedError) or "connection refused" in text:
            return "refused"
        if isinstance(e, TimeoutError) or "Timeout" in name or "timed out" in text:
            found = "timeout"
        elif "SSL" in name or "certificate verify failed" in text:
            found = "tls"
    return found


def host_of(url: str | None) -> str:
    return (urlsplit(url).hostname or url or "?") if url else "?"


def url_in(text: str) -> str | None:
    match = re.search(r"https?://[^\s'\"]+", text)
    return match.group(0) if match else None


def unreachable(provider: str, url: str | None, exc: BaseException) -> ServiceUnavailableError:
    cause = classify(exc)
    host = host_of(url)
    return ServiceUnavailableError(
        f"{provider}: cannot reach {host}: {CAUSES[cause]}",
        {"provider": provider, "host": host, "network": cause},
    )


def bad_status(provider: str, url: str, status: int) -> ServiceUnavailableError:
    host = host_of(url)
    return ServiceUnavailableError(
        f"{provider}: {host} answered HTTP {status}",
        {"provider": provider, "host": host, "network": f"http_{status}", "status": status},
    )
