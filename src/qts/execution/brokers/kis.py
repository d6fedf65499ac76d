"""Korea Investment & Securities (KIS) Open API: domestic stocks, real or mock-investment.

Endpoints (KIS developer portal, `koreainvestment/open-trading-api` samples):
- `POST /oauth2/tokenP` {grant_type, appkey, appsecret} -> access_token, expires_in,
  access_token_token_expired ("YYYY-MM-DD HH:MM:SS", KST); reused until a minute before expiry.
- `POST /uapi/domestic-stock/v1/trading/order-cash` (tr_id buy TTTC0012U / sell TTTC0011U,
  mock VTTC0012U / VTTC0011U; the older TTTC0802U / TTTC0801U with `legacy_tr_ids=True`)
  -> output {KRX_FWDG_ORD_ORGNO, ODNO, ORD_TMD}.
- `POST .../trading/order-rvsecncl` (TTTC0013U / VTTC0013U, legacy TTTC0803U) RVSE_CNCL_DVSN_CD
  "02" = cancel, QTY_ALL_ORD_YN "Y" = the whole remainder.
- `GET .../trading/inquire-daily-ccld` (TTTC0081R / VTTC0081R, legacy TTTC8001R) today's orders
  and fills, paged by the `tr_cont` header and CTX_AREA_FK100 / CTX_AREA_NK100.
- `GET .../trading/inquire-balance` (TTTC8434R / VTTC8434R) holdings (output1) and cash
  (output2).
Every answer carries rt_cd ("0" = success, even on HTTP 200 the body decides), msg_cd, msg1.
EGW00201 is the per-second rate limit, EGW00123 an expired token (refreshed and retried).
KIS has no client order id field: idempotency goes through the `OrderIdStore` journal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from qts.core.errors import ConfigurationError
from qts.core.types import Order, OrderStatus, OrderType, Side, TimeInForce
from qts.execution.brokers.base import Balance, BrokerOrder, BrokerPosition, status_from_fill
from qts.execution.brokers.errors import (
    AuthExpiredError,
    BrokerAuthError,
    BrokerError,
    BrokerRateLimitedError,
    BrokerUnavailableError,
    InsufficientFundsError,
    InvalidSymbolError,
    OrderRejectedError,
)
from qts.execution.brokers.idempotency import OrderIntent
from qts.execution.brokers.rest import AccessToken, Placed, TokenRestBroker, parse_number

KST = ZoneInfo("Asia/Seoul")
REAL_URL = "https://openapi.koreainvestment.com:9443"
MOCK_URL = "https://openapivts.koreainvestment.com:29443"
ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
CANCEL_PATH = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
DAILY_PATH = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"
BALANCE_PATH = "/uapi/domestic-stock/v1/trading/inquire-balance"
TOKEN_PATH = "/oauth2/tokenP"

TR_IDS = {
    "buy": "TTTC0012U",
    "sell": "TTTC0011U",
    "cancel": "TTTC0013U",
    "daily": "TTTC0081R",
    "balance": "TTTC8434R",
}
LEGACY_TR_IDS = {
    "buy": "TTTC0802U",
    "sell": "TTTC0801U",
    "cancel": "TTTC0803U",
    "daily": "TTTC8001R",
    "balance": "TTTC8434R",
}

RATE_LIMIT_CODES = {"EGW00201"}
TOKEN_EXPIRED_CODES = {"EGW00123", "EGW00121"}
BAD_CREDENTIAL_CODES = {"EGW00102", "EGW00103", "EGW00105", "EGW00205"}
INSUFFICIENT_CODES = {"APBK0952", "APBK0919", "APBK0400"}
# ORD_DVSN: 00 limit, 01 market, 11 IOC limit, 12 FOK limit, 13 IOC market, 14 FOK market
ORDER_DIVISIONS = {
    (OrderType.LIMIT, TimeInForce.IOC): "11",
    (OrderType.LIMIT, TimeInForce.FOK): "12",
    (OrderType.MARKET, TimeInForce.IOC): "13",
    (OrderType.MARKET, TimeInForce.FOK): "14",
}


class KisBroker(TokenRestBroker):
    name = "kis"

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        account_no: str,
        *,
        mock: bool = True,
        base_url: str | None = None,
        legacy_tr_ids: bool = False,
        exchange: str = "KRX",
        rate_per_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        if not app_key or not app_secret:
            raise ConfigurationError("KIS needs an app key and an app secret")
        digits = account_no.replace("-", "")
        if len(digits) != 10 or not digits.isdigit():
            raise ConfigurationError("KIS account number must be 8+2 digits, e.g. 12345678-01")
        # KIS allows about 20 requests/s on real accounts and far fewer on mock accounts
        rate = rate_per_s if rate_per_s is not None else (2.0 if mock else 15.0)
        super().__init__(base_url or (MOCK_URL if mock else REAL_URL), rate_per_s=rate, **kwargs)
        self._app_key = app_key
        self._app_secret = app_secret
        self.cano, self.product_code = digits[:8], digits[8:]
        self.mock = mock
        self.exchange = exchange
        table = LEGACY_TR_IDS if legacy_tr_ids else TR_IDS
        self.tr_ids = {k: ("V" + v[1:] if mock else v) for k, v in table.items()}

    def __repr__(self) -> str:
        return f"KisBroker(account=****{self.cano[-2:]}, mock={self.mock}, url={self.base_url})"

    # Protocol -----------------------------------------------------------------------------------
    def _issue_token(self) -> AccessToken:
        body = {
            "grant_type": "client_credentials",
            "appkey": self._app_key,
            "appsecret": self._app_secret,
        }
        self.bucket.acquire()
        try:
            response = self._http.post(TOKEN_PATH, json=body)
        except httpx.TransportError as exc:
            raise BrokerUnavailableError(
                f"kis: token request failed ({type(exc).__name__})", broker=self.name
            ) from exc
        data = response.json() if response.content else {}
        if response.status_code != 200 or "access_token" not in data:
            code = data.get("error_code") or data.get("msg_cd")
            message = data.get("error_description") or data.get("msg1") or response.reason_phrase
            raise BrokerAuthError(
                f"kis: token refused: {message}", broker=self.name, broker_code=code
            )
        if "expires_in" in data:
            expires_at = self.clock() + float(data["expires_in"])
        else:
            stamp = datetime.strptime(data["access_token_token_expired"], "%Y-%m-%d %H:%M:%S")
            expires_at = stamp.replace(tzinfo=KST).timestamp()
        return AccessToken(str(data["access_token"]), expires_at)

    def _headers(self, token: str, api: str, page_key: str | None) -> dict[str, str]:
        return {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {token}",
            "appkey": self._app_key,
            "appsecret": self._app_secret,
            "tr_id": api,
            "tr_cont": page_key or "",
            "custtype": "P",
        }

    def _classify(self, response: httpx.Response, body: dict[str, Any]) -> BrokerError | None:
        rt_cd = body.get("rt_cd")
        if rt_cd == "0" and response.status_code < 400:
            return None
        code = str(body.get("msg_cd") or body.get("error_code") or "")
        message = str(body.get("msg1") or body.get("error_description") or response.reason_phrase)
        text = f"kis: {message.strip()} ({code})" if code else f"kis: {message.strip()}"
        kw: dict[str, Any] = {"broker": self.name, "broker_code": code or None}
        if code in RATE_LIMIT_CODES or response.status_code == 429:
            return BrokerRateLimitedError(text, retry_after_s=1.0, **kw)
        if code in TOKEN_EXPIRED_CODES:
            return AuthExpiredError(text, **kw)
        if code in BAD_CREDENTIAL_CODES or response.status_code in (401, 403):
            return BrokerAuthError(text, **kw)
        if rt_cd is None and response.status_code >= 500:
            return BrokerUnavailableError(text, **kw)
        if code in INSUFFICIENT_CODES or "주문가능" in message or "잔고" in message:
            return InsufficientFundsError(text, **kw)
        if "종목" in message or "상품번호" in message:
            return InvalidSymbolError(text, **kw)
        return OrderRejectedError(text, **kw)

    def _place(self, order: Order) -> Placed:
        division = ORDER_DIVISIONS.get(
            (order.type, order.time_in_force), "00" if order.type is OrderType.LIMIT else "01"
        )
        price = int(order.limit_price) if order.type is OrderType.LIMIT and order.limit_price else 0
        body = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "PDNO": order.symbol,
            "ORD_DVSN": division,
            "ORD_QTY": str(int(order.quantity)),
            "ORD_UNPR": str(price),
            "EXCG_ID_DVSN_CD": self.exchange,
        }
        tr_id = self.tr_ids["buy" if order.side is Side.BUY else "sell"]
        data, _ = self._call("POST", ORDER_PATH, tr_id, json=body, mutating=True)
        output = data.get("output") or {}
        return Placed(str(output["ODNO"]), {"orgno": str(output.get("KRX_FWDG_ORD_ORGNO", ""))})

    def _cancel(self, intent: OrderIntent) -> None:
        orgno = intent.extra.get("orgno", "")
        body = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "KRX_FWDG_ORD_ORGNO": orgno,
            "ORGN_ODNO": intent.broker_order_id,
            "ORD_DVSN": "00",
            "RVSE_CNCL_DVSN_CD": "02",
            "ORD_QTY": "0",
            "ORD_UNPR": "0",
            "QTY_ALL_ORD_YN": "Y",
            "EXCG_ID_DVSN_CD": self.exchange,
        }
        self._call("POST", CANCEL_PATH, self.tr_ids["cancel"], json=body, mutating=True)

    def _todays_orders(self) -> list[BrokerOrder]:
        today = datetime.fromtimestamp(self.clock(), KST).strftime("%Y%m%d")
        params = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "INQR_STRT_DT": today,
            "INQR_END_DT": today,
            "SLL_BUY_DVSN_CD": "00",
            "INQR_DVSN": "01",
            "PDNO": "",
            "CCLD_DVSN": "00",
            "ORD_GNO_BRNO": "",
            "ODNO": "",
            "INQR_DVSN_3": "00",
            "INQR_DVSN_1": "",
            "EXCG_ID_DVSN_CD": "KRX",
        }
        # 100 rows a page on real accounts, 15 on mock ones
        pages = self._pages(DAILY_PATH, self.tr_ids["daily"], params)
        rows = [row for data in pages for row in data.get("output1") or []]
        return _orders_from_rows(rows)

    def _pages(
        self, path: str, tr_id: str, params: dict[str, Any], width: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Each page of a KIS inquiry: `tr_cont` M/F means more, fetched with the
        CTX_AREA_FK/NK keys of the page before (100 wide at home, 200 overseas); 50 at most."""
        fk, nk = f"CTX_AREA_FK{width}", f"CTX_AREA_NK{width}"
        cursor = {fk: "", nk: ""}
        page_key: str | None = None
        for _ in range(50):
            data, headers = self._call(
                "GET", path, tr_id, params={**params, **cursor}, page_key=page_key
            )
            yield data
            if headers.get("tr_cont") not in ("M", "F"):
                return
            cursor = {fk: data.get(fk.lower(), ""), nk: data.get(nk.lower(), "")}
            page_key = "N"

    def balances(self) -> list[Balance]:
        _, cash = self._balance()
        return [Balance("KRW", free=cash)]

    def positions(self) -> list[BrokerPosition]:
        holdings, _ = self._balance()
        return holdings

    def _balance(self) -> tuple[list[BrokerPosition], float]:
        positions: list[BrokerPosition] = []
        cash = 0.0
        params = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "AFHR_FLPR_YN": "N",
            "OFL_YN": "",
            "INQR_DVSN": "02",
            "UNPR_DVSN": "01",
            "FUND_STTL_ICLD_YN": "N",
            "FNCG_AMT_AUTO_RDPT_YN": "N",
            "PRCS_DVSN": "00",
        }
        for data in self._pages(BALANCE_PATH, self.tr_ids["balance"], params):
            for row in data.get("output1") or []:
                quantity = parse_number(row.get("hldg_qty"))
                if quantity > 0:
                    positions.append(
                        BrokerPosition(
                            symbol=str(row.get("pdno", "")),
                            quantity=quantity,
                            average_price=parse_number(row.get("pchs_avg_pric")) or None,
                            market_price=parse_number(row.get("prpr")) or None,
                        )
                    )
            summary = data.get("output2") or [{}]
            summary = summary[0] if isinstance(summary, list) and summary else summary
            # D+2 projected deposit: the cash after today's trades settle
            cash = parse_number(summary.get("prvs_rcdl_excc_amt", summary.get("dnca_tot_amt")))
        return positions, cash


