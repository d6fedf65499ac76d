"""KRX minute bars and order-book quotes from the Kiwoom REST API (`https://api.kiwoom.com`, mock
`https://mockapi.kiwoom.com`). Every call is a POST naming its TR in the `api-id` header:

- `au10001` `POST /oauth2/token` {grant_type, appkey, secretkey} -> token, expires_dt (KST);
- `ka10080` `POST /api/dostk/chart` {stk_cd, tic_scope (1, 3, 5, 10, 15, 30, 45, 60 minutes),
  upd_stkpc_tp} -> `stk_min_pole_chart_qry` rows, newest first: cntr_tm (YYYYMMDDHHMMSS, the
  bar's start), open_pric, high_pric, low_pric, cur_prc (close), trde_qty; prices carry a sign
  (up/down on the day) that is not part of the price. Older rows: the answer's `cont-yn: Y`
  and `next-key` headers, sent back as request headers;
- `ka10004` `POST /api/dostk/mrkcond` {stk_cd} -> the 10-level book (sel_fpr_bid /
  buy_fpr_bid for the best prices, sel_2th_pre_bid .. sel_10th_pre_bid, *_req quantities,
  tot_sel_req, tot_buy_req, bid_req_base_tm).
Answers carry return_code (0 = success) and return_msg; HTTP 429 / code 1700 is the rate limit,
8005 an invalid token (renewed once).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pandas as pd

from qts.core.errors import ConfigurationError, RateLimitedError, ValidationError
from qts.market.broker_quotations import BrokerQuotations
from qts.market.broker_quotations import json_object as _json
from qts.market.feeds import Quote
from qts.market.frames import BAR_COLUMNS, empty_bars, timeframe_ms
from qts.market.network import unreachable

KST = ZoneInfo("Asia/Seoul")
REAL_URL = "https://api.kiwoom.com"
MOCK_URL = "https://mockapi.kiwoom.com"
TIC_SCOPES = (1, 3, 5, 10, 15, 30, 45, 60)
ROW_FIELDS = ("open_pric", "high_pric", "low_pric", "cur_prc", "trde_qty")
ORDINALS = ("fpr", "2th_pre", "3th_pre", "4th_pre", "5th_pre", "6th_pre", "7th_pre", "8th_pre",
            "9th_pre", "10th_pre")  # fmt: skip


class KiwoomQuotations(BrokerQuotations):
    """`KiwoomQuotations(app_key, secret_key).fetch("005930", "1m", since_ms)`, `.quote(...)`."""

    real_url, mock_url = REAL_URL, MOCK_URL
    real_rate = 4.0
    keys_missing = "Kiwoom market data needs an app key and a secret key"

    def __init__(self, app_key: str, secret_key: str, **options: Any) -> None:
        super().__init__(app_key, secret_key, **options)

    def _send(self, path: str, api: str, body: dict[str, str], headers: dict[str, str]) -> Any:
        self._pace()
        self.requests += 1
        base = {"content-type": "application/json;charset=UTF-8", "api-id": api}
        try:
            return self._http.post(path, json=body, headers={**base, **headers})
        except httpx.TransportError as exc:
            raise unreachable("kiwoom", self.base_url + path, exc) from exc

    def _new_token(self) -> tuple[str, float]:
        body = {"grant_type": "client_credentials", "appkey": self._app_key}
        response = self._send(
            "/oauth2/token", "au10001", {**body, "secretkey": self._app_secret}, {}
        )
        data = _json(response)
        if data.get("return_code") != 0 or not data.get("token"):
            raise ConfigurationError(f"kiwoom: token refused: {data.get('return_msg', '')}")
        stamp = datetime.strptime(str(data["expires_dt"]), "%Y%m%d%H%M%S").replace(tzinfo=KST)
        return str(data["token"]), stamp.timestamp()

    def call(
        self, path: str, api: str, body: dict[str, str], next_key: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """(answer, next page key or None)."""
        renewed = False
        for _ in range(self.max_retries + 1):
            headers = {"authorization": f"Bearer {self.token()}"}
            if next_key:
                headers.update({"cont-yn": "Y", "next-key": next_key})
            response = self._send(path, api, body, headers)
            data = _json(response)
            message = str(data.get("return_msg", ""))
            if response.status_code == 429 or "1700" in message:
                self._sleep(1.0)
                continue
            if "8005" in message and not renewed:
                renewed = True
                self._forget_token()
                continue
            if response.status_code != 200 or data.get("return_code") != 0:
                raise ValidationError(f"kiwoom {api}: {message or response.reason_phrase}")
            more = response.headers.get("cont-yn") == "Y"
            return data, (response.headers.get("next-key") or None) if more else None
        raise RateLimitedError(f"kiwoom {api}: still rate limited after {self.max_retries} tries")

    # Minute bars -------------------------------------------------------------------------------
    def fetch_pages(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """Closed bars from `since_ms` (inclusive) to `until_ms` (exclusive), one frame per page
        the server sends (newest pages first from Kiwoom; each frame sorted)."""
        step = timeframe_ms(timeframe)
        minutes = step // 60_000
        if step % 60_000 or minutes not in TIC_SCOPES:
            raise ValidationError(f"Kiwoom minute charts: {TIC_SCOPES} minutes, not {timeframe}")
        now = pd.Timestamp(self.clock(), unit="s", tz="UTC")
        start = pd.Timestamp(since_ms, unit="ms", tz="UTC")
        stop = min(pd.Timestamp(until_ms, unit="ms", tz="UTC") if until_ms else now, now)
        body = {"stk_cd": symbol, "tic_scope": str(minutes), "upd_stkpc_tp": "1"}
        key: str | None = None
        for _ in range(200):
            data, key = self.call("/api/dostk/chart", "ka10080", body, key)
            frame = _rows_to_bars(data.get("stk_min_pole_chart_qry") or [])
            if frame.empty:
                return
            closed = frame.index + pd.Timedelta(milliseconds=step) <= now
            chosen = frame[closed & (frame.index >= start) & (frame.index < stop)]
            if len(chosen):
                yield chosen
            if key is None or frame.index[0] < start:
                return

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> pd.DataFrame:
        pages = list(self.fetch_pages(symbol, timeframe, since_ms, until_ms))
        return pd.concat(pages).sort_index() if pages else empty_bars()

    # Quotes ------------------------------------------------------------------------------------
    def quote(self, symbol: str) -> Quote:
        data, _ = self.call("/api/dostk/mrkcond", "ka10004", {"stk_cd": symbol})
        asks = tuple((_price(data, f"sel_{o}_bid"), _price(data, f"sel_{o}_req")) for o in ORDINALS)
        bids = tuple((_price(data, f"buy_{o}_bid"), _price(data, f"buy_{o}_req")) for o in ORDINALS)
        return Quote(
            symbol=symbol,
            time=str(data.get("bid_req_base_tm", "")),
            asks=asks,
            bids=bids,
            total_ask_quantity=_price(data, "tot_sel_req"),
            total_bid_quantity=_price(data, "tot_buy_req"),
        )


def _price(row: dict[str, Any], field: str) -> float:
    """Kiwoom numbers carry a +/- day-change sign and zero padding: '-00078800' is 78800."""
    text = str(row.get(field) or "0").strip().replace(",", "").lstrip("+-")
    try:
        return float(text or 0)
    except ValueError as exc:
        raise ValidationError(f"kiwoom: not a number in {field}: {row.get(field)!r}") from exc


def _rows_to_bars(rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return empty_bars()
    stamps = pd.to_datetime([str(r["cntr_tm"]) for r in rows], format="%Y%m%d%H%M%S")
    index = pd.DatetimeIndex(stamps).tz_localize(KST).tz_convert("UTC").as_unit("ns")
    values = [[_price(r, f) for f in ROW_FIELDS] for r in rows]
    frame = pd.DataFrame(values, columns=list(BAR_COLUMNS), index=index.rename("ts"))
    return frame[~frame.index.duplicated()].sort_index().astype("float64")
