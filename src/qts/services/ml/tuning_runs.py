"""Optuna studies as a service: the search runs over stored bars, its storage is the qts
database (another worker, or a retry, continues a study) and the best trial is registered."""

from __future__ import annotations

from typing import Any

from qts.core.errors import NotFoundError
from qts.services.context import AppContext
from qts.services.ml.model_service import feature_source, stored_bars, sync_models


def run_tuning(
    ctx: AppContext,
    model: str,
    symbols: list[str] | None,
    timeframe: str = "1d",
    horizon: int = 1,
    trials: int = 10,
    **options: Any,
) -> dict[str, Any]:
    """An Optuna study over `model`'s search space, stored in the qts database; the best trial
    is registered in MLflow and mirrored. Bars come from the database when `symbols` are
    stored there (else from `options["bars_dir"]` or the packaged samples)."""
    from qts.ml.tuning import tune

    bars = None
    if symbols and options.get("bars_dir") is None:
        try:
            bars = stored_bars(ctx, symbols, timeframe)
        except NotFoundError:
            bars = None
    url = ctx.settings.effective_database_url
    storage = options.pop("storage", None) or url.replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    uri = ctx.settings.mlflow_tracking_uri
    result = tune(
        model, bars, symbols=symbols, timeframe=timeframe, horizon=horizon, trials=trials,
        storage=storage, data_dir=None if uri else ctx.settings.ensure_data_dir(),
        tracking_uri=uri, feature_source=feature_source(ctx), **options,
    )  # fmt: skip
    sync_models(ctx)
    return result
