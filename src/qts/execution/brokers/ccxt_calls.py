"""One ccxt call with the brokers' rate limit, retries and error mapping (Binance, Upbit).

Rate-limit answers slow the bucket down and retry; a network failure retries a read but not an
order (its outcome is unknown: reconciliation settles it); any other ccxt error is mapped by
the broker's own `map_error` and raised at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qts.execution.brokers.errors import (
    BrokerError,
    BrokerRateLimitedError,
    BrokerUnavailableError,
    UnknownOutcomeError,
)
from qts.execution.brokers.ratelimit import RetryPolicy, TokenBucket


def call_with_retries(
    exchange: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], *,
    broker: str, bucket: TokenBucket, retry: RetryPolicy, mutating: bool,
    map_error: Callable[[Exception], BrokerError],
) -> Any:  # fmt: skip
    import ccxt

    error: BrokerError = BrokerUnavailableError(f"{broker}: no attempt made", broker=broker)
    for attempt in range(retry.max_attempts):
        bucket.acquire()
        try:
            return getattr(exchange, method)(*args, **kwargs)
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            error = BrokerRateLimitedError(f"{broker}: {exc}", broker=broker)
            bucket.penalize(retry.base_delay_s * 2**attempt)
        except (ccxt.RequestTimeout, ccxt.NetworkError) as exc:
            if mutating:
                raise UnknownOutcomeError(
                    f"{broker}: no answer to {method} ({type(exc).__name__})", broker=broker
                ) from exc
            error = BrokerUnavailableError(f"{broker}: {exc}", broker=broker)
        except ccxt.BaseError as exc:
            raise map_error(exc) from exc
        if attempt < retry.max_attempts - 1:
            retry.wait(attempt)
    raise error
