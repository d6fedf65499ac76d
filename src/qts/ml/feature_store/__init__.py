"""Feature store semantics: offline rows by (entity, ts, feature version), point-in-time joins,
and the online store of latest vectors. Storage adapters live in `qts.services` and are injected."""

from .materialize import (
    MaterializeResult,
    compute_and_write,
    materialize,
    write_feature_frame,
)
from .memory import InMemoryOfflineStore, InProcessOnlineStore
from .protocols import FeatureKey, OfflineStore, OnlineStore, OnlineVector
from .retrieval import point_in_time_join, to_epoch_ms

__all__ = [
    "FeatureKey",
    "InMemoryOfflineStore",
    "InProcessOnlineStore",
    "MaterializeResult",
    "OfflineStore",
    "OnlineStore",
    "OnlineVector",
    "compute_and_write",
    "materialize",
    "point_in_time_join",
    "to_epoch_ms",
    "write_feature_frame",
]
