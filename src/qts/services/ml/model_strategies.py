"""Model strategies wired to this deployment: the registry and feature store of the settings,
predictions of paper and live sessions stored in `ml_predictions` and published on
`predictions:<model>` and `signals`.

A model strategy (`qts.strategies.ml_builtin`) reads scores through the `ModelAccess` bound
here; it never imports services. Backtests get frozen weights scored point in time (or a
walk-forward refit, research mode); sessions get the online store and the inference engine.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select

from qts.core.errors import ConfigurationError, ValidationError
from qts.db.models import Prediction as PredictionRow
from qts.services.context import AppContext
from qts.services.ml.model_service import NOT_INSTALLED, feature_source, ml_installed, registry

ALIAS_TTL_S = 5.0  # a shared engine looks an alias up again at most this often


def inference_engine(ctx: AppContext) -> Any:
    if not ml_installed():
        raise ConfigurationError(NOT_INSTALLED["skipped"])
    from qts.ml.inference import InferenceEngine

    return InferenceEngine(registry(ctx), feature_source(ctx))


def shared_engine(ctx: AppContext) -> Any:
    """The process's engine (kept in `ctx.extras`): loaded versions stay warm between calls;
    an alias is looked up again after `ALIAS_TTL_S` seconds, so a promotion is followed."""
    engine = ctx.extras.get("inference_engine")
    if engine is None:
        engine = inference_engine(ctx)
        engine.alias_ttl_s = ALIAS_TTL_S
        ctx.extras["inference_engine"] = engine
    return engine


def session_engine(ctx: AppContext) -> Any:
    """A session's engine: the model server at `QTS_INFERENCE_URL` when set, else in process."""
    url = ctx.settings.inference_url
    if url:
        from qts.ml.inference_client import RemoteEngine

        token = ctx.settings.inference_token
        return RemoteEngine(url, token=token.get_secret_value() if token else None)
    return inference_engine(ctx)


def bind_for_backtest(ctx: AppContext, strategy: Any, trade_start: Any = None) -> Any:
    """Bind the backtest access; returns it (its `describe()` labels the result)."""
    from qts.ml.model_access import BacktestModelAccess, WalkForwardModelAccess

    engine = inference_engine(ctx)
    if getattr(strategy, "uses_policy", False):  # rl_policy: a policy played over the bars
        from qts.ml.rl.access import PolicyBacktestAccess

        access: Any = PolicyBacktestAccess(engine, trade_start)
    elif strategy.p.get("refit") == "walk_forward":
        access = WalkForwardModelAccess(
            engine, int(strategy.p["refit_every"]), int(strategy.p["min_train"])
        )
    else:
        access = BacktestModelAccess(engine, trade_start)
    strategy.bind_models(access)
    return access


def bind_for_session(ctx: AppContext, strategy: Any) -> Any:
    """Bind the paper/live access: each newest bar scored in the session's step (in process,
    or by the model server at `QTS_INFERENCE_URL`), each prediction stored and published.
    Walk-forward refits are a backtest research mode."""
    from qts.ml.model_access import LiveModelAccess

    if strategy.p.get("refit", "none") != "none":
        raise ValidationError("refit=walk_forward is a backtest research mode: paper and live "
                              "trade a registered version (refit=none)")  # fmt: skip
    access_class: Any = LiveModelAccess
    engine = session_engine(ctx)
    if getattr(strategy, "uses_policy", False):  # a policy plays in process (not served)
        from qts.ml.rl.access import PolicyLiveAccess

        access_class, engine = PolicyLiveAccess, inference_engine(ctx)
    access = access_class(engine, lambda predictions: record_predictions(ctx, predictions))
    strategy.bind_models(access)
    return access


def record_predictions(ctx: AppContext, predictions: list[Any]) -> int:
    """Store each prediction once (model, version, symbol, bar, horizon) and publish it on
    `predictions:<model>` and `signals`; returns how many rows were new."""
    stored = 0
    with ctx.db.session() as s:
        for p in predictions:
            ms = int(pd.Timestamp(p.ts).value // 1_000_000)
            exists = s.scalar(
                select(PredictionRow.id).where(
                    PredictionRow.model_name == p.model,
                    PredictionRow.model_version == int(p.version),
                    PredictionRow.symbol == p.symbol,
                    PredictionRow.ts == ms,
                    PredictionRow.horizon == p.horizon,
                )
            )
            if exists is None:
                s.add(PredictionRow(
                    model_name=p.model, model_version=int(p.version), symbol=p.symbol, ts=ms,
                    horizon=p.horizon, value=p.score, label=p.signal.label,
                ))  # fmt: skip
                stored += 1
    for p in predictions:
        event = prediction_event(p)
        ctx.bus.publish(f"predictions:{p.model}", event)
        ctx.bus.publish("signals", event)
    return stored


def prediction_event(p: Any) -> dict[str, Any]:
    sig = p.signal
    return {
        "model": p.model, "version": p.version, "symbol": p.symbol,
        "ts": pd.Timestamp(p.ts).isoformat(), "value": p.score, "horizon": p.horizon,
        "signal": {"direction": sig.direction, "label": sig.label,
                   "confidence": _finite(sig.confidence), "expected_return": sig.expected_return},
        "latency_ms": round(p.latency_ms, 3),
    }  # fmt: skip


def _finite(value: float) -> float | None:
    return value if value == value else None  # NaN is not JSON


FAR_FUTURE = pd.Timestamp("2200-01-01", tz="UTC")


def bars_for_scoring(
    ctx: AppContext, engine: Any, loaded: Any, symbols: list[str]
) -> dict[str, pd.DataFrame]:
    """What scoring each symbol's newest stored bar needs: its last `lookback` bars when the
    online store holds the features of the newest one (the common case: the features job or
    a session wrote them), else its whole stored history (the features are computed from it,
    on demand)."""
    from qts.services.data.market_data import read_bars, read_bars_with_history

    recipe = loaded.recipe
    keys = [u.key for u in recipe.features]
    out = {}
    for symbol in symbols:
        tail, _ = read_bars_with_history(symbol, recipe.timeframe, FAR_FUTURE, None,
                                         max(recipe.lookback, 1), db=ctx.db)  # fmt: skip
        vector = engine.source.online.get(recipe.timeframe, symbol, keys) if len(tail) else None
        newest = int(tail.index[-1].value // 1_000_000) if len(tail) else None
        fresh = vector is not None and all(vector.as_of.get(k.id) == newest for k in keys)
        out[symbol] = tail if fresh else read_bars(symbol, recipe.timeframe, db=ctx.db)
    return out


def predict_now(
    ctx: AppContext, model: str, symbols: list[str] | None = None, record: bool = False
) -> dict[str, Any]:
    """The newest stored bar of each symbol (default: the version's universe) scored through
    the online store; `record`: stored in `ml_predictions` and published like a session's."""
    engine = shared_engine(ctx)
    loaded = engine.load(model)
    wanted = symbols or list(loaded.recipe.universe)
    predictions = engine.score_latest(loaded, bars_for_scoring(ctx, engine, loaded, wanted))
    if record:
        record_predictions(ctx, predictions)
    scored = {p.symbol for p in predictions}
    return {
        **loaded.describe(),
        "predictions": [prediction_event(p) for p in predictions],
        "unscored": [s for s in wanted if s not in scored],
    }
