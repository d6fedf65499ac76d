"""Smoke test of benchmarks/bench_stream_latency.py: a short run prints its table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_stream_latency.py"


def test_the_stream_latency_benchmark_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("bench_stream_latency", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for name in bench.KIS_ENV:
        monkeypatch.setenv(name, bench.KIS_ENV[name])  # restored afterwards
    rows = bench.main(["--bars", "16", "--interval", "0.02"])
    assert rows[0]["path"] == "stream, embedded" and rows[0]["orders"] >= 1
    assert "polling job" in capsys.readouterr().out
