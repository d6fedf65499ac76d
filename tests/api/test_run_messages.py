"""Unknown strategies get a "did you mean" and only the forms the API accepts; a run whose cash cannot buy one lot, or that makes no trade, says so: in the Python result,
the CLI (on stderr, and in --json) and the API's stored result."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qts.backtest import BacktestConfig, run_backtest
from qts.cli.main import app
from qts.market.files import load_bars_file
from qts.strategies import create_strategy
from tests.api.helpers import backtest_through_api

SAMPLE = Path(__file__).resolve().parents[2] / "src/qts/sample_data/kr_daily/005930.csv"
LOT_WARNING = "cash 10,000 KRW cannot buy one lot of 005930 (1 x 71,200.00 = 71,200 KRW on 2023-12-05): raise --cash"
NO_TRADE = "the run made no trade: every figure is that of holding cash"


def test_python_result_warns_when_cash_is_below_one_lot() -> None:
    bars = {"005930": load_bars_file(SAMPLE)}
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 20})
    poor = run_backtest(strategy, bars, BacktestConfig(cash=10_000))
    assert poor.warnings == [LOT_WARNING, NO_TRADE]
    assert poor.metrics["fills"] == 0 and poor.to_dict()["warnings"] == poor.warnings
    preset = run_backtest(strategy, bars, BacktestConfig())
    assert preset.warnings == [] and preset.metrics["fills"] > 0


def test_cli_prints_the_warnings(fresh_data_dir: Path) -> None:
    args = ["backtest", "--strategy", "sma_cross", "--data", str(SAMPLE), "--symbol", "005930"]
    r = CliRunner().invoke(app, [*args, "--cash", "10000"])
    assert r.exit_code == 0
    assert f"warning: {LOT_WARNING}" in r.stderr and f"warning: {NO_TRADE}" in r.stderr
    r = CliRunner().invoke(app, [*args, "--cash", "10000", "--json"])
    assert json.loads(r.stdout)["warnings"] == [LOT_WARNING, NO_TRADE]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0 and "warning" not in r.stderr


def test_api_result_carries_the_warnings(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    import_file(client.app.state.ctx.db, SAMPLE, "005930", "1d")  # type: ignore[attr-defined]
    body = {"strategy": "sma_cross", "symbols": ["005930"], "timeframe": "1d", "cash": 10_000}
    result = backtest_through_api(client, auth_headers("trader"), body)
    assert result["warnings"] == [LOT_WARNING, NO_TRADE]


def test_api_unknown_strategy_offers_only_what_the_api_accepts(
    client: TestClient, auth_headers
) -> None:  # type: ignore[no-untyped-def]
    body = {"strategy": "sma_crss", "symbols": ["005930"], "timeframe": "1d"}
    r = client.post("/api/v1/backtests", headers=auth_headers("trader"), json=body)
    message = r.json()["error"]["message"]
    assert r.status_code == 422 and "did you mean 'sma_cross'?" in message
    assert ".py" not in message and "module:Class" in message
    new = {"name": "x", "strategy_class": "sma_crss", "symbols": ["005930"], "timeframe": "1d"}
    r = client.post("/api/v1/strategies", headers=auth_headers("trader"), json=new)
    assert r.status_code == 422 and ".py" not in r.json()["error"]["message"]
