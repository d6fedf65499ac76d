"""Deep models on windows: LSTM, Transformer, TCN, N-BEATS (forward-return regression) and the
CNN and attention classifiers (SELL/HOLD/BUY). One wrapper trains them all with `Trainer`.

Regression targets are standardised with the training mean and standard deviation (kept with the
model) so that losses have a usable scale; predictions come back in return units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qts.core.errors import ValidationError
from qts.ml.models.base import BaseModel, ProgressCallback, as_sequences, check_classes, check_xy
from qts.ml.models.config import HoldOutFraction, ModelConfig, PositiveInt, Task

DeepLoss = Literal["mse", "huber", "ic", "mse_ic", "ce", "focal"]
CLASSIFICATION_LOSSES = ("ce", "focal")


@dataclass
class DeepConfig(ModelConfig):
    loss: DeepLoss = "mse"
    lookback: PositiveInt = 20  # window length the pipeline builds for this model
    val_fraction: HoldOutFraction = 0.2  # last training dates the evaluation driver validates on
    balanced_classes: bool = True  # inverse-frequency class weights in ce/focal
    device: str = "auto"
    progress: bool = False
    checkpoint_dir: str | None = None
    resume: bool = False

    def cross_checks(self) -> dict[str, str]:
        problems = super().cross_checks()
        if (self.task == "classification") != (self.loss in CLASSIFICATION_LOSSES):
            problems["loss"] = (
                "classification needs loss ce or focal"
                if self.task == "classification"
                else "regression needs loss mse, huber, ic or mse_ic"
            )
        return problems


@dataclass
class _HeadsConfig(DeepConfig):
    """Attention models split `d_model` evenly across `n_heads`."""

    d_model: PositiveInt = 32
    n_heads: PositiveInt = 4

    def cross_checks(self) -> dict[str, str]:
        problems = super().cross_checks()
        if self.d_model % self.n_heads:
            problems["n_heads"] = f"d_model {self.d_model} must be a multiple of n_heads"
        return problems


@dataclass
class LSTMConfig(DeepConfig):
    hidden_size: PositiveInt = 32
    num_layers: PositiveInt = 1


@dataclass
class TransformerConfig(_HeadsConfig):
    num_layers: PositiveInt = 2
    dim_feedforward: PositiveInt = 64


@dataclass
class TCNConfig(DeepConfig):
    channels: PositiveInt = 32
    levels: PositiveInt = 3
    kernel_size: PositiveInt = 3


@dataclass
class NBeatsConfig(DeepConfig):
    width: PositiveInt = 64
    n_blocks: PositiveInt = 3
    layers_per_block: PositiveInt = 2


@dataclass
class CNNConfig(DeepConfig):
    task: Task = "classification"
    loss: DeepLoss = "focal"
    channels: PositiveInt = 32
    kernel_size: PositiveInt = 3
    n_layers: PositiveInt = 2


@dataclass
class AttentionConfig(_HeadsConfig):
    task: Task = "classification"
    loss: DeepLoss = "focal"


def _regression_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from qts.ml.evaluation.metrics import pearson_corr

    # Pooled over the validation rows: a correlation, not a cross-sectional IC.
    return {"val_corr": pearson_corr(pred, y)}


def _classification_metrics(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {"val_accuracy": float(np.mean(logits.argmax(axis=1) == y))}


class DeepModel(BaseModel):
    """Shared fit/predict/save for the torch networks; subclasses build their network."""

    config_class = DeepConfig
    input_kind = "sequence"

    def __init__(self, config: ModelConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.net: Any = None
        self.n_features = 0
        self.lookback = 0
        self.y_mean, self.y_std = 0.0, 1.0

    def build_network(self, n_features: int, lookback: int, n_out: int) -> Any:
        raise NotImplementedError

    def _make_net(self) -> Any:
        n_out = 3 if self.is_classifier else 1
        return self.build_network(self.n_features, self.lookback, n_out)

    def _trainer(self, callbacks: Sequence[ProgressCallback]) -> Any:
        import torch

        from qts.ml.training import Trainer, TrainerConfig
        from qts.ml.training.losses import get_loss

        c = self.config
        tcfg = TrainerConfig.for_model(c)
        weights = None
        if self.is_classifier and c.balanced_classes and self._class_weights is not None:
            weights = torch.as_tensor(self._class_weights, dtype=torch.float32)
        loss = get_loss(c.loss, gamma=c.focal_gamma, class_weights=weights)
        metrics = _classification_metrics if self.is_classifier else _regression_metrics
        return Trainer(tcfg, loss, metrics, callbacks, classification=self.is_classifier)

    _class_weights: np.ndarray | None = None

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if self.is_classifier:
            return (np.asarray(y) + 1).astype(np.int64)  # -1/0/1 -> 0/1/2
        return (np.asarray(y, dtype=np.float64) - self.y_mean) / self.y_std

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        callbacks: Sequence[ProgressCallback] = (),
    ) -> DeepModel:
        from qts.ml.training import set_seed

        check_xy(X, y)
        X = as_sequences(X)
        if self.is_classifier:
            check_classes(y)
        # Validation (early stopping) only as given: cut by date with a purge gap by the
        # caller (`qts.ml.datasets.validation_split`), never the last rows here.
        if X_val is not None:
            check_xy(X_val, y_val)
            X_val = as_sequences(X_val)
        self.n_features, self.lookback = X.shape[2], X.shape[1]
        if self.is_classifier:
            counts = np.bincount((np.asarray(y) + 1).astype(int), minlength=3).astype(float)
            self._class_weights = np.where(
                counts > 0, counts.sum() / (3 * np.maximum(counts, 1)), 0.0
            )
        else:
            self.y_mean = float(np.mean(y))
            self.y_std = float(np.std(y)) or 1.0
        set_seed(self.config.seed)
        self.net = self._make_net()
        if isinstance(self.warm_start, DeepModel):  # fine-tuning: its weights and scaling
            self.net.load_state_dict(self.warm_start.net.state_dict())
            self.y_mean, self.y_std = self.warm_start.y_mean, self.warm_start.y_std
        trainer = self._trainer(callbacks)
        yv = None if y_val is None else self._targets(y_val)
        history = trainer.fit(self.net, X, self._targets(y), X_val, yv)
        self.history = history.to_dict()
        self.net.to("cpu")
        self.fitted = True
        return self

    def _raw(self, X: np.ndarray) -> np.ndarray:
        from qts.ml.training import Trainer, TrainerConfig

        self._require_fitted()
        check_xy(X)
        X = as_sequences(X)
        if X.shape[2] != self.n_features:
            raise ValidationError(f"model expects {self.n_features} features, got {X.shape[2]}")
        trainer = Trainer(TrainerConfig(device=self.config.device, progress=False), lambda p, t: p)
        out = trainer.predict(self.net, X)
        self.net.to("cpu")
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = self._raw(X)
        if self.is_classifier:
            return out.argmax(axis=1).astype(np.float64) - 1.0
        return out.astype(np.float64) * self.y_std + self.y_mean

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if not self.is_classifier:
            return super().predict_proba(X)
        logits = self._raw(X).astype(np.float64)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def _extra_state(self) -> dict[str, Any]:
        return {
            "n_features": self.n_features, "lookback": self.lookback,
            "y_mean": self.y_mean, "y_std": self.y_std,
        }  # fmt: skip

    def _save_weights(self, folder: Path) -> None:
        import torch

        self._require_fitted()
        torch.save(self.net.state_dict(), folder / "weights.pt")

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        import torch

        self.n_features, self.lookback = int(state["n_features"]), int(state["lookback"])
        self.y_mean, self.y_std = float(state["y_mean"]), float(state["y_std"])
        self.net = self._make_net()
        self.net.load_state_dict(torch.load(folder / "weights.pt", map_location="cpu"))
        self.net.eval()


class LSTMModel(DeepModel):
    model_type = "lstm"
    config_class = LSTMConfig

    def build_network(self, n_features: int, lookback: int, n_out: int) -> Any:
        from qts.ml.models.networks import LSTMNet

        c = self.config
        return LSTMNet(n_features, n_out, c.hidden_size, c.num_layers, c.dropout)


class TransformerModel(DeepModel):
    model_type = "transformer"
    config_class = TransformerConfig

    def build_network(self, n_features: int, lookback: int, n_out: int) -> Any:
        from qts.ml.models.networks import TransformerNet

        c = self.config
        if c.d_model % c.n_heads:
            raise ValidationError("d_model must be a multiple of n_heads")
        return TransformerNet(
            n_features, n_out, c.d_model, c.n_heads, c.num_layers, c.dim_feedforward, c.dropout
        )


class TCNModel(DeepModel):
    model_type = "tcn"
    config_class = TCNConfig

    def build_network(self, n_features: int, lookback: int, n_out: int) -> Any:
        from qts.ml.models.networks import TCNNet

        c = self.config
        return TCNNet(n_features, n_out, c.channels, c.levels, c.kernel_size, c.dropout)


class NBeatsModel(DeepModel):
    model_type = "nbeats"
    config_class = NBeatsConfig

    def build_network(self, n_features: int, lookback: int, n_out: int) -> Any:
        from qts.ml.models.networks import NBeatsNet

        c = self.config
        return NBeatsNet(
            n_features, n_out, lookback, c.width, c.n_blocks, c.layers_per_block, c.dropout
        )


class CNNClassifier(DeepModel):
    model_type = "cnn"
    config_class = CNNConfig

    def build_network(self, n_features: int, lookback: int, n_out: int) -> Any:
        from qts.ml.models.networks import CNNClassifierNet

        c = self.config
        return CNNClassifierNet(n_features, n_out, c.channels, c.kernel_size, c.n_layers, c.dropout)


class AttentionClassifier(DeepModel):
    model_type = "attention"
    config_class = AttentionConfig

    def build_network(self, n_features: int, lookback: int, n_out: int) -> Any:
        from qts.ml.models.networks import AttentionClassifierNet

        c = self.config
        if c.d_model % c.n_heads:
            raise ValidationError("d_model must be a multiple of n_heads")
        return AttentionClassifierNet(n_features, n_out, c.d_model, c.n_heads, c.dropout)
