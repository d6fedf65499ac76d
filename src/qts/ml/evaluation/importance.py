"""Feature importance: LightGBM gain, and permutation importance for any model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qts.ml.evaluation.metrics import information_coefficient
from qts.ml.models.base import BaseModel


def lightgbm_gain(model: BaseModel, feature_names: list[str] | None = None) -> dict[str, float]:
    """Total split gain per feature, largest first (LightGBM models only)."""
    from qts.ml.models.lightgbm_model import LightGBMModel

    if not isinstance(model, LightGBMModel):
        raise TypeError("gain importance needs a LightGBM model")
    gains = model.feature_importance("gain")
    if feature_names is not None and len(feature_names) == len(gains):
        gains = dict(zip(feature_names, gains.values(), strict=True))
    return dict(sorted(gains.items(), key=lambda kv: -kv[1]))


def permutation_importance(
    model: BaseModel,
    X: np.ndarray,
    y: np.ndarray,
    feature_names: list[str] | None = None,
    metric: Callable[[np.ndarray, np.ndarray], float] = information_coefficient,
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Drop in `metric` (default IC) when one feature is shuffled across samples (in every
    time step of a window), averaged over `repeats`; larger means more important."""
    rng = np.random.default_rng(seed)
    base = metric(model.score_signal(X), y)
    n_features = X.shape[-1]
    names = feature_names or [f"f{i}" for i in range(n_features)]
    out = {}
    for j in range(n_features):
        drops = []
        for _ in range(repeats):
            shuffled = X.copy()
            order = rng.permutation(len(X))
            shuffled[..., j] = X[order][..., j]
            drops.append(base - metric(model.score_signal(shuffled), y))
        out[names[j]] = float(np.nanmean(drops))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
