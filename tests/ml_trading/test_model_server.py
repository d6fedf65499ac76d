"""`qts serve-models` as a real subprocess on a loopback port: a paper replay whose model
access calls it (`RemoteEngine`, as `QTS_INFERENCE_URL` selects) gives exactly the fills and
scores of the in-process engine; micro-batching scores concurrent requests in one call."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from qts.backtest.config import BacktestConfig
from qts.db import Database
from qts.db.migrate import upgrade
from qts.ml.inference import InferenceEngine
from qts.ml.inference_client import RemoteEngine
from qts.ml.model_access import LiveModelAccess
from qts.strategies.registry import create_strategy
from tests.ml_trading.conftest import TRAIN_END
from tests.ml_trading.test_ml_paper_parity import END, _paper

NAME = "served"
TOKEN = "test-inference-token-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory, krx5) -> Path:  # type: ignore[no-untyped-def]
    from qts.ml import pipeline
    from qts.ml.registry import ModelRegistry

    data_dir = tmp_path_factory.mktemp("served")
    pipeline.train("lightgbm", krx5, end=TRAIN_END, epochs=30, n_splits=2, feature_set="basic",
                   data_dir=data_dir, model_name=NAME, overrides={"num_threads": 1})  # fmt: skip
    ModelRegistry(data_dir).promote(NAME, "1", "production")
    return data_dir


@pytest.fixture(scope="module")
def server(registered: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTS_")}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env.update(PYTHONPATH=src, QTS_DATA_DIR=str(registered), QTS_INFERENCE_TOKEN=TOKEN,
               QTS_LOG_LEVEL="WARNING")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "qts.cli", "serve-models", "--port", str(port),
         "--max-wait-ms", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            pytest.fail(f"serve-models exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    else:
        proc.kill()
        pytest.fail("serve-models did not answer /health in 90 s")
    yield url
    proc.terminate()
    proc.wait(10)


def _database(path: Path) -> Database:
    url = f"sqlite:///{path}"
    upgrade(url)
    return Database(url)


def test_paper_replay_through_the_model_server_matches_in_process(
    server: str, registered: Path, krx5, tmp_path: Path, bus
) -> None:  # type: ignore[no-untyped-def]
    from qts.ml.registry import ModelRegistry

    bars = {s: b.loc[:END] for s, b in krx5.items()}
    config = BacktestConfig(cash=100_000_000)
    params = {"model": f"{NAME}@production", "enter": 0.0, "exit": -0.0002}
    runs: list[tuple[Any, list[Any]]] = []
    for engine, db_name in (
        (InferenceEngine(ModelRegistry(registered)), "local.db"),
        (RemoteEngine(server, token=TOKEN), "remote.db"),
    ):
        strategy = create_strategy("ml_signal", params)
        published: list[Any] = []
        strategy.bind_models(LiveModelAccess(engine, published.extend))
        db = _database(tmp_path / db_name)
        fills, _ = _paper(db, bus, strategy, bars, config)
        db.dispose()
        runs.append((fills, published))
    (local_fills, local_preds), (remote_fills, remote_preds) = runs
    assert len(local_fills) >= 4, "the model must trade for the comparison to mean much"
    assert [tuple(r) for r in remote_fills] == [tuple(r) for r in local_fills]
    assert [(p.symbol, p.ts, p.version) for p in remote_preds] == [
        (p.symbol, p.ts, p.version) for p in local_preds
    ]
    np.testing.assert_array_equal([p.score for p in remote_preds], [p.score for p in local_preds])


def test_health_token_and_errors(server: str) -> None:
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok"
    assert httpx.get(f"{server}/v1/models/{NAME}").status_code == 401  # no token
    auth = {"Authorization": f"Bearer {TOKEN}"}
    described = httpx.get(f"{server}/v1/models/{NAME}@production", headers=auth).json()
    assert described["model_version"] == "1" and described["recipe"]["feature_spec"] == "basic"
    missing = httpx.get(f"{server}/v1/models/{NAME}@staging", headers=auth)
    assert missing.status_code == 404
    bad = httpx.post(f"{server}/v1/predict", headers=auth, json={"model": NAME, "bars": {
        "X": {"ts": [2, 1], "open": [1, 1], "high": [1, 1], "low": [1, 1], "close": [1, 1],
              "volume": [1, 1]}}})  # fmt: skip
    assert bad.status_code == 422 and "times must increase" in bad.text
    both = httpx.post(f"{server}/v1/predict", headers=auth, json={"model": NAME})
    assert both.status_code == 422 and "either bars or symbols" in both.text
    unknown = httpx.post(f"{server}/v1/predict", headers=auth,
                         json={"model": NAME, "symbols": ["NOPE"]})  # fmt: skip
    assert unknown.status_code == 404


def test_micro_batcher_scores_concurrent_requests_in_one_call(tiny_model) -> None:  # type: ignore[no-untyped-def]
    from qts.api.model_server import MicroBatcher
    from tests.ml_trading.conftest import engine_with

    engine = engine_with(tiny_model)
    loaded = engine.load("tiny/1")
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(n, len(loaded.recipe.columns))) for n in (1, 3, 2, 5)]
    batcher = MicroBatcher(engine, max_wait_s=0.05)

    async def all_at_once() -> list[np.ndarray]:
        return list(await asyncio.gather(*(batcher.score(loaded, X) for X in inputs)))

    got = asyncio.run(all_at_once())
    assert batcher.calls == 1 and batcher.requests == 4
    for X, scores in zip(inputs, got, strict=True):
        np.testing.assert_array_equal(scores, engine._score(loaded, X))


def test_fine_tune_continues_from_the_registered_version(registered: Path, krx5) -> None:  # type: ignore[no-untyped-def]
    """`init_from`: LightGBM keeps boosting the version's trees on the new bars, in its input
    scale; a version with other features is refused. (Runs last: it adds version 2.)"""
    from qts.core.errors import ValidationError
    from qts.ml import pipeline
    from qts.ml.registry import ModelRegistry

    reg = ModelRegistry(registered)
    init = reg.load(NAME, "1")
    result = pipeline.train("lightgbm", krx5, epochs=10, n_splits=2, feature_set="basic",
                            data_dir=registered, model_name=NAME, init_from=f"{NAME}@production",
                            overrides={"num_threads": 1})  # fmt: skip
    tuned = reg.load(NAME, str(result["version"]))
    assert result["version"] == "2" and result["init_from"] == f"{NAME}@production"
    n_init = init.booster.num_trees()
    assert n_init < tuned.booster.num_trees() <= n_init + 10  # early stopping may end it sooner
    trees = tuned.booster.dump_model()["tree_info"][:n_init]
    assert trees == init.booster.dump_model()["tree_info"]  # the version's own trees, then more
    assert tuned.normalizer == init.normalizer
    assert reg.training_params(NAME, "2")["init_from"] == f"{NAME}@production"
    with pytest.raises(ValidationError, match="other feature columns"):
        pipeline.train("lightgbm", krx5, epochs=5, n_splits=2, feature_set="technical",
                       data_dir=registered, model_name=NAME, init_from=f"{NAME}/1")  # fmt: skip
