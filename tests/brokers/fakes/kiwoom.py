"""Fake Kiwoom REST API (domestic stock), in Kiwoom's published format: every call a POST
naming its TR in the `api-id` header, answers with return_code / return_msg, `cont-yn` /
`next-key` paging headers, 1700 rate limiting (HTTP 429) and 8005 invalid-token answers."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.brokers.fakes.ledger import Ledger, LedgerError, LedgerOrder
from tests.brokers.fakes.server import Answer, FakeBrokerServer, Received

KST = ZoneInfo("Asia/Seoul")
TRADE_TYPES = {
    "0": ("limit", "gtc"),
    "3": ("market", "gtc"),
    "10": ("limit", "ioc"),
    "13": ("market", "ioc"),
    "20": ("limit", "fok"),
    "23": ("market", "fok"),
}
OK_MSG = "[00Z112:모의투자 정상처리 되었습니다]"
NAMES = {"005930": "삼성전자", "000660": "SK하이닉스"}


def _fail(code: int, message: str, status: int = 200) -> Answer:
    return status, {"api-id": ""}, {"return_code": code, "return_msg": message}


class FakeKiwoom(FakeBrokerServer):
    def __init__(
        self,
        *,
        app_key: str = "kiwoom-fake-app-key",
        secret_key: str = "kiwoom-fake-secret-key",
        prices: dict[str, float] | None = None,
        cash: float = 10_000_000.0,
        holdings: dict[str, float] | None = None,
        page_size: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.app_key, self.secret_key = app_key, secret_key
        self.page_size = page_size
        self.ledger = Ledger(
            prices=prices or {"005930": 70_000.0, "000660": 180_000.0},
            balances={"KRW": cash, **(holdings or {})},
            split=lambda symbol: (symbol, "KRW"),
            id_format=lambda n: f"{n:07d}",
        )
        self.cancels: list[dict[str, Any]] = []

    def api_of(self, request: Received) -> str:
        return request.headers.get("api-id", request.path)

    def rate_limited(self, request: Received) -> Answer:
        api = self.api_of(request)
        message = "허용된 요청 개수를 초과하였습니다"
        return _fail(5, f"{message}[1700:{message}. API ID={api}]", 429)

    def handle(self, request: Received) -> Answer:
        if request.method != "POST":
            return (
                405,
                {},
                {"return_code": 2, "return_msg": "[1501:API ID가 Null이거나 값이 없습니다]"},
            )
        if request.path == "/oauth2/token":
            return self._token(request)
        if not self.token_ok(request):
            return _fail(3, "[8005:Token이 유효하지 않습니다]")
        api = self.api_of(request)
        routes = {
            ("/api/dostk/ordr", "kt10000"): lambda r: self._order(r, "buy"),
            ("/api/dostk/ordr", "kt10001"): lambda r: self._order(r, "sell"),
            ("/api/dostk/ordr", "kt10003"): self._cancel,
            ("/api/dostk/acnt", "kt00009"): self._executions,
            ("/api/dostk/acnt", "ka10075"): self._unfilled,
            ("/api/dostk/acnt", "kt00001"): self._deposit,
            ("/api/dostk/acnt", "kt00018"): self._holdings,
        }
        route = routes.get((request.path, api))
        if route is None:
            return _fail(2, "[1511:필수 입력 값에 값이 존재하지 않습니다. 요소명=api-id]")
        status, headers, payload = route(request)
        return status, {"api-id": api, **headers}, payload

    def _token(self, request: Received) -> Answer:
        body = request.body
        if (
            body.get("grant_type") != "client_credentials"
            or body.get("appkey") != self.app_key
            or body.get("secretkey") != self.secret_key
        ):
            return _fail(3, "[8001:App Key와 Secret Key 검증에 실패했습니다]")
        token, expires = self.issue_token()
        expires_dt = datetime.fromtimestamp(expires, KST).strftime("%Y%m%d%H%M%S")
        return (
            200,
            {},
            {
                "expires_dt": expires_dt,
                "token_type": "bearer",
                "token": token,
                "return_code": 0,
                "return_msg": "정상적으로 처리되었습니다",
            },
        )

    def _order(self, request: Received, side: str) -> Answer:
        body = request.body
        trade = TRADE_TYPES.get(str(body.get("trde_tp")))
        if body.get("dmst_stex_tp") != "KRX" or trade is None:
            return _fail(2, "[2000](571489:모의투자에서는 KRX만 주문가능합니다)")
        quantity = int(str(body.get("ord_qty") or "0") or 0)
        price = float(str(body.get("ord_uv") or "0") or 0)
        if quantity <= 0 or (trade[0] == "limit" and price <= 0):
            return _fail(20, "[2000](505206:주문수량 또는 주문단가를 확인하세요)")
        try:
            order = self.ledger.place(
                str(body.get("stk_cd")),
                side,
                quantity,
                trade[0],
                price if trade[0] == "limit" else None,
                time_in_force=trade[1],
            )
        except LedgerError as exc:
            if exc.kind == "invalid_symbol":
                return _fail(20, "[2000](505217:종목정보가 없습니다)")
            if side == "buy":
                return _fail(20, "[2000](800033:모의투자 주문가능금액이 부족합니다)")
            return _fail(20, "[2000](800100:모의투자 매도가능수량이 부족합니다)")
        return (
            200,
            {},
            {
                "ord_no": order.order_id,
                "dmst_stex_tp": "KRX",
                "return_code": 0,
                "return_msg": OK_MSG,
            },
        )

    def _cancel(self, request: Received) -> Answer:
        body = request.body
        original = str(body.get("orig_ord_no"))
        try:
            with self.ledger.lock:
                order = self.ledger.orders.get(original)
                if order is None or order.symbol != body.get("stk_cd"):
                    raise LedgerError("unknown_order")
                remaining = order.remaining
                self.ledger.cancel(original)
        except LedgerError:
            return _fail(20, "[2000](505310:취소할 주문이 없습니다)")
        cancel_no = f"{9_000_000 + len(self.cancels) + 1:07d}"
        self.cancels.append(
            {
                "ord_no": cancel_no,
                "orig": original,
                "qty": remaining,
                "order": order,
                "at": time.time(),
            }
        )
        return (
            200,
            {},
            {
                "ord_no": cancel_no,
                "base_orig_ord_no": original,
                "cncl_qty": str(int(remaining)),
                "return_code": 0,
                "return_msg": OK_MSG,
            },
        )

    def _page(
        self,
        request: Received,
        rows: list[dict[str, Any]],
        key: str,
        extra: dict[str, Any] | None = None,
    ) -> Answer:
        start = (
            int(request.headers.get("next-key") or 0)
            if (request.headers.get("cont-yn") == "Y")
            else 0
        )
        page = rows[start : start + self.page_size]
        more = start + self.page_size < len(rows)
        headers = (
            {"cont-yn": "Y", "next-key": str(start + self.page_size)}
            if more
            else {"cont-yn": "N", "next-key": ""}
        )
        return (
            200,
            headers,
            {**(extra or {}), key: page, "return_code": 0, "return_msg": "조회가 완료되었습니다"},
        )

    def _executions(self, request: Received) -> Answer:
        rows: list[dict[str, Any]] = []
        with self.ledger.lock:
            for order in self.ledger.orders.values():
                base = _row(order)
                if not order.fills:
                    rows.append({**base, "cntr_no": "", "cntr_qty": "0", "cntr_uv": "0"})
                for fill in order.fills:
                    rows.append(
                        {
                            **base,
                            "cntr_no": f"{fill.fill_id:07d}",
                            "cntr_qty": str(int(fill.quantity)),
                            "cntr_uv": str(int(fill.price)),
                            "cntr_tm": _tm(fill.ts),
                        }
                    )
            for c in self.cancels:
                rows.append(
                    {
                        **_row(c["order"]),
                        "ord_no": c["ord_no"],
                        "orig_ord_no": c["orig"],
                        "ord_qty": str(int(c["qty"])),
                        "cnfm_qty": str(int(c["qty"])),
                        "mdfy_cncl_tp": "취소",
                        "acpt_tp": "확인",
                        "cntr_no": "",
                        "cntr_qty": "0",
                        "cntr_uv": "0",
                    }
                )
        return self._page(request, rows, "acnt_ord_cntr_prst_array")

    def _unfilled(self, request: Received) -> Answer:
        with self.ledger.lock:
            rows = [
                {
                    "acnt_no": "81234567",
                    "ord_no": o.order_id,
                    "stk_cd": o.symbol,
                    "ord_stt": "접수",
                    "stk_nm": NAMES.get(o.symbol, o.symbol),
                    "ord_qty": str(int(o.quantity)),
                    "ord_pric": str(int(o.price or 0)),
                    "oso_qty": str(int(o.remaining)),
                    "cntr_tot_amt": str(int(o.quote_filled)),
                    "orig_ord_no": "0000000",
                    "io_tp_nm": "+매수" if o.side == "buy" else "-매도",
                    "trde_tp": "보통" if o.order_type == "limit" else "시장가",
                    "tm": _tm(o.created_at),
                    "cntr_qty": str(int(o.filled_quantity)),
                }
                for o in self.ledger.open_orders()
            ]
        return self._page(request, rows, "oso")

    def _deposit(self, request: Received) -> Answer:
        with self.ledger.lock:
            total, free = self.ledger.holding("KRW"), self.ledger.free.get("KRW", 0.0)
        return (
            200,
            {},
            {
                "entr": f"{int(total):015d}",
                "d2_entra": f"{int(total):015d}",
                "ord_alow_amt": f"{int(free):015d}",
                "return_code": 0,
                "return_msg": "조회가 완료되었습니다",
            },
        )

    def _holdings(self, request: Received) -> Answer:
        with self.ledger.lock:
            rows = []
            for asset in sorted(set(self.ledger.free) | set(self.ledger.locked)):
                qty = self.ledger.holding(asset)
                if asset == "KRW" or qty <= 0:
                    continue
                price, cost = self.ledger.prices.get(asset, 0.0), self.ledger.avg_cost.get(asset, 0)
                rows.append(
                    {
                        "stk_cd": "A" + asset,
                        "stk_nm": NAMES.get(asset, asset),
                        "rmnd_qty": f"{int(qty):015d}",
                        "trde_able_qty": f"{int(self.ledger.free.get(asset, 0)):015d}",
                        "pur_pric": f"{round(cost):015d}",
                        "cur_prc": f"{int(price):015d}",
                        "evlt_amt": f"{int(qty * price):015d}",
                        "pur_amt": f"{int(qty * cost):015d}",
                        "evltv_prft": f"{int(qty * (price - cost)):015d}",
                    }
                )
        return self._page(
            request,
            rows,
            "acnt_evlt_remn_indv_tot",
            {"tot_evlt_amt": str(sum(int(r["evlt_amt"]) for r in rows))},
        )


def _tm(at: float) -> str:
    return datetime.fromtimestamp(at, KST).strftime("%H%M%S")


def _row(order: LedgerOrder) -> dict[str, Any]:
    return {
        "stk_bond_tp": "1",
        "ord_no": order.order_id,
        "stk_cd": "A" + order.symbol,
        "trde_tp": "보통" if order.order_type == "limit" else "시장가",
        "io_tp_nm": "현금매수" if order.side == "buy" else "현금매도",
        "ord_qty": f"{int(order.quantity):010d}",
        "ord_uv": f"{int(order.price or 0):010d}",
        "cnfm_qty": "0",
        "acpt_tp": "접수",
        "orig_ord_no": "",
        "stk_nm": NAMES.get(order.symbol, order.symbol),
        "mdfy_cncl_tp": "",
        "cntr_tm": "",
        "dmst_stex_tp": "KRX",
    }
