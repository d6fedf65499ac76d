"""The KIS quotations endpoints beside the fake trading ones, in KIS's published format:
`/oauth2/Approval` (WebSocket approval keys), the minute charts `inquire-time-itemchartprice`
(FHKST03010200: today, 30 rows) and `inquire-time-dailychartprice` (FHKST03010230: any day,
120 rows), rows newest first ending at FID_INPUT_HOUR_1, the running minute included.

`clock` is the market's time (a `SimClock` shared with the fake WebSocket): only minutes that
have started by then are served, and "today" is its KST date.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from tests.brokers.fakes.kis import FakeKis, _fail
from tests.brokers.fakes.server import Answer, Received

KST = ZoneInfo("Asia/Seoul")
TODAY_PATH = "/uapi/domestic-stock/v1/quotations/inquire-time-itemchartprice"
DAILY_PATH = "/uapi/domestic-stock/v1/quotations/inquire-time-dailychartprice"


class SimClock:
    """Market time that a test moves (the fake WebSocket advances it as it plays trades)."""

    def __init__(self, start: float) -> None:
        self.value = float(start)

    def __call__(self) -> float:
        return self.value


class FakeKisMarket(FakeKis):
    def __init__(
        self,
        minute_bars: dict[str, pd.DataFrame],
        *,
        clock: Callable[[], float] = time.time,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.minute_bars = {s: f.sort_index() for s, f in minute_bars.items()}
        self.clock = clock
        self.approval_keys: set[str] = set()

    def handle(self, request: Received) -> Answer:
        if request.path == "/oauth2/Approval":
            return self._approval(request)
        if request.path in (TODAY_PATH, DAILY_PATH):
            if request.headers.get("appkey") != self.app_key:
                return _fail("EGW00103", "유효하지 않은 AppKey입니다.", 500)
            if not self.token_ok(request):
                return _fail("EGW00123", "기간이 만료된 token 입니다.", 500)
            return self._chart(request)
        return super().handle(request)

    def _approval(self, request: Received) -> Answer:
        body = request.body
        if body.get("appkey") != self.app_key or body.get("secretkey") != self.app_secret:
            return (
                403,
                {},
                {"error_description": "유효하지 않은 AppKey입니다.", "error_code": "EGW00103"},
            )
        key = secrets.token_hex(16) + "-" + secrets.token_hex(8)
        with self._lock:
            self.approval_keys.add(key)
        return 200, {}, {"approval_key": key}

    def _chart(self, request: Received) -> Answer:
        q = request.query
        daily = request.path == DAILY_PATH
        tr_id = request.headers.get("tr_id")
        if tr_id != ("FHKST03010230" if daily else "FHKST03010200"):
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        if daily and self.mock:
            return _fail("OPSQ0002", "모의투자에서는 해당업무가 제공되지 않습니다.", 500)
        symbol = q.get("FID_INPUT_ISCD", "")
        if (
            q.get("FID_COND_MRKT_DIV_CODE") not in ("J", "NX", "UN")
            or symbol not in self.minute_bars
        ):
            return _fail("APBK0656", "해당종목정보가 없습니다.")
        now = pd.Timestamp(self.clock(), unit="s", tz="UTC").tz_convert(KST)
        day = q.get("FID_INPUT_DATE_1", "") if daily else now.strftime("%Y%m%d")
        hour = q.get("FID_INPUT_HOUR_1", "")
        if len(hour) != 6 or not hour.isdigit() or (daily and len(day) != 8):
            return _fail("OPCODE-1", "입력값을 확인하여 주십시오.")
        frame = self.minute_bars[symbol]
        local = frame.index.tz_convert(KST)
        until = min(pd.Timestamp(f"{day} {hour[:2]}:{hour[2:4]}:{hour[4:]}", tz=KST), now)
        mask = (local.strftime("%Y%m%d") == day) & (local <= until)
        rows = frame[mask].iloc[::-1].head(120 if daily else 30)
        output2 = [_row(ts.tz_convert(KST), bar) for ts, bar in rows.iterrows()]
        last = frame[local <= now]
        price = str(int(last["close"].iloc[-1])) if len(last) else "0"
        output1 = {"hts_kor_isnm": "삼성전자", "stck_prpr": price, "acml_vol": "0"}
        body = {"output1": output1, "output2": output2, "rt_cd": "0", "msg_cd": "MCA00000"}
        return 200, {"tr_cont": ""}, {**body, "msg1": "정상처리 되었습니다."}


def _row(ts: pd.Timestamp, bar: pd.Series) -> dict[str, str]:
    return {
        "stck_bsop_date": ts.strftime("%Y%m%d"),
        "stck_cntg_hour": ts.strftime("%H%M%S"),
        "stck_prpr": str(int(bar["close"])),
        "stck_oprc": str(int(bar["open"])),
        "stck_hgpr": str(int(bar["high"])),
        "stck_lwpr": str(int(bar["low"])),
        "cntg_vol": str(int(bar["volume"])),
        "acml_tr_pbmn": str(int(bar["volume"] * bar["close"])),
    }
