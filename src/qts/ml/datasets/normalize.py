"""Normalisation fitted on training rows only, then applied unchanged to later data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

Method = Literal["zscore", "robust"]


@dataclass
class Normalizer:
    """Per-column z-score (mean/std) or robust (median/IQR) scaling, with optional clipping."""

    method: Method = "zscore"
    clip: float | None = 5.0
    center_: np.ndarray | None = field(default=None, init=False)
    scale_: np.ndarray | None = field(default=None, init=False)
    columns_: list[str] | None = field(default=None, init=False)

    def fit(self, train: pd.DataFrame | np.ndarray) -> Normalizer:
        values = self._values(train)
        if values.ndim == 3:  # windows (samples, lookback, features): one scale per feature
            values = values.reshape(-1, values.shape[-1])
        if len(values) == 0:
            raise ValidationError("cannot fit a normaliser on no rows")
        with np.errstate(all="ignore"):
            if self.method == "zscore":
                center = np.nanmean(values, axis=0)
                scale = np.nanstd(values, axis=0)
            elif self.method == "robust":
                q25, center, q75 = np.nanpercentile(values, [25, 50, 75], axis=0)
                scale = q75 - q25
            else:
                raise ValidationError(f"unknown normalisation {self.method!r}")
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self.center_ = np.where(np.isfinite(center), center, 0.0)
        self.scale_ = scale
        self.columns_ = list(train.columns) if isinstance(train, pd.DataFrame) else None
        return self

    def transform(self, data: pd.DataFrame | np.ndarray) -> Any:
        if self.center_ is None or self.scale_ is None:
            raise ValidationError("normaliser used before fit()")
        if (
            isinstance(data, pd.DataFrame)
            and self.columns_ is not None
            and list(data.columns) != self.columns_
        ):
            raise ValidationError("columns differ from those the normaliser was fitted on")
        out = (self._values(data) - self.center_) / self.scale_
        if self.clip is not None:
            out = np.clip(out, -self.clip, self.clip)
        if isinstance(data, pd.DataFrame):
            return pd.DataFrame(out, index=data.index, columns=data.columns)
        return out

    def fit_transform(self, train: pd.DataFrame | np.ndarray) -> Any:
        return self.fit(train).transform(train)

    def state(self) -> dict[str, Any]:
        """Plain form to save beside a model so inference scales the same way."""
        if self.center_ is None or self.scale_ is None:
            raise ValidationError("normaliser not fitted")
        return {
            "method": self.method,
            "clip": self.clip,
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
            "columns": self.columns_,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Normalizer:
        norm = cls(method=state["method"], clip=state["clip"])
        norm.center_ = np.asarray(state["center"], dtype=np.float64)
        norm.scale_ = np.asarray(state["scale"], dtype=np.float64)
        norm.columns_ = state.get("columns")
        return norm

    @staticmethod
    def _values(data: pd.DataFrame | np.ndarray) -> np.ndarray:
        values = data.to_numpy(np.float64) if isinstance(data, pd.DataFrame) else data
        return np.asarray(values, dtype=np.float64)
