"""A registry of feature definitions and the `@feature` decorator for users' own features."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import ConflictError, NotFoundError

from .context import FeatureContext
from .definition import BAR_COLUMNS, ComputeFn, FeatureDefinition


class FeatureRegistry:
    """Definitions by name; the latest registration of a name wins (it is a new version)."""

    def __init__(self) -> None:
        self._defs: dict[str, FeatureDefinition] = {}
        # Bumped by every (un)registration, so callers may cache what they derive from it.
        self.generation = 0

    def register(self, definition: FeatureDefinition, *, replace: bool = True) -> FeatureDefinition:
        if not replace and definition.name in self._defs:
            raise ConflictError(f"feature {definition.name} is already registered")
        self._defs[definition.name] = definition
        self.generation += 1
        return definition

    def unregister(self, name: str) -> None:
        if self._defs.pop(name, None) is not None:
            self.generation += 1

    def get(self, name: str) -> FeatureDefinition:
        try:
            return self._defs[name]
        except KeyError:
            raise NotFoundError(f"no feature named {name!r}", {"known": self.names()}) from None

    def names(self) -> list[str]:
        return sorted(self._defs)

    def select(
        self, names: Iterable[str] | None = None, groups: Iterable[str] | None = None
    ) -> list[FeatureDefinition]:
        chosen = [self.get(n) for n in names] if names is not None else list(self)
        if groups is not None:
            wanted = set(groups)
            chosen = [d for d in chosen if d.group in wanted]
        return chosen

    def __iter__(self) -> Iterator[FeatureDefinition]:
        return iter(self._defs[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._defs)

    def __contains__(self, name: object) -> bool:
        return name in self._defs

    def compute(
        self,
        bars: pd.DataFrame,
        ctx: FeatureContext | None = None,
        names: Iterable[str] | None = None,
        groups: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """All selected features side by side, one row per bar."""
        return compute_many(self.select(names, groups), bars, ctx)


def compute_many(
    definitions: Sequence[FeatureDefinition], bars: pd.DataFrame, ctx: FeatureContext | None = None
) -> pd.DataFrame:
    frames = [d.compute(bars, ctx) for d in definitions]
    if not frames:
        return pd.DataFrame(index=bars.index)
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, axis=1)
    dupes = out.columns[out.columns.duplicated()].tolist()
    if dupes:
        raise ConflictError(f"features produce the same column names: {dupes}")
    return out


REGISTRY = FeatureRegistry()


def feature(
    name: str | None = None,
    *,
    group: str = "custom",
    inputs: Sequence[str] = BAR_COLUMNS,
    columns: Sequence[str] | None = None,
    description: str = "",
    helpers: Sequence[Callable[..., Any]] = (),
    registry: FeatureRegistry | None = None,
    **params: Any,
) -> Callable[[ComputeFn], ComputeFn]:
    """Register a custom feature from a user's module.

    The function receives `(bars, ctx, **params)` and returns a DataFrame or a Series (named
    after the feature) indexed like `bars`::

        @feature("close_to_high", window=20)
        def close_to_high(bars, ctx, window):
            return bars["close"] / bars["high"].rolling(window).max() - 1
    """

    def decorate(fn: ComputeFn) -> ComputeFn:
        feature_name = name or fn.__name__

        def as_frame(bars: pd.DataFrame, ctx: FeatureContext, **kw: Any) -> pd.DataFrame:
            out = fn(bars, ctx, **kw)
            if isinstance(out, pd.Series):
                out = out.rename(feature_name).to_frame()
            elif isinstance(out, np.ndarray):
                out = pd.DataFrame({feature_name: out}, index=bars.index)
            return out.astype("float64")

        # Version the user's function, not this wrapper.
        as_frame.__wrapped__ = fn  # type: ignore[attr-defined]
        definition = FeatureDefinition(
            name=feature_name,
            fn=as_frame,
            group=group,
            params=dict(params),
            inputs=tuple(inputs),
            columns=tuple(columns) if columns is not None else None,
            description=description or (fn.__doc__ or "").strip(),
            helpers=(fn, *helpers),
        )
        (registry if registry is not None else REGISTRY).register(definition)
        fn.feature_definition = definition  # type: ignore[attr-defined]
        return fn

    return decorate


def definitions_by_key(definitions: Iterable[FeatureDefinition]) -> Mapping[str, FeatureDefinition]:
    return {d.key: d for d in definitions}
