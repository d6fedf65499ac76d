"""A feature definition: name, version, parameters, inputs and the function that computes it.

The version is derived from the parameters and the source code of the compute function (plus
any helpers it declares), so changing either yields a new version and stored values of the old
version are never mixed with the new ones.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

from .context import FeatureContext

ComputeFn = Callable[..., pd.DataFrame]
BAR_COLUMNS = ("open", "high", "low", "close", "volume")
_HASH_CACHE = "_hash_cache"


def _source_of(fn: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        # Functions defined in a REPL have no source: fall back to their bytecode.
        code = getattr(fn, "__code__", None)
        return repr(code.co_code) if code is not None else repr(fn)


def code_hash_of(fn: Callable[..., Any], helpers: Sequence[Callable[..., Any]] = ()) -> str:
    digest = hashlib.sha256()
    for f in (fn, *helpers):
        digest.update(_source_of(f).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class FeatureDefinition:
    """One registered feature (or group of columns computed together).

    `fn(bars, ctx, **params)` returns a DataFrame indexed like `bars`. Row t must depend only on
    bars up to t and on context data known by the close of bar t.
    """

    name: str
    fn: ComputeFn
    group: str = "custom"
    params: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = BAR_COLUMNS
    columns: tuple[str, ...] | None = None
    description: str = ""
    helpers: tuple[Callable[..., Any], ...] = ()

    @property
    def code_hash(self) -> str:
        return self._hashes()[0]

    @property
    def version(self) -> str:
        return self._hashes()[1]

    def _hashes(self) -> tuple[str, str]:
        """(code hash, version), computed once per definition: reading source is ~1 ms a
        function. A definition is immutable (a changed one is a new definition, registered
        anew); the cache is still dropped if a function's code object is swapped in place."""
        codes = tuple(getattr(f, "__code__", f) for f in (self.fn, *self.helpers))
        cached = self.__dict__.get(_HASH_CACHE)
        if cached is not None and all(a is b for a, b in zip(cached[0], codes, strict=True)):
            return cached[1]  # type: ignore[no-any-return]
        code = code_hash_of(self.fn, self.helpers)
        payload = json.dumps(
            {"params": dict(self.params), "code": code, "inputs": list(self.inputs)},
            sort_keys=True,
            default=str,
        )
        hashes = (code, hashlib.sha256(payload.encode()).hexdigest()[:12])
        object.__setattr__(self, _HASH_CACHE, (codes, hashes))  # frozen: the cache is no field
        return hashes

    def __getstate__(self) -> dict[str, Any]:
        # Code objects do not pickle: the cache stays behind (recomputed on first use).
        return {k: v for k, v in self.__dict__.items() if k != _HASH_CACHE}

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def with_params(self, **params: Any) -> FeatureDefinition:
        """The same feature with other parameters (hence another version)."""
        return replace(self, params={**self.params, **params}, columns=None)

    def compute(self, bars: pd.DataFrame, ctx: FeatureContext | None = None) -> pd.DataFrame:
        missing = [c for c in self.inputs if c in BAR_COLUMNS and c not in bars.columns]
        if missing:
            raise ValidationError(f"feature {self.name} needs bar columns {missing}")
        out = self.fn(bars, ctx or FeatureContext(), **dict(self.params))
        if not isinstance(out, pd.DataFrame):
            raise ValidationError(f"feature {self.name} must return a DataFrame")
        if len(out) != len(bars) or not out.index.equals(bars.index):
            raise ValidationError(f"feature {self.name} must return one row per input bar")
        if self.columns is not None and tuple(out.columns) != self.columns:
            raise ValidationError(
                f"feature {self.name} returned columns {list(out.columns)}, "
                f"declared {list(self.columns)}"
            )
        return out

    def describe(self) -> dict[str, Any]:
        """Plain-dict form, as stored in `feature_definitions` and served by the API."""
        return {
            "name": self.name,
            "version": self.version,
            "group": self.group,
            "params": json.loads(json.dumps(dict(self.params), default=str)),
            "inputs": list(self.inputs),
            "columns": list(self.columns or ()),
            "code_hash": self.code_hash,
            "description": self.description,
        }


def as_float_frame(index: pd.Index, columns: Sequence[str], values: np.ndarray) -> pd.DataFrame:
    """A float64 frame over `values` shaped (n_columns, n_rows), without copying the data."""
    frame = pd.DataFrame(values.T, index=index, columns=list(columns), copy=False)
    return frame
