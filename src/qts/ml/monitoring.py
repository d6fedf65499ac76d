"""Drift monitoring of a model version: reference distributions saved at training, PSI and KS
of each feature and of the predictions on a window of bars after the training window, and the
realised IC of those bars.

    reference = build_reference(samples, model)          # at training: saved as reference.json
    report = drift_report(reference, model, recent, DriftThresholds())   # recent: after the window

A reference holds, per feature column (the newest row of a sequence model's window) and for the
model's scores on its training samples, decile bin edges with each bin's share (for PSI) and a
seeded sample of at most `sample` values (for KS). PSI = sum((a - e) * ln(a / e)) over the
reference bins (the window's counts smoothed by half a count per bin, reference shares floored
at 1e-4); KS is scipy's two-sample test. Features computed over
rolling windows are autocorrelated, so a short window gives noisy PSI: monitor enough bars.

Realised IC: with several symbols, each timestamp's cross-sectional correlation of scores with
realised returns, averaged (Qlib's IC, `ic`); with one symbol there is no cross-section and it
is the time-series correlation, `ts_corr`. An IC breach needs it significantly below the floor
(t <= -`ic_t`), not one noisy week.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.ml.evaluation.metrics import daily_ic, pearson_corr

PREDICTION = "prediction"
_FLOOR = 1e-4


@dataclass(frozen=True)
class Distribution:
    """One column's reference: interior bin edges, the share of reference values in each of
    the `len(edges) + 1` bins, and a sorted sample of values."""

    edges: list[float]
    shares: list[float]
    sample: list[float]
    mean: float
    std: float

    @classmethod
    def of(cls, values: np.ndarray, bins: int, sample: int, seed: int) -> Distribution:
        x = np.asarray(values, np.float64)
        x = x[np.isfinite(x)]
        if len(x) < 2:
            raise ValidationError("a reference distribution needs at least 2 finite values")
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
        shares = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)
        rng = np.random.default_rng(seed)
        kept = x if len(x) <= sample else rng.choice(x, size=sample, replace=False)
        return cls([float(e) for e in edges], [float(s) for s in shares / len(x)],
                   [float(v) for v in np.sort(kept)], float(x.mean()), float(x.std()))  # fmt: skip

    def psi(self, values: np.ndarray) -> float:
        x = _finite(values)
        if not len(x):
            return float("nan")
        counts = np.bincount(
            np.searchsorted(np.asarray(self.edges), x, side="right"), minlength=len(self.shares)
        )
        # Half a count added to every bin: one empty bin of a short window must not read as
        # a breach by itself (with a bare floor it adds about 0.7 to PSI).
        actual = (counts + 0.5) / (len(x) + 0.5 * len(counts))
        expected = np.maximum(np.asarray(self.shares), _FLOOR)
        return float(np.sum((actual - expected) * np.log(actual / expected)))

    def ks(self, values: np.ndarray) -> tuple[float, float]:
        from scipy.stats import ks_2samp

        x = _finite(values)
        if len(x) < 2:
            return float("nan"), float("nan")
        result = ks_2samp(np.asarray(self.sample), x)
        return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class Reference:
    """The training-time distributions of a version's feature columns and of its scores."""

    columns: list[str]
    features: dict[str, Distribution]
    prediction: Distribution
    rows: int
    train_end: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        try:
            return cls(
                columns=list(data["columns"]),
                features={k: Distribution(**v) for k, v in data["features"].items()},
                prediction=Distribution(**data["prediction"]), rows=int(data["rows"]),
                train_end=str(data["train_end"]),
            )  # fmt: skip
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"malformed drift reference: {exc}") from exc


def _finite(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, np.float64).ravel()
    return x[np.isfinite(x)]


def after_window(times: pd.DatetimeIndex, train_end: Any) -> np.ndarray:
    """Which `times` lie after the training window's end (naive times read as UTC)."""
    end = pd.Timestamp(train_end)
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    index = pd.DatetimeIndex(times)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return np.asarray(index > end)


def feature_rows(X: np.ndarray) -> np.ndarray:
    """Each sample's own bar features: the newest row of a sequence model's window."""
    X = np.asarray(X, np.float64)
    return X[:, -1, :] if X.ndim == 3 else X


def model_scores(model: Any, X: np.ndarray) -> np.ndarray:
    if not len(X):
        return np.empty(0)
    return np.asarray(model.score_signal(model.prepare(X)), np.float64).ravel()


def build_reference(
    samples: Any, model: Any, train_end: str = "", bins: int = 10, sample: int = 2000,
    seed: int = 0,
) -> Reference:  # fmt: skip
    """The reference of a fitted `model` on its training `samples` (a `SampleSet`)."""
    rows = feature_rows(samples.X)
    columns = list(samples.feature_names)
    features = {
        c: Distribution.of(rows[:, j], bins, sample, seed + j) for j, c in enumerate(columns)
    }
    scores = model_scores(model, samples.X)
    return Reference(columns, features, Distribution.of(scores, bins, sample, seed), len(rows),
                     train_end or str(samples.label_ends.max()))  # fmt: skip


