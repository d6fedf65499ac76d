"""PyTorch Dataset/DataLoader over windows or tabular arrays.

Import this module only where torch is wanted: it imports torch at module level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from qts.core.errors import ValidationError


class ArrayDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Samples X[i] (a window (lookback, features) or a row (features,)) with target y[i]."""

    def __init__(self, X: np.ndarray, y: np.ndarray, classification: bool = False) -> None:
        if len(X) != len(y):
            raise ValidationError("X and y differ in length")
        self.X = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)
        if classification:
            # Classes -1/0/1 (SELL/HOLD/BUY) become indices 0/1/2 for cross-entropy.
            self.y = torch.as_tensor(np.asarray(y) + 1, dtype=torch.long)
        else:
            self.y = torch.as_tensor(np.asarray(y), dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.X[i], self.y[i]


def make_dataloader(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int = 256,
    shuffle: bool = False,
    classification: bool = False,
    **kwargs: Any,
) -> DataLoader[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffling off by default: time series batches usually keep their order."""
    return DataLoader(
        ArrayDataset(X, y, classification), batch_size=batch_size, shuffle=shuffle, **kwargs
    )
