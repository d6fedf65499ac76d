"""Slack incoming webhooks and the Telegram Bot API, over httpx.

Each channel sends one text message and classifies the answer:
- delivered;
- `RetryAfter(seconds)`: the provider rate-limited us (Slack: HTTP 429 with a `Retry-After`
  header; Telegram: `{"ok": false, "error_code": 429, "parameters": {"retry_after": N}}`);
- `TransientError`: network trouble or a 5xx, worth retrying with backoff;
- `PermanentError`: the request itself is wrong (bad webhook, unknown chat): retrying is useless.
Webhook URLs and bot tokens are secrets: they never appear in errors or logs (httpx's own
request log is scrubbed by `SecretRedactingFilter`).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx

from qts.observability.redaction import REDACTOR

log = logging.getLogger(__name__)

SLACK_MAX_CHARS = 40000
TELEGRAM_MAX_CHARS = 4096


class DeliveryError(Exception):
    pass


class RetryAfter(DeliveryError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited, retry after {seconds}s")
        self.seconds = seconds


class TransientError(DeliveryError):
    pass


class PermanentError(DeliveryError):
    pass


class Channel(Protocol):
    name: str
    max_chars: int

    def send(self, text: str) -> None: ...

    def close(self) -> None: ...


def _retry_after_header(value: str | None, default: float = 1.0) -> float:
    try:
        return max(float(value), 0.0) if value is not None else default
    except ValueError:
        return default


class SlackWebhookChannel:
    name = "slack"
    max_chars = SLACK_MAX_CHARS

    def __init__(self, webhook_url: str, timeout: float = 10.0) -> None:
        REDACTOR.add(webhook_url)
        self._url = webhook_url
        self._client = httpx.Client(timeout=timeout)

    @staticmethod
    def escape(text: str) -> str:
        # Slack's message formatting reserves these three characters.
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def send(self, text: str) -> None:
        try:
            resp = self._client.post(self._url, json={"text": self.escape(text)})
        except httpx.HTTPError as exc:
            raise TransientError(f"slack: {type(exc).__name__}") from None
        if resp.status_code == 200:
            return
        body = resp.text[:200]
        if resp.status_code == 429:
            raise RetryAfter(_retry_after_header(resp.headers.get("Retry-After")))
        if resp.status_code >= 500:
            raise TransientError(f"slack: HTTP {resp.status_code} {body}")
        raise PermanentError(f"slack: HTTP {resp.status_code} {body}")

    def close(self) -> None:
        self._client.close()


class TelegramChannel:
    name = "telegram"
    max_chars = TELEGRAM_MAX_CHARS

    def __init__(
        self,
        bot_token: str,
        chat_id: str,
        api_url: str = "https://api.telegram.org",
        timeout: float = 10.0,
    ) -> None:
        REDACTOR.add(bot_token)
        self._url = f"{api_url.rstrip('/')}/bot{bot_token}/sendMessage"
        self._chat_id = chat_id
        self._client = httpx.Client(timeout=timeout)

    def send(self, text: str) -> None:
        payload = {"chat_id": self._chat_id, "text": text, "disable_web_page_preview": True}
        try:
            resp = self._client.post(self._url, json=payload)
        except httpx.HTTPError as exc:
            raise TransientError(f"telegram: {type(exc).__name__}") from None
        try:
            body: dict[str, Any] = resp.json()
        except ValueError:
            body = {}
        if resp.status_code == 200 and body.get("ok") is True:
            return
        code = int(body.get("error_code") or resp.status_code)
        description = str(body.get("description", ""))[:200]
        if code == 429:
            params = body.get("parameters") or {}
            raise RetryAfter(float(params.get("retry_after", 1)))
        if code >= 500:
            raise TransientError(f"telegram: {code} {description}")
        raise PermanentError(f"telegram: {code} {description}")

    def close(self) -> None:
        self._client.close()
