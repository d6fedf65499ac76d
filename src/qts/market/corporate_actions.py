"""Corporate actions (splits, cash dividends) and the backward adjustment factors they imply.

Pure functions over pandas; no I/O. Conventions:

* A split of `ratio` (new shares per old share: 50 for Samsung's 50:1 of 2018-05-04; 0.125 for a
  1:8 reverse split) takes effect at the first bar dated on or after its ex-date: prices of bars
  before it are divided by `ratio` in the adjusted series, volumes multiplied by it.
* A cash dividend of `amount` per share (in the raw share count of its own day) scales the prices
  of bars before its ex-date by ``1 - amount / close_before`` (the CRSP / Yahoo convention), where
  ``close_before`` is the raw close of the last bar before the ex-date.
* Backward adjustment: the newest bar is unchanged; each earlier bar is multiplied by the product
  of the factors of every event after it. A bar's date is its timestamp's UTC date (daily bars are
  stored at 00:00 UTC of the session date).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

KINDS = ("split", "dividend")
PRICE_COLUMNS = ("open", "high", "low", "close")
PRICE_ADJUSTMENTS = ("adjusted", "raw")


@dataclass(frozen=True, slots=True)
class CorporateAction:
    symbol: str
    ex_date: date
    kind: str  # "split" | "dividend"
    ratio: float = 1.0  # split: new shares per old share
    amount: float = 0.0  # dividend: cash per share
    exchange: str = ""
    source: str = ""
    known_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValidationError(
                f"corporate action kind must be one of {KINDS}, not {self.kind!r}"
            )
        if self.kind == "split" and not (math.isfinite(self.ratio) and self.ratio > 0):
            raise ValidationError(f"{self.symbol} {self.ex_date}: split ratio must be > 0")
        if self.kind == "dividend" and not (math.isfinite(self.amount) and self.amount >= 0):
            raise ValidationError(f"{self.symbol} {self.ex_date}: dividend amount must be >= 0")


ActionMap = Mapping[str, Sequence[CorporateAction]]


def bar_dates(index: pd.DatetimeIndex) -> np.ndarray:
    """The UTC calendar date of each bar as datetime64[D]."""
    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.to_numpy().astype("datetime64[D]")


def event_rows(
    index: pd.DatetimeIndex, actions: Iterable[CorporateAction], after_last: bool = False
) -> list[tuple[int, CorporateAction]]:
    """(row, action) for each action inside the bars: the first bar dated on/after its ex-date;
    splits before dividends on one date. Actions on/before the first bar are left out (nothing
    before them to adjust), and so are those after the last bar unless `after_last` (then their
    row is len(index): they still adjust every bar, as in a window read before the ex-date)."""
    dates = bar_dates(index)
    out = []
    for action in sorted(actions, key=lambda a: (a.ex_date, a.kind != "split")):
        row = int(np.searchsorted(dates, np.datetime64(action.ex_date, "D"), side="left"))
        if 0 < row < len(dates) or (after_last and row == len(dates) > 0):
            out.append((row, action))
    return out


def adjustment_factors(frame: pd.DataFrame, actions: Iterable[CorporateAction]) -> pd.DataFrame:
    """Per bar: `split` (price factor of splits only), `total` (splits and dividends: the
    total-return price factor) and `volume` (1 / split). Adjusted price = raw price x factor."""
    split_div, total_div = divisors(frame, actions)
    return pd.DataFrame(
        {"split": 1.0 / split_div, "total": 1.0 / total_div, "volume": split_div},
        index=frame.index,
    )


def split_divisors(index: pd.DatetimeIndex, actions: Iterable[CorporateAction]) -> np.ndarray:
    """Per bar: the product of the ratios of the splits after it (1.0 for the newest)."""
    step = np.ones(len(index) + 1)  # step[r]: divisor for bars before row r
    for row, action in event_rows(index, actions, after_last=True):
        if action.kind == "split":
            step[row] *= action.ratio
    return _backward(step)


def divisors(
    frame: pd.DataFrame, actions: Iterable[CorporateAction]
) -> tuple[np.ndarray, np.ndarray]:
    """(split, total) divisors per bar: adjusted price = raw / divisor. Divisors (products of
    split ratios) keep whole-number splits exact: 2,650,000 / 50 is 53,000 to the last bit.
    A dividend after the last bar is scaled by the last close (the close before it is unknown)."""
    n = len(frame)
    split_step = np.ones(n + 1)  # divisor that applies to bars *before* row r
    total_step = np.ones(n + 1)
    close = frame["close"].to_numpy(np.float64) if n else np.empty(0)
    for row, action in event_rows(pd.DatetimeIndex(frame.index), actions, after_last=True):
        if action.kind == "split":
            split_step[row] *= action.ratio
            total_step[row] *= action.ratio
            continue
        # A dividend is per share of its ex-date: same-day splits come first (event_rows order).
        before = close[row - 1] / split_step[row]
        if not action.amount < before:
            raise ValidationError(
                f"{action.symbol} {action.ex_date}: dividend {action.amount} is not below "
                f"the close before it ({before:g})"
            )
        total_step[row] /= 1.0 - action.amount / before
    return _backward(split_step), _backward(total_step)


def _backward(step: np.ndarray) -> np.ndarray:
    """(len(step) - 1,) divisors: out[i] = product of step[j] for j > i."""
    after = step[1:]
    return np.cumprod(after[::-1])[::-1].copy()


def adjust_frame(
    frame: pd.DataFrame, actions: Iterable[CorporateAction], dividends: bool = True
) -> pd.DataFrame:
    """`frame` (raw OHLCV) split- (and dividend-) adjusted; the frame itself when nothing applies."""
    actions = list(actions)
    if not actions or frame.empty:
        return frame
    split_div, total_div = divisors(frame, actions)
    price = total_div if dividends else split_div
    if (price == 1.0).all():
        return frame
    out = frame.copy()
    for column in PRICE_COLUMNS:
        if column in out.columns:
            out[column] = out[column].to_numpy(np.float64) / price
    if "volume" in out.columns:
        out["volume"] = out["volume"].to_numpy(np.float64) * split_div
    return out


def adjust_universe(
    data: Mapping[str, pd.DataFrame], actions: ActionMap | None, mode: str = "adjusted"
) -> dict[str, pd.DataFrame]:
    """Each symbol's frame as a strategy or feature should see it: adjusted by default, raw when
    `mode` is "raw" (or the symbol has no actions)."""
    check_mode(mode)
    if mode == "raw" or not actions:
        return dict(data)
    return {s: adjust_frame(frame, actions.get(s, ())) for s, frame in data.items()}


def check_mode(mode: str) -> None:
    if mode not in PRICE_ADJUSTMENTS:
        raise ValidationError(f"price adjustment must be one of {PRICE_ADJUSTMENTS}, not {mode!r}")


def splits_from_adjusted(
    symbol: str,
    raw: pd.DataFrame,
    adjusted: pd.DataFrame,
    tolerance: float = 0.01,
    source: str = "adjusted-vs-raw",
) -> list[CorporateAction]:
    """Split events implied by a provider's adjusted closes against its raw closes (pykrx
    `adjusted=True` vs `adjusted=False`): wherever raw/adjusted steps by more than `tolerance`,
    the ratio between the levels on either side (medians, robust to integer rounding) is a split
    ex-dated at the first bar of the new level."""
    both = pd.concat(
        [raw["close"].astype(float).rename("raw"), adjusted["close"].astype(float).rename("adj")],
        axis=1,
        join="inner",
    ).dropna()
    if both.empty:
        return []
    level = (both["raw"] / both["adj"]).to_numpy()
    breaks = [i for i in range(1, len(level)) if abs(level[i - 1] / level[i] - 1.0) > tolerance]
    bounds = [0, *breaks, len(level)]
    out = []
    dates = bar_dates(pd.DatetimeIndex(both.index))
    for j, row in enumerate(breaks):
        before = float(np.median(level[bounds[j] : row]))
        after = float(np.median(level[row : bounds[j + 2]]))
        ratio = float(Fraction(before / after).limit_denominator(1000))
        out.append(
            CorporateAction(
                symbol=symbol,
                ex_date=pd.Timestamp(dates[row]).date(),
                kind="split",
                ratio=ratio,
                source=source,
            )
        )
    return out


def parse_events_csv(table: pd.DataFrame, source: str = "csv") -> list[CorporateAction]:
    """Rows `exchange,symbol,ex_date,kind,ratio,amount[,source]` as actions (the events CSV of
    `qts data actions import`). Every row is checked before any is returned."""
    required = {"symbol", "ex_date", "kind"}
    missing = required - set(table.columns)
    if missing:
        raise ValidationError(f"events CSV lacks columns {sorted(missing)}")
    out = []
    for n, row in enumerate(table.to_dict("records"), start=2):
        try:
            kind = str(row["kind"]).strip().lower()
            out.append(
                CorporateAction(
                    symbol=str(row["symbol"]).strip(),
                    exchange=str(row.get("exchange") or "").strip(),
                    ex_date=pd.Timestamp(str(row["ex_date"])).date(),
                    kind=kind,
                    ratio=_number(row.get("ratio"), 1.0) if kind == "split" else 1.0,
                    amount=_number(row.get("amount"), 0.0) if kind == "dividend" else 0.0,
                    source=str(row.get("source") or source),
                )
            )
        except (ValueError, ValidationError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            raise ValidationError(f"events CSV line {n}: {message}") from exc
    return out


def _number(value: object, blank: float) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return blank
    if isinstance(value, str) and ":" in value:  # "50:1" (new:old)
        new, old = value.split(":", 1)
        return float(new) / float(old)
    return float(value)  # type: ignore[arg-type]
