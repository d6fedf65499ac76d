"""Korea Investment & Securities (KIS) Open API: US stocks (NASDAQ, NYSE, AMEX), real or mock.

Same host, token flow, answer format (rt_cd / msg_cd / msg1) and error mapping as the domestic
client (`kis.KisBroker`, which this extends); the overseas endpoints
(`koreainvestment/open-trading-api`, overseas_stock):
- `POST /uapi/overseas-stock/v1/trading/order` (buy TTTT1002U, sell TTTT1006U; mock VTTT1002U,
  VTTT1001U): CANO, ACNT_PRDT_CD, OVRS_EXCG_CD (NASD | NYSE | AMEX), PDNO, ORD_QTY,
  OVRS_ORD_UNPR, ORD_SVR_DVSN_CD "0", ORD_DVSN "00" (limit) -> output {KRX_FWDG_ORD_ORGNO, ODNO}.
- `POST .../trading/order-rvsecncl` (TTTT1004U / VTTT1004U), RVSE_CNCL_DVSN_CD "02" = cancel.
- `GET .../trading/inquire-ccnl` (TTTS3035R / VTTS3035R): orders and fills, paged by `tr_cont`
  and CTX_AREA_FK200 / NK200; asked from the day before the US (New York) trading date to the
  Korean date, so a session that crosses midnight KST is covered.
- `GET .../trading/inquire-balance` (TTTS3012R / VTTS3012R): holdings (output1: ovrs_pdno,
  ovrs_cblc_qty, pchs_avg_pric, now_pric2, ovrs_excg_cd, tr_crcy_cd).
- `GET .../trading/inquire-present-balance` (CTRP6504R / VTRP6504R): cash per currency
  (output2: crcy_cd, frcr_dncl_amt_2, frst_bltn_exrt = the KRW rate of the currency).
- `GET /uapi/overseas-price/v1/quotations/price` (HHDFS00000300, EXCD NAS | NYS | AMS, SYMB)
  -> output.last: used to find a symbol's exchange and to price market orders.

KIS takes only limit orders for US stocks over this API (mock accounts only ORD_DVSN "00"), so a
market order goes out as a marketable limit `MARKET_COLLAR` through the last price. Limit
prices are in dollars with 2 decimals (4 under $1): buys round down, sells up, never past the
price asked for. Order codes (NASD / NYSE / AMEX) differ from quote codes (NAS / NYS / AMS); a
symbol's exchange comes from `exchanges`, else from the quote endpoint (first exchange that
quotes it), remembered for the client's life.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from qts.core.errors import ValidationError
from qts.core.types import Order, OrderType, Side, TimeInForce
from qts.execution.brokers.base import Balance, BrokerOrder, BrokerPosition, status_from_fill
from qts.execution.brokers.errors import InvalidSymbolError
from qts.execution.brokers.idempotency import OrderIntent
from qts.execution.brokers.kis import KST, KisBroker
from qts.execution.brokers.rest import Placed, TokenRestBroker, parse_number

ET = ZoneInfo("America/New_York")
ORDER_PATH = "/uapi/overseas-stock/v1/trading/order"
CANCEL_PATH = "/uapi/overseas-stock/v1/trading/order-rvsecncl"
CCNL_PATH = "/uapi/overseas-stock/v1/trading/inquire-ccnl"
BALANCE_PATH = "/uapi/overseas-stock/v1/trading/inquire-balance"
PRESENT_PATH = "/uapi/overseas-stock/v1/trading/inquire-present-balance"
PRICE_PATH = "/uapi/overseas-price/v1/quotations/price"
REAL_TR_IDS = {
    "buy": "TTTT1002U",
    "sell": "TTTT1006U",
    "cancel": "TTTT1004U",
    "ccnl": "TTTS3035R",
    "balance": "TTTS3012R",
    "present": "CTRP6504R",
    "price": "HHDFS00000300",
}
MOCK_TR_IDS = {
    **{k: "V" + v[1:] for k, v in REAL_TR_IDS.items()},
    "sell": "VTTT1001U",  # KIS's mock sell id is not the real one with a V
    "price": "HHDFS00000300",
}
ORDER_EXCHANGES = ("NASD", "NYSE", "AMEX")
QUOTE_CODES = {"NASD": "NAS", "NYSE": "NYS", "AMEX": "AMS"}
EXCHANGE_ALIASES = {
    **{code: code for code in ORDER_EXCHANGES},
    **{quote: order for order, quote in QUOTE_CODES.items()},
    "NASDAQ": "NASD",
    "XNAS": "NASD",
    "XNYS": "NYSE",
    "XASE": "AMEX",
    "ARCA": "AMEX",
    "NYSEARCA": "AMEX",
}
MARKET_COLLAR = 0.005  # a market order's limit: 0.5% through the last price


def kis_exchange(name: str) -> str:
    """A qts or KIS exchange name -> the KIS order code (NASD, NYSE, AMEX)."""
    code = EXCHANGE_ALIASES.get(name.strip().upper())
    if code is None:
        raise ValidationError(f"not a US exchange KIS trades: {name!r} (NASD, NYSE or AMEX)")
    return code


def us_price(price: float | Decimal, side: Side) -> Decimal:
    """A US limit price on its tick ($0.01, or $0.0001 under $1), never past `price`."""
    if not (price > 0 and math.isfinite(price)):
        raise ValidationError(f"a US limit price must be positive, got {price}")
    tick = Decimal("0.01") if price >= 1 else Decimal("0.0001")
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    return (Decimal(str(price)) / tick).to_integral_value(rounding) * tick


class KisOverseasBroker(KisBroker):
    """US stocks at a KIS account; `token_source` shares another KIS client's token and rate
    limiter (KIS issues one token a minute, and counts requests per second, per app key)."""

    name = "kis_overseas"

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        account_no: str,
        *,
        exchanges: Mapping[str, str] | None = None,
        token_source: TokenRestBroker | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app_key, app_secret, account_no, **kwargs)
        self.tr_ids = dict(MOCK_TR_IDS if self.mock else REAL_TR_IDS)
        self._exchanges = {s: kis_exchange(e) for s, e in (exchanges or {}).items()}
        self._token_source = token_source
        if token_source is not None:
            self.bucket = token_source.bucket

    def __repr__(self) -> str:
        return f"KisOverseasBroker(account=****{self.cano[-2:]}, mock={self.mock})"

    def token(self) -> str:
        return self._token_source.token() if self._token_source else super().token()

    def invalidate_token(self, stale: str | None = None) -> None:
        if self._token_source is not None:
            self._token_source.invalidate_token(stale)
        else:
            super().invalidate_token(stale)

    # Quotes and exchanges ----------------------------------------------------------------------
    def quote(self, symbol: str, exchange: str) -> float:
        """The last price on `exchange` (0.0: not quoted there)."""
        params = {"AUTH": "", "EXCD": QUOTE_CODES[kis_exchange(exchange)], "SYMB": symbol}
        data, _ = self._call("GET", PRICE_PATH, self.tr_ids["price"], params=params)
        return parse_number((data.get("output") or {}).get("last"))

    def exchange_of(self, symbol: str) -> str:
        known = self._exchanges.get(symbol)
        if known is not None:
            return known
        for exchange in ORDER_EXCHANGES:
            if self.quote(symbol, exchange) > 0:
                self._exchanges[symbol] = exchange
                return exchange
        raise InvalidSymbolError(
            f"kis: {symbol} is quoted on none of NASDAQ, NYSE, AMEX", broker=self.name
        )

    # Orders -------------------------------------------------------------------------------------
    def submit(self, order: Order) -> BrokerOrder:
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            raise ValidationError("KIS US orders are day limit orders: no IOC or FOK")
        if order.type is OrderType.LIMIT and order.limit_price:
            order = replace(order, limit_price=float(us_price(order.limit_price, order.side)))
        return super().submit(order)

    def _place(self, order: Order) -> Placed:
        exchange = self.exchange_of(order.symbol)
        if order.type is OrderType.LIMIT and order.limit_price:
            price = us_price(order.limit_price, order.side)
        else:
            last = self.quote(order.symbol, exchange)
            if last <= 0:
                raise InvalidSymbolError(f"kis: no price for {order.symbol}", broker=self.name)
            collar = Decimal(str(MARKET_COLLAR))
            band = 1 + collar if order.side is Side.BUY else 1 - collar
            price = us_price(
                Decimal(str(last)) * band, order.side
            )  # within the collar after rounding
        body = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "OVRS_EXCG_CD": exchange,
            "PDNO": order.symbol,
            "ORD_QTY": str(int(order.quantity)),
            "OVRS_ORD_UNPR": format(price, "f"),
            "CTAC_TLNO": "",
            "MGCO_APTM_ODNO": "",
            "SLL_TYPE": "00" if order.side is Side.SELL else "",
            "ORD_SVR_DVSN_CD": "0",
            "ORD_DVSN": "00",
        }
        tr_id = self.tr_ids["buy" if order.side is Side.BUY else "sell"]
        data, _ = self._call("POST", ORDER_PATH, tr_id, json=body, mutating=True)
        output = data.get("output") or {}
        extra = {"orgno": str(output.get("KRX_FWDG_ORD_ORGNO", "")), "exchange": exchange}
        return Placed(str(output["ODNO"]), extra)

    def _cancel(self, intent: OrderIntent) -> None:
        remaining = self.get_order(intent.client_order_id).remaining_quantity
        body = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "OVRS_EXCG_CD": intent.extra.get("exchange") or self.exchange_of(intent.symbol),
            "PDNO": intent.symbol,
            "ORGN_ODNO": intent.broker_order_id,
            "RVSE_CNCL_DVSN_CD": "02",
            "ORD_QTY": str(int(remaining)),
            "OVRS_ORD_UNPR": "0",
            "MGCO_APTM_ODNO": "",
            "ORD_SVR_DVSN_CD": "0",
        }
        self._call("POST", CANCEL_PATH, self.tr_ids["cancel"], json=body, mutating=True)

    def _todays_orders(self) -> list[BrokerOrder]:
        now = self.clock()
        start = datetime.fromtimestamp(now, ET).date() - timedelta(days=1)
        end = datetime.fromtimestamp(now, KST).date()
        everything = "" if self.mock else "%"  # mock accounts refuse "%" (all) here
        params = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "PDNO": everything,
            "ORD_STRT_DT": start.strftime("%Y%m%d"),
            "ORD_END_DT": end.strftime("%Y%m%d"),
            "SLL_BUY_DVSN": "00",
            "CCLD_NCCS_DVSN": "00",
            "OVRS_EXCG_CD": everything,
            "SORT_SQN": "DS",
            "ORD_DT": "",
            "ORD_GNO_BRNO": "",
            "ODNO": "",
        }
        rows: list[dict[str, Any]] = []
        # 20 rows a page on real accounts, 15 on mock ones
        for data in self._pages(CCNL_PATH, self.tr_ids["ccnl"], params, width=200):
            output = data.get("output") or []
            rows.extend(output if isinstance(output, list) else [output])
        return orders_from_ccnl(rows)

    # Balances -----------------------------------------------------------------------------------
    def balances(self) -> list[Balance]:
        """Foreign-currency deposits (USD ...) from inquire-present-balance."""
        return [Balance(c, free=amount) for c, (amount, _) in self._present().items()]

    def krw_rates(self) -> dict[str, float]:
        """KIS's first posted KRW rate per held currency: {"USD/KRW": 1380.5}."""
        return {f"{c}/KRW": rate for c, (_, rate) in self._present().items() if rate > 0}

    def _present(self) -> dict[str, tuple[float, float]]:
        params = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "WCRC_FRCR_DVSN_CD": "02",  # amounts in the foreign currency
            "NATN_CD": "840",  # United States
            "TR_MKET_CD": "00",
            "INQR_DVSN_CD": "00",
        }
        data, _ = self._call("GET", PRESENT_PATH, self.tr_ids["present"], params=params)
        found: dict[str, tuple[float, float]] = {}
        for row in data.get("output2") or []:
            currency = str(row.get("crcy_cd", "")).strip()
            if currency and currency != "KRW":
                found[currency] = (
                    parse_number(row.get("frcr_dncl_amt_2")),
                    parse_number(row.get("frst_bltn_exrt")),
                )
        return found

    def positions(self) -> list[BrokerPosition]:
        # Real accounts answer every US exchange for NASD; mock accounts one exchange a call.
        exchanges = ORDER_EXCHANGES if self.mock else ORDER_EXCHANGES[:1]
        held: dict[str, BrokerPosition] = {}
        for exchange in exchanges:
            for row in self._holdings(exchange):
                symbol = str(row.get("ovrs_pdno", "")).strip()
                quantity = parse_number(row.get("ovrs_cblc_qty"))
                if not symbol or quantity <= 0 or symbol in held:
                    continue
                code = str(row.get("ovrs_excg_cd", "")).strip()
                if code in ORDER_EXCHANGES:
                    self._exchanges.setdefault(symbol, code)
                held[symbol] = BrokerPosition(
                    symbol=symbol,
                    quantity=quantity,
                    average_price=parse_number(row.get("pchs_avg_pric")) or None,
                    market_price=parse_number(row.get("now_pric2")) or None,
                )
        return list(held.values())

    def _holdings(self, exchange: str) -> list[dict[str, Any]]:
        params = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product_code,
            "OVRS_EXCG_CD": exchange,
            "TR_CRCY_CD": "USD",
        }
        pages = self._pages(BALANCE_PATH, self.tr_ids["balance"], params, width=200)
        rows = [row for data in pages for row in data.get("output1") or []]
        return rows


