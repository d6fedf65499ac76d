"""One-minute KRX bars for the fakes: the sample 005930 daily prices replayed as the minutes of
one morning session (2024-03-04, a Monday, from 09:00 KST), whole won and whole shares."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"
SESSION_DAY = "2024-03-04"


def krx_minute_bars(count: int, symbol_offset: int = 0, start: str = "09:00") -> pd.DataFrame:
    daily = pd.read_csv(SAMPLE / "kr_daily" / "005930.csv")
    rows = daily.iloc[[(symbol_offset + i) % len(daily) for i in range(count)]]
    index = pd.date_range(
        f"{SESSION_DAY} {start}", periods=count, freq="1min", tz="Asia/Seoul"
    ).tz_convert("UTC")
    frame = pd.DataFrame(
        {
            "open": rows["open"].to_numpy(float),
            "high": rows["high"].to_numpy(float),
            "low": rows["low"].to_numpy(float),
            "close": rows["close"].to_numpy(float),
            "volume": (rows["volume"].to_numpy(float) // 1000).round(),
        },
        index=index.rename("ts").as_unit("ns"),
    )
    return frame


def session_start_s() -> float:
    return pd.Timestamp(f"{SESSION_DAY} 08:59:59", tz="Asia/Seoul").timestamp()
