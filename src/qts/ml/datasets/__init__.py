"""Datasets for models: labels, windows, normalisation, purged splits, tabular form.

The PyTorch form is in `qts.ml.datasets.torch_data` (it imports torch)."""

from .labels import (
    BUY,
    CLASS_NAMES,
    HOLD,
    LABELS,
    SELL,
    classify_returns,
    forward_return,
    label_end_times,
    open_to_open_return,
    return_label,
    triple_barrier_labels,
)
from .normalize import Normalizer
from .splits import Split, purge, purged_walk_forward, training_window, validation_split
from .tabular import TabularDataset
from .windows import sliding_windows, window_dataset

__all__ = [
    "BUY",
    "CLASS_NAMES",
    "HOLD",
    "LABELS",
    "SELL",
    "Normalizer",
    "Split",
    "TabularDataset",
    "classify_returns",
    "forward_return",
    "label_end_times",
    "open_to_open_return",
    "purge",
    "purged_walk_forward",
    "return_label",
    "sliding_windows",
    "training_window",
    "triple_barrier_labels",
    "validation_split",
    "window_dataset",
]
