"""Fake Korea Investment & Securities Open API (domestic stock), in KIS's published format:
rt_cd / msg_cd / msg1 on every answer, output objects with the documented field names,
`tr_cont` paging with CTX_AREA_FK100 / CTX_AREA_NK100, EGW00201 rate limiting and EGW00123
token expiry (HTTP 500, as KIS answers them)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.brokers.fakes.ledger import Ledger, LedgerError, LedgerOrder
from tests.brokers.fakes.server import Answer, FakeBrokerServer, Received

KST = ZoneInfo("Asia/Seoul")
BUY_TR = {"TTTC0012U", "TTTC0802U"}
SELL_TR = {"TTTC0011U", "TTTC0801U"}
CANCEL_TR = {"TTTC0013U", "TTTC0803U"}
DAILY_TR = {"TTTC0081R", "TTTC8001R"}
BALANCE_TR = {"TTTC8434R"}
ORDER_DIVISION = {
    "00": ("limit", "gtc"),
    "01": ("market", "gtc"),
    "11": ("limit", "ioc"),
    "12": ("limit", "fok"),
    "13": ("market", "ioc"),
    "14": ("market", "fok"),
}
NAMES = {"005930": "삼성전자", "000660": "SK하이닉스", "035420": "NAVER"}


def _fail(code: str, message: str, status: int = 200) -> Answer:
    return status, {}, {"rt_cd": "1", "msg_cd": code, "msg1": message}


class FakeKis(FakeBrokerServer):
    def __init__(
        self,
        *,
        app_key: str = "PSfakeAppKey0001",
        app_secret: str = "fake-app-secret-value",
        account_no: str = "50012345-01",
        mock: bool = True,
        prices: dict[str, float] | None = None,
        cash: float = 10_000_000.0,
        holdings: dict[str, float] | None = None,
        page_size: int = 15,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.app_key, self.app_secret = app_key, app_secret
        self.cano, self.product_code = account_no.replace("-", "")[:8], account_no[-2:]
        self.mock = mock
        self.page_size = page_size
        self.ledger = Ledger(
            prices=prices or {"005930": 70_000.0, "000660": 180_000.0},
            balances={"KRW": cash, **(holdings or {})},
            split=lambda symbol: (symbol, "KRW"),
            id_format=lambda n: f"{n:010d}",
        )
        self.cancels: list[dict[str, Any]] = []  # cancel requests, as rows of their own

    def api_of(self, request: Received) -> str:
        return request.headers.get("tr_id", request.path)

    def rate_limited(self, request: Received) -> Answer:
        return _fail("EGW00201", "초당 거래건수를 초과하였습니다.", 500)

    def _domestic(self, asset: str) -> bool:
        """Whether a ledger asset is a domestic holding (the overseas fake keeps USD ones too)."""
        return asset != "KRW"

    def _tr(self, request: Received, allowed: set[str]) -> bool:
        tr_id = request.headers.get("tr_id", "")
        if self.mock:  # mock-investment tr_ids start with V instead of T
            return tr_id.startswith("V") and "T" + tr_id[1:] in allowed
        return tr_id in allowed

    # Routes -----------------------------------------------------------------------------------
    def handle(self, request: Received) -> Answer:
        if request.path == "/oauth2/tokenP":
            return self._token(request)
        if request.headers.get("appkey") != self.app_key or (
            request.headers.get("appsecret") != self.app_secret
        ):
            return _fail("EGW00103", "유효하지 않은 AppKey입니다.", 500)
        if not self.token_ok(request):
            return _fail("EGW00123", "기간이 만료된 token 입니다.", 500)
        routes = {
            ("POST", "/uapi/domestic-stock/v1/trading/order-cash"): self._order,
            ("POST", "/uapi/domestic-stock/v1/trading/order-rvsecncl"): self._cancel,
            ("GET", "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"): self._daily,
            ("GET", "/uapi/domestic-stock/v1/trading/inquire-balance"): self._balance,
        }
        route = routes.get((request.method, request.path))
        if route is None:
            return 404, {}, {"rt_cd": "1", "msg_cd": "EGW00002", "msg1": "없는 서비스입니다."}
        return route(request)

    def _token(self, request: Received) -> Answer:
        body = request.body
        if (
            body.get("grant_type") != "client_credentials"
            or body.get("appkey") != self.app_key
            or body.get("appsecret") != self.app_secret
        ):
            return (
                403,
                {},
                {"error_description": "유효하지 않은 AppKey입니다.", "error_code": "EGW00103"},
            )
        token, expires = self.issue_token()
        stamp = datetime.fromtimestamp(expires, KST).strftime("%Y-%m-%d %H:%M:%S")
        return (
            200,
            {},
            {
                "access_token": token,
                "access_token_token_expired": stamp,
                "token_type": "Bearer",
                "expires_in": int(self.token_ttl_s),
            },
        )

    def _account_ok(self, fields: dict[str, Any]) -> bool:
        return fields.get("CANO") == self.cano and fields.get("ACNT_PRDT_CD") == self.product_code

    def _order(self, request: Received) -> Answer:
        body = request.body
        if self._tr(request, BUY_TR):
            side = "buy"
        elif self._tr(request, SELL_TR):
            side = "sell"
        else:
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        if not self._account_ok(body):
            return _fail("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO")
        division = ORDER_DIVISION.get(str(body.get("ORD_DVSN")))
        quantity = int(str(body.get("ORD_QTY") or "0") or 0)
        price = float(str(body.get("ORD_UNPR") or "0") or 0)
        if division is None or quantity <= 0 or (division[0] == "limit" and price <= 0):
            return _fail("APBK0634", "주문구분 또는 주문수량/단가를 확인하여 주십시오.")
        try:
            order = self.ledger.place(
                str(body.get("PDNO")),
                side,
                quantity,
                division[0],
                price if division[0] == "limit" else None,
                time_in_force=division[1],
                branch="91252",
            )
        except LedgerError as exc:
            if exc.kind == "invalid_symbol":
                return _fail("APBK0656", "해당종목정보가 없습니다.")
            if side == "buy":
                return _fail("APBK0952", "주문가능금액을 초과 했습니다")
            return _fail("APBK0400", "주문가능수량을 초과 했습니다")
        return (
            200,
            {},
            {
                "rt_cd": "0",
                "msg_cd": "APBK0013",
                "msg1": "주문 전송 완료 되었습니다.",
                "output": {
                    "KRX_FWDG_ORD_ORGNO": "91252",
                    "ODNO": order.order_id,
                    "ORD_TMD": _tmd(order.created_at),
                },
            },
        )

    def _cancel(self, request: Received) -> Answer:
        body = request.body
        if not self._tr(request, CANCEL_TR):
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        if not self._account_ok(body) or body.get("RVSE_CNCL_DVSN_CD") != "02":
            return _fail("APBK0634", "정정취소구분코드를 확인하여 주십시오.")
        original = str(body.get("ORGN_ODNO"))
        if body.get("KRX_FWDG_ORD_ORGNO") != "91252":
            return _fail("APBK1254", "주문조직번호를 확인하여 주십시오.")
        try:
            with self.ledger.lock:
                remaining = (
                    self.ledger.orders[original].remaining
                    if (original in self.ledger.orders)
                    else 0
                )
                order = self.ledger.cancel(original)
        except LedgerError:
            return _fail("APBK0918", "정정/취소할 수량이 없습니다.")
        cancel_id = f"{9_000_000_000 + len(self.cancels) + 1:010d}"
        self.cancels.append(
            {
                "odno": cancel_id,
                "orgn_odno": original,
                "qty": remaining,
                "order": order,
                "at": time.time(),
            }
        )
        return (
            200,
            {},
            {
                "rt_cd": "0",
                "msg_cd": "APBK0013",
                "msg1": "주문 전송 완료 되었습니다.",
                "output": {"KRX_FWDG_ORD_ORGNO": "91252", "ODNO": cancel_id, "ORD_TMD": _tmd()},
            },
        )

    def _rows(self) -> list[dict[str, Any]]:
        with self.ledger.lock:
            rows = [_order_row(o) for o in self.ledger.orders.values() if self._domestic(o.symbol)]
            for c in self.cancels:
                order: LedgerOrder = c["order"]
                if not self._domestic(order.symbol):
                    continue
                rows.append(
                    {
                        **_order_row(order),
                        "odno": c["odno"],
                        "orgn_odno": c["orgn_odno"],
                        "ord_dvsn_name": "취소",
                        "ord_qty": str(int(c["qty"])),
                        "tot_ccld_qty": "0",
                        "avg_prvs": "0",
                        "tot_ccld_amt": "0",
                        "rmn_qty": "0",
                        "cncl_yn": "Y",
                        "cnc_cfrm_qty": str(int(c["qty"])),
                        "ord_tmd": _tmd(c["at"]),
                    }
                )
        return sorted(rows, key=lambda r: r["odno"])

    def _daily(self, request: Received) -> Answer:
        if not self._tr(request, DAILY_TR):
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        if not self._account_ok(request.query):
            return _fail("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO")
        rows = self._rows()
        start = int(request.query.get("CTX_AREA_NK100") or 0)
        page = rows[start : start + self.page_size]
        more = start + self.page_size < len(rows)
        nk = str(start + self.page_size) if more else ""
        return (
            200,
            {"tr_cont": "M" if more else "D"},
            {
                "ctx_area_fk100": self.cano,
                "ctx_area_nk100": nk,
                "output1": page,
                "output2": {
                    "tot_ord_qty": str(sum(int(r["ord_qty"]) for r in rows)),
                    "tot_ccld_qty": str(sum(int(r["tot_ccld_qty"]) for r in rows)),
                },
                "rt_cd": "0",
                "msg_cd": "KIOK0460",
                "msg1": "조회 되었습니다. (마지막 자료)",
            },
        )

    def _balance(self, request: Received) -> Answer:
        if not self._tr(request, BALANCE_TR):
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        if not self._account_ok(request.query):
            return _fail("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO")
        with self.ledger.lock:
            holdings = []
            for asset in sorted(set(self.ledger.free) | set(self.ledger.locked)):
                qty = self.ledger.holding(asset)
                if not self._domestic(asset) or qty <= 0:
                    continue
                price = self.ledger.prices.get(asset, 0.0)
                holdings.append(
                    {
                        "pdno": asset,
                        "prdt_name": NAMES.get(asset, asset),
                        "trad_dvsn_name": "현금",
                        "hldg_qty": str(int(qty)),
                        "ord_psbl_qty": str(int(self.ledger.free[asset])),
                        "pchs_avg_pric": f"{self.ledger.avg_cost.get(asset, 0.0):.4f}",
                        "pchs_amt": str(int(qty * self.ledger.avg_cost.get(asset, 0.0))),
                        "prpr": str(int(price)),
                        "evlu_amt": str(int(qty * price)),
                    }
                )
            cash = self.ledger.holding("KRW")
        summary = {
            "dnca_tot_amt": str(int(cash)),
            "nxdy_excc_amt": str(int(cash)),
            "prvs_rcdl_excc_amt": str(int(cash)),
            "tot_evlu_amt": str(int(cash + sum(float(h["evlu_amt"]) for h in holdings))),
        }
        return (
            200,
            {"tr_cont": "D"},
            {
                "ctx_area_fk100": "",
                "ctx_area_nk100": "",
                "output1": holdings,
                "output2": [summary],
                "rt_cd": "0",
                "msg_cd": "20310000",
                "msg1": "모의투자 조회가 완료되었습니다.",
            },
        )


def _tmd(at: float | None = None) -> str:
    return datetime.fromtimestamp(at or time.time(), KST).strftime("%H%M%S")


def _order_row(order: LedgerOrder) -> dict[str, Any]:
    created = datetime.fromtimestamp(order.created_at, KST)
    return {
        "ord_dt": created.strftime("%Y%m%d"),
        "ord_gno_brno": "91252",
        "odno": order.order_id,
        "orgn_odno": "",
        "ord_dvsn_name": "지정가" if order.order_type == "limit" else "시장가",
        "sll_buy_dvsn_cd": "02" if order.side == "buy" else "01",
        "sll_buy_dvsn_cd_name": "현금매수" if order.side == "buy" else "현금매도",
        "pdno": order.symbol,
        "prdt_name": NAMES.get(order.symbol, order.symbol),
        "ord_qty": str(int(order.quantity)),
        "ord_unpr": str(int(order.price or 0)),
        "ord_tmd": created.strftime("%H%M%S"),
        "tot_ccld_qty": str(int(order.filled_quantity)),
        "avg_prvs": str(round(order.average_price)),
        "cncl_yn": "N",
        "tot_ccld_amt": str(int(order.quote_filled)),
        "rmn_qty": str(int(order.remaining)) if order.status == "open" else "0",
        "rjct_qty": "0",
        "ccld_cndt_name": "없음",
        "excg_id_dvsn_cd": "KRX",
        "cnc_cfrm_qty": "0",
    }
