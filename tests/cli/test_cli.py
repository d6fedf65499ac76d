from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from qts.cli.main import app

runner = CliRunner()


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, time; t=time.perf_counter();"
        "from qts.cli.main import app;"
        "heavy=('pandas','torch','mlflow','sqlalchemy','fastapi','lightgbm');"
        "heavy=[m for m in heavy if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "qts.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "up" in r.stdout
    # Generous bound: "no heavy import" is checked above; this catches regressions of seconds.
    assert time.perf_counter() - start < 5


def test_version() -> None:
    r = runner.invoke(app, ["version"])
    assert r.exit_code == 0 and r.stdout.startswith("qts ")


def test_user_create_validates_and_keeps_existing_users(tmp_path: Path) -> None:
    d = str(tmp_path / "var")
    r = runner.invoke(
        app,
        ["user", "create", "alice", "--role", "admin", "--password-stdin", "--data-dir", d],
        input="long-enough-1\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        ["user", "create", "alice", "--role", "admin", "--password-stdin", "--data-dir", d],
        input="other-pass-22\n",
    )
    assert r.exit_code == 1 and "already exists" in r.output
    r = runner.invoke(
        app,
        ["user", "create", "bob", "--role", "wizard", "--password-stdin", "--data-dir", d],
        input="long-enough-1\n",
    )
    assert r.exit_code == 1 and "role: Input should be 'admin', 'trader' or 'viewer'" in r.output
    r = runner.invoke(
        app, ["user", "create", "carol", "--password-stdin", "--data-dir", d], input="short\n"
    )
    assert r.exit_code == 1 and "at least 8" in r.output
    r = runner.invoke(app, ["user", "list", "--data-dir", d])
    assert "alice" in r.output and "bob" not in r.output and "carol" not in r.output


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    d = str(tmp_path / "var")
    for _ in range(2):
        r = runner.invoke(app, ["db", "upgrade", "--data-dir", d])
        assert r.exit_code == 0, r.output
        assert "revision" in r.output


def test_data_commands_work_on_a_fresh_data_dir(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Import a real file and backtest it from the database, starting from nothing on disk."""
    import json

    from qts.cli import common
    from qts.config import reset_settings_cache

    sample = (
        Path(__file__).resolve().parents[2]
        / "src"
        / "qts"
        / "sample_data"
        / "kr_daily"
        / "005930.csv"
    )
    monkeypatch.setenv("QTS_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("QTS_DATABASE_URL", raising=False)
    reset_settings_cache()
    common._migrated.clear()
    r = runner.invoke(
        app, ["data", "import", str(sample), "--symbol", "005930", "--timeframe", "1d"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        [
            "backtest",
            "--strategy",
            "sma_cross",
            "--symbol",
            "005930",
            "--timeframe",
            "1d",
            "--param",
            "fast=10",
            "--param",
            "slow=20",
            "--cash",
            "10000000",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["metrics"]["bars"] == 370 and result["trades"]
    r = runner.invoke(app, ["features", "list"])
    assert r.exit_code == 0 and "technical" in r.output
    reset_settings_cache()