def _orders_from_rows(rows: list[dict[str, Any]]) -> list[BrokerOrder]:
    """inquire-daily-ccld rows -> orders; cancel rows (ORGN_ODNO set) mark their original."""
    cancelled_originals = {
        str(r.get("orgn_odno"))
        for r in rows
        if r.get("orgn_odno") and (r.get("cncl_yn") == "Y" or parse_number(r.get("cnc_cfrm_qty")))
    }
    orders = []
    for row in rows:
        if row.get("orgn_odno"):
            continue  # a cancel/amend request, not an order of its own
        odno = str(row.get("odno", ""))
        quantity = parse_number(row.get("ord_qty"))
        filled = parse_number(row.get("tot_ccld_qty"))
        cancelled = row.get("cncl_yn") == "Y" or odno in cancelled_originals
        rejected = parse_number(row.get("rjct_qty")) > 0 and filled == 0
        status = status_from_fill(quantity, filled, cancelled=cancelled, rejected=rejected)
        if status is OrderStatus.SUBMITTED and parse_number(row.get("rmn_qty")) == 0 and filled:
            status = OrderStatus.FILLED
        price = parse_number(row.get("ord_unpr"))
        stamp = f"{row.get('ord_dt', '')}{row.get('ord_tmd', '')}"
        try:
            updated = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=KST)
        except ValueError:
            updated = None
        orders.append(
            BrokerOrder(
                client_order_id="",
                broker_order_id=odno,
                symbol=str(row.get("pdno", "")),
                side=Side.SELL if row.get("sll_buy_dvsn_cd") == "01" else Side.BUY,
                quantity=quantity,
                status=status,
                filled_quantity=filled,
                average_price=parse_number(row.get("avg_prvs")) or None,
                order_type=OrderType.LIMIT if price > 0 else OrderType.MARKET,
                limit_price=price if price > 0 else None,
                updated_at=updated,
                raw={**row, "_cancel_keys": {"orgno": str(row.get("ord_gno_brno", ""))}},
            )
        )
    return orders


__all__ = ["MOCK_URL", "REAL_URL", "KisBroker"]
