"""The bars a runner has seen, per symbol: appended one bar at a time, read back as a DataFrame
of the last `lookback` rows (built for that call only, so a bounded read costs O(lookback)).
`handed` counts every row given out as a frame, for the O(1) decision-step tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from qts.strategies.base import BarRow

COLUMNS = ("open", "high", "low", "close", "volume")


class BarHistory:
    def __init__(self, symbols: Iterable[str], frames: Mapping[str, pd.DataFrame] | None = None):
        self._rows: dict[str, list[BarRow]] = {s: [] for s in symbols}
        self._index: dict[str, list[pd.Timestamp]] = {s: [] for s in self._rows}
        self.handed = 0
        for symbol, frame in (frames or {}).items():
            if symbol not in self._rows:
                continue
            values = frame[list(COLUMNS)].to_numpy(dtype=np.float64)
            self._rows[symbol].extend(tuple(map(float, row)) for row in values)  # type: ignore[misc]
            self._index[symbol].extend(pd.DatetimeIndex(frame.index))

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._rows

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def append(self, symbol: str, ts: pd.Timestamp, row: BarRow) -> None:
        self._index[symbol].append(ts)
        self._rows[symbol].append(row)

    def rows(self, symbol: str) -> list[BarRow]:
        return self._rows[symbol]

    def count(self, symbol: str) -> int:
        return len(self._rows[symbol])

    def last_close(self, symbol: str) -> float | None:
        rows = self._rows[symbol]
        return rows[-1][3] if rows else None

    def last_ts(self, symbol: str) -> pd.Timestamp | None:
        index = self._index[symbol]
        return index[-1] if index else None

    def closes(self, symbol: str) -> np.ndarray:
        return np.fromiter((row[3] for row in self._rows[symbol]), dtype=np.float64)

    def frame(self, symbol: str, lookback: int | None = None) -> pd.DataFrame:
        """Bars of `symbol` so far (the last `lookback` of them)."""
        rows = self._rows[symbol]
        start = 0 if lookback is None else max(len(rows) - lookback, 0)
        self.handed += len(rows) - start
        idx = pd.DatetimeIndex(self._index[symbol][start:], name="ts")
        return pd.DataFrame(rows[start:], index=idx, columns=list(COLUMNS))
