"""Fake KIS Open API for US stocks, beside the domestic routes of `FakeKis` on one server (as
KIS serves both from one host), in KIS's published format: rt_cd / msg_cd / msg1, `output`,
`output1` / `output2`, `tr_cont` paging with CTX_AREA_FK200 / NK200, the same token flow and
faults (EGW00201 rate limit, EGW00123 expired token).

US orders are limit orders (ORD_DVSN "00") on the symbol's own exchange (NASD / NYSE / AMEX,
else refused); a marketable limit fills at once at the current price, others rest until the
test calls `ledger.fill`. USD cash sits beside KRW in the one ledger; prices are checked for
KIS's decimals (2, or 4 under $1). Quotes answer only on the listing exchange (EXCD NAS / NYS /
AMS): elsewhere `last` is empty, as KIS answers. Daily prices (`dailyprice`, HHDFS76240000):
`us_bars` are the raw prints; 100 rows a call, newest first, up to BYMD (blank: today); MODP
"1" divides the prices before each of `us_splits`' ex-dates by its ratio (and multiplies the
volume), as KIS's adjusted prices do, "0" answers them raw; GUBN other than "0" is refused."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from tests.brokers.fakes.kis import KST, FakeKis, _fail, _tmd
from tests.brokers.fakes.ledger import Ledger, LedgerError, LedgerOrder
from tests.brokers.fakes.server import Answer, Received

BASE = "/uapi/overseas-stock/v1/trading"
QUOTES = "/uapi/overseas-price/v1/quotations"
QUOTE_CODES = {"NASD": "NAS", "NYSE": "NYS", "AMEX": "AMS"}
REAL = {"buy": "TTTT1002U", "sell": "TTTT1006U", "cancel": "TTTT1004U", "ccnl": "TTTS3035R",
        "balance": "TTTS3012R", "present": "CTRP6504R"}  # fmt: skip
MOCK = {"buy": "VTTT1002U", "sell": "VTTT1001U", "cancel": "VTTT1004U", "ccnl": "VTTS3035R",
        "balance": "VTTS3012R", "present": "VTRP6504R"}  # fmt: skip
ORG = "01790"  # the order-handling branch KIS puts on overseas orders


def _ok(body: dict[str, Any], more: bool = False) -> Answer:
    return 200, {"tr_cont": "M" if more else "D"}, {"rt_cd": "0", "msg_cd": "KIOK0000",
                                                     "msg1": "정상처리 되었습니다.", **body}  # fmt: skip


def is_us(symbol: str) -> bool:
    return not (symbol[:1].isdigit() or symbol in ("KRW", "USD"))


class FakeKisOverseas(FakeKis):
    def __init__(
        self,
        *,
        us_prices: dict[str, float] | None = None,
        listings: dict[str, str] | None = None,
        usd_cash: float = 10_000.0,
        usd_krw: float = 1_380.0,
        us_bars: dict[str, pd.DataFrame] | None = None,
        us_splits: dict[str, list[tuple[str, float]]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.listings = listings or {"AAPL": "NASD", "IBM": "NYSE", "SPY": "AMEX", "SIRI": "NASD"}
        us = us_prices or {"AAPL": 100.0, "IBM": 150.0, "SPY": 500.0, "SIRI": 0.5}
        old = self.ledger
        self.ledger = Ledger(
            prices={**old.prices, **us},
            balances={**old.free, "USD": usd_cash},
            split=lambda s: (s, "USD" if is_us(s) else "KRW"),
            id_format=lambda n: f"{n:010d}",
        )
        self.usd_krw = usd_krw
        self.us_bars = us_bars or {}
        self.us_splits = us_splits or {}  # symbol -> [(ex-date YYYY-MM-DD, new shares per old)]
        self.us_cancels: list[dict[str, Any]] = []

    def _domestic(self, asset: str) -> bool:
        return asset not in ("KRW", "USD") and not is_us(asset)

    def _us_tr(self, request: Received, name: str) -> bool:
        return request.headers.get("tr_id") == (MOCK if self.mock else REAL)[name]

    def handle(self, request: Received) -> Answer:
        routes = {
            ("POST", f"{BASE}/order"): self._us_order,
            ("POST", f"{BASE}/order-rvsecncl"): self._us_cancel,
            ("GET", f"{BASE}/inquire-ccnl"): self._us_ccnl,
            ("GET", f"{BASE}/inquire-balance"): self._us_balance,
            ("GET", f"{BASE}/inquire-present-balance"): self._us_present,
            ("GET", f"{QUOTES}/price"): self._us_price,
            ("GET", f"{QUOTES}/dailyprice"): self._us_daily,
        }
        route = routes.get((request.method, request.path))
        if route is None or request.path == "/oauth2/tokenP":
            return super().handle(request)
        if request.headers.get("appkey") != self.app_key or (
            request.headers.get("appsecret") != self.app_secret
        ):
            return _fail("EGW00103", "유효하지 않은 AppKey입니다.", 500)
        if not self.token_ok(request):
            return _fail("EGW00123", "기간이 만료된 token 입니다.", 500)
        return route(request)

    # Orders -----------------------------------------------------------------------------------
    def _us_order(self, request: Received) -> Answer:
        body = request.body
        side = (
            "buy" if self._us_tr(request, "buy") else "sell" if self._us_tr(request, "sell") else ""
        )
        if not side:
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        if not self._account_ok(body):
            return _fail("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO")
        symbol = str(body.get("PDNO", ""))
        if self.listings.get(symbol) != body.get("OVRS_EXCG_CD"):
            return _fail("APBK0656", "해당종목정보가 없습니다.")
        if body.get("ORD_DVSN") != "00" or body.get("ORD_SVR_DVSN_CD") != "0":
            return _fail("APBK1664", "주문구분을 확인하여 주십시오.")
        try:
            price = Decimal(str(body.get("OVRS_ORD_UNPR", "")))
            quantity = int(str(body.get("ORD_QTY", "0")))
        except (InvalidOperation, ValueError):
            return _fail("APBK0634", "주문수량/단가를 확인하여 주십시오.")
        decimals = -price.as_tuple().exponent if isinstance(price.as_tuple().exponent, int) else 9
        if quantity <= 0 or price <= 0 or decimals > (2 if price >= 1 else 4):
            return _fail("APBK0634", "주문단가의 호가단위를 확인하여 주십시오.")
        try:
            order = self.ledger.place(symbol, side, quantity, "limit", float(price), branch=ORG)
        except LedgerError:
            if side == "buy":
                return _fail("APBK0952", "주문가능금액을 초과 했습니다")
            return _fail("APBK0400", "주문가능수량을 초과 했습니다")
        order.meta["exchange"] = body["OVRS_EXCG_CD"]
        market = self.ledger.prices[symbol]
        if (side == "buy" and float(price) >= market) or (
            side == "sell" and float(price) <= market
        ):
            self.ledger.fill(order.order_id, quantity, market)
        output = {"KRX_FWDG_ORD_ORGNO": ORG, "ODNO": order.order_id, "ORD_TMD": _tmd()}
        return _ok({"output": output})

    def _us_cancel(self, request: Received) -> Answer:
        body = request.body
        if not self._us_tr(request, "cancel"):
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        original = self.ledger.orders.get(str(body.get("ORGN_ODNO")))
        if not self._account_ok(body) or body.get("RVSE_CNCL_DVSN_CD") != "02" or original is None:
            return _fail("APBK0634", "정정취소구분코드를 확인하여 주십시오.")
        if body.get("OVRS_EXCG_CD") != original.meta.get("exchange"):
            return _fail("APBK0656", "해당종목정보가 없습니다.")
        with self.ledger.lock:
            remaining = original.remaining
            if original.status != "open" or int(str(body.get("ORD_QTY", "0"))) != remaining:
                return _fail("APBK0918", "정정/취소할 수량이 없습니다.")
            self.ledger.cancel(original.order_id)
        cancel_id = f"{8_000_000_000 + len(self.us_cancels) + 1:010d}"
        self.us_cancels.append({"odno": cancel_id, "order": original, "qty": remaining})
        return _ok({"output": {"KRX_FWDG_ORD_ORGNO": ORG, "ODNO": cancel_id, "ORD_TMD": _tmd()}})

    def _us_rows(self) -> list[dict[str, Any]]:
        with self.ledger.lock:
            rows = [_ccnl_row(o) for o in self.ledger.orders.values() if is_us(o.symbol)]
            for c in self.us_cancels:
                rows.append(
                    {
                        **_ccnl_row(c["order"]),
                        "odno": c["odno"],
                        "orgn_odno": c["order"].order_id,
                        "rvse_cncl_dvsn": "02",
                        "rvse_cncl_dvsn_name": "취소",
                        "ft_ord_qty": str(int(c["qty"])),
                        "ft_ccld_qty": "0",
                        "nccs_qty": "0",
                        "ft_ccld_unpr3": "0.00000000",
                        "ft_ccld_amt3": "0.00000",
                    }
                )
        return sorted(rows, key=lambda r: r["odno"], reverse=True)  # SORT_SQN DS: newest first

    def _us_ccnl(self, request: Received) -> Answer:
        q = request.query
        if not self._us_tr(request, "ccnl"):
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        if not self._account_ok(q):
            return _fail("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO")
        if self.mock and (q.get("PDNO") or q.get("OVRS_EXCG_CD")):
            return _fail("OPSQ2001", "ERROR INPUT_FIELD_NAME PDNO")  # mock: blanks only
        rows = self._us_rows()
        start = int(q.get("CTX_AREA_NK200") or 0)
        more = start + self.page_size < len(rows)
        nk = str(start + self.page_size) if more else ""
        page = rows[start : start + self.page_size]
        return _ok({"ctx_area_fk200": self.cano, "ctx_area_nk200": nk, "output": page}, more)

    # Balances ---------------------------------------------------------------------------------
    def _us_balance(self, request: Received) -> Answer:
        q = request.query
        if not self._us_tr(request, "balance") or not self._account_ok(q):
            return _fail("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO")
        wanted = q.get("OVRS_EXCG_CD")
        rows = []
        with self.ledger.lock:
            for asset in sorted(set(self.ledger.free) | set(self.ledger.locked)):
                qty = self.ledger.holding(asset)
                exchange = self.listings.get(asset)
                # real accounts answer every US exchange for NASD, mock ones only the one asked
                if not is_us(asset) or qty <= 0 or exchange is None:
                    continue
                if wanted != exchange and (self.mock or wanted != "NASD"):
                    continue
                avg, now = self.ledger.avg_cost.get(asset, 0.0), self.ledger.prices[asset]
                rows.append(
                    {
                        "cano": self.cano,
                        "acnt_prdt_cd": self.product_code,
                        "ovrs_pdno": asset,
                        "ovrs_item_name": asset,
                        "ovrs_cblc_qty": str(int(qty)),
                        "ord_psbl_qty": str(int(self.ledger.free.get(asset, 0.0))),
                        "pchs_avg_pric": f"{avg:.4f}",
                        "now_pric2": f"{now:.6f}",
                        "frcr_pchs_amt1": f"{qty * avg:.5f}",
                        "ovrs_stck_evlu_amt": f"{qty * now:.5f}",
                        "frcr_evlu_pfls_amt": f"{qty * (now - avg):.5f}",
                        "ovrs_excg_cd": exchange,
                        "tr_crcy_cd": "USD",
                    }
                )
        summary = {"frcr_pchs_amt1": f"{sum(float(r['frcr_pchs_amt1']) for r in rows):.5f}"}
        return _ok(
            {"ctx_area_fk200": "", "ctx_area_nk200": "", "output1": rows, "output2": summary}
        )

    def _us_present(self, request: Received) -> Answer:
        q = request.query
        if not self._us_tr(request, "present") or not self._account_ok(q):
            return _fail("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO")
        usd = self.ledger.holding("USD")
        row = {"crcy_cd": "USD", "crcy_cd_name": "미국 달러", "frcr_dncl_amt_2": f"{usd:.2f}",
               "frcr_drwg_psbl_amt_1": f"{self.ledger.free.get('USD', 0.0):.2f}",
               "frst_bltn_exrt": f"{self.usd_krw:.4f}", "frcr_evlu_amt2": f"{usd:.2f}"}  # fmt: skip
        totals = {"tot_dncl_amt": f"{usd * self.usd_krw:.0f}", "frcr_evlu_tota": f"{usd:.2f}"}
        return _ok({"output1": [], "output2": [row], "output3": totals})

    # Quotes -----------------------------------------------------------------------------------
    def _listed(self, request: Received) -> str | None:
        symbol, excd = request.query.get("SYMB", ""), request.query.get("EXCD", "")
        listed = self.listings.get(symbol)
        return symbol if listed is not None and QUOTE_CODES[listed] == excd else None

    def _us_price(self, request: Received) -> Answer:
        symbol = self._listed(request)
        last = f"{self.ledger.prices[symbol]:.4f}" if symbol else ""
        rsym = f"D{request.query.get('EXCD', '')}{request.query.get('SYMB', '')}"
        return _ok({"output": {"rsym": rsym, "zdiv": "4" if symbol else "", "last": last,
                               "base": last, "tvol": "0", "ordy": "매도불가" if not symbol else ""}})  # fmt: skip

    def _us_daily(self, request: Received) -> Answer:
        q = request.query
        if request.headers.get("tr_id") != "HHDFS76240000":
            return _fail("OPSQ0002", "없는 서비스 코드 입니다", 500)
        if q.get("GUBN") != "0" or q.get("MODP") not in ("0", "1"):
            return _fail("OPCODE-1", "입력값을 확인하여 주십시오.")
        symbol = self._listed(request)
        frame = self.us_bars.get(symbol or "", pd.DataFrame())
        if q.get("MODP") == "1" and symbol:
            frame = _split_adjusted(frame, self.us_splits.get(symbol, []))
        bymd = q.get("BYMD") or pd.Timestamp(time.time(), unit="s", tz=KST).strftime("%Y%m%d")
        older = frame[frame.index.strftime("%Y%m%d") <= bymd].iloc[::-1]
        days = older.iloc[:100]
        rows = [
            {
                "xymd": ts.strftime("%Y%m%d"),
                "clos": f"{r.close:.4f}",
                "open": f"{r.open:.4f}",
                "high": f"{r.high:.4f}",
                "low": f"{r.low:.4f}",
                "tvol": str(int(r.volume)),
                "tamt": str(int(r.volume * r.close)),
                "sign": "3",
                "diff": "0.0000",
                "rate": "0.00",
            }
            for ts, r in days.iterrows()
        ]
        rsym = f"D{q.get('EXCD', '')}{q.get('SYMB', '')}"
        output1 = {"rsym": rsym, "zdiv": "4", "nrec": str(len(rows))}
        return _ok({"output1": output1, "output2": rows}, more=len(older) > len(days))


def _split_adjusted(frame: pd.DataFrame, splits: list[tuple[str, float]]) -> pd.DataFrame:
    adjusted = frame.copy()
    for ex_date, ratio in splits:
        before = adjusted.index < pd.Timestamp(ex_date, tz="UTC")
        adjusted.loc[before, ["open", "high", "low", "close"]] /= ratio
        adjusted.loc[before, "volume"] *= ratio
    return adjusted


def _ccnl_row(order: LedgerOrder) -> dict[str, Any]:
    created = pd.Timestamp(order.created_at, unit="s", tz="UTC").tz_convert(KST)
    return {
        "ord_dt": created.strftime("%Y%m%d"), "ord_gno_brno": ORG, "odno": order.order_id,
        "orgn_odno": "", "sll_buy_dvsn_cd": "02" if order.side == "buy" else "01",
        "sll_buy_dvsn_cd_name": "매수" if order.side == "buy" else "매도",
        "rvse_cncl_dvsn": "00", "rvse_cncl_dvsn_name": "", "pdno": order.symbol,
        "prdt_name": order.symbol, "ft_ord_qty": str(int(order.quantity)),
        "ft_ord_unpr3": f"{order.price or 0:.8f}", "ft_ccld_qty": str(int(order.filled_quantity)),
        "ft_ccld_unpr3": f"{order.average_price:.8f}", "ft_ccld_amt3": f"{order.quote_filled:.5f}",
        "nccs_qty": str(int(order.remaining)) if order.status == "open" else "0",
        "prcs_stat_name": "완료" if order.status != "open" else "", "rjct_rson": "",
        "ord_tmd": created.strftime("%H%M%S"), "tr_mket_name": "나스닥",
        "ovrs_excg_cd": order.meta.get("exchange", ""), "tr_crcy_cd": "USD",
        "dmst_ord_dt": created.strftime("%Y%m%d"),
    }  # fmt: skip
