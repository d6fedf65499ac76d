"""The trainer: mini-batches, early stopping, checkpoints with resume, LR schedules, gradient
clipping, mixed precision on CUDA, a Rich progress bar and progress callbacks.

Callbacks receive `(epoch, losses, metrics)` after each epoch (epoch counts from 1); the service
layer wires one to the event bus (`training:<run id>`) and the database, so this module imports
neither.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from qts.core.errors import ValidationError
from qts.ml.models.config import FitSettings, NonNegativeFloat
from qts.ml.training.reproducibility import pick_device, set_seed

ProgressCallback = Callable[[int, dict[str, float], dict[str, float]], None]
MetricsFn = Callable[[np.ndarray, np.ndarray], dict[str, float]]


@dataclass
class TrainerConfig(FitSettings):
    """The training loop's settings: the fit settings every model config carries (`FitSettings`:
    epochs, batch size, learning rate, optimizer, schedule, clipping, patience, seed, precision)
    and how this run is carried out."""

    min_delta: NonNegativeFloat = 0.0
    device: str = "auto"
    shuffle: bool = True
    progress: bool = True
    checkpoint_dir: str | None = None
    resume: bool = False

    @classmethod
    def for_model(cls, config: FitSettings, **changes: Any) -> TrainerConfig:
        """The trainer settings a model config implies: every field both declare, then `changes`."""
        own = {f.name for f in fields(cls)}
        shared = {f.name: getattr(config, f.name) for f in fields(config) if f.name in own}
        return cls(**{**shared, **changes})


@dataclass
class TrainingHistory:
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    stopped_early: bool = False
    resumed_from: int = 0
    device: str = "cpu"
    precision: str = "fp32"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _optimizer(params: Any, cfg: TrainerConfig) -> Any:
    import torch

    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    raise ValidationError(f"unknown optimizer {cfg.optimizer!r} (adam, adamw, sgd)")


def _scheduler(opt: Any, cfg: TrainerConfig, steps_per_epoch: int) -> Any:
    import torch

    sched = torch.optim.lr_scheduler
    if cfg.scheduler == "none":
        return None
    if cfg.scheduler == "cosine":
        return sched.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
    if cfg.scheduler == "step":
        return sched.StepLR(opt, step_size=max(cfg.epochs // 3, 1), gamma=0.3)
    if cfg.scheduler == "plateau":
        return sched.ReduceLROnPlateau(opt, factor=0.5, patience=max(cfg.patience // 2, 1))
    if cfg.scheduler == "onecycle":
        return sched.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=max(cfg.epochs * steps_per_epoch, 1)
        )
    raise ValidationError(
        f"unknown scheduler {cfg.scheduler!r} (none, cosine, step, plateau, onecycle)"
    )


class Trainer:
    """Fits an `nn.Module` on numpy arrays: X (n, ...) and y (n,) (float targets, or class
    indices 0..k-1 for a classification loss)."""

    def __init__(
        self,
        config: TrainerConfig,
        loss_fn: Callable[[Any, Any], Any],
        metrics_fn: MetricsFn | None = None,
        callbacks: Sequence[ProgressCallback] = (),
        classification: bool = False,
    ) -> None:
        self.config = config
        self.loss_fn = loss_fn
        self.metrics_fn = metrics_fn
        self.callbacks = list(callbacks)
        self.classification = classification
        self.device = pick_device(config.device)

    # -- precision ------------------------------------------------------------------------
    def _amp(self) -> tuple[Any, str]:
        import torch

        if self.device != "cuda" or not self.config.mixed_precision:
            return None, "fp32"
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16, "bf16"
        return torch.float16, "fp16"

    def _autocast(self, dtype: Any) -> Any:
        import torch

        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=dtype)

    def _tensors(self, X: np.ndarray, y: np.ndarray | None) -> tuple[Any, Any]:
        import torch

        xt = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32, device=self.device)
        if y is None:
            return xt, None
        ydtype = torch.long if self.classification else torch.float32
        return xt, torch.as_tensor(np.asarray(y), dtype=ydtype, device=self.device)

    def _batches(self, n: int, generator: Any) -> Iterator[Any]:
        import torch

        bs = self.config.batch_size
        order = torch.randperm(n, generator=generator) if self.config.shuffle else torch.arange(n)
        for start in range(0, n, bs):
            yield order[start : start + bs].to(self.device)

    # -- the loop ---------------------------------------------------------------------------
    def fit(
        self,
        model: Any,
        X_train: np.ndarray,
        y_train: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
    ) -> TrainingHistory:
        import torch

        cfg = self.config
        if len(X_train) != len(y_train) or len(X_train) == 0:
            raise ValidationError("training X and y must be non-empty and of one length")
        set_seed(cfg.seed)
        model.to(self.device)
        amp_dtype, precision = self._amp()
        history = TrainingHistory(device=self.device, precision=precision)
        xt, yt = self._tensors(X_train, y_train)
        has_val = X_val is not None and y_val is not None and len(X_val) > 0
        xv, yv = self._tensors(X_val, y_val) if has_val else (None, None)  # type: ignore[arg-type]
        steps = math.ceil(len(xt) / cfg.batch_size)
        opt = _optimizer(model.parameters(), cfg)
        sched = _scheduler(opt, cfg, steps)
        scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
        generator = torch.Generator().manual_seed(cfg.seed)
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        bad_epochs, start_epoch = 0, 1
        ckpt = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
        if ckpt is not None and cfg.resume and (ckpt / "last.pt").is_file():
            state = torch.load(ckpt / "last.pt", map_location=self.device, weights_only=False)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            if sched is not None and state["scheduler"] is not None:
                sched.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            generator.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
            best_state, bad_epochs = state["best_state"], state["bad_epochs"]
            history = TrainingHistory(**{**state["history"], "device": self.device})
            start_epoch = state["epoch"] + 1
            history.resumed_from = state["epoch"]

        progress = _progress_bar(cfg.progress)
        with progress:
            task = progress.add_task("training", total=cfg.epochs, completed=start_epoch - 1)
            for epoch in range(start_epoch, cfg.epochs + 1):
                model.train()
                total, count = 0.0, 0
                for idx in self._batches(len(xt), generator):
                    opt.zero_grad(set_to_none=True)
                    with self._autocast(amp_dtype):
                        out = model(xt[idx])
                    loss = self.loss_fn(out.float(), yt[idx])
                    scaler.scale(loss).backward()
                    if cfg.grad_clip:
                        scaler.unscale_(opt)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    scaler.step(opt)
                    scaler.update()
                    if cfg.scheduler == "onecycle" and sched is not None:
                        sched.step()
                    total += float(loss.detach()) * len(idx)
                    count += len(idx)
                losses = {"train_loss": total / count}
                metrics: dict[str, float] = {}
                if has_val:
                    out_v = self.forward_all(model, xv)
                    losses["val_loss"] = float(self.loss_fn(out_v, yv))
                    if self.metrics_fn is not None and yv is not None:
                        metrics = self.metrics_fn(out_v.cpu().numpy(), yv.cpu().numpy())
                monitored = losses.get("val_loss", losses["train_loss"])
                if sched is not None and cfg.scheduler == "plateau":
                    sched.step(monitored)
                elif sched is not None and cfg.scheduler != "onecycle":
                    sched.step()
                metrics["lr"] = float(opt.param_groups[0]["lr"])
                if monitored < history.best_val_loss - cfg.min_delta:
                    history.best_val_loss, history.best_epoch, bad_epochs = monitored, epoch, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    bad_epochs += 1
                history.epochs.append({"epoch": epoch, **losses, **metrics})
                stop = bool(has_val and cfg.patience and bad_epochs >= cfg.patience)
                history.stopped_early = stop
                if ckpt is not None:
                    ckpt.mkdir(parents=True, exist_ok=True)
                    torch.save(
                        {
                            "model": model.state_dict(), "optimizer": opt.state_dict(),
                            "scheduler": None if sched is None else sched.state_dict(),
                            "scaler": scaler.state_dict(), "generator": generator.get_state(),
                            "torch_rng": torch.get_rng_state(), "best_state": best_state,
                            "bad_epochs": bad_epochs, "epoch": epoch, "history": history.to_dict(),
                        },
                        ckpt / "last.pt",
                    )  # fmt: skip
                    if history.best_epoch == epoch:
                        torch.save(best_state, ckpt / "best.pt")
                progress.update(task, advance=1, description=_describe(epoch, losses))
                for callback in self.callbacks:
                    callback(epoch, losses, metrics)
                if stop:
                    break
        model.load_state_dict(best_state)
        return history

    def forward_all(self, model: Any, x: Any, batch_size: int = 4096) -> Any:
        """Model outputs for every row of tensor `x`, in float32, in eval mode."""
        import torch

        amp_dtype, _ = self._amp()
        model.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                with self._autocast(amp_dtype):
                    outs.append(model(x[start : start + batch_size]).float())
        return torch.cat(outs)

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        xt, _ = self._tensors(X, None)
        return self.forward_all(model.to(self.device), xt).cpu().numpy()


def _describe(epoch: int, losses: dict[str, float]) -> str:
    parts = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
    return f"epoch {epoch} {parts}"


def _progress_bar(enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        disable=not enabled, transient=True,
    )  # fmt: skip
