"""Broker errors mapped to qts errors, so callers handle one vocabulary across brokers.

The split that matters for money: an error either proves the broker did NOT act on the request
(rejections, rate limits, expired tokens: safe to retry or give up), or leaves the outcome
unknown (timeouts, dropped connections after the request left: the order may exist, so the
caller must look it up before sending it again). `UnknownOutcomeError` is the only one of the
second kind.
"""

from __future__ import annotations

from typing import Any

from qts.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    QtsError,
    RateLimitedError,
    ValidationError,
)


class BrokerError(QtsError):
    """Any error reported by (or on the way to) a broker; `broker_code` is the broker's own code."""

    code = "broker_error"

    def __init__(
        self,
        message: str,
        details: Any = None,
        *,
        broker: str = "",
        broker_code: str | None = None,
    ) -> None:
        super().__init__(message, details)
        self.broker = broker
        self.broker_code = broker_code


class InsufficientFundsError(BrokerError):
    code = "insufficient_funds"


class InvalidSymbolError(BrokerError, ValidationError):
    code = "invalid_symbol"


class OrderRejectedError(BrokerError):
    """Rejected by a broker or exchange rule (price band, lot size, market closed, ...)."""

    code = "order_rejected"


class BrokerRateLimitedError(BrokerError, RateLimitedError):
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        details: Any = None,
        *,
        retry_after_s: float | None = None,
        broker: str = "",
        broker_code: str | None = None,
    ) -> None:
        super().__init__(message, details, broker=broker, broker_code=broker_code)
        self.retry_after_s = retry_after_s


class AuthExpiredError(BrokerError, AuthenticationError):
    """The access token expired or was revoked; clients refresh it and retry once."""

    code = "auth_expired"


class BrokerAuthError(BrokerError, AuthenticationError):
    """The credentials themselves were refused (wrong key/secret, IP not registered)."""

    code = "broker_auth_failed"


class OrderNotFoundError(BrokerError, NotFoundError):
    code = "order_not_found"


class DuplicateOrderError(BrokerError, ConflictError):
    code = "duplicate_order"


class BrokerUnavailableError(BrokerError):
    """The broker answered with a server error before acting (safe to retry reads)."""

    code = "broker_unavailable"


class UnknownOutcomeError(BrokerError):
    """The request may or may not have been executed (timeout, connection lost)."""

    code = "unknown_outcome"


#: errors proving the request was not executed and may simply be sent again after a pause
RETRYABLE_ERRORS: tuple[type[BrokerError], ...] = (BrokerRateLimitedError, BrokerUnavailableError)
