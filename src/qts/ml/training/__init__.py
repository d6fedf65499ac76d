"""Training: the trainer, losses, seeds and device choice (torch imported lazily)."""

from qts.ml.training.reproducibility import pick_device, set_seed
from qts.ml.training.trainer import ProgressCallback, Trainer, TrainerConfig, TrainingHistory

__all__ = [
    "ProgressCallback",
    "Trainer",
    "TrainerConfig",
    "TrainingHistory",
    "pick_device",
    "set_seed",
]
