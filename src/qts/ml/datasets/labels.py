"""Labels: forward returns, BUY/SELL/HOLD classes by thresholds, and triple-barrier labels.

The default return label is the one a backtest can earn (`LABELS`, `return_label`): with
fills at the next bar's open, a decision at bar t's close buys at open[t+1] and, held for
`horizon` bars, sells at open[t+1+horizon], so the label is open[t+1+h] / open[t+1] - 1
(`"next_open"`). `"close"` is the close-to-close return close[t+h] / close[t] - 1, for
strategies that opt into same-bar close fills; scored against next-open fills it credits the
overnight gap a trade cannot capture.

Each label knows when its information ends (`label_end`): the open time of the last bar whose
price it uses. Purged splits use that to keep training labels out of the test period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

BUY, HOLD, SELL = 1, 0, -1
CLASS_NAMES = {BUY: "buy", HOLD: "hold", SELL: "sell"}


def _check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ValidationError(f"horizon must be at least 1 bar, got {horizon}")


def forward_return(close: pd.Series, horizon: int = 1, log: bool = False) -> pd.Series:
    """Return from bar t's close to bar t+horizon's close (NaN for the last `horizon` bars)."""
    _check_horizon(horizon)
    future = close.shift(-horizon)
    out = np.log(future / close) if log else future / close - 1.0
    return out.rename(f"fwd_ret_{horizon}")


def label_end_times(index: pd.Index, horizon: int) -> pd.Series:
    """For each bar, the open time of the bar whose close the label uses (NaT past the end)."""
    _check_horizon(horizon)
    idx = pd.Series(index, index=index)
    return idx.shift(-horizon).rename("label_end")


def open_to_open_return(open_: pd.Series, horizon: int = 1) -> pd.Series:
    """Return from bar t+1's open to bar t+1+horizon's open (NaN for the last horizon+1 bars):
    what a position decided at t's close and filled at the next open earns over `horizon`."""
    _check_horizon(horizon)
    entry = open_.shift(-1)
    return (open_.shift(-1 - horizon) / entry - 1.0).rename(f"fwd_open_ret_{horizon}")


LABELS = ("next_open", "close")


def return_label(
    bars: pd.DataFrame, horizon: int = 1, label: str = "next_open"
) -> tuple[pd.Series, pd.Series]:
    """(forward return, label end time) per bar for label kind `label` (see the module doc)."""
    if label == "next_open":
        ends = pd.Series(bars.index, index=bars.index).shift(-1 - horizon)
        return open_to_open_return(bars["open"], horizon), ends.rename("label_end")
    if label == "close":
        return forward_return(bars["close"], horizon), label_end_times(bars.index, horizon)
    raise ValidationError(f"unknown label {label!r} ({', '.join(LABELS)})")


def classify_returns(returns: pd.Series, buy_above: float, sell_below: float) -> pd.Series:
    """BUY (1) above `buy_above`, SELL (-1) below `sell_below`, HOLD (0) between; NaN stays NaN."""
    if sell_below > buy_above:
        raise ValidationError("sell_below must not exceed buy_above")
    cls = np.where(returns > buy_above, BUY, np.where(returns < sell_below, SELL, HOLD))
    out = pd.Series(cls.astype(np.float64), index=returns.index, name="label")
    out[returns.isna()] = np.nan
    return out


def triple_barrier_labels(
    bars: pd.DataFrame,
    horizon: int,
    upper: float,
    lower: float,
    volatility: pd.Series | None = None,
) -> pd.DataFrame:
    """Which barrier bar t's close meets first within `horizon` bars.

    Barriers sit at close*(1+upper*s) and close*(1-lower*s), s = `volatility` at t (1 if None);
    highs and lows of later bars decide the touch; a bar touching both counts as the lower one
    (the conservative reading). Columns: `label` (1 upper, -1 lower, 0 vertical barrier),
    `ret` (the return at exit), `label_end` (the exit bar's open time).
    """
    _check_horizon(horizon)
    close = bars["close"].to_numpy(np.float64)
    high = bars["high"].to_numpy(np.float64)
    low = bars["low"].to_numpy(np.float64)
    scale = np.ones(len(close)) if volatility is None else volatility.to_numpy(np.float64)
    n = len(close)
    label = np.full(n, np.nan)
    ret = np.full(n, np.nan)
    end = np.full(n, -1, dtype=np.int64)
    for i in range(n - horizon):
        if not np.isfinite(scale[i]):
            continue
        up, down = close[i] * (1 + upper * scale[i]), close[i] * (1 - lower * scale[i])
        exit_j, lab = i + horizon, 0.0
        for j in range(i + 1, i + horizon + 1):
            if low[j] <= down:
                exit_j, lab = j, -1.0
                break
            if high[j] >= up:
                exit_j, lab = j, 1.0
                break
        label[i] = lab
        exit_price = down if lab < 0 else up if lab > 0 else close[exit_j]
        ret[i] = exit_price / close[i] - 1.0
        end[i] = exit_j
    ends = pd.Series(pd.NaT, index=bars.index, dtype=pd.DatetimeIndex(bars.index).dtype)
    valid = end >= 0
    ends.iloc[np.nonzero(valid)[0]] = bars.index[end[valid]]
    return pd.DataFrame({"label": label, "ret": ret, "label_end": ends}, index=bars.index)
