"""README "Write your own strategy": the example file runs from the CLI by path and, as an
installed module, through the API with the same result; the API never loads a file path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qts.cli.main import app
from qts.config import Settings
from tests.api.conftest import make_settings
from tests.api.helpers import backtest_through_api

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "src" / "qts" / "sample_data" / "kr_daily" / "005930.csv"
FILE_SPEC = "examples/strategies/rsi_band.py:RsiBand"
MODULE_SPEC = (
    "examples.strategies.rsi_band:RsiBand"  # importable: the repository root is on sys.path
)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # The API imports module:Class strategies only from the packages named here.
    return make_settings(tmp_path, db_url, strategy_packages=["examples.strategies"])


def test_example_strategy_runs_from_cli_and_api_alike(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.market_data import import_file

    import_file(client.app.state.ctx.db, SAMPLE, "005930", "1d")  # type: ignore[attr-defined]
    args = ["backtest", "--strategy", str(ROOT / FILE_SPEC), "--data", str(SAMPLE)]
    out = CliRunner().invoke(app, [*args, "--param", "low=35", "--timeframe", "1d", "--json"])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.stdout)
    body = {
        "strategy": MODULE_SPEC,
        "params": {"low": 35},
        "symbols": ["005930"],
        "timeframe": "1d",
    }
    api = backtest_through_api(client, auth_headers("trader"), body)
    assert len(cli["trades"]) == 2
    assert api["trades"] == cli["trades"]
    assert api["metrics"] == cli["metrics"]

    check = CliRunner().invoke(
        app, ["strategy", "check", str(ROOT / FILE_SPEC), "--data", str(SAMPLE)]
    )
    assert check.exit_code == 0, check.output
    assert "no look-ahead found" in check.output

    bad = client.post(
        "/api/v1/backtests", headers=auth_headers("trader"), json={**body, "strategy": FILE_SPEC}
    )
    assert bad.status_code == 422, bad.text
    low_high = client.post(
        "/api/v1/backtests",
        headers=auth_headers("trader"),
        json={**body, "params": {"low": 45, "high": 42}},
    )
    assert low_high.status_code == 422
    assert "low < high" in low_high.json()["error"]["message"]
