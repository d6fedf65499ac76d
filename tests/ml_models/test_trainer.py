"""Trainer: seed reproducibility, checkpoint resume, early stopping, progress callbacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qts.ml.datasets import validation_split
from qts.ml.models import create_model

from .conftest import TINY


def _data(seq_samples: Any) -> tuple[np.ndarray, np.ndarray]:
    X = seq_samples.X[:400]
    X = (X - X.mean(axis=(0, 1))) / X.std(axis=(0, 1))
    return X, seq_samples.returns[:400]


def test_same_seed_gives_the_same_predictions(seq_samples: Any) -> None:
    X, y = _data(seq_samples)
    preds = [
        create_model("lstm", **TINY["lstm"], seed=7).fit(X, y).predict(X[:50]) for _ in range(2)
    ]
    np.testing.assert_array_equal(preds[0], preds[1])
    other = create_model("lstm", **TINY["lstm"], seed=8).fit(X, y).predict(X[:50])
    assert not np.allclose(preds[0], other)


class Interrupt(Exception):
    pass


def test_resume_from_checkpoint_continues_exactly(seq_samples: Any, tmp_path: Path) -> None:
    X, y = _data(seq_samples)
    settings = {**TINY["tcn"], "epochs": 4, "patience": 0, "dropout": 0.2, "seed": 3}
    straight = create_model("tcn", **settings).fit(X, y)

    def crash_after_two(epoch: int, losses: dict[str, float], metrics: dict[str, float]) -> None:
        if epoch == 2:
            raise Interrupt

    ckpt = str(tmp_path / "ckpt")
    with pytest.raises(Interrupt):
        create_model("tcn", **settings, checkpoint_dir=ckpt).fit(X, y, callbacks=[crash_after_two])
    assert (tmp_path / "ckpt" / "last.pt").is_file()
    seen: list[int] = []
    resumed = create_model("tcn", **settings, checkpoint_dir=ckpt, resume=True).fit(
        X, y, callbacks=[lambda e, losses, m: seen.append(e)]
    )
    assert seen == [3, 4]
    assert resumed.history["resumed_from"] == 2
    np.testing.assert_allclose(resumed.predict(X[:64]), straight.predict(X[:64]), rtol=1e-6)
    assert [e["train_loss"] for e in resumed.history["epochs"]] == pytest.approx(
        [e["train_loss"] for e in straight.history["epochs"]], rel=1e-6
    )


def test_callbacks_get_losses_and_metrics_and_early_stopping_stops(seq_samples: Any) -> None:
    X, y = _data(seq_samples)
    calls: list[tuple[int, dict[str, float], dict[str, float]]] = []
    # A learning rate this large diverges at once, so validation loss stops improving.
    model = create_model("nbeats", **{**TINY["nbeats"], "epochs": 30, "patience": 2, "lr": 5.0,
                                      "scheduler": "none", "grad_clip": None})  # fmt: skip
    # Validation as the evaluation driver cuts it: the last dates, purged of overlapping labels.
    split = validation_split(seq_samples.times[:400], seq_samples.label_ends[:400], 0.2)
    assert split is not None
    fit, val = split
    model.fit(X[fit], y[fit], X[val], y[val],
              callbacks=[lambda e, losses, m: calls.append((e, losses, m))])  # fmt: skip
    assert model.history["stopped_early"] is True
    assert len(calls) < 30
    epoch, losses, metrics = calls[0]
    assert epoch == 1 and {"train_loss", "val_loss"} <= set(losses) and "val_corr" in metrics
    # Without a validation set given the model cuts none itself: no early stopping.
    plain = create_model("nbeats", **{**TINY["nbeats"], "epochs": 3, "patience": 1}).fit(X, y)
    assert len(plain.history["epochs"]) == 3
    assert "val_loss" not in plain.history["epochs"][0]
    assert model.history["epochs"][-1]["epoch"] - model.history["best_epoch"] == 2
