"""Listings have --json and keep their key column whole when piped; messages offer only what
the interface accepts, with "did you mean" for near misses; wording reads right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qts.cli.main import app

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "src/qts/sample_data/kr_daily/005930.csv"


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["schedule", "list"], "job"),
        (["features", "list"], "name"),
        (["user", "list"], None),
        (["strategy", "list"], None),
        (["data", "list"], None),
    ],
)
def test_listing_commands_print_json(
    argv: list[str], key: str | None, fresh_data_dir: Path
) -> None:
    r = runner.invoke(app, [*argv, "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert isinstance(rows, list)
    if key:
        assert rows and all(key in row for row in rows)


def test_json_listings_carry_what_was_stored(fresh_data_dir: Path) -> None:
    runner.invoke(app, ["user", "create", "alice", "--role", "trader", "--password-stdin"],
                  input="long-enough-1\n")  # fmt: skip
    users = json.loads(runner.invoke(app, ["user", "list", "--json"]).stdout)
    assert [(u["username"], u["role"], u["is_active"]) for u in users] == [
        ("alice", "trader", True)
    ]


def test_piped_schedule_keeps_job_names_and_times_whole(fresh_data_dir: Path) -> None:
    r = runner.invoke(app, ["schedule", "list"], env={"COLUMNS": "80"})
    assert r.exit_code == 0
    assert "batch_inference" in r.stdout and "batch_infe…" not in r.stdout
    import re

    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", r.stdout)


def test_cli_unknown_strategy_suggests_the_near_miss_and_files(fresh_data_dir: Path) -> None:
    r = runner.invoke(app, ["backtest", "--strategy", "sma_crss", "--data", str(SAMPLE)])
    assert r.exit_code == 2
    assert "unknown strategy 'sma_crss'; did you mean 'sma_cross'?" in r.stderr
    assert "path/to/file.py:Class" in r.stderr


def test_train_lists_the_models_and_suggests_a_near_miss(fresh_data_dir: Path) -> None:
    r = runner.invoke(app, ["train", "--model", "xgboost"])
    assert r.exit_code == 1
    assert "unknown model type 'xgboost'; models: " in r.output
    for model in ("lstm", "transformer", "lightgbm", "stacking"):
        assert model in r.output
    r = runner.invoke(app, ["train", "--model", "lightgbn"])
    assert "did you mean 'lightgbm'?" in r.output


def test_command_near_miss_is_suggested() -> None:
    r = runner.invoke(app, ["bactest"])
    assert r.exit_code == 2 and "Did you mean 'backtest'?" in r.output


def test_kill_switch_wording(fresh_data_dir: Path) -> None:
    r = runner.invoke(app, ["kill-switch", "on"])
    assert "kill switch on: new orders are blocked; no open orders to cancel" in r.stdout
    r = runner.invoke(app, ["kill-switch", "off"])
    assert "kill switch off: new orders are allowed again" in r.stdout


def test_piped_train_reports_fold_progress_and_no_mlflow_noise(
    fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QTS_PROGRESS_SECONDS", "0")  # a line at every step
    args = ["train", "--model", "lightgbm", "--symbols", "005930,000660", "--epochs", "5"]
    r = CliRunner().invoke(app, [*args, "--folds", "2"])
    assert r.exit_code == 0, r.output
    lines = [x for x in r.output.splitlines() if x.startswith("training: ")]
    assert [x.split(" (")[0].split(",")[0] for x in lines] == [
        "training: 1/3", "training: 2/3", "training: 3/3"
    ]  # fmt: skip
    assert "fold 1/2" in lines[0] and "final fit done" in lines[-1]
    assert "type hints" not in r.output and "Downloading artifacts" not in r.output
