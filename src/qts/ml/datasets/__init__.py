"""Datasets for models: labels, windows, normalisation, purged splits, tabular form.

The PyTorch form is in `qts.ml.datasets.torch_data` (it imports torch)."""

from .labels import (
    BUY,
    CLASS_NAMES,
    HOLD,
    SELL,
    classify_returns,
    forward_return,
    label_end_times,
    triple_barrier_labels,
)
from .normalize import Normalizer
from .splits import Split, purge, purged_walk_forward
from .tabular import TabularDataset
from .windows import sliding_windows, window_dataset

__all__ = [
    "BUY",
    "CLASS_NAMES",
    "HOLD",
    "SELL",
    "Normalizer",
    "Split",
    "TabularDataset",
    "classify_returns",
    "forward_return",
    "label_end_times",
    "purge",
    "purged_walk_forward",
    "sliding_windows",
    "triple_barrier_labels",
    "window_dataset",
]
