"""Notification settings, read from `QTS_*` environment variables (or `.env`).

QTS_SLACK_WEBHOOK_URL      Slack incoming-webhook URL (a secret: never logged)
QTS_TELEGRAM_BOT_TOKEN     Telegram bot token (a secret: never logged)
QTS_TELEGRAM_CHAT_ID       chat that receives the bot's messages
QTS_NOTIFY_RULES           JSON mapping channel -> event kinds, "*" for all, e.g.
                           '{"slack": ["*"], "telegram": ["kill_switch", "order_fill"]}'
QTS_NOTIFY_RATE_PER_MINUTE messages (HTTP requests) per channel per minute, default 20
QTS_NOTIFY_BURST           messages a channel may send at once before the rate applies, 5
QTS_NOTIFY_BATCH_SECONDS   how long the first event waits for others to join its message, 2
QTS_NOTIFY_MAX_BATCH       events per message at most, 20
QTS_NOTIFY_QUEUE_SIZE      events waiting per channel at most; beyond it the OLDEST waiting
                           event is dropped and the next message says how many were, 1000
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ALL_EVENTS = "*"
DEFAULT_RULES: dict[str, list[str]] = {
    "slack": [ALL_EVENTS],
    "telegram": ["order_fill", "order_rejected", "risk_limit", "kill_switch", "job_failure"],
}


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QTS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    slack_webhook_url: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"

    notify_rules: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_RULES))
    notify_rate_per_minute: float = Field(default=20.0, gt=0)
    notify_burst: int = Field(default=5, ge=1)
    notify_batch_seconds: float = Field(default=2.0, ge=0)
    notify_max_batch: int = Field(default=20, ge=1)
    notify_queue_size: int = Field(default=1000, ge=1)
    notify_max_retries: int = Field(default=5, ge=0)
    notify_max_retry_after_seconds: float = Field(default=300.0, gt=0)
    notify_timeout_seconds: float = Field(default=10.0, gt=0)
