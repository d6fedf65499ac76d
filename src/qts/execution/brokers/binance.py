"""Binance spot through ccxt (`ccxt.binance`); testnet selectable with `testnet=True`.

Idempotency uses Binance's own `newClientOrderId` = the qts client order id. After a timeout
the order is looked up by `origClientOrderId` before it is sent again: Binance refuses a
duplicate id only while the first order is open, so a filled first order would otherwise be
doubled. Symbols are ccxt's unified form ("BTC/USDT"); "BTCUSDT" is accepted on input.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from qts.core.errors import ConfigurationError
from qts.core.types import Order, OrderStatus, OrderType, Side, TimeInForce
from qts.execution.brokers.base import (
    Balance,
    Broker,
    BrokerOrder,
    BrokerPosition,
    validate_order,
)
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

STATUS = {
    "NEW": OrderStatus.SUBMITTED,
    "PENDING_NEW": OrderStatus.SUBMITTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "PENDING_CANCEL": OrderStatus.SUBMITTED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
TIME_IN_FORCE = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.DAY: "GTC",
}


def _retarget(urls: Any, base_url: str) -> Any:
    """Point every ccxt API URL at `base_url`, keeping each one's path (for local fakes)."""
    if isinstance(urls, dict):
        return {key: _retarget(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        return base_url.rstrip("/") + urlsplit(urls).path
    return urls


class BinanceBroker(Broker):
    name = "binance"

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        testnet: bool = False,
        base_url: str | None = None,
        timeout_s: float = 10.0,
        rate_per_s: float = 10.0,
        retry: RetryPolicy | None = None,
        quote_asset: str = "USDT",
    ) -> None:
        super().__init__()
        if not api_key or not secret:
            raise ConfigurationError("Binance needs an API key and a secret")
        import ccxt

        self._ccxt = ccxt
        self.exchange = ccxt.binance(
            {
                "apiKey": api_key,
                "secret": secret,
                "enableRateLimit": False,  # our shared token bucket spaces the calls
                "timeout": int(timeout_s * 1000),
                "options": {
                    "defaultType": "spot",
                    "fetchMarkets": {"types": ["spot"]},
                    "fetchCurrencies": False,
                    "fetchMargins": False,
                    "warnOnFetchOpenOrdersWithoutSymbol": False,
                    "adjustForTimeDifference": False,
                },
            }
        )
        if testnet:
            self.exchange.set_sandbox_mode(True)
        if base_url:
            self.exchange.urls["api"] = _retarget(self.exchange.urls["api"], base_url)
        self.testnet = testnet
        self.quote_asset = quote_asset
        self.bucket = TokenBucket(rate_per_s, capacity=1.0)  # no bursts: brokers count per window
        self.retry = retry or RetryPolicy()
        self._markets_lock = threading.Lock()
        self._symbols: dict[str, str] = {}  # client order id -> unified symbol

    def __repr__(self) -> str:
        return f"BinanceBroker(testnet={self.testnet})"

    # ccxt calls with rate limiting, retries and error mapping --------------------------------
    def _call(self, method: str, *args: Any, mutating: bool = False, **kwargs: Any) -> Any:
        return call_with_retries(
            self.exchange,
            method,
            args,
            kwargs,
            broker=self.name,
            bucket=self.bucket,
            retry=self.retry,
            mutating=mutating,
            map_error=_map_error,
        )

    def _markets(self) -> dict[str, Any]:
        with self._markets_lock:
            if not self.exchange.markets:
                self._call("load_markets")
            return self.exchange.markets

    def unified_symbol(self, symbol: str) -> str:
        markets = self._markets()
        if symbol in markets:
            return symbol
        by_id = self.exchange.markets_by_id or {}
        if symbol in by_id:
            return str(by_id[symbol][0]["symbol"])
        raise InvalidSymbolError(f"binance: unknown symbol {symbol!r}", broker=self.name)

    # Broker interface ------------------------------------------------------------------------
    def submit(self, order: Order) -> BrokerOrder:
        validate_order(order)
        symbol = self.unified_symbol(order.symbol)
        params: dict[str, Any] = {"newClientOrderId": order.client_order_id}
        if order.type is OrderType.LIMIT:
            params["timeInForce"] = TIME_IN_FORCE[order.time_in_force]
        kind = "limit" if order.type is OrderType.LIMIT else "market"
        for attempt in range(self.retry.max_attempts):
            try:
                raw = self._call(
                    "create_order",
                    symbol,
                    kind,
                    order.side.value,
                    order.quantity,
                    order.limit_price if kind == "limit" else None,
                    params,
                    mutating=True,
                )
            except UnknownOutcomeError:
                try:
                    return self.get_order(order.client_order_id, symbol=symbol)
                except OrderNotFoundError:
                    if attempt == self.retry.max_attempts - 1:
                        raise
                    self.retry.wait(attempt)
                    continue
            except OrderRejectedError as exc:
                if "duplicate" not in str(exc).lower():
                    raise
                return self.get_order(order.client_order_id, symbol=symbol)
            result = self._from_ccxt(raw, order.client_order_id)
            self.track(result)
            return result
        raise AssertionError("unreachable")

    def get_order(self, client_order_id: str, symbol: str | None = None) -> BrokerOrder:
        symbol = symbol or self._symbol_of(client_order_id)
        raw = self._call("fetch_order", "", symbol, {"origClientOrderId": client_order_id})
        result = self._from_ccxt(raw, client_order_id)
        self.track(result)
        return result

    def cancel(self, client_order_id: str, symbol: str | None = None) -> BrokerOrder:
        symbol = symbol or self._symbol_of(client_order_id)
        # already finished, or the cancel's fate unknown: the order's state tells
        with contextlib.suppress(OrderNotFoundError, OrderRejectedError, UnknownOutcomeError):
            self._call(
                "cancel_order", "", symbol, {"origClientOrderId": client_order_id}, mutating=True
            )
        return self.get_order(client_order_id, symbol=symbol)

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        unified = self.unified_symbol(symbol) if symbol else None
        raws = self._call("fetch_open_orders", unified)
        return [self._from_ccxt(raw, str(raw.get("clientOrderId") or "")) for raw in raws]

    def balances(self) -> list[Balance]:
        raw = self._call("fetch_balance")
        result = []
        for row in raw.get("info", {}).get("balances", []):
            free, locked = float(row.get("free", 0)), float(row.get("locked", 0))
            if free or locked:
                result.append(Balance(str(row["asset"]), free=free, locked=locked))
        return result

    def positions(self) -> list[BrokerPosition]:
        markets = self._markets()
        positions = []
        for balance in self.balances():
            symbol = f"{balance.asset}/{self.quote_asset}"
            if balance.asset != self.quote_asset and symbol in markets:
                positions.append(BrokerPosition(symbol=symbol, quantity=balance.total))
        return positions

    # Helpers ---------------------------------------------------------------------------------
    def _symbol_of(self, client_order_id: str) -> str:
        with self._tracked_lock:
            known = self._symbols.get(client_order_id)
        if known:
            return str(known)
        raise OrderNotFoundError(
            f"binance: symbol of order {client_order_id!r} unknown; pass symbol=",
            broker=self.name,
        )

    def track(self, order: BrokerOrder) -> None:
        with self._tracked_lock:
            self._symbols[order.client_order_id] = order.symbol
        super().track(order)

    def _from_ccxt(self, raw: dict[str, Any], client_order_id: str) -> BrokerOrder:
        info = raw.get("info") or {}
        status = STATUS.get(str(info.get("status", "")).upper())
        filled = float(raw.get("filled") or 0.0)
        if status is None:
            status = {
                "closed": OrderStatus.FILLED,
                "canceled": OrderStatus.CANCELLED,
                "rejected": OrderStatus.REJECTED,
                "expired": OrderStatus.EXPIRED,
            }.get(
                str(raw.get("status")),
                OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.SUBMITTED,
            )
        fee = raw.get("fee") or {}
        stamp = raw.get("lastUpdateTimestamp") or raw.get("timestamp")
        order_type = OrderType.LIMIT if raw.get("type") == "limit" else OrderType.MARKET
        return BrokerOrder(
            client_order_id=client_order_id or str(raw.get("clientOrderId") or ""),
            broker_order_id=str(raw.get("id") or ""),
            symbol=str(raw.get("symbol") or ""),
            side=Side(str(raw.get("side") or "buy")),
            quantity=float(raw.get("amount") or 0.0),
            status=status,
            filled_quantity=filled,
            average_price=float(raw["average"]) if raw.get("average") else None,
            order_type=order_type,
            limit_price=float(raw["price"])
            if order_type is OrderType.LIMIT and raw.get("price")
            else None,
            fee=float(fee.get("cost") or 0.0),
            fee_asset=str(fee.get("currency") or ""),
            updated_at=datetime.fromtimestamp(stamp / 1000, UTC) if stamp else None,
            raw=info,
        )


def _map_error(exc: Exception) -> BrokerError:
    import ccxt

    text = f"binance: {exc}"
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientFundsError(text, broker="binance")
    if isinstance(exc, ccxt.BadSymbol):
        return InvalidSymbolError(text, broker="binance")
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderNotFoundError(text, broker="binance")
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return BrokerAuthError(text, broker="binance")
    if isinstance(exc, ccxt.InvalidOrder | ccxt.BadRequest | ccxt.DuplicateOrderId):
        return OrderRejectedError(text, broker="binance")
    return BrokerError(text, broker="binance")
