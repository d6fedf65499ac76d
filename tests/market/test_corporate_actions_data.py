"""Corporate actions as data: the events CSV, storage on both backends, bars read adjusted by
default (raw on request), a backtest from stored raw bars + actions, and Yahoo's splits and
dividends through a local fake of its chart API."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.market.test_http_providers import Fake, fake  # noqa: F401 - the fake's fixture
from typer.testing import CliRunner

from qts.cli.main import app
from qts.core.errors import ValidationError
from qts.db import Database
from qts.services.data import corporate_actions as actions_service
from qts.services.data.market_data import fetch, read_bars, read_bars_with_history, store_bars
from qts.services.data.run_data import read_run_data

DATA = Path(__file__).resolve().parents[1] / "data" / "corporate_actions"


def samsung(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / f"005930_{name}.csv", dtype={"timestamp": str})
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True), name="ts")
    return frame.astype("float64")


def test_events_csv_stored_and_bars_read_adjusted_by_default(db: Database) -> None:
    store_bars(db, "XKRX", "005930", "1d", samsung("raw"))
    result = actions_service.import_csv(db, DATA / "events.csv")
    assert result == {"file": str(DATA / "events.csv"), "stored": 1, "symbols": ["005930"]}
    assert actions_service.import_csv(db, DATA / "events.csv")["stored"] == 1  # upsert
    [row] = actions_service.list_actions(db, "005930")
    assert (row["exchange"], row["ex_date"], row["kind"], row["ratio"]) == (
        "XKRX", "2018-05-04", "split", 50.0,
    )  # fmt: skip
    adjusted = read_bars("005930", "1d", db=db)
    pd.testing.assert_frame_equal(adjusted, samsung("adjusted"), check_freq=False)
    raw = read_bars("005930", "1d", db=db, prices="raw")
    assert raw.loc["2018-04-27", "close"].item() == 2_650_000
    # A warm-up window read apart from the bars lines up with them (same actions).
    history, bars = read_bars_with_history("005930", "1d", "2018-06-01", None, 60, db=db)
    together = pd.concat([history, bars])
    assert together.index[0] < pd.Timestamp("2018-05-04", tz="UTC")  # spans the split
    expected = samsung("adjusted").loc[together.index]
    pd.testing.assert_frame_equal(together, expected, check_freq=False)
    run = read_run_data(db, ["005930"], "1d", "2018-06-01", None, 60)
    assert run.universe["005930"]["close"].max() > 2_000_000  # raw quotes for the engine
    assert [a.ratio for a in run.actions["005930"]] == [50.0]


def test_a_bad_events_file_stores_nothing(db: Database, tmp_path: Path) -> None:
    actions_service.import_csv(db, DATA / "events.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "exchange,symbol,ex_date,kind,ratio,amount\n"
        "XNYS,KO,2024-03-14,dividend,,0.485\n"
        "XNYS,KO,2024-06-14,bonus,,0.485\n"
    )
    with pytest.raises(ValidationError, match="line 3: corporate action kind"):
        actions_service.import_csv(db, bad)
    bad.write_text("exchange,symbol,ex_date,kind,ratio\nXNYS,T,2024-01-02,split,-2\n")
    with pytest.raises(ValidationError, match="ratio must be > 0"):
        actions_service.import_csv(db, bad)
    assert [r["symbol"] for r in actions_service.list_actions(db)] == ["005930"]


def test_cli_backtest_on_stored_raw_bars_and_actions(fresh_data_dir: Path) -> None:
    from qts.cli.common import open_database

    runner = CliRunner()
    database = open_database()  # the fresh data directory's (`qts data import` minus calendar)
    store_bars(database, "XKRX", "005930", "1d", samsung("raw"))
    database.dispose()
    done = runner.invoke(app, ["data", "actions", "import", str(DATA / "events.csv")])
    assert done.exit_code == 0 and "stored 1 corporate actions for 005930" in done.output
    listed = runner.invoke(app, ["data", "actions", "list", "--json"])
    assert json.loads(listed.output)[0]["ratio"] == 50.0
    runs = {}
    for prices in ("adjusted", "raw"):
        out = runner.invoke(app, ["backtest", "--strategy", "sma_cross", "--symbol", "005930",
                                  "--timeframe", "1d", "--param", "fast=5", "--param", "slow=20",
                                  "--prices", prices, "--json"])  # fmt: skip
        assert out.exit_code == 0, out.output
        runs[prices] = json.loads(out.stdout)
    adjusted = runs["adjusted"]
    # Held through the split: bought 33 at 2,550,000, sold 1,650 at 49,200 (raw quotes).
    trade = next(t for t in adjusted["trades"] if t["entry_time"].startswith("2018-04-18"))
    assert (trade["size"], trade["entry_price"], trade["exit_price"]) == (1650, 51_000, 49_200)
    assert adjusted["config"]["price_adjustment"] == "adjusted"
    # Raw view: the strategy sees the 98% "crash" as a signal, so it trades differently.
    assert runs["raw"]["trades"] != adjusted["trades"]


# Yahoo's chart API with events: quotes split-adjusted as of the request, a 4:1 split and a
# dividend (amount per post-split share), as Yahoo publishes them.
DAYS = pd.bdate_range("2020-08-24", "2020-09-04")
QUOTED = [500.0, 504.0, 508.0, 512.0, 499.0, 129.0, 134.0, 131.0, 120.0, 121.0]  # raw closes


def yahoo_with_events(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
    stamps = [int(pd.Timestamp(f"{d:%Y-%m-%d} 09:30", tz="America/New_York").timestamp())
              for d in DAYS]  # fmt: skip
    split_at, div_at = stamps[5], stamps[3]
    adjusted = [c / 4 if s < split_at else c for c, s in zip(QUOTED, stamps, strict=True)]
    quote = {k: adjusted for k in ("open", "high", "low", "close")}
    quote["volume"] = [4000.0 if s < split_at else 1000.0 for s in stamps]
    result: dict[str, Any] = {
        "meta": {"symbol": "AAPL", "exchangeTimezoneName": "America/New_York"},
        "timestamp": stamps,
        "indicators": {"quote": [quote]},
        "events": {
            "splits": {
                str(split_at): {
                    "date": split_at,
                    "numerator": 4,
                    "denominator": 1,
                    "splitRatio": "4:1",
                }
            },
            "dividends": {str(div_at): {"amount": 0.205, "date": div_at}},
        },
    }
    body = json.dumps({"chart": {"result": [result], "error": None}})
    return 200, {"Content-Type": "application/json"}, body


def test_yahoo_fetch_stores_raw_quotes_and_the_actions(fake: Fake, db: Database) -> None:  # noqa: F811
    fake.routes["/v8/finance/chart"] = yahoo_with_events
    since = DAYS[0].value // 1_000_000
    result = fetch("yahoo", "XNAS", "AAPL", "1d", since, db=db,
                   provider_options={"base_url": fake.url})  # fmt: skip
    assert result["corporate_actions"] == 2 and fake.seen[-1][1]["events"] == "div,splits"
    raw = read_bars("AAPL", "1d", db=db, prices="raw")
    assert raw["close"].tolist() == QUOTED  # Yahoo's split adjustment undone
    assert raw["volume"].tolist() == [1000.0] * 10
    stored = {r["kind"]: r for r in actions_service.list_actions(db, "AAPL")}
    assert stored["split"]["ex_date"] == "2020-08-31" and stored["split"]["ratio"] == 4.0
    # 0.205 per post-split share was 0.82 per share of its own (pre-split) day.
    assert stored["dividend"]["ex_date"] == "2020-08-27"
    assert stored["dividend"]["amount"] == pytest.approx(0.82)
    adjusted = read_bars("AAPL", "1d", db=db)
    div_factor = 1 - 0.82 / 508.0  # vs the raw close before the ex-date
    assert adjusted["close"].iloc[0] == pytest.approx(500.0 / 4 * div_factor)
    assert adjusted["close"].iloc[4] == pytest.approx(499.0 / 4)
    assert adjusted["volume"].iloc[0] == 4000.0
    again = actions_service.fetch_yahoo(db, "AAPL", date(2020, 1, 1), "XNAS", fake.url)
    assert again["stored"] == 2 and len(actions_service.list_actions(db, "AAPL")) == 2


def test_krx_splits_derived_from_adjusted_vs_raw_prices(db: Database) -> None:
    # pykrx's adjusted=True / adjusted=False series, here from local files (no network).
    result = actions_service.derive_krx(db, "005930", samsung("raw"), samsung("adjusted"))
    assert result == {"symbol": "005930", "exchange": "XKRX", "stored": 1,
                      "splits": [["2018-05-04", 50.0]]}  # fmt: skip
    [row] = actions_service.list_actions(db, "005930")
    assert row["source"] == "pykrx"