def orders_from_ccnl(rows: list[dict[str, Any]]) -> list[BrokerOrder]:
    """inquire-ccnl rows -> orders; cancel rows (ORGN_ODNO set) mark their original."""
    cancelled = {
        str(r.get("orgn_odno"))
        for r in rows
        if r.get("orgn_odno") and str(r.get("rvse_cncl_dvsn", "")).strip() in ("02", "2")
    }
    orders = []
    for row in rows:
        if row.get("orgn_odno"):
            continue  # a cancel/amend request, not an order of its own
        odno = str(row.get("odno", ""))
        quantity = parse_number(row.get("ft_ord_qty"))
        filled = parse_number(row.get("ft_ccld_qty"))
        rejected = (
            row.get("prcs_stat_name") == "거부" or bool(row.get("rjct_rson"))
        ) and not filled
        status = status_from_fill(quantity, filled, cancelled=odno in cancelled, rejected=rejected)
        price = parse_number(row.get("ft_ord_unpr3"))
        try:
            stamp = f"{row.get('ord_dt', '')}{row.get('ord_tmd', '')}"
            updated: datetime | None = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=KST)
        except ValueError:
            updated = None
        orders.append(
            BrokerOrder(
                client_order_id="",
                broker_order_id=odno,
                symbol=str(row.get("pdno", "")).strip(),
                side=Side.SELL if row.get("sll_buy_dvsn_cd") == "01" else Side.BUY,
                quantity=quantity,
                status=status,
                filled_quantity=filled,
                average_price=parse_number(row.get("ft_ccld_unpr3")) or None,
                order_type=OrderType.LIMIT,
                limit_price=price if price > 0 else None,
                updated_at=updated,
                raw={
                    **row,
                    "_cancel_keys": {
                        "orgno": str(row.get("ord_gno_brno", "")),
                        "exchange": str(row.get("ovrs_excg_cd", "")).strip(),
                    },
                },
            )
        )
    return orders


__all__ = ["KisOverseasBroker", "kis_exchange", "orders_from_ccnl", "us_price"]
