"""Which features a model uses: `--features` items are group names (technical, time,
fundamental, sentiment, basic, custom, ...) or feature names, resolved against a registry."""

from __future__ import annotations

from collections.abc import Sequence

from qts.core.errors import ValidationError

from .definition import FeatureDefinition
from .registry import REGISTRY, FeatureRegistry


def parse_feature_spec(spec: str | Sequence[str]) -> list[str]:
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return [i.strip() for i in items if i and i.strip()]


def resolve_features(
    spec: str | Sequence[str], registry: FeatureRegistry | None = None
) -> list[FeatureDefinition]:
    """Definitions named by `spec`, in the order given (a group expands to its members by
    name); a name that is both a feature and a group (technical) is the feature. Unknown items
    fail with the known groups and names; two features giving one column name fail too."""
    registry = registry if registry is not None else REGISTRY
    items = parse_feature_spec(spec)
    if not items:
        raise ValidationError("no features given (e.g. technical,time or basic)")
    groups: dict[str, list[FeatureDefinition]] = {}
    for d in registry:
        groups.setdefault(d.group, []).append(d)
    chosen: dict[str, FeatureDefinition] = {}
    unknown = []
    for item in items:
        if item in registry:
            chosen.setdefault(item, registry.get(item))
        elif item in groups:
            for d in groups[item]:
                chosen.setdefault(d.name, d)
        else:
            unknown.append(item)
    if unknown:
        raise ValidationError(
            f"unknown feature or group {', '.join(map(repr, unknown))}; groups: "
            f"{', '.join(sorted(groups))}; features: {', '.join(registry.names())}",
            {"unknown": unknown, "groups": sorted(groups), "features": registry.names()},
        )
    definitions = list(chosen.values())
    check_distinct_columns([(d.name, d.columns or ()) for d in definitions])
    return definitions


def check_distinct_columns(columns_by_feature: Sequence[tuple[str, Sequence[str]]]) -> None:
    """A model's input columns are named; two features may not produce the same name."""
    owner: dict[str, str] = {}
    clashes: dict[tuple[str, str], list[str]] = {}
    for name, columns in columns_by_feature:
        for col in columns:
            if col in owner and owner[col] != name:
                clashes.setdefault((owner[col], name), []).append(col)
            owner.setdefault(col, name)
    if clashes:
        (a, b), cols = next(iter(clashes.items()))
        raise ValidationError(
            f"features {a} and {b} both produce columns {cols[:5]}; choose one of them",
            {"clashes": {f"{x}+{y}": c for (x, y), c in clashes.items()}},
        )
