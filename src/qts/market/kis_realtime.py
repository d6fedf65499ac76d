"""KIS real-time message formats and the trade-to-bar aggregation of `qts.market.kis_stream`.

A data message is text `flag|tr_id|count|f1^f2^...`: flag 0 plain, 1 AES-encrypted (only the
order-notice channel, which qts does not use); `count` records of the channel's fixed number of
`^`-separated fields follow one another. Channels:
- H0STCNT0 (체결, 46 fields): MKSC_SHRN_ISCD, STCK_CNTG_HOUR (HHMMSS, KST), STCK_PRPR (price),
  ..., CNTG_VOL (12: this trade's volume), ..., BSOP_DATE (33: YYYYMMDD);
- H0STASP0 (호가, 59 fields): MKSC_SHRN_ISCD, BSOP_HOUR, HOUR_CLS_CODE, ASKP1..10, BIDP1..10,
  ASKP_RSQN1..10, BIDP_RSQN1..10, TOTAL_ASKP_RSQN, TOTAL_BIDP_RSQN, ...
Control messages are JSON: subscription answers (body.rt_cd / msg1) and `PINGPONG` heartbeats,
which the client sends back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from qts.core.types import Bar
from qts.market.feeds import Quote, make_bar

KST = ZoneInfo("Asia/Seoul")
TRADE_TR, QUOTE_TR = "H0STCNT0", "H0STASP0"
FIELD_COUNTS = {TRADE_TR: 46, QUOTE_TR: 59}
T_SYMBOL, T_TIME, T_PRICE, T_VOLUME, T_DATE = 0, 1, 2, 12, 33


@dataclass(frozen=True)
class Trade:
    symbol: str
    ts: datetime  # UTC
    price: float
    volume: float


def split_records(text: str) -> tuple[str, list[list[str]]] | None:
    """(tr_id, records) of a plain data message; None for JSON or encrypted messages."""
    parts = text.split("|", 3)
    if len(parts) != 4 or parts[0] != "0":
        return None
    tr_id, count, payload = parts[1], int(parts[2]), parts[3]
    width = FIELD_COUNTS.get(tr_id)
    if width is None:
        return tr_id, []
    fields = payload.split("^")
    return tr_id, [fields[i * width : (i + 1) * width] for i in range(count)]


def parse_trade(fields: list[str]) -> Trade:
    stamp = datetime.strptime(fields[T_DATE] + fields[T_TIME], "%Y%m%d%H%M%S")
    return Trade(
        symbol=fields[T_SYMBOL],
        ts=stamp.replace(tzinfo=KST).astimezone(UTC),
        price=float(fields[T_PRICE]),
        volume=float(fields[T_VOLUME]),
    )


def parse_quote(fields: list[str]) -> Quote:
    level = [float(x or 0) for x in fields[3:43]]
    asks, bids = level[0:10], level[10:20]
    ask_qty, bid_qty = level[20:30], level[30:40]
    return Quote(
        symbol=fields[0],
        time=fields[1],
        asks=tuple(zip(asks, ask_qty, strict=True)),
        bids=tuple(zip(bids, bid_qty, strict=True)),
        total_ask_quantity=float(fields[43] or 0),
        total_bid_quantity=float(fields[44] or 0),
    )


def subscribe_message(approval_key: str, tr_id: str, symbol: str, on: bool = True) -> str:
    import json

    header = {"approval_key": approval_key, "custtype": "P", "tr_type": "1" if on else "2"}
    body = {"input": {"tr_id": tr_id, "tr_key": symbol}}
    return json.dumps({"header": {**header, "content-type": "utf-8"}, "body": body})


@dataclass
class _Open:
    start_ms: int
    o: float
    h: float
    low: float
    c: float
    v: float


class BarBuilder:
    """Trades -> bars of `step_ms`, keyed by start. A bar closes when a later trade arrives or
    the clock passes its end; after a disconnect the interrupted bars are marked partial (their
    trades were missed) and returned through `partial` instead of as bars."""

    def __init__(self, timeframe: str, step_ms: int, exchange: str = "XKRX") -> None:
        self.timeframe, self.step_ms, self.exchange = timeframe, step_ms, exchange
        self._open: dict[str, _Open] = {}
        self._resumed: set[str] = set()  # symbols whose next bar began before (re)connecting
        self._partial: set[tuple[str, int]] = set()

    def add(self, trade: Trade) -> list[tuple[Bar, bool]]:
        """(bar, complete) pairs closed by this trade; bars are only ever returned once."""
        ms = int(trade.ts.timestamp() * 1000)
        start = ms - ms % self.step_ms
        out: list[tuple[Bar, bool]] = []
        current = self._open.get(trade.symbol)
        if current is not None and start < current.start_ms:
            return out  # a late trade of a closed bar
        if current is not None and start > current.start_ms:
            out.append(self._close(trade.symbol))
            current = None
        if current is None:
            if trade.symbol in self._resumed:
                self._resumed.discard(trade.symbol)
                self._partial.add((trade.symbol, start))
            p = trade.price
            self._open[trade.symbol] = _Open(start, p, p, p, p, trade.volume)
        else:
            current.h, current.low = max(current.h, trade.price), min(current.low, trade.price)
            current.c = trade.price
            current.v += trade.volume
        return out

    def due(self, now_ms: int) -> list[tuple[Bar, bool]]:
        """Bars whose end the clock has passed (no later trade needed)."""
        ended = [s for s, b in self._open.items() if b.start_ms + self.step_ms <= now_ms]
        return [self._close(s) for s in ended]

    def connected(self, symbols: list[str]) -> None:
        """A (re)connection: open bars miss trades and are dropped (the gap is filled from
        REST), and the bar running when trades start again is partial."""
        self._open.clear()
        self._resumed.update(symbols)

    def _close(self, symbol: str) -> tuple[Bar, bool]:
        b = self._open.pop(symbol)
        ts = datetime.fromtimestamp(b.start_ms / 1000, UTC)
        bar = make_bar(symbol, self.timeframe, ts, (b.o, b.h, b.low, b.c, b.v), self.exchange)
        complete = (symbol, b.start_ms) not in self._partial
        self._partial.discard((symbol, b.start_ms))
        return bar, complete


def control_message(text: str) -> dict[str, Any] | None:
    """The JSON of a control message (subscription answer, PINGPONG), or None."""
    import json

    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
