"""Notification service: Slack and Telegram messages for trading and system events.

Callers use `notify(kind, title, text, **fields)` or one of the helpers below; it returns at
once. Channels, rules and limits come from `NotificationSettings` (see `config.py` for the
environment variables); with no channel configured every call is a no-op.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from qts.services.notifications.channels import (
    Channel,
    PermanentError,
    RetryAfter,
    SlackWebhookChannel,
    TelegramChannel,
    TransientError,
)
from qts.services.notifications.config import NotificationSettings
from qts.services.notifications.dispatcher import ChannelSender, Limits, Notifier
from qts.services.notifications.events import EventKind, Notification

__all__ = [
    "ChannelSender",
    "EventKind",
    "Limits",
    "Notification",
    "NotificationSettings",
    "Notifier",
    "PermanentError",
    "RetryAfter",
    "SlackWebhookChannel",
    "TelegramChannel",
    "TransientError",
    "build_notifier",
    "get_notifier",
    "notify",
    "notify_drift",
    "notify_fill",
    "notify_kill_switch",
    "notify_model_promotion",
    "notify_order_rejected",
    "notify_risk_limit",
    "reset_notifier",
]

_notifier: Notifier | None = None
_lock = threading.Lock()


def build_notifier(settings: NotificationSettings | None = None) -> Notifier:
    settings = settings or NotificationSettings()
    limits = Limits(
        rate_per_minute=settings.notify_rate_per_minute,
        burst=settings.notify_burst,
        batch_seconds=settings.notify_batch_seconds,
        max_batch=settings.notify_max_batch,
        queue_size=settings.notify_queue_size,
        max_retries=settings.notify_max_retries,
        max_retry_after=settings.notify_max_retry_after_seconds,
    )
    channels: list[Channel] = []
    if settings.slack_webhook_url is not None:
        channels.append(
            SlackWebhookChannel(
                settings.slack_webhook_url.get_secret_value(), settings.notify_timeout_seconds
            )
        )
    if settings.telegram_bot_token is not None and settings.telegram_chat_id:
        channels.append(
            TelegramChannel(
                settings.telegram_bot_token.get_secret_value(),
                settings.telegram_chat_id,
                settings.telegram_api_url,
                settings.notify_timeout_seconds,
            )
        )
    senders = [
        ChannelSender(ch, set(settings.notify_rules.get(ch.name, [])), limits)
        for ch in channels
        if settings.notify_rules.get(ch.name)
    ]
    return Notifier(senders)


def get_notifier() -> Notifier:
    """The process's notifier, built from the environment on first use."""
    global _notifier
    with _lock:
        if _notifier is None:
            _notifier = build_notifier()
            atexit.register(_notifier.close, 3.0)
        return _notifier


def reset_notifier(notifier: Notifier | None = None) -> None:
    """Close the current notifier; the next call builds one anew (or uses `notifier`)."""
    global _notifier
    with _lock:
        old, _notifier = _notifier, notifier
    if old is not None:
        old.close(1.0)


def notify(kind: EventKind | str, title: str, text: str = "", **fields: Any) -> int:
    """Queue an event for the channels whose rules accept it; returns how many do."""
    event = Notification(EventKind(kind), title, text, fields)
    return get_notifier().publish(event)


def notify_fill(
    symbol: str, side: str, quantity: float, price: float, *, order_id: str = "", venue: str = ""
) -> int:
    return notify(
        EventKind.ORDER_FILL,
        f"Filled {side.upper()} {quantity:g} {symbol} @ {price:g}",
        order_id=order_id,
        venue=venue,
    )


def notify_order_rejected(symbol: str, reason: str, *, order_id: str = "", rule: str = "") -> int:
    return notify(
        EventKind.ORDER_REJECTED, f"Order rejected: {symbol}", reason, order_id=order_id, rule=rule
    )


def notify_risk_limit(rule: str, detail: str, **fields: Any) -> int:
    return notify(EventKind.RISK_LIMIT, f"Risk limit hit: {rule}", detail, **fields)


def notify_kill_switch(active: bool, *, actor: str = "", reason: str = "") -> int:
    state = "ENGAGED: new orders blocked" if active else "released"
    return notify(EventKind.KILL_SWITCH, f"Kill switch {state}", reason, actor=actor)


def notify_drift(model: str, metric: str, value: float, threshold: float) -> int:
    return notify(
        EventKind.DRIFT,
        f"Drift detected for {model}",
        f"{metric}={value:.4g} over threshold {threshold:.4g}",
    )


def notify_model_promotion(model: str, version: str, stage: str, actor: str = "") -> int:
    return notify(
        EventKind.MODEL_PROMOTION, f"Model {model} v{version} promoted to {stage}", actor=actor
    )
