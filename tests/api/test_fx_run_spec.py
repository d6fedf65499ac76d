"""The API's run spec takes a base currency: a KRW run of a KRX and a US stock is refused,
naming USD/KRW, while no rates are stored (nothing is stored either), and runs in KRW once
they are (fetched from a fake Yahoo chart API)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.helpers import backtest_through_api
from tests.market.fake_yahoo_fx import FakeYahooFx

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def test_a_krw_run_of_krx_and_us_stocks_through_the_api(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.fx_rates import fetch_rates
    from qts.services.data.market_data import import_file

    db = client.app.state.ctx.db  # type: ignore[attr-defined]
    import_file(db, SAMPLE / "kr_daily/005930.csv", "005930", "1d", "XKRX")
    import_file(db, SAMPLE / "us_daily/AAPL.csv", "AAPL", "1d", "XNAS")
    h = auth_headers("trader")
    body = {
        "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["005930", "AAPL"],
        "timeframe": "1d", "start": "2023-12-05", "currency": "KRW",
    }  # fmt: skip
    r = client.post("/api/v1/backtests", headers=h, json=body)
    assert r.status_code == 422 and "none stored for USD/KRW (AAPL=USD)" in r.text, r.text
    full = {
        "market": "krx", "cash": 1e8, "commission": 0.00015, "fixed_fee": 0.0, "min_fee": 0.0,
        "slippage_bps": 0.0, "slippage_vol_mult": 0.0, "lot_size": 1, "fractional": False,
        "qty_step": 1.0, "leverage": 1.0,
    }  # fmt: skip
    r = client.post("/api/v1/backtests", headers=h, json={**body, **full})  # every option given
    assert r.status_code == 422 and "none stored for USD/KRW" in r.text, r.text
    assert client.get("/api/v1/backtests", headers=h).json()["total"] == 0
    with FakeYahooFx() as yahoo:
        fetch_rates(db, "USD/KRW", "2023-10-16", "2024-08-01", base_url=yahoo.base_url)
    result = backtest_through_api(client, h, body)
    config = result["config"]
    assert (config["currency"], config["market"], config["fx_pairs"]) == ("KRW", "krx", ["USD/KRW"])
    assert config["symbol_currencies"] == {"AAPL": "USD"}
    assert config["symbol_markets"] == {"AAPL": "us"}  # AAPL pays the US costs
    aapl = [t for t in result["trades"] if t["symbol"] == "AAPL"]
    assert aapl and all(150 * 1300 < t["entry_price"] < 240 * 1400 for t in aapl)  # in KRW
    assert all(t["fees"] == 0 for t in aapl)  # commission-free, no KRX sell tax
    samsung = [t for t in result["trades"] if t["symbol"] == "005930"]
    assert samsung and all(t["fees"] > 0 for t in samsung)
    assert result["metrics"]["initial_cash"] == 100_000_000


def test_a_krw_optimisation_of_krx_and_us_stocks(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    from qts.services.data.fx_rates import fetch_rates
    from qts.services.data.market_data import import_file
    from tests.api.test_optimizations_api import finished

    db = client.app.state.ctx.db  # type: ignore[attr-defined]
    import_file(db, SAMPLE / "kr_daily/005930.csv", "005930", "1d", "XKRX")
    import_file(db, SAMPLE / "us_daily/AAPL.csv", "AAPL", "1d", "XNAS")
    h = auth_headers("trader")
    body = {
        "strategy": "sma_cross", "symbols": ["005930", "AAPL"], "currency": "KRW", "start": "2023-12-05",
        "grid": {"fast": [5, 10], "slow": [20]},
    }  # fmt: skip
    r = client.post("/api/v1/optimizations", headers=h, json=body)
    assert r.status_code == 422 and "none stored for USD/KRW" in r.text, r.text
    assert client.get("/api/v1/optimizations", headers=h).json()["total"] == 0
    with FakeYahooFx() as yahoo:
        fetch_rates(db, "USD/KRW", "2023-10-16", "2024-08-01", base_url=yahoo.base_url)
    r = client.post("/api/v1/optimizations", headers=h, json=body)
    assert r.status_code == 202, r.text
    run = finished(client, h, r.json()["id"])
    assert run["status"] == "done", run.get("error")
    trials = run["result"]["in_sample"]["trials"]
    assert len(trials) == 2 and all(t["score"] is not None for t in trials)
    assert {t["params"]["fast"] for t in trials} == {5, 10}
