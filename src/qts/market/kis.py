"""KRX minute bars and the WebSocket approval key from the KIS (Korea Investment & Securities)
Open API quotations endpoints.

- `POST /oauth2/tokenP` -> access token (about a day; KIS issues at most one a minute, so it is
  kept and reused until a minute before it expires);
- `POST /oauth2/Approval` {grant_type, appkey, secretkey} -> `approval_key` for the real-time
  WebSocket (`qts.market.kis_stream`);
- `GET /uapi/domestic-stock/v1/quotations/inquire-time-dailychartprice` (tr_id FHKST03010230,
  real accounts): up to 120 one-minute rows ending at FID_INPUT_DATE_1 / FID_INPUT_HOUR_1,
  newest first, about a year back;
- `GET .../quotations/inquire-time-itemchartprice` (FHKST03010200, also on mock accounts):
  today's rows only, 30 a call.

History is paged backwards, session by session of the XKRX calendar, within KIS's per-second
limit (about 20 requests/s on real accounts, 2 on mock ones; EGW00201 answers are waited out).
A row's `stck_cntg_hour` labels the minute that starts then (qts keys bars by their start); the
newest row of a running session is the still-forming minute and is dropped.
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
from qts.market.frames import BAR_COLUMNS, empty_bars, timeframe_ms
from qts.market.network import bad_status, unreachable

KST = ZoneInfo("Asia/Seoul")
REAL_URL = "https://openapi.koreainvestment.com:9443"
MOCK_URL = "https://openapivts.koreainvestment.com:29443"
DAILY_MINUTES_PATH = "/uapi/domestic-stock/v1/quotations/inquire-time-dailychartprice"
TODAY_MINUTES_PATH = "/uapi/domestic-stock/v1/quotations/inquire-time-itemchartprice"
DAILY_MINUTES_TR, TODAY_MINUTES_TR = "FHKST03010230", "FHKST03010200"
RATE_LIMITED, TOKEN_EXPIRED = "EGW00201", {"EGW00123", "EGW00121"}
SESSION_CLOSE_HHMMSS = "153000"
ROW_FIELDS = ("stck_oprc", "stck_hgpr", "stck_lwpr", "stck_prpr", "cntg_vol")


class KisQuotations(BrokerQuotations):
    """`KisQuotations(app_key, app_secret, mock=False).fetch("005930", "1m", since_ms)`."""

    real_url, mock_url = REAL_URL, MOCK_URL
    real_rate = 15.0
    keys_missing = "KIS market data needs an app key and an app secret"

    def __repr__(self) -> str:
        return f"KisQuotations(mock={self.mock}, url={self.base_url})"

    # Tokens -----------------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        self._pace()
        self.requests += 1
        try:
            response = self._http.post(path, json=body)
        except httpx.TransportError as exc:
            raise unreachable("kis", self.base_url + path, exc) from exc
        data = _json(response)
        if response.status_code >= 500 and not data.get("error_code"):
            raise bad_status("kis", self.base_url + path, response.status_code)
        if response.status_code != 200:
            code = data.get("error_code") or data.get("msg_cd") or response.status_code
            message = data.get("error_description") or data.get("msg1") or response.reason_phrase
            raise ConfigurationError(f"kis: {path} refused: {message} ({code})")
        return data

    def _new_token(self) -> tuple[str, float]:
        body = {"grant_type": "client_credentials", "appkey": self._app_key}
        data = self._post("/oauth2/tokenP", {**body, "appsecret": self._app_secret})
        if "access_token" not in data:
            raise ConfigurationError("kis: the token answer has no access_token")
        if "expires_in" in data:
            expires = self.clock() + float(data["expires_in"])
        else:
            stamp = datetime.strptime(data["access_token_token_expired"], "%Y-%m-%d %H:%M:%S")
            expires = stamp.replace(tzinfo=KST).timestamp()
        return str(data["access_token"]), expires

    def warm_up(self) -> None:
        """Take the token and load the XKRX calendar now, not when the first bar needs them."""
        from qts.market.calendars import sessions

        self.token()
        sessions("XKRX", datetime.fromtimestamp(self.clock(), KST).date(), datetime.now().date())

    def approval_key(self) -> str:
        """A WebSocket approval key (asked for on every (re)connection, as KIS's samples do)."""
        body = {"grant_type": "client_credentials", "appkey": self._app_key}
        data = self._post("/oauth2/Approval", {**body, "secretkey": self._app_secret})
        if not data.get("approval_key"):
            raise ConfigurationError("kis: the approval answer has no approval_key")
        return str(data["approval_key"])

    # GET with rate-limit and token-expiry handling -------------------------------------------
    def _get(self, path: str, tr_id: str, params: dict[str, str]) -> dict[str, Any]:
        refreshed = False
        for attempt in range(self.max_retries + 1):
            headers = {
                "content-type": "application/json; charset=utf-8",
                "authorization": f"Bearer {self.token()}",
                "appkey": self._app_key,
                "appsecret": self._app_secret,
                "tr_id": tr_id,
                "custtype": "P",
            }
            self._pace()
            self.requests += 1
            try:
                response = self._http.get(path, params=params, headers=headers)
            except httpx.TransportError as exc:
                if attempt == self.max_retries:
                    raise unreachable("kis", self.base_url + path, exc) from exc
                self._sleep(min(0.2 * 2**attempt, 5.0))
                continue
            data = _json(response)
            code = str(data.get("msg_cd") or "")
            if data.get("rt_cd") == "0" and response.status_code == 200:
                return data
            if code in TOKEN_EXPIRED and not refreshed:
                refreshed = True
                self._forget_token()
                continue
            if code == RATE_LIMITED or response.status_code == 429:
                self._sleep(1.0)  # KIS counts per second: the next second is free again
                continue
            if response.status_code >= 500 and not code:
                raise bad_status("kis", self.base_url + path, response.status_code)
            raise ValidationError(f"kis: {data.get('msg1', response.reason_phrase)} ({code})")
        raise RateLimitedError(f"kis: still rate limited after {self.max_retries} retries")

    # Minute bars ------------------------------------------------------------------------------
    def minute_rows(self, symbol: str, day: str, until_hhmmss: str) -> list[dict[str, Any]]:
        """One page: up to 120 (30 on the today-only endpoint) rows ending at `until_hhmmss`."""
        if self.mock:  # mock accounts only have today's chart
            params = {"FID_ETC_CLS_CODE": "", "FID_PW_DATA_INCU_YN": "N"}
            path, tr_id = TODAY_MINUTES_PATH, TODAY_MINUTES_TR
        else:
            params = {"FID_INPUT_DATE_1": day, "FID_PW_DATA_INCU_YN": "Y"}
            params["FID_FAKE_TICK_INCU_YN"] = ""
            path, tr_id = DAILY_MINUTES_PATH, DAILY_MINUTES_TR
        params.update(
            FID_COND_MRKT_DIV_CODE="J", FID_INPUT_ISCD=symbol, FID_INPUT_HOUR_1=until_hhmmss
        )
        rows = self._get(path, tr_id, params).get("output2") or []
        return [r for r in rows if r.get("stck_bsop_date") == day and r.get("stck_cntg_hour")]

    def day_bars(self, symbol: str, day: str, start_hhmmss: str, end_hhmmss: str) -> pd.DataFrame:
        """The closed one-minute bars of one KST day from start to end (inclusive), paged back."""
        rows: dict[str, dict[str, Any]] = {}
        cursor = end_hhmmss
        for _ in range(60):  # 390 minutes a session: 4 pages real, 14 mock
            page = self.minute_rows(symbol, day, cursor)
            fresh = [r for r in page if r["stck_cntg_hour"] not in rows]
            for row in fresh:
                rows[row["stck_cntg_hour"]] = row
            if not fresh:
                break
            earliest = min(r["stck_cntg_hour"] for r in fresh)
            if earliest <= start_hhmmss:
                break
            step_back = datetime.strptime(day + earliest, "%Y%m%d%H%M%S") - pd.Timedelta("1s")
            cursor = step_back.strftime("%H%M%S")
        return _rows_to_bars(rows.values(), day, start_hhmmss, end_hhmmss, self.clock())

    def fetch_pages(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """Closed bars from `since_ms` (inclusive) to `until_ms` (exclusive), one frame per KRX
        session, oldest first; `timeframe` 1m or a multiple of it (aggregated from 1m)."""
        step = timeframe_ms(timeframe)
        if step % 60_000 or step >= 86_400_000:
            raise ValidationError(f"KIS minute bars: use 1m, 5m, 15m, 30m or 60m, not {timeframe}")
        from qts.market.calendars import sessions

        end_ms = min(until_ms or int(self.clock() * 1000), int(self.clock() * 1000))
        start = pd.Timestamp(since_ms, unit="ms", tz="UTC")
        end = pd.Timestamp(end_ms - 1, unit="ms", tz="UTC")
        if end < start:
            return
        days = sessions("XKRX", start.tz_convert(KST).date(), end.tz_convert(KST).date())
        if self.mock:  # only today's chart exists on mock accounts
            today = datetime.fromtimestamp(self.clock(), KST).date()
            days = days[[d.date() == today for d in days]]
        for day in days:
            key = day.strftime("%Y%m%d")
            first = max(start, pd.Timestamp(f"{key} 09:00", tz=KST)).tz_convert(KST)
            last = min(end, pd.Timestamp(f"{key} 15:30", tz=KST)).tz_convert(KST)
            if last < first:
                continue
            bars = self.day_bars(symbol, key, first.strftime("%H%M00"), last.strftime("%H%M%S"))
            bars = bars[(bars.index >= start) & (bars.index <= end)]
            if step != 60_000:
                bars = resample_minutes(bars, timeframe, self.clock())
            if len(bars):
                yield bars

    def fetch(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> pd.DataFrame:
        pages = list(self.fetch_pages(symbol, timeframe, since_ms, until_ms))
        return pd.concat(pages) if pages else empty_bars()


def _rows_to_bars(
    rows: Any, day: str, start_hhmmss: str, end_hhmmss: str, now_s: float
) -> pd.DataFrame:
    kept = [r for r in rows if start_hhmmss <= r["stck_cntg_hour"] <= end_hhmmss]
    if not kept:
        return empty_bars()
    stamps = pd.to_datetime([day + r["stck_cntg_hour"] for r in kept], format="%Y%m%d%H%M%S")
    index = pd.DatetimeIndex(stamps).tz_localize(KST).tz_convert("UTC").as_unit("ns")
    values = [[_number(r.get(f)) for f in ROW_FIELDS] for r in kept]
    frame = pd.DataFrame(values, columns=list(BAR_COLUMNS), index=index.rename("ts"))
    frame = frame.sort_index()
    closed = frame.index + pd.Timedelta(minutes=1) <= pd.Timestamp(now_s, unit="s", tz="UTC")
    return frame[closed].astype("float64")


def resample_minutes(bars: pd.DataFrame, timeframe: str, now_s: float) -> pd.DataFrame:
    """N-minute bars from one-minute bars, keyed by their start; unfinished ones dropped."""
    if bars.empty:
        return bars
    rule = f"{timeframe_ms(timeframe) // 60_000}min"
    agg = bars.resample(rule, label="left", closed="left", origin="start_day").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    agg = agg.dropna(subset=["open"])
    ends = agg.index + pd.Timedelta(rule)
    return agg[ends <= pd.Timestamp(now_s, unit="s", tz="UTC")]


def _number(text: Any) -> float:
    cleaned = str(text or "0").strip().replace(",", "").lstrip("+")
    try:
        return abs(float(cleaned or 0))
    except ValueError as exc:
        raise ValidationError(f"kis: not a number in a chart row: {text!r}") from exc
