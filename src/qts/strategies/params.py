"""Declared strategy parameters: name, type, default, range.

The declarations are read by the CLI (`--param k=v`), the API and dashboard (forms), and the
parameter search (grid and Optuna). Values arrive as strings from the command line or as JSON
values from the API; `Param.coerce` turns either into the declared type or raises
`ValidationError` with the parameter's name in the message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qts.core.errors import ValidationError

_TYPES: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter.

    `type` is one of "int", "float", "bool", "str". `low`/`high` bound numeric values
    (inclusive); `choices` restricts any type to a fixed set. `step` is the grid step used by
    the parameter search when no explicit grid is given.
    """

    name: str
    type: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    step: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"param {self.name}: unknown type {self.type!r}")

    def coerce(self, value: Any) -> Any:
        """Convert `value` to the declared type and check the range; raise ValidationError."""
        converted = self._convert(value)
        if self.choices is not None and converted not in self.choices:
            raise ValidationError(
                f"parameter {self.name!r} must be one of {list(self.choices)}, got {value!r}",
                {"param": self.name, "value": value},
            )
        if self.type in ("int", "float"):
            if isinstance(converted, float) and not math.isfinite(converted):
                raise ValidationError(f"parameter {self.name!r} must be finite, got {value!r}")
            if (self.low is not None and converted < self.low) or (
                self.high is not None and converted > self.high
            ):
                raise ValidationError(
                    f"parameter {self.name!r}={converted} is out of range "
                    f"[{self.low}, {self.high}]",
                    {"param": self.name, "value": value, "low": self.low, "high": self.high},
                )
        return converted

    def _convert(self, value: Any) -> Any:
        bad = ValidationError(
            f"parameter {self.name!r} expects {self.type}, got {value!r}",
            {"param": self.name, "value": repr(value), "type": self.type},
        )
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise bad
        if self.type == "int":
            if isinstance(value, bool):
                raise bad
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                try:
                    return int(value.strip())
                except ValueError:
                    raise bad from None
            raise bad
        if self.type == "float":
            if isinstance(value, bool):
                raise bad
            if isinstance(value, int | float):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value.strip())
                except ValueError:
                    raise bad from None
            raise bad
        if not isinstance(value, str):
            raise bad
        return value

    def grid(self) -> list[Any]:
        """Values the grid search tries when no explicit grid is given."""
        if self.choices is not None:
            return list(self.choices)
        if self.type == "bool":
            return [False, True]
        if self.low is None or self.high is None:
            return [self.default]
        if self.type == "int":
            step = int(self.step or max(1, (self.high - self.low) // 10))
            return list(range(int(self.low), int(self.high) + 1, step))
        step_f = self.step or (self.high - self.low) / 10
        count = round((self.high - self.low) / step_f)
        return [round(self.low + i * step_f, 10) for i in range(count + 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "low": self.low,
            "high": self.high,
            "choices": list(self.choices) if self.choices is not None else None,
            "step": self.step,
            "description": self.description,
        }


class ParamSet(tuple[Param, ...]):
    """Declared parameters, and on a strategy instance their values as attributes.

    A strategy declares `params = ParamSet(Param("fast", "int", 10), ...)` (a plain tuple of
    `Param`s works the same at run time); on the instance `self.params.fast` reads the coerced
    value, the same one as `self.p["fast"]`.
    """

    _values: Mapping[str, Any] | None

    def __new__(cls, *params: Param) -> ParamSet:
        obj = super().__new__(cls, params)
        obj._values = None
        return obj

    def __getnewargs__(self) -> tuple[Param, ...]:  # type: ignore[override]
        return tuple(self)

    def bind(self, values: Mapping[str, Any]) -> ParamSet:
        """These declarations reading `values` (a strategy's resolved parameters)."""
        bound = ParamSet(*self)
        bound._values = values
        return bound

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if name.startswith("_"):
            raise AttributeError(name)
        if values is None:
            raise AttributeError(
                f"parameter values are read on a strategy instance (self.params.{name})"
            )
        if name not in values:
            raise AttributeError(f"unknown parameter {name!r}; declared: {sorted(values)}")
        return values[name]


def resolve_params(declared: Sequence[Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with `given`, each coerced; unknown names raise ValidationError."""
    by_name = {p.name: p for p in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise ValidationError(
            f"unknown parameter(s) {unknown}; declared: {sorted(by_name)}",
            {"unknown": unknown, "declared": sorted(by_name)},
        )
    values = {p.name: p.default for p in declared}
    for name, value in given.items():
        values[name] = by_name[name].coerce(value)
    return values


def parse_param_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """Parse CLI `k=v` strings into a dict (values stay strings; `Param.coerce` types them)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--param expects key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out
