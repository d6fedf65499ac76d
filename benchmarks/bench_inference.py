"""Inference latency: feature fetch + predict of a registered LightGBM and LSTM, for one symbol
and for all symbols, on the CPU, along every serving path qts has, beside MLflow's own pyfunc
predict of the same registered model (the baseline: same online feature vectors, then
`mlflow.pyfunc.load_model(...).predict`).

Paths (each warmed, then timed `--repeats` times; p50 and p99 in milliseconds):
  in-process           `InferenceEngine.score_latest`: online-store vectors, one model call
  in-process bar step  `BarStep.predict` (paper/live): features from a tail of the bars + call
  mlflow pyfunc        online-store vectors + the pyfunc model's predict (baseline)
  POST /ml/predict     the qts API on a loopback uvicorn server, concurrency 1
  serve-models         `qts serve-models` (`/v1/predict`, stored bars) on a loopback server

Everything runs in one temporary embedded deployment (SQLite, in-process online store) with
seeded synthetic daily bars. Both servers run in this process on their own ports (uvicorn
threads); the client is httpx with a kept-alive connection.

    python benchmarks/bench_inference.py [--symbols 50] [--bars 300] [--repeats 200]
                                         [--models lightgbm,lstm]
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PASSWORD = "bench-password-123"


def synthetic(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2020-01-01", periods=n, tz="UTC", name="ts")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    wick = np.abs(rng.normal(0, 0.004, n))
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * (1 + wick),
                         "low": np.minimum(open_, close) * (1 - wick), "close": close,
                         "volume": np.exp(rng.normal(12, 0.3, n))}, index=index)  # fmt: skip


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app: Any) -> str:
    import uvicorn

    port = _port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def _timed(fn: Callable[[], Any], repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def _deploy(
    data_dir: Path, n_symbols: int, n_bars: int, lstm_epochs: int, models: list[str]
) -> tuple[Any, dict]:
    """Stored bars, and the two models trained on all but the last 20 bars and promoted."""
    os.environ["QTS_DATA_DIR"] = str(data_dir)
    os.environ["QTS_RUN_SCHEDULER"] = "false"  # no scheduled jobs competing for the CPU
    os.environ["QTS_LOG_LEVEL"] = "WARNING"
    for var in ("QTS_DATABASE_URL", "QTS_REDIS_URL", "QTS_MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    from qts.cli.common import app_context
    from qts.ml import pipeline
    from qts.services.auth.schemas import NewUser
    from qts.services.auth.users import create_user
    from qts.services.data.market_data import store_bars
    from qts.services.ml.model_service import feature_source, promote

    ctx = app_context(data_dir)
    bars = {f"9{i:05d}": synthetic(i, n_bars) for i in range(n_symbols)}
    for symbol, frame in bars.items():
        store_bars(ctx.db, "XKRX", symbol, "1d", frame)
    create_user(ctx.db, NewUser(username="bench", password=PASSWORD, role="trader"))
    train = {s: b.iloc[:-20] for s, b in bars.items()}
    names = {}
    settings = {"lightgbm": {"epochs": 30, "num_threads": 1},
                "lstm": {"epochs": lstm_epochs, "lookback": 10}}  # fmt: skip
    for model in models:
        overrides = settings[model]
        name = f"bench-{model}"
        pipeline.train(model, train, n_splits=2, feature_set="basic", data_dir=data_dir,
                       model_name=name, overrides=overrides,
                       feature_source=feature_source(ctx))  # fmt: skip
        promote(ctx, name, "1", "production", "bench", gate=False)
        names[model] = name
    return ctx, {"bars": bars, "names": names}


@dataclass
class Targets:
    """What one row of the table times, for one model and one set of symbols."""

    engine: Any
    loaded: Any
    step: Any
    pyfunc: Any
    bars: dict[str, pd.DataFrame]
    http: Any
    api: str
    served: str
    auth: dict[str, str]

    def fetch(self) -> np.ndarray:
        """The online-store vectors the pyfunc baseline scores (the engine reads the same)."""
        from qts.ml.feature_path import inference_rows

        r = self.loaded.recipe
        return inference_rows(self.engine.source, self.step.definitions, r.features, self.bars,
                              r.timeframe, r.lookback).X  # fmt: skip

    def post(self, url: str, headers: dict[str, str] | None = None) -> None:
        body = {"model": self.loaded.name, "symbols": list(self.bars)}
        self.http.post(url, headers=headers, json=body).raise_for_status()

    def paths(self) -> dict[str, Callable[[], Any]]:
        return {
            "in-process": lambda: self.engine.score_latest(self.loaded, self.bars),
            "in-process bar step": lambda: self.step.predict(self.bars),
            "mlflow pyfunc (baseline)": lambda: self.pyfunc.predict(self.fetch()),
            "POST /api/v1/ml/predict": lambda: self.post(
                f"{self.api}/api/v1/ml/predict", self.auth
            ),
            "serve-models /v1/predict": lambda: self.post(f"{self.served}/v1/predict"),
        }


def run(
    symbols: int, bars: int, repeats: int, warmup: int, lstm_epochs: int, models: list[str]
) -> list[dict]:
    import httpx
    import mlflow.pyfunc

    from qts.api.app import create_app
    from qts.api.model_server import create_model_server
    from qts.ml.inference_step import BarStep
    from qts.services.ml.model_strategies import shared_engine

    with tempfile.TemporaryDirectory() as tmp:
        ctx, deployed = _deploy(Path(tmp), symbols, bars, lstm_epochs, models)
        api = _serve(create_app(ctx.settings, ctx))
        served = _serve(create_model_server(ctx, max_wait_ms=0.0))
        http = httpx.Client(timeout=30)
        token = http.post(f"{api}/api/v1/auth/login",
                          data={"username": "bench", "password": PASSWORD}).json()["access_token"]  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        engine = shared_engine(ctx)
        rows = []
        for model, name in deployed["names"].items():
            loaded = engine.load(f"{name}@production")
            step = BarStep(engine, loaded)
            pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/1")
            for n in (1, symbols):
                subset = {s: deployed["bars"][s] for s in list(deployed["bars"])[:n]}
                targets = Targets(engine, loaded, step, pyfunc, subset, http, api, served, auth)
                for path, fn in targets.paths().items():
                    ms = _timed(fn, repeats, warmup)
                    rows.append({"model": model, "symbols": n, "path": path, "repeats": repeats,
                                 "p50_ms": float(np.percentile(ms, 50)),
                                 "p99_ms": float(np.percentile(ms, 99))})  # fmt: skip
        http.close()
        ctx.close()
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--bars", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--lstm-epochs", type=int, default=3)
    parser.add_argument("--models", default="lightgbm,lstm")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    rows = run(args.symbols, args.bars, args.repeats, args.warmup, args.lstm_epochs, models)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"inference latency, CPU ({args.repeats} timed calls each)")
    for col in ("model", "symbols", "path", "p50 ms", "p99 ms"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["model"], str(r["symbols"]), r["path"], f"{r['p50_ms']:.2f}",
                      f"{r['p99_ms']:.2f}")  # fmt: skip
    Console().print(table)
    return rows


if __name__ == "__main__":
    main()
