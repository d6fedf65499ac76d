"""Smoke test of benchmarks/bench_rl.py: both envs step and every algorithm learns a few
steps (the figures themselves are the benchmark's, not a test's)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("stable_baselines3")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rl.py"
spec = importlib.util.spec_from_file_location("bench_rl", SCRIPT)
assert spec is not None and spec.loader is not None
bench_rl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_rl)


def test_bench_rl_runs_tiny(capsys: pytest.CaptureFixture[str]) -> None:
    bench_rl.main(["--steps", "3000", "--train-steps", "300"])
    out = capsys.readouterr().out
    assert "bare env" in out and "qts TradingEnv" in out
    for algo in ("dqn", "ppo", "a2c"):
        assert algo in out
