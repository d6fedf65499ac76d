"""Shared machinery of the token-authenticated REST brokers (KIS, Kiwoom).

`TokenRestBroker` holds the `httpx.Client`, the OAuth token (reused until a minute before it
expires, refreshed on an expiry answer), the shared token bucket and retry policy, and the
idempotent submit algorithm for brokers that have no client order id field:

1. write the intent (symbol, side, quantity, price) under the client order id;
2. send the order; on an answer, record the broker's order number;
3. on an unknown outcome (timeout, dropped connection), look up today's orders for a match
   nobody has claimed and adopt it; only if none exists send again.

A second `submit` with the same client order id (after a crash, say) starts at step 3 when the
journal has an intent without an order number, and returns the known order when it has one.
"""

from __future__ import annotations

import threading
import time
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from qts.core.errors import ValidationError
from qts.core.types import Order, OrderStatus
from qts.execution.brokers.base import Broker, BrokerOrder, validate_order
from qts.execution.brokers.errors import (
    AuthExpiredError,
    BrokerError,
    BrokerRateLimitedError,
    BrokerUnavailableError,
    DuplicateOrderError,
    OrderNotFoundError,
    UnknownOutcomeError,
)
from qts.execution.brokers.idempotency import InMemoryOrderIdStore, OrderIdStore, OrderIntent
from qts.execution.brokers.ratelimit import RetryPolicy, TokenBucket

TOKEN_REFRESH_MARGIN_S = 60.0


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # epoch seconds

    def __repr__(self) -> str:  # never print the token itself
        return f"AccessToken(expires_at={self.expires_at:.0f})"


@dataclass(frozen=True)
class Placed:
    """What the broker answered to an order: its number and anything needed to cancel it."""

    broker_order_id: str
    extra: dict[str, Any]


