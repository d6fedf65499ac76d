"""Look-ahead checker: a feature must give the same value at t on history truncated at t.

Side data (fundamentals, news) is truncated too, to what was known at bar t's close, so a
feature that peeks at later-known figures is caught the same way as one that shifts bars back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

from .context import FeatureContext
from .definition import FeatureDefinition


@dataclass(frozen=True)
class LeakViolation:
    feature: str
    column: str
    ts: pd.Timestamp
    full_value: float
    truncated_value: float

    def __str__(self) -> str:
        return (
            f"{self.feature}.{self.column} at {self.ts}: {self.full_value!r} on full history, "
            f"{self.truncated_value!r} on history truncated there"
        )


def default_cut_points(n: int, count: int = 8, warmup: int = 70) -> list[int]:
    """Positions spread over the series, past the longest indicator warm-up where possible."""
    start = min(warmup, max(n - 1, 0))
    return sorted({int(i) for i in np.linspace(start, n - 1, num=min(count, n))}) if n else []


def check_no_lookahead(
    definition: FeatureDefinition,
    bars: pd.DataFrame,
    ctx: FeatureContext | None = None,
    cut_points: Sequence[int] | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> list[LeakViolation]:
    """Compare every row up to each cut point between full and truncated computations."""
    ctx = ctx or FeatureContext()
    full = definition.compute(bars, ctx)
    close_times = ctx.bar_close_times(pd.DatetimeIndex(bars.index))
    violations: list[LeakViolation] = []
    for cut in cut_points if cut_points is not None else default_cut_points(len(bars)):
        head = bars.iloc[: cut + 1]
        part = definition.compute(head, ctx.known_by(close_times[cut]))
        a = full.iloc[: cut + 1].to_numpy(dtype=np.float64)
        b = part.to_numpy(dtype=np.float64)
        same = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        for row, col in zip(*np.nonzero(~same), strict=True):
            violations.append(
                LeakViolation(
                    definition.name,
                    str(full.columns[col]),
                    bars.index[row],
                    a[row, col],
                    b[row, col],
                )
            )
            if len(violations) >= 50:
                return violations
    return violations


def check_all(
    definitions: Iterable[FeatureDefinition],
    bars: pd.DataFrame,
    ctx: FeatureContext | None = None,
    cut_points: Sequence[int] | None = None,
) -> dict[str, list[LeakViolation]]:
    """Violations per feature name (empty lists for clean features)."""
    return {d.name: check_no_lookahead(d, bars, ctx, cut_points) for d in definitions}


def require_no_lookahead(
    definitions: Iterable[FeatureDefinition],
    bars: pd.DataFrame,
    ctx: FeatureContext | None = None,
    cut_points: Sequence[int] | None = None,
) -> None:
    """Raise `ValidationError` naming every feature that looks ahead (run before training)."""
    found = {n: v for n, v in check_all(definitions, bars, ctx, cut_points).items() if v}
    if found:
        raise ValidationError(
            f"features look ahead: {sorted(found)}; first: {next(iter(found.values()))[0]}",
            {"features": sorted(found)},
        )
