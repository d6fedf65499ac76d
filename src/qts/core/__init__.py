"""Domain types shared by every layer. No I/O here: this package imports nothing of qts."""

from qts.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    QtsError,
    ValidationError,
)
from qts.core.types import (
    Bar,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Signal,
    TimeInForce,
)

__all__ = [
    "Bar",
    "ConflictError",
    "Fill",
    "NotFoundError",
    "Order",
    "OrderStatus",
    "OrderType",
    "PermissionDeniedError",
    "Position",
    "QtsError",
    "Side",
    "Signal",
    "TimeInForce",
    "ValidationError",
]
