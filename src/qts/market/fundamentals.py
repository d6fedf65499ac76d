"""Fundamentals (PER, PBR, ROE, EPS, market cap, …) from CSV, long or wide, with `known_at`.

Layouts: long ``symbol,metric,period_end,value[,known_at]`` or wide
``symbol,date,per,pbr,roe,eps,market_cap,…[,known_at]`` (pykrx's ``날짜,BPS,PER,PBR,EPS,DIV,DPS``
too, with ``symbol=`` given). Without a `known_at` column a value counts as known `lag_days`
after the end of its period (default 1: daily ratios are public after that day's close; use
~45 for quarterly reports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from qts.core.errors import ValidationError

KEY_ALIASES = {
    "symbol": ("symbol", "ticker", "code", "종목코드"),
    "period_end": ("period_end", "date", "날짜", "일자", "report_date", "period"),
    "known_at": ("known_at", "published_at", "filed_at"),
    "metric": ("metric", "field"),
    "value": ("value",),
}


def parse_fundamentals_csv(
    path: str | Path, *, exchange: str, symbol: str | None = None, lag_days: float = 1.0
) -> list[dict[str, Any]]:
    path = Path(path)
    table = pd.read_csv(path, encoding="utf-8-sig", dtype=str)  # keeps 005930 as written
    table.columns = [str(c).strip() for c in table.columns]
    lower = {c.lower(): c for c in table.columns}
    cols: dict[str, str] = {}
    for key, aliases in KEY_ALIASES.items():
        for alias in aliases:
            if alias in lower:
                cols[key] = lower[alias]
                break
    if "period_end" not in cols or ("symbol" not in cols and symbol is None):
        raise ValidationError(
            f"{path.name}: needs a date/period_end column and a symbol (column or --symbol)",
            details={"columns": list(table.columns)},
        )
    if "metric" in cols and "value" in cols:
        long = table.rename(columns={v: k for k, v in cols.items()})
    else:
        ids = [cols[k] for k in ("symbol", "period_end", "known_at") if k in cols]
        long = table.melt(id_vars=ids, var_name="metric", value_name="value")
        long = long.rename(columns={v: k for k, v in cols.items()})
    if "symbol" not in long:
        long["symbol"] = symbol
    long["metric"] = long["metric"].astype(str).str.strip().str.lower()
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    period = pd.to_datetime(long["period_end"].astype(str), errors="coerce", format="mixed")
    bad = period.isna()
    if bad.any():
        rows = (long.index[bad] + 2).tolist()[:100]
        raise ValidationError(
            f"{path.name}: unparseable dates on lines {rows}", details={"lines": rows}
        )
    if "known_at" in long:
        known = pd.to_datetime(long["known_at"], utc=True, errors="coerce", format="mixed")
    else:
        known = (period + pd.Timedelta(days=lag_days)).dt.tz_localize("UTC")
    long = long.assign(period_end=period.dt.date, known_at=known).dropna(
        subset=["value", "known_at"]
    )
    return [
        {
            "exchange": exchange,
            "symbol": str(r.symbol),
            "metric": r.metric,
            "period_end": r.period_end,
            "known_at": r.known_at.to_pydatetime(),
            "value": float(r.value),
        }
        for r in long.itertuples()
    ]
