"""pykrx and FinanceDataReader as KRX daily providers, against a local fake of the Naver chart
endpoint both read (their Naver host re-pointed to 127.0.0.1 for the call)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from tests.brokers.fakes.naver_chart import FakeNaverChart

from qts.core.errors import ValidationError
from qts.db import Database
from qts.market.krx_libraries import FdrProvider, PykrxProvider
from qts.services.data.market_data import fetch, read_bars

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"
DAILY = pd.read_csv(SAMPLE / "kr_daily" / "005930.csv", index_col="timestamp", parse_dates=True)
EXPECTED = DAILY.astype("float64")
EXPECTED.index = pd.DatetimeIndex(EXPECTED.index).tz_localize("UTC").as_unit("ns").rename("ts")


@pytest.fixture
def naver(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNaverChart]:
    monkeypatch.delenv("KRX_ID", raising=False)  # pykrx would log in to data.krx.co.kr
    monkeypatch.delenv("KRX_PW", raising=False)
    with FakeNaverChart({"005930": DAILY}) as fake:
        yield fake  # type: ignore[misc]


def _ms(day: str) -> int:
    return int(pd.Timestamp(day, tz="UTC").value // 1_000_000)


@pytest.mark.parametrize("provider", [PykrxProvider, FdrProvider])
def test_daily_prices_come_through_the_library(naver: FakeNaverChart, provider: type) -> None:
    client = provider(base_url=naver.base_url)
    bars = client.fetch("005930", "1d", _ms("2024-01-02"), _ms("2024-03-29"))
    want = EXPECTED.loc["2024-01-02":"2024-03-28"]  # the end is exclusive
    pd.testing.assert_frame_equal(bars, want, check_freq=False)
    request = naver.requests_for_path("/sise.nhn")[-1]
    assert request.query["symbol"] == "005930" and request.query["timeframe"] == "day"
    assert request.query["requestType"] == "0"
    assert client.fetch("999999", "1d", _ms("2024-01-02"), _ms("2024-03-29")).empty
    with pytest.raises(ValidationError):
        client.fetch("005930", "1m", _ms("2024-01-02"))


def test_the_providers_store_through_the_market_data_service(
    naver: FakeNaverChart, tmp_path: Path
) -> None:
    from qts.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    db = Database(url)
    for name, until in (("pykrx", "2024-03-29"), ("fdr", "2024-06-28")):  # fdr resumes
        out = fetch(
            name, "XKRX", "005930", "1d", "2024-01-02", until=until, db=db,
            provider_options={"base_url": naver.base_url},
        )  # fmt: skip
        assert out["provider"] == name
        first = pd.Timestamp(out["resumed_from"] or "2024-01-02").tz_localize(None)
        want = EXPECTED.index.tz_localize(None)
        assert out["fetched"] == ((want >= first) & (want < pd.Timestamp(until))).sum()
    stored = read_bars("005930", "1d", db=db)
    pd.testing.assert_frame_equal(stored, EXPECTED.loc["2024-01-02":"2024-06-27"], check_freq=False)
    db.dispose()


def test_the_default_provider_follows_the_market() -> None:
    from qts.services.data.providers import default_provider

    assert default_provider("XKRX", "1d") == "pykrx"
    assert default_provider("KRX", "1m") == "kis"
    assert default_provider("XNYS", "1d") == "yahoo"
    assert default_provider("upbit", "1m") == "ccxt"
    assert default_provider("binance", "1h") == "ccxt"
