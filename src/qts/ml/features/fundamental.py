"""Fundamental ratios joined as of the time each figure became known.

Input (`ctx.fundamentals`): one symbol's long frame `metric, period_end, known_at, value`, as in
the `fundamentals` table. For each bar we use, per metric, the figure of the latest period that
was known at the bar's close (a restatement replaces its period's figure from its own
`known_at` on). Recognised metrics: eps, bps, dps, sps (sales per share), roe, net_income, equity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

from .context import FeatureContext
from .definition import FeatureDefinition

FUNDAMENTAL_COLUMNS = (
    "fund_per", "fund_pbr", "fund_psr", "fund_roe", "fund_eps_growth", "fund_earnings_yield",
    "fund_dividend_yield", "fund_days_since_report",
)  # fmt: skip
REQUIRED = ("metric", "period_end", "known_at", "value")


def _metric_states(rows: pd.DataFrame) -> pd.DataFrame:
    """For one metric: at each `known_at`, the latest period's value and the value a year before."""
    rows = rows.sort_values(["known_at", "period_end"], kind="stable")
    known: dict[pd.Timestamp, float] = {}
    out_t, out_v, out_prev = [], [], []
    for known_at, period_end, value in zip(
        rows["known_at"], rows["period_end"], rows["value"], strict=True
    ):
        known[period_end] = float(value)
        latest = max(known)
        year_ago = [p for p in known if abs((latest - p).days - 365) <= 31]
        out_t.append(known_at)
        out_v.append(known[latest])
        out_prev.append(known[max(year_ago)] if year_ago else np.nan)
    states = pd.DataFrame({"known_at": out_t, "value": out_v, "year_ago": out_prev})
    return states.drop_duplicates("known_at", keep="last")


def compute_fundamental(bars: pd.DataFrame, ctx: FeatureContext) -> pd.DataFrame:
    out = pd.DataFrame(np.nan, index=bars.index, columns=list(FUNDAMENTAL_COLUMNS))
    funda = ctx.fundamentals
    if funda is None or funda.empty or bars.empty:
        return out
    missing = [c for c in REQUIRED if c not in funda.columns]
    if missing:
        raise ValidationError(f"fundamentals frame lacks columns {missing}")
    funda = funda.assign(
        known_at=pd.to_datetime(funda["known_at"], utc=True),
        period_end=pd.to_datetime(funda["period_end"]),
        metric=funda["metric"].str.lower(),
    )
    close_times = pd.DataFrame(
        {"t": ctx.bar_close_times(pd.DatetimeIndex(bars.index)).as_unit("ns")}
    )
    values: dict[str, np.ndarray] = {}
    prev: dict[str, np.ndarray] = {}
    nat = np.iinfo(np.int64).min
    last_report = np.full(len(close_times), nat, dtype=np.int64)
    for metric, rows in funda.groupby("metric"):
        states = _metric_states(rows)
        states["known_at"] = states["known_at"].dt.as_unit("ns")
        joined = pd.merge_asof(close_times, states, left_on="t", right_on="known_at")
        values[str(metric)] = joined["value"].to_numpy(dtype=np.float64)
        prev[str(metric)] = joined["year_ago"].to_numpy(dtype=np.float64)
        reported = joined["known_at"].dt.tz_localize(None).to_numpy("datetime64[ns]")
        np.maximum(last_report, reported.astype(np.int64), out=last_report)
    close = bars["close"].to_numpy(dtype=np.float64)
    nan = np.full(len(bars), np.nan)

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(b > 0, a / b, np.nan)
        return r

    eps, bps = values.get("eps", nan), values.get("bps", nan)
    roe = values.get("roe")
    if roe is None:
        roe = ratio(values.get("net_income", nan), values.get("equity", nan))
    out["fund_per"] = ratio(close, eps)
    out["fund_pbr"] = ratio(close, bps)
    out["fund_psr"] = ratio(close, values.get("sps", nan))
    out["fund_roe"] = roe
    eps_prev = prev.get("eps", nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["fund_eps_growth"] = np.where(
            np.abs(eps_prev) > 0, eps / np.abs(eps_prev) - np.sign(eps_prev), np.nan
        )
        out["fund_earnings_yield"] = eps / close
        out["fund_dividend_yield"] = values.get("dps", nan) / close
    bar_ns = close_times["t"].dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    age = np.where(last_report == nat, np.nan, (bar_ns - last_report) / 86_400e9)
    out["fund_days_since_report"] = age
    return out


FUNDAMENTAL = FeatureDefinition(
    name="fundamental",
    fn=compute_fundamental,
    group="fundamental",
    inputs=("close", "fundamentals"),
    columns=FUNDAMENTAL_COLUMNS,
    description="PER, PBR, PSR, ROE, EPS growth (YoY), earnings and dividend yields, as known "
    "at each bar's close",
    helpers=(_metric_states,),
)
