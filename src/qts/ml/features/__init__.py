"""Feature definitions, the registry and the built-in groups (technical, time, fundamental,
sentiment); users add their own with `@feature`."""

from .basic import BASIC
from .context import FeatureContext, timeframe_delta
from .definition import FeatureDefinition
from .fundamental import FUNDAMENTAL
from .leakcheck import LeakViolation, check_all, check_no_lookahead
from .registry import REGISTRY, FeatureRegistry, compute_many, feature
from .sentiment import SENTIMENT, FinBertScorer, VaderScorer, get_scorer
from .technical import TECHNICAL, compute_technical
from .time_features import TIME

BUILTIN = (TECHNICAL, TIME, FUNDAMENTAL, SENTIMENT)
# Presets: registered so models can name them; not in BUILTIN, whose set is the seed's groups.
PRESETS = (BASIC,)
for _definition in (*BUILTIN, *PRESETS):
    REGISTRY.register(_definition)


def default_registry() -> FeatureRegistry:
    """A fresh registry holding the built-in features only."""
    registry = FeatureRegistry()
    for definition in BUILTIN:
        registry.register(definition)
    return registry


__all__ = [
    "BASIC",
    "BUILTIN",
    "FUNDAMENTAL",
    "PRESETS",
    "REGISTRY",
    "SENTIMENT",
    "TECHNICAL",
    "TIME",
    "FeatureContext",
    "FeatureDefinition",
    "FeatureRegistry",
    "FinBertScorer",
    "LeakViolation",
    "VaderScorer",
    "check_all",
    "check_no_lookahead",
    "compute_many",
    "compute_technical",
    "default_registry",
    "feature",
    "get_scorer",
    "timeframe_delta",
]
