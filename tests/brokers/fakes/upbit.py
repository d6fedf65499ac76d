"""Fake Upbit (KRW market) in Upbit's published format.

Quotation: `GET /v1/market/all`, `/v1/ticker?markets=`, `/v1/candles/minutes/{unit}` and
`/v1/candles/days` (`market`, `to` exclusive, `count` <= 200, newest first). Exchange (JWT
HS256 over {access_key, nonce, query_hash (SHA512 of the query or body), query_hash_alg}):
`GET /v1/accounts`, `POST /v1/orders`, `GET /v1/order` (uuid or identifier, with its trades),
`DELETE /v1/order`, `GET /v1/orders/open`. Errors are `{"error": {"name", "message"}}`: an
order under 5,000 KRW is `under_min_total_bid/ask`, a price off its unit
`invalid_price_bid/ask`, a reused identifier `duplicate_identifier`. Limit orders rest until
the test fills them (`fake.ledger.fill`); market orders fill at `prices[symbol]`.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import pandas as pd

from qts.execution.brokers.upbit_rules import on_unit
from tests.brokers.fakes.ledger import Ledger, LedgerError, LedgerOrder
from tests.brokers.fakes.server import Answer, FakeBrokerServer, Received

NAMES = {"KRW-BTC": ("비트코인", "Bitcoin"), "KRW-ETH": ("이더리움", "Ethereum"),
         "BTC-ETH": ("이더리움", "Ethereum")}  # fmt: skip


def _error(name: str, message: str, status: int = 400) -> Answer:
    return status, {}, {"error": {"name": name, "message": message}}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="seconds")


class FakeUpbit(FakeBrokerServer):
    def __init__(
        self,
        *,
        access_key: str = "upbit-fake-access-key",
        secret_key: str = "upbit-fake-secret-key-of-32-bytes-or-more",
        prices: dict[str, float] | None = None,
        cash: float = 10_000_000.0,
        candles: dict[str, pd.DataFrame] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.access_key, self.secret_key = access_key, secret_key
        self.candles = candles or {}
        self.ledger = Ledger(
            prices=prices or {"KRW-BTC": 135_000_000.0, "KRW-ETH": 4_500_000.0},
            balances={"KRW": cash},
            split=lambda market: (market.split("-")[1], market.split("-")[0]),
            fee_rate=0.0005,
            id_format=lambda n: str(uuid.UUID(int=n)),
        )

    def rate_limited(self, request: Received) -> Answer:
        return _error("too_many_requests", "Too many API requests.", 429)

    # Routes ------------------------------------------------------------------------------------
    def handle(self, request: Received) -> Answer:
        path, method = request.path, request.method
        if path == "/v1/market/all":
            rows = [
                {"market": m, "korean_name": k, "english_name": e} for m, (k, e) in NAMES.items()
            ]
            return 200, {}, rows
        if path == "/v1/ticker":
            return self._ticker(request)
        if path.startswith("/v1/candles/"):
            return self._candles(request)
        refused = self._auth(request)
        if refused is not None:
            return refused
        routes = {
            ("GET", "/v1/accounts"): self._accounts,
            ("POST", "/v1/orders"): self._order,
            ("GET", "/v1/order"): self._get_order,
            ("DELETE", "/v1/order"): self._cancel,
            ("GET", "/v1/orders/open"): self._open,
        }
        route = routes.get((method, path))
        if route is None:
            return _error("not_found", "Not Found", 404)
        return route(request)

    def _auth(self, request: Received) -> Answer | None:
        import jwt

        header = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "), self.secret_key, algorithms=["HS256"]
            )
        except jwt.PyJWTError:
            return _error("jwt_verification", "Jwt 토큰 검증에 실패했습니다.", 401)
        if claims.get("access_key") != self.access_key:
            return _error("invalid_access_key", "잘못된 엑세스 키입니다.", 401)
        fields = request.body if request.method == "POST" else request.query
        if fields:
            raw = (
                "&".join(f"{k}={v}" for k, v in fields.items())
                if request.method == "POST"
                else unquote(request.raw_query)
            )
            if claims.get("query_hash") != hashlib.sha512(raw.encode()).hexdigest():
                return _error("invalid_query_payload", "query_hash가 맞지 않습니다.", 401)
        return None

    # Quotation ---------------------------------------------------------------------------------
    def _ticker(self, request: Received) -> Answer:
        out = []
        for market in request.query.get("markets", "").split(","):
            if market not in self.ledger.prices:
                return _error("404", "Code not found", 404)
            price = self.ledger.prices[market]
            out.append({
                "market": market, "trade_price": price, "opening_price": price,
                "high_price": price, "low_price": price, "prev_closing_price": price,
                "acc_trade_volume_24h": 100.0, "acc_trade_price_24h": 100.0 * price,
                "trade_timestamp": int(datetime.now(UTC).timestamp() * 1000),
            })  # fmt: skip
        return 200, {}, out

    def _candles(self, request: Received) -> Answer:
        market = request.query.get("market", "")
        parts = request.path.strip("/").split("/")  # v1 candles minutes 1 | v1 candles days
        frame = self.candles.get(market)
        if frame is None:
            return _error("404", "Code not found", 404)
        step = (
            pd.Timedelta(minutes=int(parts[3])) if parts[2] == "minutes" else pd.Timedelta(days=1)
        )
        if len(frame) > 1 and frame.index[1] - frame.index[0] != step:
            return _error("400", "this fake serves one candle length only")
        count = min(int(request.query.get("count", 200)), 200)
        to = request.query.get("to")
        chosen = frame[frame.index < pd.Timestamp(to)] if to else frame
        rows = []
        for ts, bar in chosen.tail(count).iloc[::-1].iterrows():
            rows.append({
                "market": market, "candle_date_time_utc": ts.strftime("%Y-%m-%dT%H:%M:%S"),
                "candle_date_time_kst": ts.tz_convert("Asia/Seoul").strftime("%Y-%m-%dT%H:%M:%S"),
                "opening_price": bar["open"], "high_price": bar["high"], "low_price": bar["low"],
                "trade_price": bar["close"], "timestamp": int(ts.value // 1_000_000),
                "candle_acc_trade_price": bar["close"] * bar["volume"],
                "candle_acc_trade_volume": bar["volume"], "unit": int(step.total_seconds() // 60),
            })  # fmt: skip
        return 200, {}, rows

    # Exchange ----------------------------------------------------------------------------------
    def _accounts(self, request: Received) -> Answer:
        with self.ledger.lock:
            assets = sorted(set(self.ledger.free) | set(self.ledger.locked))
            rows = [
                {
                    "currency": a,
                    "balance": f"{self.ledger.free.get(a, 0.0):.8f}",
                    "locked": f"{self.ledger.locked.get(a, 0.0):.8f}",
                    "avg_buy_price": f"{self.ledger.avg_cost.get(a, 0.0):.2f}",
                    "avg_buy_price_modified": False,
                    "unit_currency": "KRW",
                }
                for a in assets
            ]
        return 200, {}, rows

    def _order(self, request: Received) -> Answer:
        body = request.body
        market, side, kind = str(body.get("market")), body.get("side"), body.get("ord_type")
        if market not in self.ledger.prices:
            return _error("market_does_not_exist", "market does not exist")
        if side not in ("bid", "ask") or kind not in ("limit", "price", "market"):
            return _error("validation_error", "side is missing, side does not have a valid value")
        ident = str(body.get("identifier") or "")
        if ident and self.ledger.by_client_id(ident) is not None:
            return _error("duplicate_identifier", "identifier가 중복되었습니다.")
        price = Decimal(str(body.get("price") or "0"))
        volume = Decimal(str(body.get("volume") or "0"))
        value = (
            price
            if kind == "price"
            else volume * (price if kind == "limit" else Decimal(str(self.ledger.prices[market])))
        )
        if kind == "limit" and not on_unit(float(price)):
            return _error(
                f"invalid_price_{side}",
                "주문가격 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.",
            )
        if value < 5000:
            return _error(f"under_min_total_{side}", "최소주문금액 이상으로 주문해주세요")
        last = self.ledger.prices[market]
        quantity = float(price) / last if kind == "price" else float(volume)
        try:
            order = self.ledger.place(
                market, "buy" if side == "bid" else "sell", quantity,
                "limit" if kind == "limit" else "market", float(price) if kind == "limit" else None,
                client_order_id=ident, ord_type=kind, krw=float(price),
            )  # fmt: skip
        except LedgerError:
            asset = "KRW" if side == "bid" else market.split("-")[1]
            return _error(f"insufficient_funds_{side}", f"주문가능한 금액({asset})이 부족합니다.")
        return 201, {}, self._row(order, trades=False)

    def _find(self, request: Received) -> LedgerOrder | None:
        q = request.query
        if q.get("uuid"):
            return self.ledger.orders.get(q["uuid"])
        return self.ledger.by_client_id(q.get("identifier", "")) if q.get("identifier") else None

    def _get_order(self, request: Received) -> Answer:
        order = self._find(request)
        if order is None:
            return _error("order_not_found", "주문을 찾지 못했습니다.", 404)
        return 200, {}, self._row(order, trades=True)

    def _cancel(self, request: Received) -> Answer:
        order = self._find(request)
        if order is None:
            return _error("order_not_found", "주문을 찾지 못했습니다.", 404)
        try:
            self.ledger.cancel(order.order_id)
        except LedgerError:
            return _error("order_not_found", "주문을 찾지 못했습니다.", 404)
        return 200, {}, self._row(order, trades=False)

    def _open(self, request: Received) -> Answer:
        market = request.query.get("market")
        rows = [
            self._row(o, trades=False)
            for o in self.ledger.open_orders()
            if market in (None, o.symbol)
        ]
        return 200, {}, rows

    def _row(self, order: LedgerOrder, trades: bool) -> dict[str, Any]:
        kind = order.meta.get("ord_type", "limit")
        state = {"open": "wait", "filled": "done"}.get(order.status, "cancel")
        fee = sum(f.fee for f in order.fills)
        row: dict[str, Any] = {
            "uuid": order.order_id, "side": "bid" if order.side == "buy" else "ask",
            "ord_type": kind, "price": None, "state": state, "market": order.symbol,
            "created_at": _iso(order.created_at), "volume": f"{order.quantity:.8f}",
            "remaining_volume": f"{order.remaining:.8f}", "reserved_fee": "0", "remaining_fee": "0",
            "paid_fee": f"{fee:.8f}", "locked": "0", "executed_volume": f"{order.filled_quantity:.8f}",
            "trades_count": len(order.fills), "identifier": order.client_order_id or None,
        }  # fmt: skip
        if kind == "limit":
            row["price"] = f"{order.price:.8f}"
        elif kind == "price":
            row.update(price=f"{order.meta['krw']:.8f}", volume=None, remaining_volume=None)
        if trades:
            row["trades"] = [
                {
                    "market": order.symbol,
                    "uuid": str(uuid.UUID(int=f.fill_id)),
                    "price": f"{f.price:.8f}",
                    "volume": f"{f.quantity:.8f}",
                    "funds": f"{f.price * f.quantity:.8f}",
                    "side": row["side"],
                    "created_at": _iso(f.ts),
                }
                for f in order.fills
            ]
        return row
