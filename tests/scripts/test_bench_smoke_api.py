"""Smoke tests of the API and feature benchmark scripts, run tiny (the real runs are manual)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_api_loads_a_real_server_and_reports_each_case() -> None:
    bench = load("bench_api")
    rows = bench.main(["--requests", "20", "--warmup", "4", "--concurrency", "1,4"])
    assert [(r[0].split()[0], r[1]) for r in rows] == [
        ("health", "1"), ("health", "4"),
        ("features/005930", "1"), ("features/005930", "4"),
        ("market/bars", "1"), ("market/bars", "4"),
    ]  # fmt: skip
    for _, _, rps, p50, p99, _ in rows:
        assert float(rps.replace(",", "")) > 0 and 0 < float(p50) <= float(p99)


def test_bench_api_refuses_a_remote_url() -> None:
    bench = load("bench_api")
    with pytest.raises(SystemExit):
        bench.parse_args(["--url", "http://example.com:8000"])


def test_bench_features_compares_with_a_baseline_that_keeps_its_outputs() -> None:
    bench = load("bench_features")
    ratios = bench.main(
        ["--symbols", "2", "--years", "1", "--minute-bars", "3000", "--repeats", "1",
         "--reads", "20", "--redis", "redis://127.0.0.1:1/0"]
    )  # fmt: skip
    assert [case for case, _ in ratios] == ["daily", "minute"]
    assert all(ratio > 0 for _, ratio in ratios)
