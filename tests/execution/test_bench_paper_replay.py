"""Smoke test of `benchmarks/bench_paper_replay.py` on a small synthetic series: it runs end to
end and reports one row handed to the strategy per bar (the figures are for the full run)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_paper_replay.py"


def test_bench_paper_replay_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_paper_replay", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    [run] = bench.main(["--only", "synthetic", "--bars", "400", "--no-warmup"])
    assert run["bars"] == 400 and run["rows"] == 400  # one row per bar: O(1) decisions
    assert run["orders"] > 0 and run["backtest"] > 0 and run["paper"] > 0
    assert "paper replay vs backtest" in capsys.readouterr().out
