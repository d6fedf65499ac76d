"""JSON written straight to bytes for hot read endpoints.

A route that returns a dict has FastAPI validate it against the declared type (in the thread
pool) and walk it with `jsonable_encoder` before encoding: for a page of 370 bars that was more
than the query. These routes build plain JSON-ready dicts (str, float, int, None, lists, dicts)
themselves, declare their schema for OpenAPI with `documented(Model)`, and return
`json_response(...)`. NaN and infinities are written as null.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class OrjsonResponse(JSONResponse):
    """A JSONResponse (so OpenAPI documents a JSON body) encoded by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(content: Any) -> Response:
    return OrjsonResponse(content)


def documented(model: type[BaseModel], description: str = "Successful Response") -> dict[str, Any]:
    """Route keyword arguments declaring `model` as the 200 body of a route that returns a
    ready `Response` (so FastAPI neither validates nor re-encodes it)."""
    return {
        "response_model": None,
        "response_class": OrjsonResponse,
        "responses": {200: {"model": model, "description": description}},
    }
