"""FX rates as bars: pair names and inverses, the rate in force at a bar (never one that had
not closed yet), price conversion, and `qts data fx import|fetch|show` with the daily job
(Yahoo's chart API served by a local fake, `tests/market/fake_yahoo_fx.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from tests.market.fake_yahoo_fx import FakeYahooFx, usd_krw_daily
from typer.testing import CliRunner

from qts.core.errors import NotFoundError, ValidationError
from qts.market.fx import (
    FxPair,
    bar_close_times,
    convert_universe,
    invert_bars,
    rates_at,
)

UTC = "UTC"


def _days(*days: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(days), tz=UTC)


@pytest.fixture
def yahoo() -> Iterator[FakeYahooFx]:
    with FakeYahooFx() as fake:
        yield fake  # type: ignore[misc]


def test_pair_names_yahoo_symbols_and_inverse() -> None:
    for text in ("USD/KRW", "usd/krw", "USDKRW", "USD-KRW", " USD / KRW "):
        assert FxPair.parse(text) == FxPair("USD", "KRW")
    assert FxPair.parse("USD/KRW").inverse.name == "KRW/USD"
    assert FxPair.parse("USD/KRW").yahoo_symbol() == "KRW=X"
    assert FxPair.parse("EUR/KRW").yahoo_symbol() == "EURKRW=X"
    for bad in ("USD", "USD/USD", "US/KRW", "1300", "USD/KRW/JPY"):
        with pytest.raises(ValidationError, match="not a currency pair"):
            FxPair.parse(bad)
    bars = pd.DataFrame(
        {"open": [1300.0], "high": [1310.0], "low": [1250.0], "close": [1280.0], "volume": [0.0]}
    )
    inverse = invert_bars(bars).iloc[0]
    assert inverse["close"] == pytest.approx(1 / 1280)
    assert inverse["high"] == pytest.approx(1 / 1250) and inverse["low"] == pytest.approx(1 / 1310)


def test_the_rate_in_force_is_the_newest_that_had_closed() -> None:
    # Daily USD/KRW bars keyed at 00:00 UTC of their date; each closes at the end of its date.
    rates = pd.Series(
        [1300.0, 1310.0, 1320.0], index=_days("2024-03-04", "2024-03-05", "2024-03-06")
    )
    stock_days = _days("2024-03-05", "2024-03-06")
    krx = bar_close_times(stock_days, "1d", "XKRX")
    nyse = bar_close_times(stock_days, "1d", "XNYS")
    assert list(krx) == list(pd.DatetimeIndex(["2024-03-05 06:30", "2024-03-06 06:30"], tz=UTC))
    assert list(nyse) == list(pd.DatetimeIndex(["2024-03-05 21:00", "2024-03-06 21:00"], tz=UTC))
    # Both sessions of 03-05 close before the FX day 03-05 does: they use 03-04's rate.
    assert list(rates_at(rates, krx, "USD/KRW")) == [1300.0, 1310.0]
    assert list(rates_at(rates, nyse, "USD/KRW")) == [1300.0, 1310.0]
    # An hourly bar ending exactly at midnight sees the day that closed then.
    hourly = bar_close_times(_days("2024-03-05 23:00"), "1h")
    assert list(rates_at(rates, hourly, "USD/KRW")) == [1310.0]
    # No look-ahead: changing a later rate leaves every earlier conversion as it was.
    later = rates.copy()
    later.iloc[-1] = 9999.0
    assert list(rates_at(later, krx, "USD/KRW")) == list(rates_at(rates, krx, "USD/KRW"))
    # Before the first rate had closed: an error naming the pair and the time.
    with pytest.raises(ValidationError, match=r"no USD/KRW rate known at 2024-03-04T06:30"):
        rates_at(rates, bar_close_times(_days("2024-03-04"), "1d", "XKRX"), "USD/KRW")


def test_a_foreign_symbol_is_priced_in_the_base_currency() -> None:
    days = _days("2024-03-05", "2024-03-06")
    aapl = pd.DataFrame(
        {"open": [170.0, 171.0], "high": [172.0, 173.0], "low": [169.0, 170.0],
         "close": [171.0, 172.0], "volume": [5e7, 6e7]}, index=days,
    )  # fmt: skip
    samsung = aapl * 400
    rates = pd.Series([1300.0, 1310.0], index=_days("2024-03-04", "2024-03-05"))
    out = convert_universe(
        {"AAPL": aapl, "005930": samsung}, {"AAPL": "USD"}, "KRW", {"USD/KRW": rates}, "1d"
    )
    assert out["005930"] is samsung  # already in KRW
    assert list(out["AAPL"]["close"]) == [171.0 * 1300.0, 172.0 * 1310.0]
    assert list(out["AAPL"]["open"]) == [170.0 * 1300.0, 171.0 * 1310.0]
    assert list(out["AAPL"]["volume"]) == [5e7, 6e7]  # shares, not money
    with pytest.raises(ValidationError, match="no USD/KRW rates given"):
        convert_universe({"AAPL": aapl}, {"AAPL": "USD"}, "KRW", {}, "1d")


def test_rate_files_are_imported_whole_or_not_at_all(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.fx_rates import import_rates, read_rates

    good = tmp_path / "usdkrw.csv"
    good.write_text("date,close\n2024-03-04,1331.5\n2024-03-05,1333.25\n2024-03-06,1330.0\n")
    out = import_rates(db, good, "USD/KRW")
    assert (out["pair"], out["inserted"]) == ("USD/KRW", 3)
    stored = read_rates(db, "USD/KRW")
    assert list(stored["close"]) == [1331.5, 1333.25, 1330.0]
    assert (stored["open"] == stored["close"]).all() and (stored["volume"] == 0).all()
    # Only one direction is stored: the other is its inverse.
    assert list(read_rates(db, "KRW/USD")["close"]) == pytest.approx(
        [1 / 1331.5, 1 / 1333.25, 1 / 1330.0]
    )
    bad_files = {
        "zero.csv": ("date,close\n2024-03-07,1329\n2024-03-08,0\n", "non_positive_price"),
        "negative.csv": ("date,rate\n2024-03-07,-1329\n", "non_positive_price"),
        "dates.csv": ("date,close\n2024-03-07,1329\n2024-13-45,1330\n", "timestamp_unparseable"),
        "columns.csv": ("date,bid\n2024-03-07,1329\n", "missing column"),
    }
    for name, (text, rule) in bad_files.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValidationError, match=rule):
            import_rates(db, path, "USD/KRW")
    after = read_rates(db, "USD/KRW")
    pd.testing.assert_frame_equal(after, stored)  # nothing of the bad files was kept
    with pytest.raises(NotFoundError, match="no 1d FX rates stored for EUR/KRW"):
        read_rates(db, "EUR/KRW")


def test_qts_data_fx_fetch_import_and_show(
    fresh_data_dir: Path, yahoo: FakeYahooFx, tmp_path: Path
) -> None:
    from qts.cli.main import app

    runner = CliRunner()
    url = yahoo.base_url
    args = ["data", "fx", "fetch", "--pair", "USD/KRW", "--start", "2024-01-01"]
    r = runner.invoke(app, [*args, "--end", "2024-02-01", "--base-url", url])
    assert r.exit_code == 0, r.output
    expected = usd_krw_daily().loc["2024-01-01":"2024-02-01"]  # both ends included
    assert f"fetched {len(expected)} USD/KRW rates from yahoo:KRW=X" in r.output
    assert yahoo.requests[-1].path == "/v8/finance/chart/KRW=X"
    assert yahoo.requests[-1].query["interval"] == "1d"
    from qts.cli.common import open_database
    from qts.services.data.fx_rates import read_rates

    stored = read_rates(open_database(), "USD/KRW")
    # Stamped at 00:00 London by Yahoo, stored at 00:00 UTC of that date, closes exactly.
    pd.testing.assert_series_equal(
        stored["close"], expected.rename("close").rename_axis("ts"), check_freq=False
    )
    assert (stored["high"] >= stored["close"]).all()  # the quote above the high was widened
    r = runner.invoke(app, ["data", "fx", "show", "--pair", "KRW/USD", "--last", "1"])
    assert r.exit_code == 0 and f"{1 / expected.iloc[-1]:,.6g}" in r.output, r.output
    r = runner.invoke(app, ["data", "fx", "fetch", "--pair", "EUR/JPY", "--base-url", url])
    assert r.exit_code == 2 and "EURJPY=X" in r.output and "No data found" in r.output
    rates = tmp_path / "eurkrw.csv"
    rates.write_text("date,close\n2024-01-02,1440.5\n2024-01-03,-1\n")
    r = runner.invoke(app, ["data", "fx", "import", str(rates), "--pair", "EUR/KRW"])
    assert r.exit_code == 2 and "rejected, nothing stored" in r.output, r.output
    assert "line 3" in r.output and "non_positive_price" in r.output
    rates.write_text("date,close\n2024-01-02,1440.5\n2024-01-03,1441\n")
    r = runner.invoke(app, ["data", "fx", "import", str(rates), "--pair", "EUR/KRW"])
    assert r.exit_code == 0 and "imported FX:EUR/KRW 1d: 2 rates (2 new" in r.output, r.output


def test_the_daily_job_refreshes_configured_pairs(
    sqlite_db, yahoo: FakeYahooFx, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.fx_rates import collect_fx_rates, read_rates
    from qts.workers.schedule import Cron, load_schedule
    from qts.workers.settings import WorkerSettings

    job = load_schedule(WorkerSettings(_env_file=None)).get("fx_rates")
    assert job.trigger == Cron("30 0 * * *") and job.kwargs == {"pairs": ["USD/KRW"]}
    assert job.enabled is False  # needs the network: on by configuration
    # The fake's series ends in July 2025: pretend "now" is then.
    today = pd.Timestamp("2025-07-10", tz=UTC)
    monkeypatch.setattr(pd.Timestamp, "now", classmethod(lambda cls, tz=None: today))
    monkeypatch.setenv("QTS_YAHOO_URL", yahoo.base_url)
    out = collect_fx_rates(SimpleNamespace(db=sqlite_db), **job.kwargs)  # type: ignore[arg-type]
    stored = read_rates(sqlite_db, "USD/KRW")
    assert (
        out == {"pairs": {"USD/KRW": len(stored)}} and len(stored) == 9
    )  # 06-30 .. 07-10: 9 weekdays
    assert stored.index[-1] == pd.Timestamp("2025-07-10", tz=UTC)
    with pytest.raises(RuntimeError, match=r"1 of 2 pairs failed.*EUR/JPY"):
        collect_fx_rates(SimpleNamespace(db=sqlite_db), pairs=["USD/KRW", "EUR/JPY"])  # type: ignore[arg-type]
    assert np.isfinite(stored["close"]).all()
