"""Upbit (KRW crypto) through ccxt (`ccxt.upbit`): orders, balances and positions.

Before anything is sent, an order is brought to Upbit's KRW rules (`upbit_rules`): a limit
price onto its price unit (buys down, sells up), the volume to 8 decimals, and an order worth
under 5,000 KRW refused. A market buy is sent the way Upbit takes it, as a KRW amount
(`ord_type=price`: quantity x the ticker's last price, whole won). Idempotency uses Upbit's
`identifier` = the qts client order id (unique per account forever): after a timeout the order
is looked up by identifier before it is sent again. Symbols are ccxt's ("BTC/KRW");
"KRW-BTC" is accepted on input.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from qts.core.errors import ConfigurationError, ValidationError
from qts.core.types import Order, OrderStatus, OrderType, Side, TimeInForce
from qts.execution.brokers.base import Balance, Broker, BrokerOrder, BrokerPosition, validate_order
from qts.execution.brokers.ccxt_calls import call_with_retries
from qts.execution.brokers.errors import (
    BrokerAuthError,
    BrokerError,
    InsufficientFundsError,
    InvalidSymbolError,
    OrderNotFoundError,
    OrderRejectedError,
    UnknownOutcomeError,
)
from qts.execution.brokers.ratelimit import RetryPolicy, TokenBucket
from qts.execution.brokers.upbit_rules import check_value, floor_volume, round_price

STATUS = {"wait": OrderStatus.SUBMITTED, "watch": OrderStatus.SUBMITTED}


class UpbitBroker(Broker):
    name = "upbit"

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        *,
        base_url: str | None = None,
        timeout_s: float = 10.0,
        rate_per_s: float = 8.0,  # Upbit: 8 order requests a second
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        if not access_key or not secret_key:
            raise ConfigurationError("Upbit needs an access key and a secret key")
        import ccxt

        self._ccxt = ccxt
        self.exchange = ccxt.upbit(
            {
                "apiKey": access_key,
                "secret": secret_key,
                "enableRateLimit": False,  # our token bucket spaces the calls
                "timeout": int(timeout_s * 1000),
            }
        )
        if base_url:
            self.exchange.urls["api"] = {"public": base_url.rstrip("/"), "private": base_url}
        self.bucket = TokenBucket(rate_per_s, capacity=1.0)
        self.retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        return "UpbitBroker()"

    def _call(self, method: str, *args: Any, mutating: bool = False) -> Any:
        return call_with_retries(
            self.exchange,
            method,
            args,
            {},
            broker=self.name,
            bucket=self.bucket,
            retry=self.retry,
            mutating=mutating,
            map_error=_map_error,
        )

    def market_id(self, symbol: str) -> str:
        if "/" in symbol:
            base, quote = symbol.split("/", 1)
            return f"{quote}-{base}"
        return symbol

    def symbol_of(self, market_id: str) -> str:
        quote, base = market_id.split("-", 1)
        return f"{base}/{quote}"

    # Orders --------------------------------------------------------------------------------
    def prepare(self, order: Order) -> dict[str, Any]:
        """The Upbit request for `order`, within Upbit's KRW rules (ValidationError if it
        cannot be)."""
        validate_order(order)
        market = self.market_id(order.symbol)
        if not market.startswith("KRW-"):
            raise ValidationError(f"upbit: only KRW markets are supported, not {market}")
        side = "bid" if order.side is Side.BUY else "ask"
        request: dict[str, Any] = {
            "market": market,
            "side": side,
            "identifier": order.client_order_id,
        }
        volume = floor_volume(order.quantity)
        if order.type is OrderType.LIMIT:
            assert order.limit_price is not None
            price = round_price(order.limit_price, order.side.value)
            check_value(price * volume)
            request.update(ord_type="limit", price=f"{price:f}".rstrip("0").rstrip("."))
            request["volume"] = f"{volume:.8f}"
            if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                request["time_in_force"] = order.time_in_force.value
            return request
        last = float(self._call("fetch_ticker", self.symbol_of(market))["last"])
        if order.side is Side.BUY:
            amount = float(int(volume * last))
            check_value(amount, "market buy")
            request.update(ord_type="price", price=str(int(amount)))
        else:
            check_value(volume * last, "market sell")
            request.update(ord_type="market", volume=f"{volume:.8f}")
        return request

    def submit(self, order: Order) -> BrokerOrder:
        request = self.prepare(order)
        for attempt in range(self.retry.max_attempts):
            try:
                raw = self._call("privatePostOrders", request, mutating=True)
            except UnknownOutcomeError:
                try:
                    return self.get_order(order.client_order_id)
                except OrderNotFoundError:
                    if attempt == self.retry.max_attempts - 1:
                        raise
                    self.retry.wait(attempt)
                    continue
            except OrderRejectedError as exc:
                if "identifier" not in str(exc).lower():
                    raise
                return self.get_order(order.client_order_id)  # sent before: adopt it
            result = self._from_raw(raw, order)
            if result.filled_quantity > 0 and result.average_price is None:
                return self.get_order(order.client_order_id)  # the answer has no trades
            self.track(result)
            return result
        raise AssertionError("unreachable")

    def get_order(self, client_order_id: str) -> BrokerOrder:
        raw = self._call("privateGetOrder", {"identifier": client_order_id})
        result = self._from_raw(raw)
        self.track(result)
        return result

    def cancel(self, client_order_id: str) -> BrokerOrder:
        with contextlib.suppress(OrderNotFoundError, OrderRejectedError, UnknownOutcomeError):
            self._call("privateDeleteOrder", {"identifier": client_order_id}, mutating=True)
        return self.get_order(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        params: dict[str, Any] = {"state": "wait"}
        if symbol:
            params["market"] = self.market_id(symbol)
        return [self._from_raw(raw) for raw in self._call("privateGetOrdersOpen", params)]

    def balances(self) -> list[Balance]:
        rows = self._call("privateGetAccounts")
        return [
            Balance(str(r["currency"]), free=float(r["balance"]), locked=float(r["locked"]))
            for r in rows
            if float(r["balance"]) or float(r["locked"])
        ]

    def positions(self) -> list[BrokerPosition]:
        rows = self._call("privateGetAccounts")
        return [
            BrokerPosition(
                symbol=f"{r['currency']}/KRW",
                quantity=float(r["balance"]) + float(r["locked"]),
                average_price=float(r.get("avg_buy_price") or 0) or None,
            )
            for r in rows
            if r["currency"] != "KRW" and (float(r["balance"]) or float(r["locked"]))
        ]

    def _from_raw(self, raw: dict[str, Any], order: Order | None = None) -> BrokerOrder:
        parsed = self.exchange.parse_order(raw)
        state = str(raw.get("state", ""))
        filled = float(raw.get("executed_volume") or 0.0)
        volume = raw.get("volume")
        quantity = float(volume) if volume else (order.quantity if order else filled)
        if state == "done":
            status = OrderStatus.FILLED
        elif state == "cancel":
            status = OrderStatus.CANCELLED if filled < quantity - 1e-12 else OrderStatus.FILLED
            if raw.get("ord_type") == "price" and filled > 0:
                status = OrderStatus.FILLED  # a market buy's leftover KRW is returned as cancel
        else:
            status = STATUS.get(state, OrderStatus.SUBMITTED)
            if status is OrderStatus.SUBMITTED and filled > 0:
                status = OrderStatus.PARTIALLY_FILLED
        if raw.get("ord_type") == "price" and status is OrderStatus.FILLED:
            quantity = filled  # bought with a KRW amount: what it bought is the quantity
        limit = raw.get("price") if raw.get("ord_type") == "limit" else None
        created = raw.get("created_at")
        return BrokerOrder(
            client_order_id=str(raw.get("identifier") or (order.client_order_id if order else "")),
            broker_order_id=str(raw.get("uuid") or ""),
            symbol=self.symbol_of(str(raw.get("market"))),
            side=Side.BUY if raw.get("side") == "bid" else Side.SELL,
            quantity=quantity,
            status=status,
            filled_quantity=filled,
            average_price=float(parsed["average"]) if parsed.get("average") else None,
            order_type=OrderType.LIMIT if limit else OrderType.MARKET,
            limit_price=float(limit) if limit else None,
            fee=float(raw.get("paid_fee") or 0.0),
            fee_asset="KRW",
            updated_at=datetime.fromisoformat(created).astimezone(UTC) if created else None,
            raw=raw,
        )


def _map_error(exc: Exception) -> BrokerError:
    import ccxt

    text = f"upbit: {exc}"
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientFundsError(text, broker="upbit")
    if isinstance(exc, ccxt.BadSymbol) or "market does not exist" in str(exc):
        return InvalidSymbolError(text, broker="upbit")
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderNotFoundError(text, broker="upbit")
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied):
        return BrokerAuthError(text, broker="upbit")
    return OrderRejectedError(text, broker="upbit")
