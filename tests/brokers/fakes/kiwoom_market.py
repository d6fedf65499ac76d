"""The Kiwoom quotation TRs beside the fake trading ones, in Kiwoom's published format:
`ka10080` (POST /api/dostk/chart: minute bars, newest first, `cont-yn` / `next-key` paging,
signed zero-padded prices) and `ka10004` (POST /api/dostk/mrkcond: the 10-level book).
`clock` is the market's time: only minutes that have started by then are served."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from tests.brokers.fakes.kiwoom import FakeKiwoom, _fail
from tests.brokers.fakes.server import Answer, Received

KST = ZoneInfo("Asia/Seoul")
ORDINALS = ("fpr", "2th_pre", "3th_pre", "4th_pre", "5th_pre", "6th_pre", "7th_pre", "8th_pre",
            "9th_pre", "10th_pre")  # fmt: skip


def signed(value: float, reference: float) -> str:
    """Kiwoom's day-change sign in front of the price."""
    sign = "+" if value > reference else "-" if value < reference else ""
    return f"{sign}{int(value)}"


class FakeKiwoomMarket(FakeKiwoom):
    def __init__(
        self,
        minute_bars: dict[str, pd.DataFrame],
        *,
        clock: Callable[[], float] = time.time,
        chart_page: int = 900,
        previous_close: float = 75_000.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.minute_bars = {s: f.sort_index() for s, f in minute_bars.items()}
        self.clock, self.chart_page, self.previous_close = clock, chart_page, previous_close

    def handle(self, request: Received) -> Answer:
        api = self.api_of(request)
        if (request.path, api) not in (
            ("/api/dostk/chart", "ka10080"),
            ("/api/dostk/mrkcond", "ka10004"),
        ):
            return super().handle(request)
        if not self.token_ok(request):
            return _fail(3, "[8005:Token이 유효하지 않습니다]")
        symbol = str(request.body.get("stk_cd", ""))
        if symbol not in self.minute_bars:
            return _fail(20, "[2000](615502:종목코드가 존재하지 않습니다)")
        answer = self._chart(request, symbol) if api == "ka10080" else self._book(symbol)
        status, headers, payload = answer
        return status, {"api-id": api, **headers}, payload

    def _started(self, symbol: str) -> pd.DataFrame:
        frame = self.minute_bars[symbol]
        return frame[frame.index <= pd.Timestamp(self.clock(), unit="s", tz="UTC")]

    def _chart(self, request: Received, symbol: str) -> Answer:
        scope = str(request.body.get("tic_scope", ""))
        if scope != "1":  # fail loudly rather than serve bars of the wrong length
            return _fail(2, f"[1517:this fake serves tic_scope 1, not {scope}]")
        rows = self._started(symbol).iloc[::-1]
        offset = (
            int(request.headers.get("next-key") or 0)
            if request.headers.get("cont-yn") == "Y"
            else 0
        )
        page = rows.iloc[offset : offset + self.chart_page]
        more = offset + self.chart_page < len(rows)
        ref = self.previous_close
        out = [
            {
                "cur_prc": signed(bar["close"], ref),
                "trde_qty": str(int(bar["volume"])),
                "cntr_tm": ts.tz_convert(KST).strftime("%Y%m%d%H%M%S"),
                "open_pric": signed(bar["open"], ref),
                "high_pric": signed(bar["high"], ref),
                "low_pric": signed(bar["low"], ref),
                "upd_stkpc_tp": "",
                "upd_rt": "",
                "bic_inds_tp": "",
                "sm_inds_tp": "",
                "stk_infr": "",
                "upd_stkpc_event": "",
                "pred_close_pric": "",
            }
            for ts, bar in page.iterrows()
        ]
        headers = {
            "cont-yn": "Y" if more else "N",
            "next-key": str(offset + len(page)) if more else "",
        }
        body = {"stk_cd": symbol, "stk_min_pole_chart_qry": out, "return_code": 0}
        return 200, headers, {**body, "return_msg": "정상적으로 처리되었습니다"}

    def _book(self, symbol: str) -> Answer:
        started = self._started(symbol)
        last = float(started["close"].iloc[-1]) if len(started) else self.previous_close
        body: dict[str, Any] = {"bid_req_base_tm": time.strftime("%H%M%S")}
        for i, ordinal in enumerate(ORDINALS):
            body[f"sel_{ordinal}_bid"] = signed(last + 100 * (i + 1), self.previous_close)
            body[f"sel_{ordinal}_req"] = f"{1000 + i:08d}"
            body[f"buy_{ordinal}_bid"] = signed(last - 100 * i, self.previous_close)
            body[f"buy_{ordinal}_req"] = f"{900 + i:08d}"
        body.update(tot_sel_req="10045", tot_buy_req="9045", return_code=0)
        return (
            200,
            {"cont-yn": "N", "next-key": ""},
            {**body, "return_msg": "정상적으로 처리되었습니다"},
        )
