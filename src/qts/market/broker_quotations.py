"""What the KIS and Kiwoom quotation clients share: the app keys, the real or mock host, one
request per `1/rate` seconds across threads (both brokers count requests per second), and the
access token, kept until a minute before it expires (KIS issues at most one a minute)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from qts.core.errors import ConfigurationError


class BrokerQuotations:
    """Subclasses name their hosts and rates and say how a token is asked for (`_new_token`)."""

    real_url: ClassVar[str]
    mock_url: ClassVar[str]
    real_rate: ClassVar[float]
    mock_rate: ClassVar[float] = 2.0
    keys_missing: ClassVar[str]  # the error when a key is empty

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        *,
        mock: bool = False,
        base_url: str | None = None,
        rate_per_s: float | None = None,
        timeout_s: float = 10.0,
        max_retries: int = 5,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not app_key or not app_secret:
            raise ConfigurationError(self.keys_missing)
        self.base_url = (base_url or (self.mock_url if mock else self.real_url)).rstrip("/")
        self.mock = mock
        self._app_key, self._app_secret = app_key, app_secret
        default_rate = self.mock_rate if mock else self.real_rate
        self._interval = 1.0 / (rate_per_s if rate_per_s else default_rate)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)
        self.max_retries = max_retries
        self.clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._token: tuple[str, float] | None = None
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def _pace(self) -> None:
        """One request per `1/rate` seconds across threads."""
        with self._lock:
            now = time.monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self._interval
        if wait > 0:
            self._sleep(wait)

    def token(self) -> str:
        with self._lock:
            cached = self._token
        if cached is not None and self.clock() < cached[1] - 60.0:
            return cached[0]
        token, expires = self._new_token()
        with self._lock:
            self._token = (token, expires)
        return token

    def _forget_token(self) -> None:
        with self._lock:
            self._token = None

    def _new_token(self) -> tuple[str, float]:
        """(token, expiry as epoch seconds) from the broker."""
        raise NotImplementedError


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, {} when it is not one."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
