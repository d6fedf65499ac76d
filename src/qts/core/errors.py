"""Errors every layer raises; the API maps each `code` to one HTTP status."""

from __future__ import annotations

from typing import Any


class QtsError(Exception):
    """Base error with a stable machine-readable code and optional details."""

    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationError(QtsError):
    code = "validation_error"


class NotFoundError(QtsError):
    code = "not_found"


class ConflictError(QtsError):
    code = "conflict"


class PermissionDeniedError(QtsError):
    code = "forbidden"


class AuthenticationError(QtsError):
    code = "unauthorized"


class RateLimitedError(QtsError):
    code = "rate_limited"


class ConfigurationError(QtsError):
    code = "configuration_error"


class ServiceUnavailableError(QtsError):
    """A provider, broker or service could not be reached (details: provider, host, network
    cause); the CLI exits 3 on it."""

    code = "service_unavailable"
