"""Live broker clients behind one synchronous `Broker` interface (see `base`).

`BinanceBroker` (ccxt, spot, testnet selectable), `KisBroker` (Korea Investment & Securities,
mock domain selectable) and `KiwoomBroker` (Kiwoom REST, mock domain selectable). ccxt is
imported only when a `BinanceBroker` is created.
"""

from qts.execution.brokers.base import (
    Balance,
    Broker,
    BrokerOrder,
    BrokerPosition,
    validate_order,
)
from qts.execution.brokers.binance import BinanceBroker
from qts.execution.brokers.errors import (
    AuthExpiredError,
    BrokerAuthError,
    BrokerError,
    BrokerRateLimitedError,
    BrokerUnavailableError,
    DuplicateOrderError,
    InsufficientFundsError,
    InvalidSymbolError,
    OrderNotFoundError,
    OrderRejectedError,
    UnknownOutcomeError,
)
from qts.execution.brokers.idempotency import (
    InMemoryOrderIdStore,
    JsonlOrderIdStore,
    OrderIdStore,
    OrderIntent,
)
from qts.execution.brokers.kis import KisBroker
from qts.execution.brokers.kiwoom import KiwoomBroker
from qts.execution.brokers.ratelimit import RetryPolicy, TokenBucket

__all__ = [
    "AuthExpiredError",
    "Balance",
    "BinanceBroker",
    "Broker",
    "BrokerAuthError",
    "BrokerError",
    "BrokerOrder",
    "BrokerPosition",
    "BrokerRateLimitedError",
    "BrokerUnavailableError",
    "DuplicateOrderError",
    "InMemoryOrderIdStore",
    "InsufficientFundsError",
    "InvalidSymbolError",
    "JsonlOrderIdStore",
    "KisBroker",
    "KiwoomBroker",
    "OrderIdStore",
    "OrderIntent",
    "OrderNotFoundError",
    "OrderRejectedError",
    "RetryPolicy",
    "TokenBucket",
    "UnknownOutcomeError",
    "validate_order",
]
