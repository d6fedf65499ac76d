"""A KRW portfolio of a KRX and a US stock: AAPL is priced in KRW at the USD/KRW rate in force
at each of its bars (rates fetched by `qts data fx fetch` from a fake Yahoo chart API with
approximate levels), so fills, fees and equity are in KRW; each symbol pays its own market's
costs (AAPL the US preset's, in dollars converted at its bars' rate; 005930 the KRX commission
and sell tax); both engines fill identically; the run is refused, naming the pair, until rates
are stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
from typer.testing import CliRunner

from qts.backtest import BacktestConfig, run_backtest
from qts.strategies import TargetStrategy
from tests.market.fake_yahoo_fx import FakeYahooFx, usd_krw_daily

ROOT = Path(__file__).resolve().parents[2]
KRX = str(ROOT / "src/qts/sample_data/kr_daily/005930.csv")
US = str(ROOT / "src/qts/sample_data/us_daily/AAPL.csv")
SYMBOLS = ["005930", "AAPL"]
RUN = ["backtest", "--strategy", "sma_cross", "--symbols", "005930,AAPL", "--timeframe", "1d"]
RUN += ["--param", "fast=5", "--param", "slow=20", "--start", "2023-12-05", "--json"]


class HoldBoth(TargetStrategy):
    """45% of equity in each symbol from the first bar on: one buy each, held to the end."""

    name: ClassVar[str] = "hold_both"

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return pd.Series(0.9, index=bars.index)  # x 1/2: equal weight of two symbols


@pytest.fixture
def stored(fresh_data_dir: Path) -> Iterator[CliRunner]:
    from qts.cli.main import app

    runner = CliRunner()
    for path, symbol, exchange in ((KRX, "005930", "XKRX"), (US, "AAPL", "XNAS")):
        args = ["data", "import", path, "--symbol", symbol, "--exchange", exchange]
        assert runner.invoke(app, args).exit_code == 0
    yield runner


def _run(runner: CliRunner, *extra: str) -> tuple[int, str]:
    from qts.cli.main import app

    r = runner.invoke(app, [*RUN, *extra])
    return r.exit_code, r.output


def test_a_krw_portfolio_of_krx_and_us_stocks(
    stored: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qts.backtest.presets import PRESETS
    from qts.cli.main import app

    # A US minimum fee of 5 USD per order (the preset has none): AAPL's fees are in dollars.
    monkeypatch.setitem(PRESETS, "us", replace(PRESETS["us"], min_fee=5.0))
    code, out = _run(stored, "--currency", "KRW")
    assert code == 2 and "needs FX rates; none stored for USD/KRW (AAPL=USD)" in out, out
    code, out = _run(stored)
    assert code == 2 and "mixed-currency run: set a base currency" in out, out
    with FakeYahooFx() as yahoo:
        fetch = ["data", "fx", "fetch", "--pair", "USD/KRW", "--start", "2023-10-16"]
        r = stored.invoke(app, [*fetch, "--end", "2024-08-01", "--base-url", yahoo.base_url])
        assert r.exit_code == 0, r.output
    code, out = _run(stored, "--currency", "KRW")
    assert code == 0, out
    result = json.loads(out)
    config = result["config"]
    assert (config["currency"], config["market"], config["cash"]) == ("KRW", "krx", 1e8)
    assert config["fx_pairs"] == ["USD/KRW"] and config["symbol_currencies"] == {"AAPL": "USD"}
    assert config["symbol_markets"] == {"AAPL": "us"}
    assert config["symbol_costs"]["AAPL"]["min_fee"] == 5.0  # USD, converted per fill
    aapl = [t for t in result["trades"] if t["symbol"] == "AAPL"]
    assert aapl and all(150 * 1300 < t["entry_price"] < 240 * 1400 for t in aapl)  # KRW
    # A closed round trip: two fills of 5 USD each at ~1300-1400 KRW/USD, no KRX tax.
    closed = [t["fees"] for t in aapl if t["status"] == "closed"]
    assert closed and all(2 * 5 * 1300 < fees < 2 * 5 * 1400 for fees in closed), closed
    samsung = [t for t in result["trades"] if t["symbol"] == "005930" and t["status"] == "closed"]
    # KRX: 0.015% each way plus the sell tax of the exit's year (0.20%, 0.18%, 0.15%).
    taxes = {"2023": 0.0020, "2024": 0.0018, "2025": 0.0015}
    assert {t["exit_time"][:4] for t in samsung} == {"2024", "2025"}
    for t in samsung:
        tax = taxes[t["exit_time"][:4]]
        value = t["size"] * (t["entry_price"] * 0.00015 + t["exit_price"] * (0.00015 + tax))
        assert t["fees"] == pytest.approx(value, rel=1e-9), t


def _rate_before(day: str) -> float:
    """USD/KRW in force at a US close on `day`: the newest FX day that had closed, the
    weekday before it (the FX day of `day` itself closes at midnight UTC, after the US close)."""
    series = usd_krw_daily()
    return float(series[series.index < pd.Timestamp(day, tz="UTC")].iloc[-1])


def test_buy_and_hold_of_aapl_in_krw_is_shares_times_close_times_rate(
    stored: CliRunner,
) -> None:
    from qts.cli.common import open_database
    from qts.cli.main import app
    from qts.services.data.fx_rates import convert_run_data, resolve_run
    from qts.services.data.market_data import read_bars, stored_markets

    with FakeYahooFx() as yahoo:
        fetch = ["data", "fx", "fetch", "--pair", "USD/KRW", "--start", "2023-11-01"]
        r = stored.invoke(app, [*fetch, "--end", "2024-08-01", "--base-url", yahoo.base_url])
        assert r.exit_code == 0, r.output
    db = open_database()
    exchanges, currencies = stored_markets(db, SYMBOLS, "1d")
    config = resolve_run(db, BacktestConfig(currency="KRW"), SYMBOLS, exchanges, currencies)
    universe = {s: read_bars(s, "1d", "2023-12-05", "2024-07-30", db=db) for s in SYMBOLS}
    native = universe["AAPL"]
    converted = convert_run_data(db, config, universe, "1d", exchanges)
    db.dispose()
    runs = {
        engine: run_backtest(HoldBoth(), converted, replace(config, engine=engine))
        for engine in ("vectorized", "event")
    }
    fills = {e: r.fills.round(6).to_dict("records") for e, r in runs.items()}
    assert fills["vectorized"] == fills["event"] and len(fills["event"]) == 2
    result = runs["vectorized"]
    buy = result.fills[result.fills["symbol"] == "AAPL"].iloc[0]
    day = f"{buy['ts']:%Y-%m-%d}"
    assert day == "2023-12-06"  # decided at the first bar, filled at the next open
    rate = _rate_before(day)
    assert buy["price"] == pytest.approx(native.loc[day, "open"] * rate, rel=1e-12)
    assert buy["fee"] == 0.0  # the US preset's costs: commission-free
    assert buy["quantity"] == int(0.45 * 1e8 / buy["price"])  # whole shares of 45% of 100M
    # At the end: AAPL is worth shares x its USD close x the rate in force, in KRW.
    last_rate = _rate_before("2024-07-30")
    aapl_value = buy["quantity"] * native["close"].iloc[-1] * last_rate
    assert last_rate == 1370.45  # the fake's 2024-07-29 (Monday) rate
    assert aapl_value == pytest.approx(buy["quantity"] * 218.800003 * 1370.45, rel=1e-12)
    samsung = result.fills[result.fills["symbol"] == "005930"].iloc[0]
    assert samsung["price"] == universe["005930"].loc[day, "open"]  # KRW stays as it is
    assert samsung["fee"] == pytest.approx(0.00015 * samsung["quantity"] * samsung["price"])
    cash = 1e8 - sum(f["quantity"] * f["price"] + f["fee"] for f in fills["vectorized"])
    samsung_value = samsung["quantity"] * universe["005930"]["close"].iloc[-1]
    assert result.equity.iloc[-1] == pytest.approx(cash + aapl_value + samsung_value, rel=1e-12)
