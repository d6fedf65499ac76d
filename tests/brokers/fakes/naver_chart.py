"""Naver's chart service as pykrx and FinanceDataReader read it for KRX stocks:
`GET /sise.nhn?symbol=005930&timeframe=day&count=N&requestType=0` -> EUC-KR XML, the latest
`count` trading days as `<item data="YYYYMMDD|open|high|low|close|volume" />`, oldest first.
An unknown symbol gets the empty chart Naver sends."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tests.brokers.fakes.server import Answer, FakeBrokerServer, Received

NAMES = {"005930": "삼성전자", "000660": "SK하이닉스"}


class FakeNaverChart(FakeBrokerServer):
    def __init__(self, daily: dict[str, pd.DataFrame], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.daily = daily

    def rate_limited(self, request: Received) -> Answer:
        return 429, {"Content-Type": "text/plain"}, b"Too Many Requests"

    def handle(self, request: Received) -> Answer:
        if request.path != "/sise.nhn":
            return 404, {"Content-Type": "text/html"}, b"<html>404</html>"
        q = request.query
        symbol, count = q.get("symbol", ""), int(q.get("count", "0") or 0)
        frame = self.daily.get(symbol)
        rows = frame.tail(count) if frame is not None and count > 0 else None
        items = ""
        if rows is not None:
            items = "".join(
                f'<item data="{ts.strftime("%Y%m%d")}|{int(b.open)}|{int(b.high)}|{int(b.low)}|'
                f'{int(b.close)}|{int(b.volume)}" />\n'
                for ts, b in rows.iterrows()
            )
        name = NAMES.get(symbol, "")
        origin = frame.index[0].strftime("%Y%m%d") if frame is not None and len(frame) else ""
        xml = (
            '<?xml version="1.0" encoding="EUC-KR" ?>\n<protocol>\n'
            f'<chartdata symbol="{symbol}" name="{name}" count="{count}" '
            f'timeframe="{q.get("timeframe", "day")}" precision="0" origintime="{origin}">\n'
            f"{items}</chartdata>\n</protocol>\n"
        )
        return 200, {"Content-Type": "text/xml;charset=EUC-KR"}, xml.encode("euc-kr")
