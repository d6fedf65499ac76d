"""`qts serve-models`: the inference engine as its own FastAPI process (one per GPU host in
scale-out), for strategy workers pointed at it by `QTS_INFERENCE_URL`
(`qts.ml.inference_client.RemoteEngine`).

    GET  /health                 status, loaded versions, batching counters
    GET  /v1/models/{ref}        a version's description and recipe (loads it: warm-up)
    POST /v1/predict             {"model", "bars"} or {"model", "symbols"}: newest-bar scores
    POST /v1/score_history       {"model", "bars"}: every bar's score, point in time

`bars` are sent by the caller (epoch ms and OHLCV columns per symbol) and their features
computed here from a calibrated tail (`qts.ml.inference_step.BarStep`); `symbols` read the
stored bars of the server's database. Concurrent predictions of one version are micro-batched:
requests arriving within `max_wait_ms` of the first are scored in one model call. With
`QTS_INFERENCE_TOKEN` set every call but /health needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, Header
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from qts.api.errors import install_error_handlers
from qts.core.errors import AuthenticationError, ValidationError
from qts.services.context import AppContext

MODEL_REF = r"^[\w.-]+(@[\w.-]+|/\d+)?$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=160, pattern=MODEL_REF)


class ServePredict(_Body):
    bars: dict[str, dict[str, list[float]]] | None = Field(default=None, max_length=2000)
    symbols: list[str] | None = Field(default=None, min_length=1, max_length=2000)


class ServeHistory(_Body):
    bars: dict[str, dict[str, list[float]]] = Field(max_length=2000)
    after_window: bool = True


class MicroBatcher:
    """Gathers the model inputs of concurrent requests for one version and scores them in one
    call, after `max_wait_s` from the first or once `max_rows` rows wait."""

    def __init__(self, engine: Any, max_wait_s: float = 0.002, max_rows: int = 4096) -> None:
        self.engine = engine
        self.max_wait_s = max_wait_s
        self.max_rows = max_rows
        self.calls = 0
        self.requests = 0
        self._pending: dict[tuple[str, str], list[tuple[Any, np.ndarray, asyncio.Future[Any]]]] = {}

    async def score(self, loaded: Any, X: np.ndarray) -> np.ndarray:
        if not len(X):
            return np.empty(0)
        key = (loaded.name, loaded.version)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue = self._pending.setdefault(key, [])
        queue.append((loaded, X, future))
        if len(queue) == 1:
            asyncio.get_running_loop().call_later(self.max_wait_s, self._flush, key)
        elif sum(len(x) for _, x, _ in queue) >= self.max_rows:
            self._flush(key)
        result: np.ndarray = await future
        return result

    def _flush(self, key: tuple[str, str]) -> None:
        items = self._pending.pop(key, [])
        if not items:
            return
        self.calls += 1
        self.requests += len(items)
        try:
            scores = self.engine._score(items[0][0], np.concatenate([x for _, x, _ in items]))
        except Exception as exc:  # every waiting request gets the error
            for _, _, future in items:
                future.set_exception(exc)
            return
        start = 0
        for _, x, future in items:
            future.set_result(scores[start : start + len(x)])
            start += len(x)


def create_model_server(ctx: AppContext, max_wait_ms: float = 2.0, max_rows: int = 4096) -> FastAPI:
    from qts.ml.inference_client import decode_bars
    from qts.ml.inference_step import BarStep
    from qts.services.ml.model_strategies import prediction_event, shared_engine

    engine = shared_engine(ctx)
    batcher = MicroBatcher(engine, max_wait_ms / 1000.0, max_rows)
    steps: dict[tuple[str, str], BarStep] = {}
    started = time.time()
    token = ctx.settings.inference_token

    def authorised(authorization: str | None = Header(default=None)) -> None:
        if token is None:
            return
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest((authorization or "").encode(), expected.encode()):
            raise AuthenticationError("a valid inference token is required")

    app = FastAPI(title="qts model server", docs_url="/docs", redoc_url=None)
    install_error_handlers(app)
    guarded = [Depends(authorised)]

    def step_for(ref: str) -> BarStep:
        loaded = engine.load(ref)
        key = (loaded.name, loaded.version)
        if key not in steps:
            steps[key] = BarStep(engine, loaded)
        return steps[key]

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "uptime_s": round(time.time() - started, 1),
                "models": [f"{n}/{v}" for n, v in engine._models],
                "batched_calls": batcher.calls, "batched_requests": batcher.requests}  # fmt: skip

    @app.get("/v1/models/{ref:path}", dependencies=guarded)
    def describe(ref: str) -> dict[str, Any]:
        loaded = engine.load(ref)
        return {**loaded.describe(), "is_classifier": bool(loaded.model.is_classifier),
                "recipe": loaded.recipe.to_dict() | {"normalizer": None}}  # fmt: skip

    @app.post("/v1/predict", dependencies=guarded)
    async def predict(body: ServePredict) -> dict[str, Any]:
        began = time.perf_counter()
        step = await run_in_threadpool(step_for, body.model)
        bars, X, symbols, times = await run_in_threadpool(_rows, ctx, step, body, decode_bars)
        scores = await batcher.score(step.loaded, X)
        predictions = step.predictions(symbols, times, scores, began)
        scored = {p.symbol for p in predictions}
        return {**step.loaded.describe(), "predictions": [prediction_event(p) for p in predictions],
                "unscored": [s for s in bars if s not in scored]}  # fmt: skip

    @app.post("/v1/score_history", dependencies=guarded)
    def score_history(body: ServeHistory) -> dict[str, Any]:
        bars = decode_bars(body.bars)
        frame = engine.score_history(engine.load(body.model), bars, body.after_window)
        values = frame.to_numpy(np.float64)
        return {"ts": (frame.index.asi8 // 1_000_000).tolist(), "columns": list(frame.columns),
                "values": [[v if np.isfinite(v) else None for v in row] for row in values]}  # fmt: skip

    return app


def _rows(ctx: AppContext, step: Any, body: ServePredict, decode: Any) -> tuple[Any, ...]:
    """(bars, X, symbols, times): features of sent bars computed as a session's step does;
    of stored symbols read from the online store (computed on demand), as the API does."""
    if (body.bars is None) == (body.symbols is None):
        raise ValidationError("give either bars or symbols")
    if body.bars is not None:
        bars = dict(decode(body.bars))
        return (bars, *step.rows(bars))
    from qts.ml.feature_path import inference_rows
    from qts.services.ml.model_strategies import bars_for_scoring

    loaded, engine = step.loaded, step.engine
    bars = bars_for_scoring(ctx, engine, loaded, list(body.symbols or []))
    r = loaded.recipe
    rows = inference_rows(engine.source, loaded.definitions(engine.features), r.features, bars,
                          r.timeframe, r.lookback)  # fmt: skip
    return bars, rows.X, rows.symbols, [pd.Timestamp(t) for t in rows.times]


def serve_models(host: str, port: int, max_wait_ms: float = 2.0, max_rows: int = 4096) -> None:
    """Run the model server (blocking) with the process's settings."""
    import uvicorn

    from qts.config import get_settings
    from qts.observability.logging_setup import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    ctx = AppContext.from_settings(settings)
    app = create_model_server(ctx, max_wait_ms, max_rows)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())
