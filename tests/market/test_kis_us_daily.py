"""US daily bars through KIS (`qts data fetch --provider kis`), with the real client against the
fake KIS overseas server: paged back by BYMD until the start, raw prices (MODP 0) though a split
would change the adjusted ones, a rate limit waited out, stored on the same dates as Yahoo's
daily bars and backtested; KRX codes go to the domestic minute chart of the same client; an
unknown symbol is a clear error that stores nothing, and a US symbol is not streamed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from tests.brokers.fakes.kis_market import FakeKisMarket, SimClock
from tests.brokers.fakes.kis_overseas import FakeKisOverseas
from tests.market.krx_minutes import krx_minute_bars, session_start_s
from typer.testing import CliRunner

from qts.config import Settings
from qts.core.errors import NotFoundError, ValidationError
from qts.market.kis_overseas import KisOverseasQuotations, listing_hint
from qts.market.yahoo import parse_chart_result

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"
DAILY = "/uapi/overseas-price/v1/quotations/dailyprice"
PRICE = "/uapi/overseas-price/v1/quotations/price"
KIS_ENV = {"QTS_KIS_APP_KEY": "PSfakeAppKey0001", "QTS_KIS_APP_SECRET": "fake-app-secret-value",
           "QTS_KIS_ACCOUNT_NO": "50012345-01"}  # fmt: skip
FETCH = ["data", "fetch", "--provider", "kis", "--timeframe", "1d", "--since", "2023-12-01"]


def aapl_daily() -> pd.DataFrame:
    """Apple's daily prints 2022-01 .. 2024-07 (no split in that span: raw prices)."""
    frame = pd.read_csv(SAMPLE / "us_daily" / "AAPL.csv", index_col="timestamp")
    frame.index = pd.to_datetime(frame.index, utc=True).rename("ts").as_unit("ns")
    return frame.astype("float64")


class FakeKisAccount(FakeKisOverseas, FakeKisMarket):
    """One KIS host: US quotes and daily prices, KRX minute charts, trading."""


@pytest.fixture
def kis(fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKisOverseas]:
    # A 4:1 split on 2024-06-10 that never happened: KIS's adjusted prices (MODP 1) would
    # divide every earlier print by 4; the raw ones qts asks for are the file's.
    with FakeKisOverseas(
        us_bars={"AAPL": aapl_daily()}, us_splits={"AAPL": [("2024-06-10", 4.0)]}
    ) as fake:
        for name, value in {**KIS_ENV, "QTS_KIS_MARKET_URL": fake.base_url}.items():
            monkeypatch.setenv(name, value)
        yield fake  # type: ignore[misc]


