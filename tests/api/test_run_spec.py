"""One run spec: the same backtest on defaults through the CLI, the API and Python gives the
same metrics and trades, priced with the market preset (KRX: 0.015% + dated sell tax, whole
shares; crypto: 0.1%, fractional); bad options are refused with nothing stored."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qts.backtest import BacktestConfig, run_backtest
from qts.market.files import load_bars_file
from qts.strategies import create_strategy
from tests.api.helpers import backtest_through_api

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"
PARAMS = {"fast": 5, "slow": 20}
# KRX sell tax (KOSPI transaction tax + 0.15% rural tax) by the year of the sell.
KRX_TAX = {2024: 0.0018, 2025: 0.0015}
CASES = {
    "krx": ("kr_daily/005930.csv", "005930", "1d", None),
    "crypto": ("crypto_1h/BTC_USDT.csv", "BTC/USDT", "1h", "2025-12-01"),
}


def _cli(file: Path, symbol: str, timeframe: str, start: str | None) -> dict[str, Any]:
    from qts.cli.backtest_cmd import backtest

    app = typer.Typer()
    app.command()(backtest)
    args = ["--strategy", "sma_cross", "--data", str(file), "--symbol", symbol]
    args += ["--timeframe", timeframe, "--param", "fast=5", "--param", "slow=20", "--json"]
    args += ["--start", start] if start else []
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", list(CASES))
def test_cli_api_and_python_give_the_same_run_on_preset_defaults(
    client: TestClient, auth_headers, case: str
) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    rel, symbol, timeframe, start = CASES[case]
    import_file(client.app.state.ctx.db, SAMPLE / rel, symbol, timeframe)  # type: ignore[attr-defined]
    body = {"strategy": "sma_cross", "params": PARAMS, "symbols": [symbol], "timeframe": timeframe}
    api = backtest_through_api(
        client, auth_headers("trader"), {**body, **({"start": start} if start else {})}
    )
    cli = _cli(SAMPLE / rel, symbol, timeframe, start)
    bars = load_bars_file(SAMPLE / rel)
    strategy = create_strategy("sma_cross", PARAMS)
    if start:  # the strategy's warm-up bars before the start come along, untraded
        first = int(bars.index.searchsorted(bars.loc[start:].index[0]))  # type: ignore[misc]
        bars = bars.iloc[first - strategy.warmup_bars :]
    python = run_backtest(
        strategy, {symbol: bars}, BacktestConfig(timeframe=timeframe), trade_start=start
    ).to_dict()
    if start:
        assert min(t["entry_time"] for t in python["trades"]) >= start

    assert api["metrics"] == cli["metrics"] == python["metrics"]
    assert api["trades"] == cli["trades"] == python["trades"]
    assert api["config"] == cli["config"] == python["config"]
    trades = [t for t in api["trades"] if t["status"] == "closed"]
    assert len(trades) >= 5
    if case == "krx":
        assert api["config"]["market"] == "krx" and api["config"]["currency"] == "KRW"
        assert api["metrics"]["initial_cash"] == 100_000_000
        assert all(float(t["size"]).is_integer() for t in trades)  # whole shares
        years = set()
        for t in trades:
            sell_day = date.fromisoformat(t["exit_time"][:10])
            years.add(sell_day.year)
            buy, sell = t["size"] * t["entry_price"], t["size"] * t["exit_price"]
            fee = 0.00015 * buy + 0.00015 * sell + KRX_TAX[sell_day.year] * sell
            assert t["fees"] == pytest.approx(fee, rel=1e-9)
        assert years == {2024, 2025}  # both tax years are priced
    else:
        assert api["config"]["market"] == "crypto" and api["config"]["currency"] == "USDT"
        assert api["metrics"]["initial_cash"] == 100_000
        assert any(not float(t["size"]).is_integer() for t in trades)  # fractional sizing
        for t in trades:
            assert round(t["size"] / 1e-8) == pytest.approx(t["size"] / 1e-8, abs=1e-3)
            notional = t["size"] * (t["entry_price"] + t["exit_price"])
            assert t["fees"] == pytest.approx(0.001 * notional, rel=1e-9)


def test_bad_run_options_are_refused_and_nothing_is_stored(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    db = client.app.state.ctx.db  # type: ignore[attr-defined]
    import_file(db, SAMPLE / "kr_daily/005930.csv", "005930", "1d")
    import_file(db, SAMPLE / "crypto_1h/BTC_USDT.csv", "BTC/USDT", "1h")
    h = auth_headers("trader")
    body = {"strategy": "sma_cross", "symbols": ["005930"], "timeframe": "1d"}
    cases = [
        ({"commission": -0.001}, "commission must be a finite number >= 0"),
        ({"market": "nyse"}, "'auto', 'krx', 'us' or 'crypto'"),
        ({"lot_size": 0}, "lot_size and qty_step must be > 0"),
        ({"currency": "USD"}, "mixed-currency run in USD needs FX rates; none stored for KRW/USD"),
        ({"symbols": ["005930", "BTC/USDT"]}, "mixed-currency run: set a base currency"),
        ({"unknown_option": 1}, "unknown_option"),
    ]
    for extra, message in cases:
        r = client.post("/api/v1/backtests", headers=h, json={**body, **extra})
        assert r.status_code == 422, (extra, r.text)
        assert message in json.dumps(r.json()), (extra, r.text)
    assert client.get("/api/v1/backtests", headers=h).json()["total"] == 0
    # The full option set is accepted: every CLI option has its field in the API.
    full = {
        "cash": 50_000_000, "commission": 0.0003, "fixed_fee": 10.0, "min_fee": 100.0,
        "sell_tax": 0.002, "slippage_bps": 5.0, "slippage_vol_mult": 0.1, "lot_size": 10,
        "fractional": False, "qty_step": 1.0, "leverage": 1.5, "allow_short": False,
        "market": "krx", "currency": "KRW", "fill_at": "close", "rebalance": "every_bar",
        "asset_class": "stock", "engine": "event",
    }  # fmt: skip
    r = client.post("/api/v1/backtests", headers=h, json={**body, **full})
    assert r.status_code == 202, r.text
    frame = client.get(f"/api/v1/backtests/{r.json()['id']}", headers=h).json()
    assert frame["request"]["commission"] == 0.0003 and frame["request"]["engine"] == "event"
    assert client.get("/api/v1/backtests", headers=h).json()["total"] == 1
    # The CLI refuses the same values with the same message.
    from qts.cli.backtest_cmd import backtest

    app = typer.Typer()
    app.command()(backtest)
    data = str(SAMPLE / "kr_daily/005930.csv")
    out = CliRunner().invoke(
        app, ["--strategy", "sma_cross", "--data", data, "--commission", "-0.001"]
    )
    assert out.exit_code == 2 and "commission must be a finite number >= 0" in out.output
    out = CliRunner().invoke(app, ["--strategy", "sma_cross", "--data", data, "--market", "nyse"])
    assert out.exit_code == 2 and "market" in out.output
