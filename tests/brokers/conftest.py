"""Fake broker servers on 127.0.0.1 (port 0) and clients pointed at them, with fast retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qts.execution.brokers import BinanceBroker, KisBroker, KiwoomBroker, RetryPolicy
from tests.brokers.fakes import FakeBinanceSpot, FakeKis, FakeKiwoom

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def fake_kis() -> Iterator[FakeKis]:
    with FakeKis(page_size=5) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def kis(fake_kis: FakeKis) -> Iterator[KisBroker]:
    client = KisBroker(
        fake_kis.app_key,
        fake_kis.app_secret,
        "50012345-01",
        mock=True,
        base_url=fake_kis.base_url,
        rate_per_s=500,
        retry=FAST_RETRY,
        timeout_s=2.0,
    )
    yield client
    client.close()


@pytest.fixture
def fake_kiwoom() -> Iterator[FakeKiwoom]:
    with FakeKiwoom(page_size=4) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def kiwoom(fake_kiwoom: FakeKiwoom) -> Iterator[KiwoomBroker]:
    client = KiwoomBroker(
        fake_kiwoom.app_key,
        fake_kiwoom.secret_key,
        mock=True,
        base_url=fake_kiwoom.base_url,
        rate_per_s=500,
        retry=FAST_RETRY,
        timeout_s=2.0,
    )
    yield client
    client.close()


@pytest.fixture
def fake_binance() -> Iterator[FakeBinanceSpot]:
    with FakeBinanceSpot() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def binance(fake_binance: FakeBinanceSpot) -> Iterator[BinanceBroker]:
    client = BinanceBroker(
        fake_binance.api_key,
        fake_binance.secret,
        base_url=fake_binance.base_url,
        rate_per_s=500,
        retry=FAST_RETRY,
        timeout_s=2.0,
    )
    yield client
    client.close()
