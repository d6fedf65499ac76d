"""Typed inputs and results at the service boundary, shared by the API and the CLI.

Services take `Request` models and return `Record` models (or `Page`s of them) instead of loose
dicts; the API uses the same classes as its request bodies and response models, so the HTTP
JSON is exactly these fields. A request made in Python (CLI, tests) is checked by `parse`, which
turns pydantic's error into the project's `ValidationError` naming every bad field.
"""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from qts.core.errors import ValidationError


class Request(BaseModel):
    """An input to a service. Unknown fields are refused so typos get an error, not silence."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def parse(cls, **values: Any) -> Self:
        try:
            return cls(**values)
        except PydanticValidationError as exc:
            problems = {
                ".".join(str(p) for p in err["loc"]) or "request": err["msg"]
                for err in exc.errors()
            }
            listed = "; ".join(f"{field}: {msg}" for field, msg in problems.items())
            raise ValidationError(f"invalid {cls.__name__}: {listed}", problems) from None


class Record(BaseModel):
    """A result of a service: what is stored, as the API and the CLI show it."""


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing, with the total count of all matches."""

    items: list[T]
    total: int
    limit: int
    offset: int
