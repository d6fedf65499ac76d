"""Bars on days that are not exchange sessions: flagged on import, left out on request.

Several US daily files carry a 2023-06-19 (Juneteenth, NYSE closed) row that repeats
2023-06-16 exactly: a provider's holiday placeholder. Here the same defect is made from the
shipped AAPL sample (which has no such row).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import SAMPLE
from qts.cli.data_cmd import app
from qts.config import reset_settings_cache
from qts.db import Database
from qts.db.migrate import upgrade
from qts.market.files import load_bars_file
from qts.services.data import market_data as md

AAPL = SAMPLE / "us_daily" / "AAPL.csv"
HOLIDAY = pd.Timestamp("2023-06-19", tz="UTC")


def _with_placeholder(tmp_path: Path) -> Path:
    """AAPL 2023 with a Juneteenth row copying 2023-06-16, and a Saturday row of its own."""
    frame = pd.read_csv(AAPL)
    frame = frame[frame["timestamp"].str.startswith("2023")]
    copy = frame[frame["timestamp"] == "2023-06-16"].assign(timestamp="2023-06-19")
    saturday = frame[frame["timestamp"] == "2023-07-07"].assign(timestamp="2023-07-08", close=1.0)
    saturday = saturday.assign(low=1.0)
    out = pd.concat([frame, copy, saturday]).sort_values("timestamp")
    path = tmp_path / "AAPL_placeholder.csv"
    out.to_csv(path, index=False)
    return path


def test_off_calendar_bars_are_flagged_and_placeholders_named(tmp_path: Path) -> None:
    bars = load_bars_file(_with_placeholder(tmp_path), exchange="XNYS")
    assert HOLIDAY in bars.index  # kept unless asked: a warning, not an error
    report = bars.attrs["report"]
    off = {w["ts"]: w for w in report["warnings"] if w["rule"] == "not_a_session"}
    assert set(off) == {"2023-06-19", "2023-07-08"}
    assert off["2023-06-19"]["repeats"] == "2023-06-16"
    assert "holiday placeholder" in off["2023-06-19"]["message"]
    assert "repeats" not in off["2023-07-08"]  # off-calendar, but not a copy
    assert any("--drop-off-calendar" in note for note in report["notes"])


def test_drop_off_calendar_leaves_only_sessions(tmp_path: Path) -> None:
    path = _with_placeholder(tmp_path)
    kept = load_bars_file(path, exchange="XNYS", drop_off_calendar=True)
    report = kept.attrs["report"]
    assert HOLIDAY not in kept.index and pd.Timestamp("2023-07-08", tz="UTC") not in kept.index
    assert len(kept) == report["rows_valid"] == report["rows_read"] - 2 == 250  # 2023 sessions
    assert [(r["ts"][:10], r["action"]) for r in report["repairs"]] == [
        ("2023-06-19", "dropped"),
        ("2023-07-08", "dropped"),
    ]
    assert not [w for w in report["warnings"] if w["rule"] == "not_a_session"]


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    db = Database(url)
    monkeypatch.setenv("QTS_DATABASE_URL", url)
    reset_settings_cache()
    yield db
    db.dispose()
    reset_settings_cache()


def test_data_import_warns_and_drops_on_request(cli_db: Database, tmp_path: Path) -> None:
    path = _with_placeholder(tmp_path)
    runner = CliRunner()
    flagged = runner.invoke(app, ["import", str(path), "-s", "AAPL", "-e", "XNYS"])
    assert flagged.exit_code == 0, flagged.output
    assert "2023-06-19, which is not a XNYS session" in flagged.output
    assert "repeats 2023-06-16: a holiday placeholder" in flagged.output
    assert HOLIDAY in md.read_bars("AAPL", "1d", db=cli_db).index
    dropped = runner.invoke(
        app, ["import", str(path), "-s", "MSFT_COPY", "-e", "XNYS", "--drop-off-calendar"]
    )
    assert dropped.exit_code == 0, dropped.output
    assert "250 bars" in dropped.output and "dropped: bar outside the calendar" in dropped.output
    stored = md.read_bars("MSFT_COPY", "1d", db=cli_db)
    assert len(stored) == 250 and HOLIDAY not in stored.index