@dataclass(frozen=True)
class DriftThresholds:
    """A breach: PSI at or over `psi`; KS statistic at or over `ks` with p-value under
    `ks_pvalue`; realised IC significantly under `min_ic` (t <= -`ic_t`)."""

    psi: float = 0.25
    ks: float = 0.2
    ks_pvalue: float = 0.01
    min_ic: float = 0.0
    ic_t: float = 2.0
    min_rows: int = 30


def realised_ic(
    scores: np.ndarray, returns: np.ndarray, times: pd.DatetimeIndex, symbols: np.ndarray
) -> dict[str, Any]:
    """The IC of scores against realised returns (see the module notes) with its t-statistic
    and how many timestamps (`ic`) or bars (`ts_corr`) it rests on."""
    if len(set(np.asarray(symbols).tolist())) > 1:
        series = daily_ic(scores, returns, np.asarray(times.asi8))
        n = len(series)
        mean = float(series.mean()) if n else float("nan")
        sd = float(series.std(ddof=1)) if n > 1 else float("nan")
        se = sd / math.sqrt(n) if n > 1 and sd > 0 else float("nan")
        return {"kind": "ic", "value": mean, "se": se, "n": n}
    r = pearson_corr(scores, returns)
    n = int((np.isfinite(scores) & np.isfinite(returns)).sum())
    se = math.sqrt(max(1 - r * r, 0.0) / (n - 2)) if n > 2 and np.isfinite(r) else float("nan")
    return {"kind": "ts_corr", "value": r, "se": se, "n": n}


def _column(stats: dict[str, float], t: DriftThresholds) -> dict[str, Any]:
    psi_breach = bool(stats["psi"] >= t.psi)
    ks_breach = bool(stats["ks"] >= t.ks and stats["ks_pvalue"] < t.ks_pvalue)
    return {**stats, "breach": [m for m, b in (("psi", psi_breach), ("ks", ks_breach)) if b]}


def _stats(dist: Distribution, values: np.ndarray) -> dict[str, float]:
    ks, p = dist.ks(values)
    x = _finite(values)
    return {"psi": dist.psi(values), "ks": ks, "ks_pvalue": p,
            "mean": float(x.mean()) if len(x) else float("nan"), "ref_mean": dist.mean}  # fmt: skip


def drift_report(
    reference: Reference | None, model: Any, recent: Any, thresholds: DriftThresholds
) -> dict[str, Any]:
    """PSI and KS of each feature and of the scores, and the realised IC, on `recent` samples
    (a `SampleSet` of bars after the training window only). `breaches` lists each breach as
    `{"metric", "column", "value", "threshold"}`; fewer than `min_rows` samples: no verdict."""
    n = len(recent.X)
    if n and reference is not None and not after_window(recent.times, reference.train_end).all():
        raise ValidationError("drift is measured only on bars after the training window")
    scores = model_scores(model, recent.X)
    ic = realised_ic(scores, recent.returns, recent.times, recent.symbols)
    report: dict[str, Any] = {"rows": n, "ic": ic, "features": {}, "prediction": None,
                              "breaches": [], "verdict": n >= thresholds.min_rows}  # fmt: skip
    if n < thresholds.min_rows:
        return report
    if reference is not None:
        if list(recent.feature_names) != reference.columns:
            raise ValidationError(
                "the recent samples have other feature columns than the reference"
            )
        rows = feature_rows(recent.X)
        for j, c in enumerate(reference.columns):
            report["features"][c] = _column(_stats(reference.features[c], rows[:, j]), thresholds)
        report["prediction"] = _column(_stats(reference.prediction, scores), thresholds)
    report["breaches"] = _breaches(report, thresholds)
    return report


def _breaches(report: dict[str, Any], t: DriftThresholds) -> list[dict[str, Any]]:
    out = []
    entries = [*report["features"].items(), (PREDICTION, report["prediction"])]
    for column, entry in entries:
        for metric in (entry or {}).get("breach", []):
            limit = t.psi if metric == "psi" else t.ks
            out.append({"metric": metric, "column": column, "value": entry[metric],
                        "threshold": limit})  # fmt: skip
    ic = report["ic"]
    if np.isfinite(ic["value"]) and np.isfinite(ic["se"]) and ic["se"] > 0:
        t_stat = (ic["value"] - t.min_ic) / ic["se"]
        ic["t_vs_floor"] = t_stat
        if t_stat <= -t.ic_t:
            out.append({"metric": ic["kind"], "column": PREDICTION, "value": ic["value"],
                        "threshold": t.min_ic})  # fmt: skip
    return out
