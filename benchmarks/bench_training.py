"""Training throughput (samples/s) of each deep model: qts's Trainer beside a minimal
hand-written PyTorch loop on the same network, data and batch size, so the trainer's overhead
is visible. Runs on the CPU, and on CUDA too when present.

    python benchmarks/bench_training.py [--samples 4096] [--epochs 3] [--batch 128]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from qts.ml.models import create_model
from qts.ml.training import Trainer, TrainerConfig
from qts.ml.training.losses import get_loss

DEEP = ("lstm", "transformer", "tcn", "nbeats", "cnn", "attention")


def network(model_type: str, n_features: int, lookback: int) -> torch.nn.Module:
    model = create_model(model_type, lookback=lookback)
    n_out = 3 if model.is_classifier else 1
    return model.build_network(n_features, lookback, n_out)  # type: ignore[attr-defined]


def hand_loop(net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, batch: int,
              classification: bool) -> None:  # fmt: skip
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss() if classification else torch.nn.MSELoss()
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(X), device=X.device)
        for i in range(0, len(X), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            loss = loss_fn(net(X[idx]), y[idx])
            loss.backward()
            opt.step()


def run(
    device: str, n: int, lookback: int, n_features: int, epochs: int, batch: int
) -> list[tuple[str, float, float]]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, lookback, n_features)).astype(np.float32)
    y_reg = rng.normal(size=n).astype(np.float32)
    y_cls = rng.integers(0, 3, size=n)
    rows = []
    for model_type in DEEP:
        classification = create_model(model_type).is_classifier
        y = y_cls if classification else y_reg
        # Hand-written loop.
        torch.manual_seed(0)
        net = network(model_type, n_features, lookback).to(device)
        xt = torch.as_tensor(X, device=device)
        yt = torch.as_tensor(
            y, device=device, dtype=torch.long if classification else torch.float32
        )
        hand_loop(net, xt[: batch * 2], yt[: batch * 2], 1, batch, classification)  # warm-up
        _sync(device)
        t0 = time.perf_counter()
        hand_loop(net, xt, yt, epochs, batch, classification)
        _sync(device)
        hand = n * epochs / (time.perf_counter() - t0)
        # The trainer (no validation split, no checkpoints, grad clipping and a schedule on).
        net = network(model_type, n_features, lookback)
        cfg = TrainerConfig(epochs=epochs, batch_size=batch, device=device, progress=False,
                            patience=0, mixed_precision=False)  # fmt: skip
        trainer = Trainer(
            cfg, get_loss("ce" if classification else "mse"), classification=classification
        )
        t0 = time.perf_counter()
        trainer.fit(net, X, y)
        _sync(device)
        ours = n * epochs / (time.perf_counter() - t0)
        rows.append((model_type, hand, ours))
    return rows


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--lookback", type=int, default=20)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    table = Table(
        title=f"Training throughput, {args.samples} windows of {args.lookback}x{args.features}, batch {args.batch}"
    )
    for col in ("device", "model", "hand loop samples/s", "Trainer samples/s", "Trainer / hand"):
        table.add_column(col)
    for device in devices:
        for model_type, hand, ours in run(device, args.samples, args.lookback, args.features,
                                          args.epochs, args.batch):  # fmt: skip
            table.add_row(device, model_type, f"{hand:,.0f}", f"{ours:,.0f}", f"{ours / hand:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
