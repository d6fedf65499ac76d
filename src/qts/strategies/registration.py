"""`@register`: adds a strategy class to the table of names that `qts.strategies.registry`
looks up. Kept apart from the look-up so strategy modules can register themselves without
importing the registry that loads them."""

from __future__ import annotations

from typing import TypeVar

from qts.core.errors import ValidationError
from qts.strategies.base import Strategy

REGISTERED: dict[str, type[Strategy]] = {}
S = TypeVar("S", bound=type[Strategy])


def register(cls: S) -> S:
    """Class decorator adding a strategy to the registry under `cls.name`."""
    key = cls.name or cls.__name__
    existing = REGISTERED.get(key)
    if existing is not None and existing is not cls:
        raise ValidationError(f"a strategy named {key!r} is already registered")
    REGISTERED[key] = cls
    return cls
