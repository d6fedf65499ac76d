"""The README's walk-through runs as written: every line of its code block, through the `qts`
command, on a fresh data directory, with exit code 0 and no traceback."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qts.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def walkthrough_commands(marker: str = "walk-through") -> list[list[str]]:
    block = re.search(
        rf"<!-- {marker} -->\n```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S
    )
    assert block, f"README.md has no <!-- {marker} --> code block"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert all(line.startswith(".venv/bin/qts ") for line in lines)
    return [shlex.split(line)[1:] for line in lines]


def test_walkthrough_covers_the_first_hour() -> None:
    commands = [" ".join(argv[:2]) for argv in walkthrough_commands()]
    for step in ("data import", "backtest --strategy", "optimize --strategy", "features build",
                 "train --model", "models promote", "paper --strategy"):  # fmt: skip
        assert any(c.startswith(step.split(" --")[0]) for c in commands), step


def test_every_walkthrough_command_runs_as_written(
    fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the README's paths are relative to the repository root
    runner = CliRunner()
    outputs = {}
    for argv in walkthrough_commands():
        r = runner.invoke(app, argv)
        assert r.exit_code == 0, f"qts {' '.join(argv)}:\n{r.output}"
        assert "Traceback" not in r.output, r.output
        outputs[" ".join(argv[:2])] = r.output
    assert "XNAS" in outputs["data list"] and "XKRX" in outputs["data list"]
    assert "stored strategy 'sma-005930'" in outputs["optimize --strategy"]
    assert "registered tour-lgbm v1" in outputs["train --model"]
    assert "tour-lgbm v1 is now production" in outputs["models promote"]
    assert "sma-005930" in outputs["strategy list"]


def test_own_strategy_commands_run_as_written(
    fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README "Write your own strategy": the example file by path, its look-ahead check, a
    saved search and a paper session of the stored strategy."""
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    sample = ["data", "import", "src/qts/sample_data/kr_daily/005930.csv", "--symbol", "005930"]
    assert runner.invoke(app, [*sample, "--timeframe", "1d"]).exit_code == 0
    commands = walkthrough_commands("own-strategy")
    assert [argv[0] for argv in commands] == ["backtest", "strategy", "optimize", "paper"]
    for argv in commands:
        r = runner.invoke(app, argv)
        assert r.exit_code == 0, f"qts {' '.join(argv)}:\n{r.output}"
        assert "Traceback" not in r.output, r.output
