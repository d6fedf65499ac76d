"""Declared mappings from model scores to targets, shared by the ML strategies and the inference
engine: threshold with hysteresis, volatility-targeted size, cross-sectional top-k with a limit
on replacements (after Qlib's TopkDropout). Each value at bar t uses scores and prices up to t."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def hysteresis(
    scores: np.ndarray, enter: float, exit: float, allow_short: bool = False
) -> np.ndarray:
    """Direction per bar in {-1, 0, 1}: long once the score rises above `enter`, held until it
    falls below `exit` (`exit` <= `enter`); short mirrored at -enter / -exit when allowed. A
    missing score (NaN) keeps the state; the state starts flat."""
    out = np.zeros(len(scores))
    state = 0.0
    for i, s in enumerate(np.asarray(scores, dtype=np.float64)):
        if math.isfinite(s):
            if (state > 0 and s < exit) or (state < 0 and s > -exit):
                state = 0.0
            if state == 0.0:
                if s > enter:
                    state = 1.0
                elif allow_short and s < -enter:
                    state = -1.0
        out[i] = state
    return out


def vol_target(
    direction: np.ndarray, close: np.ndarray, target_vol: float, window: int, ppy: float
) -> np.ndarray:
    """`direction` scaled to aim at `target_vol` annualised volatility: target / realised, the
    realised volatility from the last `window` close-to-close returns (capped at 1: no
    leverage); flat while the window fills."""
    returns = pd.Series(close, dtype=float).pct_change()
    realised = returns.rolling(window).std().to_numpy() * math.sqrt(ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(realised > 0, np.minimum(target_vol / realised, 1.0), 0.0)
    return np.nan_to_num(direction * scale, nan=0.0)


def topk_dropout(
    scores: pd.DataFrame, k: int, n_drop: int, every: int = 1, bottom: bool = False
) -> pd.DataFrame:
    """Holdings (1 held, 0 not) per bar: at each rebalance (every `every` bars) hold the `k`
    best-scored names, replacing at most `n_drop` held names by better unheld ones. The names
    dropped are the worst held ones among held plus candidates; a held name without a score is
    kept. `bottom`: rank from the worst score (a short book)."""
    ranked = -scores if bottom else scores
    held: list[str] = []
    rows = np.zeros(scores.shape)
    columns = list(scores.columns)
    for i, (_, row) in enumerate(ranked.iterrows()):
        if i % max(every, 1) == 0:
            held = _rebalance(row.dropna(), held, k, n_drop)
        for name in held:
            rows[i, columns.index(name)] = 1.0
    return pd.DataFrame(rows, index=scores.index, columns=scores.columns)


def _rebalance(row: pd.Series, held: list[str], k: int, n_drop: int) -> list[str]:
    if row.empty:
        return held
    unheld = row.drop([h for h in held if h in row.index]).sort_values(ascending=False)
    candidates = list(unheld.index[: n_drop + k - len(held)])
    combined = row.reindex([*held, *candidates]).fillna(np.inf)  # unscored held names stay
    order = list(combined.sort_values(ascending=False, kind="stable").index)
    worst = set(order[len(order) - n_drop :]) if n_drop > 0 else set()
    sold = [h for h in held if h in worst]
    bought = candidates[: len(sold) + k - len(held)]
    return [h for h in held if h not in sold] + bought
