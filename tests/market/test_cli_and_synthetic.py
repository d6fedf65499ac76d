"""`qts data` commands on a temporary SQLite database, and the synthetic generator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import DATA, SAMPLE
from qts.cli.data_cmd import app
from qts.config import reset_settings_cache
from qts.db import Database
from qts.db.migrate import upgrade
from qts.market.synthetic import generate_bars
from qts.services.data import market_data as md

runner = CliRunner()


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


def test_import_list_and_reject(cli_db: Database) -> None:
    result = runner.invoke(
        app,
        [
            "import",
            str(SAMPLE / "kr_daily" / "005930.csv"),
            "--symbol",
            "005930",
            "--timeframe",
            "1d",
            "--exchange",
            "XKRX",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "370 bars (370 new, 0 updated, 0 unchanged)" in result.output
    again = runner.invoke(app, ["import", str(SAMPLE / "kr_daily" / "005930.csv"), "-s", "005930"])
    assert "(0 new, 0 updated, 370 unchanged)" in again.output
    bad = runner.invoke(app, ["import", str(DATA / "defects" / "068270.csv"), "-s", "068270"])
    assert bad.exit_code == 2
    assert "high_below_open_close" in bad.output and "2024-09-24" in bad.output
    fixed = runner.invoke(
        app, ["import", str(DATA / "defects" / "068270.csv"), "-s", "068270", "--repair"]
    )
    assert fixed.exit_code == 0 and "repaired line 197" in fixed.output
    listed = runner.invoke(app, ["list", "--json"])
    rows = json.loads(listed.output)
    assert {(r["symbol"], r["bars"]) for r in rows} == {("005930", 370), ("068270", 370)}


def test_synth_command(cli_db: Database) -> None:
    result = runner.invoke(app, ["synth", "--symbols", "3", "--bars", "500", "--timeframe", "5m"])
    assert result.exit_code == 0, result.output
    assert {r["symbol"] for r in md.list_datasets(cli_db)} == {"SYN0", "SYN1", "SYN2"}
    assert len(md.read_bars("SYN2", "5m", db=cli_db)) == 500


def test_synthetic_is_seeded_valid_and_correlated() -> None:
    a = generate_bars(4, 5000, "1h", seed=7, correlation=0.7)
    b = generate_bars(4, 5000, "1h", seed=7, correlation=0.7)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
        df = a[name]
        assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
        assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()
        assert (df[["open", "high", "low", "close"]] > 0).all().all() and (df["volume"] >= 0).all()
        assert df.index.freq is None or df.index[1] - df.index[0] == pd.Timedelta(hours=1)
    rets = pd.DataFrame({k: np.log(v["close"]).diff() for k, v in a.items()}).dropna()
    corr = rets.corr().to_numpy()[np.triu_indices(4, 1)]
    assert corr.min() > 0.5 and corr.max() < 0.85
    # volatility clustering: absolute returns are autocorrelated, returns themselves are not
    assert rets["SYN0"].abs().autocorr(1) > 0.1 and abs(rets["SYN0"].autocorr(1)) < 0.1
    assert rets["SYN0"].kurt() > 1.0  # fat tails from regimes and jumps
    assert not generate_bars(4, 5000, "1h", seed=8)["SYN0"].equals(a["SYN0"])
