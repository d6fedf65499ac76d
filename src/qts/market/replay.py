"""Replay stored bars as if they arrived live: in real time, N times faster, or at full speed.

Each bar is released when it would have closed (open time + timeframe) on a clock that started
at the first bar's close; the schedule is absolute, so sleeps do not accumulate drift. Bars of
several symbols that close at the same time come out together, in the order the symbols were
given.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import AsyncIterator, Callable, Mapping

import pandas as pd

from qts.core.types import Bar
from qts.market.feeds import make_bar
from qts.market.frames import BAR_COLUMNS, timeframe_ms


class ReplayFeed:
    """`async for bar in ReplayFeed({"BTC/USDT": df}, "1h", speed=60)`; speed None = max."""

    def __init__(
        self,
        bars: Mapping[str, pd.DataFrame],
        timeframe: str,
        *,
        speed: float | None = None,
        exchange: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive (None plays as fast as possible)")
        timeframe_ms(timeframe)  # reject unknown timeframes early
        self.bars = dict(bars)
        self.timeframe = timeframe
        self.speed = speed
        self.exchange = exchange
        self._clock = clock
        self._closed = False
        self.emitted = 0

    def _ordered(self) -> list[tuple[int, int, int]]:
        """(open time ns, symbol order, row) for every bar, merged in time order."""
        streams = [
            [
                (int(t), order, row)
                for row, t in enumerate(pd.DatetimeIndex(df.index).as_unit("ns").asi8)
            ]
            for order, df in enumerate(self.bars.values())
        ]
        return list(heapq.merge(*streams))

    async def __aiter__(self) -> AsyncIterator[Bar]:
        names = list(self.bars)
        arrays = {n: self.bars[n].loc[:, list(BAR_COLUMNS)].to_numpy("float64") for n in names}
        # Python datetimes once, not a pandas Timestamp boxed per bar.
        indexes = {n: pd.DatetimeIndex(self.bars[n].index).to_pydatetime() for n in names}
        started = self._clock()
        first_ns: int | None = None
        for ts_ns, order, row in self._ordered():
            if self._closed:
                return
            first_ns = ts_ns if first_ns is None else first_ns
            if self.speed is not None:
                due = started + (ts_ns - first_ns) / 1e9 / self.speed
                delay = due - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)  # stay cooperative at full speed
            name = names[order]
            ts = indexes[name][row]
            self.emitted += 1
            yield make_bar(name, self.timeframe, ts, tuple(arrays[name][row]), self.exchange)

    async def aclose(self) -> None:
        self._closed = True
