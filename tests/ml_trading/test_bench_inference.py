"""Smoke test of benchmarks/bench_inference.py: every path answers (LightGBM at tiny sizes;
the figures themselves are for the README, not asserted)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from qts.config import reset_settings_cache
from qts.services.ml import features as feature_service

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_inference.py"


def test_bench_inference_runs_every_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from qts.cli import common

    for var in ("QTS_DATA_DIR", "QTS_RUN_SCHEDULER", "QTS_LOG_LEVEL", "QTS_DATABASE_URL",
                "QTS_REDIS_URL", "QTS_MLFLOW_TRACKING_URI"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)  # restored afterwards: the bench sets them
    spec = importlib.util.spec_from_file_location("bench_inference", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_inference", bench)  # its dataclass looks itself up
    spec.loader.exec_module(bench)
    try:
        rows = bench.main(["--symbols", "2", "--bars", "90", "--repeats", "2", "--warmup", "1",
                           "--models", "lightgbm"])  # fmt: skip
    finally:
        reset_settings_cache()
        feature_service.reset_caches()
        common._migrated.clear()
    assert len(rows) == 2 * 5  # (1 symbol, all) x paths; the LSTM runs the same code
    assert {r["path"] for r in rows} >= {"mlflow pyfunc (baseline)", "serve-models /v1/predict"}
    assert all(math.isfinite(r["p99_ms"]) and r["p99_ms"] >= r["p50_ms"] > 0 for r in rows)