def test_aapl_daily_bars_are_paged_raw_stored_and_backtested(kis: FakeKisOverseas) -> None:
    from qts.cli.common import open_database
    from qts.cli.main import app
    from qts.services.data.market_data import read_bars

    runner = CliRunner()
    kis.inject("rate_limit", 1, api="HHDFS76240000")
    r = runner.invoke(app, [*FETCH, "--symbol", "AAPL", "--until", "2024-07-31"])
    assert r.exit_code == 0, r.output
    expected = aapl_daily().loc["2023-12-01":"2024-07-30"]
    assert f"fetched {len(expected)} bars" in r.output and len(expected) == 165
    stored = read_bars("AAPL", "1d", exchange="XNYS", db=open_database(), prices="raw")
    pd.testing.assert_frame_equal(stored, expected, check_freq=False, check_names=False)
    assert stored.loc["2024-06-07", "close"] == pytest.approx(196.889999)  # not 49.22
    # found on NASDAQ, then two pages back from the end date, raw, after one EGW00201
    assert [q.query["EXCD"] for q in kis.requests_for_path(PRICE)] == ["NAS"]
    pages = [q.query for q in kis.requests_for_path(DAILY)]
    assert [(p["BYMD"], p["MODP"], p["EXCD"], p["GUBN"]) for p in pages] == [
        ("20240730", "0", "NAS", "0"), ("20240730", "0", "NAS", "0"), ("20240306", "0", "NAS", "0"),
    ]  # fmt: skip
    assert kis.rate_limited_count == 1 and kis.token_requests == 1

    run = ["backtest", "--strategy", "sma_cross", "--symbols", "AAPL", "--timeframe", "1d"]
    r = runner.invoke(app, [*run, "--param", "fast=5", "--param", "slow=20", "--json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert (result["config"]["market"], result["config"]["currency"]) == ("us", "USD")
    entries = [t["entry_price"] for t in result["trades"]]
    assert entries and all(160 < p < 240 for p in entries)  # raw dollars, none a quarter


def test_unknown_symbol_or_timeframe_is_refused_and_stores_nothing(kis: FakeKisOverseas) -> None:
    from qts.cli.common import open_database
    from qts.cli.main import app
    from qts.db.repositories.market import MarketRepository

    runner = CliRunner()
    assert runner.invoke(app, [*FETCH, "--symbol", "AAPL", "--until", "2024-01-01"]).exit_code == 0
    r = runner.invoke(app, [*FETCH, "--symbol", "NOPE"])
    assert r.exit_code == 2
    assert "no US stock 'NOPE': not quoted on NASD, NYSE or AMEX" in " ".join(r.output.split())
    r = runner.invoke(app, [*FETCH[:5], "1h", *FETCH[6:], "--symbol", "AAPL"])
    assert r.exit_code == 2 and "use 1d, not 1h" in r.output
    assert not kis.requests_for_path(DAILY)[1:]  # neither asked for bars
    us = [{"provider": "kis", "exchange": "XNYS", "symbol": "AAPL", "timeframe": "1d"}]
    r = runner.invoke(app, ["stream", "--symbols", json.dumps(us)])  # KIS streams KRX only
    assert r.exit_code == 2 and "no stream for AAPL" in r.output
    with open_database().session() as s:
        repo = MarketRepository(s)
        assert repo.last_bar_ms("XNYS", "NOPE", "1d") is None
        last = repo.last_bar_ms("XNYS", "AAPL", "1d")
    assert last == pd.Timestamp("2023-12-29", tz="UTC").value // 1_000_000


def test_one_client_routes_krx_codes_home_and_us_bars_share_yahoos_dates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qts.services.data.providers import make_provider

    minutes = krx_minute_bars(3)
    clock = SimClock(session_start_s() + 4 * 60)  # 09:03:59 KST: three minutes closed
    week = aapl_daily().loc["2024-02-26":"2024-03-01"]
    with FakeKisAccount(
        minute_bars={"005930": minutes}, clock=clock, mock=False, us_bars={"IBM": week}
    ) as fake:
        for name, value in KIS_ENV.items():
            monkeypatch.setenv(name, value)
        settings = Settings(broker_sandbox=False)
        client = make_provider("kis", "XNYS", {"base_url": fake.base_url}, settings)
        assert isinstance(client, KisOverseasQuotations) and client.exchange is None
        client.clock = clock
        since = int(pd.Timestamp("2024-02-01", tz="UTC").value // 1_000_000)
        krx = pd.concat(client.fetch_pages("005930", "1m", int(minutes.index[0].value // 1e6)))
        pd.testing.assert_frame_equal(krx, minutes, check_freq=False, check_names=False)
        us = client.fetch("IBM", "1d", since)  # IBM: not on NASDAQ, found on NYSE
        assert [q.query["EXCD"] for q in fake.requests_for_path(PRICE)] == ["NAS", "NYS"]
        assert list(us["close"]) == list(week["close"].round(4))  # KIS sends 4 decimals
        # Yahoo's chart of the same days (stamped at the 09:30 New York open) keys them alike
        opens = [int(pd.Timestamp(f"{d.date()} 09:30", tz="America/New_York").timestamp())
                 for d in week.index]  # fmt: skip
        quote = {c: list(week[c]) for c in ("open", "high", "low", "close", "volume")}
        chart = {"timestamp": opens, "meta": {"exchangeTimezoneName": "America/New_York"},
                 "indicators": {"quote": [quote]}}  # fmt: skip
        assert list(parse_chart_result(chart, "1d").index) == list(us.index)
        with pytest.raises(NotFoundError):
            client.fetch("NOPE", "1d", since)
        client.close()
        pinned = make_provider("kis", "NYSE", {"base_url": fake.base_url}, settings)
        assert pinned.exchange == "NYS"  # type: ignore[attr-defined]
        pinned.close()  # type: ignore[attr-defined]
    assert (listing_hint("NASD"), listing_hint("amex"), listing_hint("XNYS")) == (
        "NAS",
        "AMS",
        None,
    )
    with pytest.raises(ValidationError):
        KisOverseasQuotations("k", "s", exchange="TSE")
