"""Slack and Telegram notifications against local fake servers."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from qts.services.notifications import (
    EventKind,
    NotificationSettings,
    Notifier,
    build_notifier,
    notify,
    notify_fill,
    notify_kill_switch,
    reset_notifier,
)
from tests.notifications.conftest import SLACK_HOOK, TELEGRAM_TOKEN
from tests.notifications.fakes import SLACK_429, TELEGRAM_429, FakeServer


def make_settings(
    slack: FakeServer | None, telegram: FakeServer | None, **kw
) -> NotificationSettings:  # type: ignore[no-untyped-def]
    base = {
        "notify_batch_seconds": 0.0,
        "notify_rate_per_minute": 6000.0,
        "notify_burst": 100,
    }
    base.update(kw)
    return NotificationSettings(
        _env_file=None,
        slack_webhook_url=SecretStr(slack.base_url + SLACK_HOOK) if slack else None,
        telegram_bot_token=SecretStr(TELEGRAM_TOKEN) if telegram else None,
        telegram_chat_id="4242" if telegram else None,
        telegram_api_url=telegram.base_url if telegram else "https://api.telegram.org",
        **base,
    )


@pytest.fixture
def notifiers() -> Iterator[list[Notifier]]:
    made: list[Notifier] = []
    yield made
    for n in made:
        n.close(1.0)
    reset_notifier()


def install(notifiers: list[Notifier], settings: NotificationSettings) -> Notifier:
    notifier = build_notifier(settings)
    notifiers.append(notifier)
    reset_notifier(notifier)
    return notifier


def test_fill_reaches_slack_and_telegram(slack, telegram, notifiers) -> None:  # type: ignore[no-untyped-def]
    notifier = install(notifiers, make_settings(slack, telegram))
    assert notify_fill("BTC/USDT", "buy", 0.5, 64000.0, order_id="ord-1", venue="paper") == 2
    assert notifier.flush(5)
    assert len(slack.requests) == 1 and len(telegram.requests) == 1
    assert "Filled BUY 0.5 BTC/USDT @ 64000" in slack.texts()[0]
    assert "order_id=ord-1" in telegram.texts()[0]
    assert telegram.requests[0].body["chat_id"] == "4242"


def test_kill_switch_reaches_both_channels(slack, telegram, notifiers) -> None:  # type: ignore[no-untyped-def]
    notifier = install(notifiers, make_settings(slack, telegram))
    notify_kill_switch(True, actor="admin", reason="daily loss limit")
    assert notifier.flush(5)
    for server in (slack, telegram):
        assert len(server.requests) == 1
        text = server.texts()[0]
        assert "Kill switch ENGAGED" in text and "daily loss limit" in text


def test_rules_route_events_per_channel(slack, telegram, notifiers) -> None:  # type: ignore[no-untyped-def]
    rules = {"slack": ["drift"], "telegram": ["kill_switch"]}
    notifier = install(notifiers, make_settings(slack, telegram, notify_rules=rules))
    assert notify(EventKind.DRIFT, "Drift detected for lstm") == 1
    assert notify(EventKind.KILL_SWITCH, "Kill switch ENGAGED") == 1
    assert notify(EventKind.ORDER_FILL, "Filled") == 0
    assert notifier.flush(5)
    assert slack.texts() == ["📉 Drift detected for lstm"]
    assert telegram.texts() == ["🛑 Kill switch ENGAGED"]


def _seqs(texts: list[str]) -> list[int]:
    return sorted(int(m) for t in texts for m in re.findall(r"seq=(\d+)", t))


def test_burst_of_100_is_batched_without_loss(slack, telegram, notifiers) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        slack,
        telegram,
        notify_batch_seconds=0.3,
        notify_max_batch=25,
        notify_rules={"slack": ["*"], "telegram": ["*"]},
    )
    notifier = install(notifiers, settings)
    for i in range(100):
        notify(EventKind.ORDER_FILL, "Filled BUY 1 AAPL @ 190", seq=i)
    assert notifier.flush(10)
    # 100 events, 25 per message: exactly 4 requests per channel, every event in one of them.
    assert len(slack.requests) == 4
    assert len(telegram.requests) == 4
    assert _seqs(slack.texts()) == list(range(100))
    assert _seqs(telegram.texts()) == list(range(100))
    assert slack.texts()[0].startswith("qts: 25 notifications")


def test_rate_limit_turns_a_burst_into_fewer_bigger_messages(slack, notifiers) -> None:  # type: ignore[no-untyped-def]
    # One message per second and no burst allowance: after a first message has spent the only
    # token, a burst of 100 waits ~1 s for the next one and goes out as a single message.
    settings = make_settings(
        slack, None, notify_rate_per_minute=60.0, notify_burst=1, notify_max_batch=100
    )
    notifier = install(notifiers, settings)
    notify(EventKind.KILL_SWITCH, "Kill switch ENGAGED")
    assert notifier.flush(5)
    for i in range(100):
        notify(EventKind.ORDER_FILL, "Filled", seq=i)
    assert notifier.flush(10)
    assert len(slack.requests) == 2
    assert slack.requests[1].at - slack.requests[0].at >= 0.9
    assert _seqs(slack.texts()) == list(range(100))


def test_slack_429_retry_after_is_honoured(slack, notifiers) -> None:  # type: ignore[no-untyped-def]
    slack.script.append(SLACK_429)
    notifier = install(notifiers, make_settings(slack, None))
    notify_kill_switch(True, actor="risk")
    assert notifier.flush(10)
    assert len(slack.requests) == 2
    assert slack.requests[1].at - slack.requests[0].at >= 0.95
    assert slack.requests[0].body == slack.requests[1].body  # the same message, not lost


def test_telegram_429_retry_after_is_honoured(telegram, notifiers) -> None:  # type: ignore[no-untyped-def]
    telegram.script.append(TELEGRAM_429)
    notifier = install(notifiers, make_settings(None, telegram))
    notify_fill("005930", "sell", 10, 71000.0)
    assert notifier.flush(10)
    assert len(telegram.requests) == 2
    assert telegram.requests[1].at - telegram.requests[0].at >= 0.95
    assert "Filled SELL 10 005930 @ 71000" in telegram.texts()[1]


def test_full_queue_drops_oldest_and_says_so(slack, notifiers) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        slack, None, notify_rate_per_minute=60.0, notify_burst=1, notify_queue_size=10
    )
    notifier = install(notifiers, settings)
    notify(EventKind.ORDER_FILL, "first", seq=1000)
    assert notifier.flush(5)
    for i in range(30):  # the sender waits ~1 s for its next token meanwhile
        notify(EventKind.ORDER_FILL, "Filled", seq=i)
    assert notifier.flush(10)
    assert len(slack.requests) == 2
    second = slack.texts()[1]
    assert "20 earlier ones dropped" in second
    assert _seqs([second]) == list(range(20, 30))
    assert notifier.senders[0].dropped_total == 20


def test_secrets_never_logged_even_on_errors(slack, telegram, notifiers, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="httpx")  # the CLI quiets httpx; this test reads it
    settings = make_settings(slack, telegram)
    settings.telegram_chat_id = "999"  # fake answers 400 chat not found: a permanent error
    notifier = install(notifiers, settings)
    notify_fill("BTC/USDT", "buy", 1, 1.0)
    assert notifier.flush(5)
    assert len(telegram.requests) == 1  # a permanent error is not retried
    assert notifier.senders[1].dropped_total == 1
    assert "chat not found" in caplog.text
    assert "HTTP Request" in caplog.text  # httpx did log its requests, scrubbed
    assert TELEGRAM_TOKEN not in caplog.text
    assert "slacksecretXYZ123" not in caplog.text


def test_unreachable_channel_is_retried_then_dropped(notifiers) -> None:  # type: ignore[no-untyped-def]
    dead = FakeServer("slack", SLACK_HOOK).start()
    url = dead.base_url
    dead.stop()  # nothing listens there any more
    settings = NotificationSettings(
        _env_file=None,
        slack_webhook_url=SecretStr(url + SLACK_HOOK),
        notify_batch_seconds=0.0,
        notify_max_retries=1,
    )
    notifier = install(notifiers, settings)
    started = time.monotonic()
    notify_kill_switch(True)
    assert notifier.flush(10)
    assert notifier.senders[0].dropped_total == 1
    assert time.monotonic() - started >= 0.9  # one backoff of 1 s before giving up


def test_no_channels_configured_is_a_noop(notifiers) -> None:  # type: ignore[no-untyped-def]
    notifier = install(notifiers, NotificationSettings(_env_file=None))
    assert not notifier.enabled
    assert notify_kill_switch(True) == 0
