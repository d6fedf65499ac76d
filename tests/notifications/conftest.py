from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notifications.fakes import FakeServer

SLACK_HOOK = "/services/T000TEST/B000TEST/slacksecretXYZ123"
TELEGRAM_TOKEN = "123456:TELEGRAM-secret-token-ABC"


@pytest.fixture
def slack() -> Iterator[FakeServer]:
    server = FakeServer("slack", SLACK_HOOK).start()
    yield server
    server.stop()


@pytest.fixture
def telegram() -> Iterator[FakeServer]:
    server = FakeServer("telegram", f"/bot{TELEGRAM_TOKEN}/sendMessage").start()
    yield server
    server.stop()
