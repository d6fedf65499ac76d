"""Regression and classification metrics for out-of-sample predictions.

IC is the Pearson correlation of predictions with realised forward returns, Rank IC the
Spearman correlation. With several symbols `period_ic` computes one IC per time (cross-section)
or per symbol's time block; ICIR = mean(IC) / std(IC) over those periods.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError


def _pair(pred: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(y, dtype=np.float64).ravel()
    if len(p) != len(t):
        raise ValidationError(f"{len(p)} predictions for {len(t)} targets")
    ok = np.isfinite(p) & np.isfinite(t)
    return p[ok], t[ok]


def information_coefficient(pred: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant or fewer than 3 pairs."""
    p, t = _pair(pred, y)
    if len(p) < 3 or p.std() == 0 or t.std() == 0:
        return float("nan")
    return float(np.corrcoef(p, t)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(method="average").to_numpy()


def rank_ic(pred: np.ndarray, y: np.ndarray) -> float:
    p, t = _pair(pred, y)
    if len(p) < 3:
        return float("nan")
    return information_coefficient(_ranks(p), _ranks(t))


def period_ic(
    pred: np.ndarray, y: np.ndarray, periods: np.ndarray | pd.Index, rank: bool = False
) -> pd.Series:
    """IC within each period label (e.g. each date across symbols, or each month)."""
    frame = pd.DataFrame({"p": np.asarray(pred, float), "y": np.asarray(y, float),
                          "g": np.asarray(periods)})  # fmt: skip
    fn = rank_ic if rank else information_coefficient
    out = {g: fn(part["p"].to_numpy(), part["y"].to_numpy()) for g, part in frame.groupby("g")}
    return pd.Series(out, dtype=float).dropna()


def icir(ics: pd.Series | np.ndarray) -> float:
    values = np.asarray(ics, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2 or values.std(ddof=1) == 0:
        return float("nan")
    return float(values.mean() / values.std(ddof=1))


def directional_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of samples where the sign of the forecast matches the realised move (zero moves
    are left out)."""
    p, t = _pair(pred, y)
    moved = t != 0
    if not moved.any():
        return float("nan")
    return float(np.mean(np.sign(p[moved]) == np.sign(t[moved])))


def regression_metrics(
    pred: np.ndarray, y: np.ndarray, periods: np.ndarray | pd.Index | None = None
) -> dict[str, float]:
    p, t = _pair(pred, y)
    out = {
        "ic": information_coefficient(p, t),
        "rank_ic": rank_ic(p, t),
        "mse": float(np.mean((p - t) ** 2)) if len(p) else float("nan"),
        "directional_accuracy": directional_accuracy(p, t),
        "n": float(len(p)),
    }
    if periods is not None:
        ics = period_ic(pred, y, periods)
        out["icir"] = icir(ics)
        out["ic_periods"] = float(len(ics))
        out["ic_mean_by_period"] = float(ics.mean()) if len(ics) else float("nan")
    return out


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[int, ...] = (-1, 0, 1)
) -> np.ndarray:
    """Rows: true class, columns: predicted class, in `labels` order."""
    index = {lab: i for i, lab in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int), strict=True):
        cm[index[t], index[p]] += 1
    return cm


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, names: tuple[str, ...] = ("sell", "hold", "buy")
) -> dict[str, float | list[list[int]]]:
    """Accuracy, per-class precision/recall/F1, macro F1 and the confusion matrix."""
    cm = confusion_matrix(y_true, y_pred)
    total = cm.sum()
    out: dict[str, float | list[list[int]]] = {
        "accuracy": float(np.trace(cm) / total) if total else float("nan"),
    }
    f1s = []
    for i, name in enumerate(names):
        tp, predicted, actual = cm[i, i], cm[:, i].sum(), cm[i, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[f"precision_{name}"], out[f"recall_{name}"], out[f"f1_{name}"] = (
            float(precision), float(recall), float(f1),
        )  # fmt: skip
        f1s.append(f1)
    out["macro_f1"] = float(np.mean(f1s))
    out["confusion_matrix"] = cm.tolist()
    return out


def finite_or_none(value: float) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