class TokenRestBroker(Broker):
    """Base of KIS and Kiwoom clients; subclasses supply the broker's requests and formats."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        rate_per_s: float = 5.0,
        retry: RetryPolicy | None = None,
        store: OrderIdStore | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)
        self.bucket = TokenBucket(rate_per_s, capacity=1.0)  # no bursts: brokers count per window
        self.retry = retry or RetryPolicy()
        self.store: OrderIdStore = store if store is not None else InMemoryOrderIdStore()
        self.clock = clock
        self._token: AccessToken | None = None
        self._token_lock = threading.Lock()
        self._submit_locks: dict[str, threading.Lock] = {}
        self._submit_locks_guard = threading.Lock()
        self.token_issues = 0  # how many tokens this client asked for (visible to tests/metrics)

    # Broker-specific parts --------------------------------------------------------------------
    @abstractmethod
    def _issue_token(self) -> AccessToken: ...

    @abstractmethod
    def _classify(self, response: httpx.Response, body: dict[str, Any]) -> BrokerError | None:
        """The broker error an answer carries, or None for success."""

    @abstractmethod
    def _place(self, order: Order) -> Placed: ...

    @abstractmethod
    def _cancel(self, intent: OrderIntent) -> None: ...

    @abstractmethod
    def _todays_orders(self) -> list[BrokerOrder]:
        """Every order of the broker's current trading day (client_order_id left empty)."""

    # Tokens -----------------------------------------------------------------------------------
    def token(self) -> str:
        with self._token_lock:
            token = self._token
            if token is None or self.clock() >= token.expires_at - TOKEN_REFRESH_MARGIN_S:
                token = self._issue_token()
                self.token_issues += 1
                self._token = token
            return token.value

    def invalidate_token(self, stale: str | None = None) -> None:
        with self._token_lock:
            if self._token is not None and (stale is None or self._token.value == stale):
                self._token = None

    # HTTP with rate limiting, token refresh and retries ---------------------------------------
    @abstractmethod
    def _headers(self, token: str, api: str, page_key: str | None) -> dict[str, str]: ...

    def _call(
        self,
        method: str,
        path: str,
        api: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        page_key: str | None = None,
        mutating: bool = False,
    ) -> tuple[dict[str, Any], httpx.Headers]:
        """One logical request; `mutating` requests are never blindly re-sent after a timeout."""
        refreshed = False
        attempt = 0
        while True:
            token = self.token()  # may itself take a request (and a bucket token) first
            self.bucket.acquire()
            try:
                response = self._http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    headers=self._headers(token, api, page_key),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # the request never reached the broker: safe to retry even for orders
                error: BrokerError = BrokerUnavailableError(
                    f"{self.name}: cannot connect ({type(exc).__name__})", broker=self.name
                )
                never_sent = True
            except httpx.TransportError as exc:
                if mutating:
                    raise UnknownOutcomeError(
                        f"{self.name}: no answer to {api} ({type(exc).__name__}); "
                        "the order may or may not exist",
                        broker=self.name,
                    ) from exc
                error = BrokerUnavailableError(
                    f"{self.name}: {api} failed ({type(exc).__name__})", broker=self.name
                )
                never_sent = False
            else:
                body = _json_body(response)
                classified = self._classify(response, body)
                if classified is None:
                    return body, response.headers
                error, never_sent = classified, False
            if isinstance(error, AuthExpiredError) and not refreshed:
                refreshed = True
                self.invalidate_token(token)
                continue
            if isinstance(error, BrokerUnavailableError) and mutating and not never_sent:
                raise UnknownOutcomeError(
                    f"{self.name}: server error on {api}; the order may or may not exist",
                    broker=self.name,
                    broker_code=error.broker_code,
                )
            retryable = isinstance(error, (BrokerRateLimitedError, BrokerUnavailableError))
            if not retryable or attempt >= self.retry.max_attempts - 1:
                raise error
            retry_after = getattr(error, "retry_after_s", None)
            if isinstance(error, BrokerRateLimitedError):
                # everyone sharing the bucket backs off, not only this thread
                self.bucket.penalize(
                    min(retry_after or self.retry.base_delay_s, self.retry.max_delay_s)
                )
            self.retry.wait(attempt, retry_after)
            attempt += 1

    # Idempotent submit ------------------------------------------------------------------------
    def _lock_for(self, client_order_id: str) -> threading.Lock:
        with self._submit_locks_guard:
            return self._submit_locks.setdefault(client_order_id, threading.Lock())

    def submit(self, order: Order) -> BrokerOrder:
        validate_order(order, whole_shares=True)
        with self._lock_for(order.client_order_id):
            intent = self.store.get(order.client_order_id)
            if intent is not None:
                _check_same_order(intent, order)
                if intent.broker_order_id:
                    return self.get_order(order.client_order_id)
                adopted = self._adopt(intent)
                if adopted is not None:
                    return adopted
            else:
                intent = OrderIntent(
                    client_order_id=order.client_order_id,
                    symbol=order.symbol,
                    side=order.side.value,
                    quantity=float(order.quantity),
                    price=order.limit_price,
                    created_at=self.clock(),
                )
                self.store.put(intent)
            for attempt in range(self.retry.max_attempts):
                try:
                    placed = self._place(order)
                except UnknownOutcomeError:
                    adopted = self._adopt(intent)
                    if adopted is not None:
                        return adopted
                    if attempt == self.retry.max_attempts - 1:
                        raise
                    self.retry.wait(attempt)
                    continue
                intent.broker_order_id = placed.broker_order_id
                intent.extra.update(placed.extra)
                self.store.put(intent)
                submitted = BrokerOrder(
                    client_order_id=order.client_order_id,
                    broker_order_id=placed.broker_order_id,
                    symbol=order.symbol,
                    side=order.side,
                    quantity=float(order.quantity),
                    status=OrderStatus.SUBMITTED,
                    order_type=order.type,
                    limit_price=order.limit_price,
                )
                self.track(submitted)
                return submitted
        raise AssertionError("unreachable")

    def _adopt(self, intent: OrderIntent) -> BrokerOrder | None:
        """Find the order an unanswered request created, claim it for this client order id."""
        claimed = self.store.claimed_broker_ids()
        for candidate in self._todays_orders():
            if candidate.broker_order_id in claimed:
                continue
            if (
                candidate.symbol == intent.symbol
                and candidate.side.value == intent.side
                and abs(candidate.quantity - intent.quantity) < 1e-9
                and (
                    intent.price is None or abs((candidate.limit_price or 0) - intent.price) < 1e-6
                )
            ):
                intent.broker_order_id = candidate.broker_order_id
                intent.extra.update(candidate.raw.get("_cancel_keys", {}))
                self.store.put(intent)
                adopted = replace(candidate, client_order_id=intent.client_order_id)
                self.track(adopted)
                return adopted
        return None

    # Queries ----------------------------------------------------------------------------------
    def _intent(self, client_order_id: str) -> OrderIntent:
        intent = self.store.get(client_order_id)
        if intent is None:
            raise OrderNotFoundError(
                f"{self.name}: no order with client id {client_order_id!r}", broker=self.name
            )
        if not intent.broker_order_id:
            adopted = self._adopt(intent)
            if adopted is None:
                raise OrderNotFoundError(
                    f"{self.name}: order {client_order_id!r} never reached the broker",
                    broker=self.name,
                )
            intent = self.store.get(client_order_id) or intent
        return intent

    def get_order(self, client_order_id: str) -> BrokerOrder:
        intent = self._intent(client_order_id)
        for candidate in self._todays_orders():
            if candidate.broker_order_id == intent.broker_order_id:
                found = replace(candidate, client_order_id=client_order_id)
                self.track(found)
                return found
        raise OrderNotFoundError(
            f"{self.name}: order {intent.broker_order_id} is not in today's orders",
            broker=self.name,
        )

    def cancel(self, client_order_id: str) -> BrokerOrder:
        intent = self._intent(client_order_id)
        current = self.get_order(client_order_id)
        if not current.is_open:
            return current
        try:
            self._cancel(intent)
        except BrokerError:
            current = self.get_order(client_order_id)
            if not current.is_open:  # filled or cancelled meanwhile: nothing left to cancel
                return current
            raise
        return self.get_order(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        result = []
        for candidate in self._todays_orders():
            if not candidate.is_open or (symbol is not None and candidate.symbol != symbol):
                continue
            intent = self.store.by_broker_id(candidate.broker_order_id)
            result.append(
                replace(candidate, client_order_id=intent.client_order_id if intent else "")
            )
        return result

    def close(self) -> None:
        self._http.close()


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"_list": body}


def _check_same_order(intent: OrderIntent, order: Order) -> None:
    same = (
        intent.symbol == order.symbol
        and intent.side == order.side.value
        and abs(intent.quantity - float(order.quantity)) < 1e-9
        and intent.price == order.limit_price
    )
    if not same:
        raise DuplicateOrderError(
            f"client order id {order.client_order_id!r} was already used for a different order",
            details={"client_order_id": order.client_order_id},
        )


def parse_number(text: Any) -> float:
    """Broker numbers come as strings with signs, commas and zero padding: '+001,002.0'."""
    if text is None:
        return 0.0
    if isinstance(text, (int, float)):
        return float(text)
    cleaned = str(text).strip().replace(",", "").lstrip("+")
    if cleaned in ("", "-"):
        return 0.0
    try:
        return abs(float(cleaned))
    except ValueError as exc:
        raise ValidationError(f"not a number from the broker: {text!r}") from exc
