"""Fake Binance spot REST API (/api/v3), in Binance's published format: signed private
endpoints (X-MBX-APIKEY header, HMAC-SHA256 `signature` over the query and body, checked),
order objects with clientOrderId / executedQty / cummulativeQuoteQty / status, errors as
{"code": -NNNN, "msg": ...} (-1121 invalid symbol, -2010 insufficient balance or duplicate
order, -2011 / -2013 unknown order, -1022 bad signature) and 429 + Retry-After for -1003.

Public market data too: `time`, `exchangeInfo` (every symbol priced or with bars) and `klines`
from the bars frames given at construction or by `set_bars` (see `binance_market`). Scripted
answers such as a 418 ban go through the base's faults:
`fake.inject("answer", api=KLINES, answer=(418, {"Retry-After": "7"}, {...}))`."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any

import pandas as pd

from tests.brokers.fakes.binance_market import (
    error,
    exchange_info,
    klines,
    split_symbol,
)
from tests.brokers.fakes.ledger import Ledger, LedgerError, LedgerOrder
from tests.brokers.fakes.server import Answer, FakeBrokerServer, Received

STATUS = {
    "open": "NEW",
    "filled": "FILLED",
    "cancelled": "CANCELED",
    "rejected": "REJECTED",
    "expired": "EXPIRED",
}
_SIGNATURE = re.compile(r"&?signature=([0-9a-fA-F]+)")
KLINES = "GET /api/v3/klines"


def _num(value: float) -> str:
    return f"{value:.8f}"


class FakeBinanceSpot(FakeBrokerServer):
    def __init__(
        self,
        *,
        api_key: str = "fake-binance-api-key",
        secret: str = "fake-binance-secret",
        prices: dict[str, float] | None = None,
        balances: dict[str, float] | None = None,
        fee_rate: float = 0.0,
        bars: dict[str, pd.DataFrame] | None = None,
        bars_interval: str = "1h",
        **kwargs: Any,
    ) -> None:
        """`bars` maps symbol ids (`BTCUSDT`) to bars frames (UTC open times, OHLCV columns) at
        `bars_interval`; without `prices`, a symbol with bars is priced at its last close."""
        super().__init__(**kwargs)
        self.api_key, self.secret = api_key, secret
        self.bars = dict(bars or {})
        self.bars_interval = bars_interval
        if prices is None and self.bars:
            prices = {s: float(frame["close"].iloc[-1]) for s, frame in self.bars.items()}
        self.ledger = Ledger(
            prices=prices or {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0},
            balances=balances if balances is not None else {"USDT": 100_000.0, "BTC": 0.5},
            split=split_symbol,
            fee_rate=fee_rate,
            id_format=lambda n: str(1_000_000 + n),
        )

    def set_bars(self, symbol: str, frame: pd.DataFrame) -> None:
        self.bars[symbol] = frame

    @property
    def symbols(self) -> list[str]:
        return sorted(set(self.ledger.prices) | set(self.bars))

    def api_of(self, request: Received) -> str:
        return f"{request.method} {request.path}"

    def rate_limited(self, request: Received) -> Answer:
        return (
            429,
            {"Retry-After": "1"},
            {
                "code": -1003,
                "msg": "Too many requests; current limit of IP(127.0.0.1) request weight is 6000 "
                "per 1 MINUTE. Please use WebSocket Streams for live updates to avoid bans.",
            },
        )

    # Routes -----------------------------------------------------------------------------------
    def handle(self, request: Received) -> Answer:
        if request.path == "/api/v3/exchangeInfo":
            return 200, {}, exchange_info(self.symbols)
        if request.path == "/api/v3/klines":
            return klines(self.bars, self.bars_interval, request.query)
        if request.path == "/api/v3/time":
            return 200, {}, {"serverTime": int(time.time() * 1000)}
        denied = self._check_signature(request)
        if denied is not None:
            return denied
        params = {**request.query, **request.body}
        routes = {
            ("POST", "/api/v3/order"): self._new_order,
            ("GET", "/api/v3/order"): self._query_order,
            ("DELETE", "/api/v3/order"): self._cancel_order,
            ("GET", "/api/v3/openOrders"): self._open_orders,
            ("GET", "/api/v3/account"): self._account,
            ("GET", "/api/v3/myTrades"): self._my_trades,
        }
        route = routes.get((request.method, request.path))
        if route is None:
            return error(-1000, "An unknown error occurred while processing the request.", 404)
        return route(params)

    def _check_signature(self, request: Received) -> Answer | None:
        if request.headers.get("x-mbx-apikey") != self.api_key:
            return error(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        total = request.raw_query + request.raw_body.decode()
        match = _SIGNATURE.search(total)
        if match is None or "timestamp=" not in total:
            return error(
                -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        signed = _SIGNATURE.sub("", total)
        expected = hmac.new(self.secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, match.group(1).lower()):
            return error(-1022, "Signature for this request is not valid.")
        return None

    def _find(self, params: dict[str, str]) -> LedgerOrder | None:
        if params.get("origClientOrderId"):
            order = self.ledger.by_client_id(params["origClientOrderId"])
        else:
            order = self.ledger.orders.get(str(params.get("orderId", "")))
        if order is not None and params.get("symbol") and order.symbol != params["symbol"]:
            return None
        return order

    def _render(self, order: LedgerOrder, *, full: bool = False) -> dict[str, Any]:
        status = STATUS[order.status]
        if order.status == "open" and order.filled_quantity > 0:
            status = "PARTIALLY_FILLED"
        body: dict[str, Any] = {
            "symbol": order.symbol,
            "orderId": int(order.order_id),
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "price": _num(order.price or 0.0),
            "origQty": _num(order.quantity),
            "executedQty": _num(order.filled_quantity),
            "cummulativeQuoteQty": _num(order.quote_filled),
            "status": status,
            "timeInForce": order.time_in_force.upper(),
            "type": order.order_type.upper(),
            "side": order.side.upper(),
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": int(order.created_at * 1000),
            "updateTime": int(order.updated_at * 1000),
            "isWorking": True,
            "workingTime": int(order.created_at * 1000),
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if full:
            body["transactTime"] = body.pop("updateTime")
            _, quote = split_symbol(order.symbol)
            body["fills"] = [
                {
                    "price": _num(f.price),
                    "qty": _num(f.quantity),
                    "commission": _num(f.fee),
                    "commissionAsset": quote,
                    "tradeId": f.fill_id,
                }
                for f in order.fills
            ]
        return body

    def _new_order(self, params: dict[str, str]) -> Answer:
        symbol, side, kind = params.get("symbol", ""), params.get("side", ""), params.get("type")
        client_id = params.get("newClientOrderId") or f"fake-{time.monotonic_ns()}"
        if not re.fullmatch(r"[.A-Za-z0-9:/_-]{1,36}", client_id):
            return error(-1100, "Illegal characters found in parameter 'newClientOrderId'.")
        with self.ledger.lock:
            existing = self.ledger.by_client_id(client_id)
            if existing is not None and existing.status == "open":
                return error(-2010, "Duplicate order sent.")
            if kind not in ("MARKET", "LIMIT") or side not in ("BUY", "SELL"):
                return error(-1116, "Invalid orderType.")
            try:
                quantity = float(params.get("quantity", "0"))
                price = float(params["price"]) if kind == "LIMIT" else None
                order = self.ledger.place(
                    symbol,
                    side.lower(),
                    quantity,
                    kind.lower(),
                    price,
                    client_order_id=client_id,
                    time_in_force=params.get("timeInForce", "GTC").lower(),
                )
            except KeyError:
                return error(-1102, "Mandatory parameter 'price' was not sent.")
            except LedgerError as exc:
                if exc.kind == "invalid_symbol":
                    return error(-1121, "Invalid symbol.")
                if exc.kind == "insufficient_funds":
                    return error(-2010, "Account has insufficient balance for requested action.")
                return error(-1013, "Filter failure: LOT_SIZE")
            return 200, {}, self._render(order, full=True)

    def _query_order(self, params: dict[str, str]) -> Answer:
        with self.ledger.lock:
            order = self._find(params)
            if order is None:
                return error(-2013, "Order does not exist.")
            return 200, {}, self._render(order)

    def _cancel_order(self, params: dict[str, str]) -> Answer:
        with self.ledger.lock:
            order = self._find(params)
            if order is None or order.status != "open":
                return error(-2011, "Unknown order sent.")
            self.ledger.cancel(order.order_id)
            body = self._render(order)
            body["origClientOrderId"] = order.client_order_id
            return 200, {}, body

    def _open_orders(self, params: dict[str, str]) -> Answer:
        symbol = params.get("symbol")
        with self.ledger.lock:
            orders = [
                self._render(o)
                for o in self.ledger.open_orders()
                if symbol is None or o.symbol == symbol
            ]
        return 200, {}, orders

    def _account(self, params: dict[str, str]) -> Answer:
        with self.ledger.lock:
            assets = sorted(set(self.ledger.free) | set(self.ledger.locked))
            balances = [
                {
                    "asset": a,
                    "free": _num(self.ledger.free.get(a, 0.0)),
                    "locked": _num(self.ledger.locked.get(a, 0.0)),
                }
                for a in assets
            ]
        return (
            200,
            {},
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": int(time.time() * 1000),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": 354937868,
            },
        )

    def _my_trades(self, params: dict[str, str]) -> Answer:
        symbol = params.get("symbol", "")
        with self.ledger.lock:
            trades = []
            for order in self.ledger.orders.values():
                if order.symbol != symbol or (
                    params.get("orderId") and order.order_id != params["orderId"]
                ):
                    continue
                _, quote = split_symbol(symbol)
                for f in order.fills:
                    trades.append(
                        {
                            "symbol": symbol,
                            "id": f.fill_id,
                            "orderId": int(order.order_id),
                            "orderListId": -1,
                            "price": _num(f.price),
                            "qty": _num(f.quantity),
                            "quoteQty": _num(f.price * f.quantity),
                            "commission": _num(f.fee),
                            "commissionAsset": quote,
                            "time": int(f.ts * 1000),
                            "isBuyer": order.side == "buy",
                            "isMaker": order.order_type == "limit",
                            "isBestMatch": True,
                        }
                    )
        return 200, {}, trades
