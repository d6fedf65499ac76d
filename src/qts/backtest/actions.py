"""Corporate actions on the run's time axis: what both engines apply to held positions.

Strategies see adjusted prices (or raw, `price_adjustment="raw"`); orders fill at the raw prices a
broker quotes. So at a split's ex-date the engines multiply the held quantity by the ratio (cash
unchanged: equity is continuous), and at a dividend's ex-date they pay quantity x amount in cash
(a short position pays it). The vectorized kernel and the event loop read the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qts.market.corporate_actions import ActionMap, event_rows


@dataclass(frozen=True, slots=True)
class ActionArrays:
    """Actions sorted by the row they take effect at (the symbol's first bar on/after the
    ex-date); within a row splits come before dividends."""

    bar: np.ndarray  # int64
    sym: np.ndarray  # int64
    ratio: np.ndarray  # new shares per old; 1.0 for a dividend
    cash: np.ndarray  # cash per share; 0.0 for a split

    @classmethod
    def empty(cls) -> ActionArrays:
        none = np.zeros(0)
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), none, none)

    @classmethod
    def build(
        cls, index: pd.DatetimeIndex, symbols: list[str], close: np.ndarray, actions: ActionMap
    ) -> ActionArrays:
        rows: list[tuple[int, int, int, float, float]] = []
        for j, symbol in enumerate(symbols):
            own = actions.get(symbol) or ()
            if not own:
                continue
            has_bar = np.flatnonzero(~np.isnan(close[:, j]))  # the symbol's own bars
            for r, action in event_rows(index[has_bar], own):
                split = action.kind == "split"
                rows.append(
                    (
                        int(has_bar[r]),
                        j,
                        0 if split else 1,
                        action.ratio if split else 1.0,
                        0.0 if split else action.amount,
                    )
                )
        if not rows:
            return cls.empty()
        rows.sort(key=lambda row: (row[0], row[1], row[2]))
        return cls(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[3] for r in rows], dtype=np.float64),
            np.array([r[4] for r in rows], dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.bar)

    def rows(self, n: int) -> np.ndarray:
        """(n,) bool: rows where some action takes effect."""
        mask = np.zeros(n, dtype=bool)
        mask[self.bar] = True
        return mask

    def kernel_args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.bar, self.sym, self.ratio, self.cash

    def at(self, i: int) -> list[tuple[int, float, float]]:
        """(symbol column, ratio, cash per share) of the actions at row i, in order."""
        lo, hi = np.searchsorted(self.bar, [i, i + 1])
        return [
            (int(self.sym[e]), float(self.ratio[e]), float(self.cash[e])) for e in range(lo, hi)
        ]
