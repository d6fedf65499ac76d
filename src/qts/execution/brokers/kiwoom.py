"""Kiwoom Securities REST API: domestic stocks, real (api.kiwoom.com) or mock (mockapi).

Every call is `POST` with JSON, the TR named by the `api-id` header, `authorization: Bearer`,
and `cont-yn` / `next-key` headers for paging (echoed back by the server when more follows):
- au10001 `POST /oauth2/token` {grant_type, appkey, secretkey} -> token, expires_dt
  ("YYYYMMDDHHMMSS", KST).
- kt10000 buy / kt10001 sell / kt10003 cancel at `/api/dostk/ordr` -> ord_no.
- kt00009 today's orders and fills, ka10075 unfilled orders, kt00001 cash, kt00018 holdings
  at `/api/dostk/acnt`.
Answers carry return_code (0 = success) and return_msg ("[code:message]"). Rate limiting comes
as HTTP 429 / code 1700, an invalid or expired token as 8005 (refreshed and retried).
Kiwoom has no client order id field: idempotency goes through the `OrderIdStore` journal.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from qts.core.errors import ConfigurationError
from qts.core.types import Order, OrderType, Side, TimeInForce
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
REAL_URL = "https://api.kiwoom.com"
MOCK_URL = "https://mockapi.kiwoom.com"
TOKEN_PATH = "/oauth2/token"
ORDER_PATH = "/api/dostk/ordr"
ACCOUNT_PATH = "/api/dostk/acnt"

RATE_LIMIT_CODES = {"1700", "1687"}
TOKEN_EXPIRED_CODES = {"8005", "8103", "1513"}
BAD_CREDENTIAL_CODES = {"8001", "8002", "8030", "8031"}
# trde_tp: 0 limit, 3 market, 10/13 IOC limit/market, 20/23 FOK limit/market
TRADE_TYPES = {
    (OrderType.LIMIT, TimeInForce.IOC): "10",
    (OrderType.MARKET, TimeInForce.IOC): "13",
    (OrderType.LIMIT, TimeInForce.FOK): "20",
    (OrderType.MARKET, TimeInForce.FOK): "23",
}
_CODE_IN_MESSAGE = re.compile(r"(\d{4,6})\s*:")


class KiwoomBroker(TokenRestBroker):
    name = "kiwoom"

    def __init__(
        self,
        app_key: str,
        secret_key: str,
        *,
        mock: bool = True,
        base_url: str | None = None,
        exchange: str = "KRX",
        rate_per_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        if not app_key or not secret_key:
            raise ConfigurationError("Kiwoom needs an app key and a secret key")
        # Kiwoom throttles per app key; stay well under it (mock servers are stricter)
        rate = rate_per_s if rate_per_s is not None else (2.0 if mock else 4.0)
        super().__init__(base_url or (MOCK_URL if mock else REAL_URL), rate_per_s=rate, **kwargs)
        self._app_key = app_key
        self._secret_key = secret_key
        self.mock = mock
        self.exchange = "KRX" if mock else exchange  # the mock server trades KRX only

    def __repr__(self) -> str:
        return f"KiwoomBroker(mock={self.mock}, url={self.base_url})"

    # Protocol -----------------------------------------------------------------------------------
    def _issue_token(self) -> AccessToken:
        body = {
            "grant_type": "client_credentials",
            "appkey": self._app_key,
            "secretkey": self._secret_key,
        }
        self.bucket.acquire()
        try:
            response = self._http.post(
                TOKEN_PATH,
                json=body,
                headers={"api-id": "au10001", "content-type": "application/json;charset=UTF-8"},
            )
        except httpx.TransportError as exc:
            raise BrokerUnavailableError(
                f"kiwoom: token request failed ({type(exc).__name__})", broker=self.name
            ) from exc
        data = response.json() if response.content else {}
        if response.status_code != 200 or data.get("return_code") != 0 or not data.get("token"):
            message = str(data.get("return_msg") or response.reason_phrase)
            raise BrokerAuthError(
                f"kiwoom: token refused: {message}", broker=self.name, broker_code=_code_of(message)
            )
        stamp = datetime.strptime(str(data["expires_dt"]), "%Y%m%d%H%M%S").replace(tzinfo=KST)
        return AccessToken(str(data["token"]), stamp.timestamp())

    def _headers(self, token: str, api: str, page_key: str | None) -> dict[str, str]:
        headers = {
            "content-type": "application/json;charset=UTF-8",
            "authorization": f"Bearer {token}",
            "api-id": api,
        }
        if page_key:
            headers["cont-yn"] = "Y"
            headers["next-key"] = page_key
        return headers

    def _classify(self, response: httpx.Response, body: dict[str, Any]) -> BrokerError | None:
        return_code = body.get("return_code")
        if return_code == 0 and response.status_code < 400:
            return None
        message = str(body.get("return_msg") or response.reason_phrase)
        code = _code_of(message)
        text = f"kiwoom: {message.strip()}"
        kw: dict[str, Any] = {"broker": self.name, "broker_code": code}
        if response.status_code == 429 or code in RATE_LIMIT_CODES or "허용된 요청" in message:
            return BrokerRateLimitedError(text, retry_after_s=1.0, **kw)
        if code in TOKEN_EXPIRED_CODES or ("token" in message.lower() and "유효" in message):
            return AuthExpiredError(text, **kw)
        if code in BAD_CREDENTIAL_CODES or response.status_code in (401, 403):
            return BrokerAuthError(text, **kw)
        if return_code is None and response.status_code >= 500:
            return BrokerUnavailableError(text, **kw)
        if "부족" in message or "가능수량" in message:
            return InsufficientFundsError(text, **kw)
        if "종목" in message:
            return InvalidSymbolError(text, **kw)
        return OrderRejectedError(text, **kw)

    def _place(self, order: Order) -> Placed:
        trade_type = TRADE_TYPES.get(
            (order.type, order.time_in_force), "0" if order.type is OrderType.LIMIT else "3"
        )
        limit = order.type is OrderType.LIMIT and order.limit_price
        body = {
            "dmst_stex_tp": self.exchange,
            "stk_cd": order.symbol,
            "ord_qty": str(int(order.quantity)),
            "ord_uv": str(int(order.limit_price)) if limit and order.limit_price else "",
            "trde_tp": trade_type,
            "cond_uv": "",
        }
        api = "kt10000" if order.side is Side.BUY else "kt10001"
        data, _ = self._call("POST", ORDER_PATH, api, json=body, mutating=True)
        return Placed(str(data["ord_no"]), {})

    def _cancel(self, intent: OrderIntent) -> None:
        body = {
            "dmst_stex_tp": self.exchange,
            "orig_ord_no": intent.broker_order_id,
            "stk_cd": intent.symbol,
            "cncl_qty": "0",  # 0 = the whole remainder
        }
        self._call("POST", ORDER_PATH, "kt10003", json=body, mutating=True)

    def _pages(self, api: str, body: dict[str, Any], list_key: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page_key: str | None = None
        for _ in range(50):
            data, headers = self._call("POST", ACCOUNT_PATH, api, json=body, page_key=page_key)
            rows.extend(data.get(list_key) or [])
            if headers.get("cont-yn") != "Y" or not headers.get("next-key"):
                break
            page_key = headers["next-key"]
        return rows

    def _todays_orders(self) -> list[BrokerOrder]:
        body = {
            "ord_dt": "",
            "qry_tp": "0",
            "stk_bond_tp": "1",
            "mrkt_tp": "0",
            "sell_tp": "0",
            "stk_cd": "",
            "fr_ord_no": "",
            "dmst_stex_tp": self.exchange,
        }
        return _orders_from_rows(self._pages("kt00009", body, "acnt_ord_cntr_prst_array"))

    def unfilled_orders(self) -> list[dict[str, Any]]:
        """ka10075 rows (unfilled orders), as the broker reports them."""
        body = {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "stex_tp": "0"}
        return self._pages("ka10075", body, "oso")

    def balances(self) -> list[Balance]:
        data, _ = self._call("POST", ACCOUNT_PATH, "kt00001", json={"qry_tp": "3"})
        orderable = parse_number(data.get("ord_alow_amt"))
        total = parse_number(data.get("d2_entra") or data.get("entr"))
        return [Balance("KRW", free=orderable, locked=max(total - orderable, 0.0))]

    def positions(self) -> list[BrokerPosition]:
        body = {"qry_tp": "1", "dmst_stex_tp": self.exchange}
        positions = []
        for row in self._pages("kt00018", body, "acnt_evlt_remn_indv_tot"):
            quantity = parse_number(row.get("rmnd_qty"))
            if quantity > 0:
                positions.append(
                    BrokerPosition(
                        symbol=_symbol(row.get("stk_cd")),
                        quantity=quantity,
                        average_price=parse_number(row.get("pur_pric")) or None,
                        market_price=parse_number(row.get("cur_prc")) or None,
                    )
                )
        return positions


def _code_of(message: str) -> str | None:
    match = _CODE_IN_MESSAGE.search(message)
    return match.group(1) if match else None


def _symbol(code: Any) -> str:
    text = str(code or "").strip()
    return text[1:] if len(text) == 7 and text[0].isalpha() else text


def _orders_from_rows(rows: list[dict[str, Any]]) -> list[BrokerOrder]:
    """kt00009 rows -> one order per ord_no (several rows = several fills); cancel rows
    (mdfy_cncl_tp with 취소, orig_ord_no set) mark their original as cancelled."""
    cancelled = {
        str(r.get("orig_ord_no")).lstrip("0")
        for r in rows
        if "취소" in str(r.get("mdfy_cncl_tp", "")) and r.get("orig_ord_no")
    }
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if "취소" in str(row.get("mdfy_cncl_tp", "")) or "정정" in str(row.get("mdfy_cncl_tp", "")):
            continue
        grouped.setdefault(str(row.get("ord_no", "")), []).append(row)
    orders = []
    for ord_no, group in grouped.items():
        first = group[0]
        quantity = parse_number(first.get("ord_qty"))
        fills = {str(r.get("cntr_no", "")): r for r in group if parse_number(r.get("cntr_qty"))}
        filled = float(sum(parse_number(r.get("cntr_qty")) for r in fills.values()))
        notional = sum(
            parse_number(r.get("cntr_qty")) * parse_number(r.get("cntr_uv")) for r in fills.values()
        )
        price = parse_number(first.get("ord_uv"))
        side = Side.SELL if "매도" in str(first.get("io_tp_nm", "")) else Side.BUY
        orders.append(
            BrokerOrder(
                client_order_id="",
                broker_order_id=ord_no,
                symbol=_symbol(first.get("stk_cd")),
                side=side,
                quantity=quantity,
                status=status_from_fill(
                    quantity, filled, cancelled=ord_no.lstrip("0") in cancelled
                ),
                filled_quantity=filled,
                average_price=notional / filled if filled else None,
                order_type=OrderType.LIMIT if price > 0 else OrderType.MARKET,
                limit_price=price if price > 0 else None,
                raw=first,
            )
        )
    return orders
