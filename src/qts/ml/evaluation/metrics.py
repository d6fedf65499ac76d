"""Metrics for out-of-sample predictions, named as the field names them (as Qlib's calc_ic).

IC: at each timestamp, the Pearson correlation of scores with realised labels across the
symbols present then (timestamps with fewer than 2 symbols or a constant side are skipped),
averaged over timestamps. Rank IC: the same with Spearman. ICIR: mean / std of the daily IC
series. Each mean carries a t-statistic (mean / (std / sqrt(n))) and a seeded bootstrap 95%
interval (a moving-block bootstrap over days, blocks as long as the label horizon, since
overlapping labels make neighbouring days' ICs move together).

With one symbol there is no cross-section: its correlation over time is `ts_corr` /
`ts_rank_corr`, never "IC". The correlation pooled over all symbol-days is `pooled_corr`.
"""

from __future__ import annotations

import math
from typing import Any

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


def pearson_corr(pred: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of all pairs given; NaN when either side is constant or fewer than
    3 pairs. Pooled over whatever is passed: not an IC unless given one timestamp's symbols."""
    p, t = _pair(pred, y)
    if len(p) < 3 or p.std() == 0 or t.std() == 0:
        return float("nan")
    return float(np.corrcoef(p, t)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(method="average").to_numpy()


def spearman_corr(pred: np.ndarray, y: np.ndarray) -> float:
    p, t = _pair(pred, y)
    if len(p) < 3:
        return float("nan")
    return pearson_corr(_ranks(p), _ranks(t))


# Older names of the plain correlations (the drift job and importance use them).
information_coefficient = pearson_corr
rank_ic = spearman_corr


def daily_ic(
    pred: np.ndarray, y: np.ndarray, times: np.ndarray | pd.Index, rank: bool = False
) -> pd.Series:
    """The IC series: one cross-sectional correlation per timestamp (index: the timestamps).

    Timestamps with fewer than 2 finite pairs or with constant scores or labels are skipped.
    """
    p, t = np.asarray(pred, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    stamps = np.asarray(times)
    if not len(p) == len(t) == len(stamps):
        raise ValidationError("pred, y and times differ in length")
    ok = np.isfinite(p) & np.isfinite(t)
    frame = pd.DataFrame({"p": p[ok], "y": t[ok], "t": stamps[ok]})
    out: dict[Any, float] = {}
    for stamp, part in frame.groupby("t", sort=True):
        a, b = part["p"].to_numpy(), part["y"].to_numpy()
        if len(a) < 2:
            continue
        if rank:
            a, b = _ranks(a), _ranks(b)
        da, db = a - a.mean(), b - b.mean()
        saa, sbb = float(da @ da), float(db @ db)
        # Relative tolerance: equal values leave rounding noise, not variance.
        if saa <= 1e-24 * float(a @ a) or sbb <= 1e-24 * float(b @ b) or saa == 0 or sbb == 0:
            continue
        out[stamp] = float(da @ db) / math.sqrt(saa * sbb)
    return pd.Series(out, dtype=float, name="rank_ic" if rank else "ic")


def bootstrap_mean_interval(
    values: np.ndarray, seed: int = 0, block: int = 1, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean by a moving-block bootstrap (block 1: plain)."""
    x = np.asarray(values, np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2:
        return float("nan"), float("nan")
    b = max(1, min(int(block), n))
    k = math.ceil(n / b)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - b + 1, size=(n_boot, k))
    idx = (starts[:, :, None] + np.arange(b)).reshape(n_boot, k * b)[:, :n]
    means = x[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def series_summary(
    values: pd.Series | np.ndarray, seed: int = 0, block: int = 1
) -> dict[str, float]:
    """Mean, std, mean/std (the IR), t-statistic and bootstrap 95% interval of a series."""
    x = np.asarray(values, np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    mean = float(x.mean()) if n else float("nan")
    std = float(x.std(ddof=1)) if n >= 2 else float("nan")
    good = n >= 2 and std > 0
    lo, hi = bootstrap_mean_interval(x, seed, block)
    return {
        "mean": mean, "std": std, "ir": mean / std if good else float("nan"),
        "t_stat": mean / (std / math.sqrt(n)) if good else float("nan"),
        "ci_low": lo, "ci_high": hi, "n": float(n),
    }  # fmt: skip


def directional_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of samples where the sign of the forecast matches the realised move (zero moves
    are left out)."""
    p, t = _pair(pred, y)
    moved = t != 0
    if not moved.any():
        return float("nan")
    return float(np.mean(np.sign(p[moved]) == np.sign(t[moved])))


def icir(ics: pd.Series | np.ndarray) -> float:
    """mean / std of an IC series (pass `daily_ic`'s output)."""
    return series_summary(ics)["ir"]


def regression_metrics(
    pred: np.ndarray,
    y: np.ndarray,
    times: np.ndarray | pd.Index,
    symbols: np.ndarray,
    seed: int = 0,
    block: int = 1,
) -> dict[str, Any]:
    """The out-of-sample report of one set of predictions.

    Several symbols: `ic`, `rank_ic` (daily cross-sectional means), `icir`, `rank_icir`,
    `ic_t_stat`, `ic_ci_low`/`ic_ci_high` (and the same for rank IC), `ic_days`. One symbol:
    `ts_corr`, `ts_rank_corr` with their t-statistic and interval, and no IC at all. Both:
    `pooled_corr`, `mse`, `directional_accuracy`, `n`, `n_symbols`, `cross_sectional`.
    """
    p = np.asarray(pred, np.float64).ravel()
    t = np.asarray(y, np.float64).ravel()
    stamps, syms = np.asarray(times), np.asarray(symbols)
    if not len(p) == len(t) == len(stamps) == len(syms):
        raise ValidationError("pred, y, times and symbols differ in length")
    ok = np.isfinite(p) & np.isfinite(t)
    n_symbols = len(set(syms[ok].tolist()))
    out: dict[str, Any] = {
        "cross_sectional": n_symbols >= 2, "n_symbols": float(n_symbols), "n": float(ok.sum()),
        "pooled_corr": pearson_corr(p, t),
        "mse": float(np.mean((p[ok] - t[ok]) ** 2)) if ok.any() else float("nan"),
        "directional_accuracy": directional_accuracy(p, t),
    }  # fmt: skip
    if n_symbols >= 2:
        for name, rank in (("ic", False), ("rank_ic", True)):
            s = series_summary(daily_ic(p, t, stamps, rank=rank), seed, block)
            out[name] = s["mean"]
            out[f"{name}_std"] = s["std"]
            out["icir" if name == "ic" else "rank_icir"] = s["ir"]
            out[f"{name}_t_stat"] = s["t_stat"]
            out[f"{name}_ci_low"], out[f"{name}_ci_high"] = s["ci_low"], s["ci_high"]
            out["ic_days"] = s["n"]
    else:
        for name, fn in (("ts_corr", pearson_corr), ("ts_rank_corr", spearman_corr)):
            r, m = fn(p, t), float(ok.sum())
            out[name] = r
            good = math.isfinite(r) and abs(r) < 1 and m > 2
            out[f"{name}_t_stat"] = r * math.sqrt((m - 2) / (1 - r * r)) if good else float("nan")
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
