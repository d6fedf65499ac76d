"""Purged walk-forward out-of-sample evaluation.

For each fold (`qts.ml.datasets.purged_walk_forward`: folds cut on dates, so each test day holds
every symbol present that day; training samples whose labels reach within `embargo` of the test
block are purged) a fresh model is fitted on the training rows only, with normalisation fitted
on those rows only; it predicts the test block. Models that early-stop (`val_fraction` in their
config) validate on the last dates of the training rows, with the rows whose labels reach into
those dates purged (`validation_split`). Metrics (`qts.ml.evaluation.metrics`: daily
cross-sectional IC and Rank IC, ICIR, t-statistic, bootstrap interval) are computed on the
concatenated test blocks: every number reported is out of sample.

Classification labels are made inside each fold: the SELL/BUY cut points are the terciles of
that fold's training returns, so the test period's return distribution never shapes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.ml.datasets import Normalizer, classify_returns, purged_walk_forward, validation_split
from qts.ml.evaluation.metrics import classification_metrics, regression_metrics
from qts.ml.models.base import BaseModel


@dataclass
class SampleSet:
    """Time-sorted samples of one or several symbols."""

    X: np.ndarray  # (n, features) or (n, lookback, features)
    returns: np.ndarray  # forward return of each sample (the regression target)
    times: pd.DatetimeIndex
    label_ends: pd.DatetimeIndex
    symbols: np.ndarray
    feature_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.X)
        if not (
            len(self.returns) == len(self.times) == len(self.label_ends) == len(self.symbols) == n
        ):
            raise ValidationError("X, returns, times, label_ends and symbols differ in length")

    def take(self, rows: np.ndarray) -> SampleSet:
        return SampleSet(
            self.X[rows], self.returns[rows], self.times[rows], self.label_ends[rows],
            self.symbols[rows], self.feature_names,
        )  # fmt: skip


def tercile_labels(
    train_returns: np.ndarray, returns: np.ndarray
) -> tuple[np.ndarray, tuple[float, float]]:
    lo, hi = np.quantile(train_returns, [1 / 3, 2 / 3])
    labels = classify_returns(pd.Series(returns), buy_above=float(hi), sell_below=float(lo))
    return labels.to_numpy(), (float(lo), float(hi))


@dataclass
class WalkForwardResult:
    scores: np.ndarray  # OOS signal per test row (forecast, or P(buy) - P(sell))
    classes: np.ndarray | None  # OOS predicted class per test row (classifiers)
    true_classes: np.ndarray | None
    rows: np.ndarray  # positions of the test rows in the sample set
    folds: list[dict[str, Any]]
    metrics: dict[str, Any]


def fit_fold(
    model: BaseModel,
    samples: SampleSet,
    train: np.ndarray,
    shuffle_labels: bool = False,
    seed: int = 0,
    callbacks: Sequence[Any] = (),
    normalizer: Normalizer | None = None,
) -> tuple[Normalizer, tuple[float, float] | None]:
    """Fit `model` on rows `train` with a train-only normaliser (or the one given: a
    fine-tuned model keeps its own), early-stopping on a purged date-cut validation slice of
    those rows; returns the normaliser and the class cut points (classifiers)."""
    norm = normalizer or Normalizer().fit(samples.X[train])
    X = norm.transform(samples.X[train])
    y = samples.returns[train]
    cuts = None
    if model.is_classifier:
        y, cuts = tercile_labels(y, y)
    if shuffle_labels:  # the control: any skill left afterwards is leakage or luck
        y = np.random.default_rng(seed).permutation(y)
    fraction = float(getattr(model.config, "val_fraction", 0.0))
    split = validation_split(samples.times[train], samples.label_ends[train], fraction)
    if split is None:
        model.fit(X, y, callbacks=callbacks)
    else:
        fit, val = split
        model.fit(X[fit], y[fit], X[val], y[val], callbacks=callbacks)
    return norm, cuts


def _fold_metrics(
    samples: SampleSet, rows: np.ndarray, score: np.ndarray, seed: int, block: int
) -> dict[str, Any]:
    return regression_metrics(
        score, samples.returns[rows], samples.times[rows], samples.symbols[rows], seed, block
    )


def walk_forward_evaluate(
    samples: SampleSet,
    make_model: Callable[[], BaseModel],
    n_splits: int = 4,
    embargo: pd.Timedelta = pd.Timedelta(0),
    shuffle_labels: bool = False,
    seed: int = 0,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
    horizon: int = 1,
) -> WalkForwardResult:
    """`horizon` (bars) sets the bootstrap's block length: overlapping labels correlate
    neighbouring days' ICs."""
    splits = list(
        purged_walk_forward(
            samples.times, samples.label_ends, n_splits, embargo=embargo, min_train=50
        )
    )
    if not splits:
        raise ValidationError("no walk-forward fold has enough training samples")
    scores, classes, true_classes, rows, folds = [], [], [], [], []
    for k, split in enumerate(splits, start=1):
        model = make_model()
        norm, cuts = fit_fold(model, samples, split.train, shuffle_labels, seed + k)
        X_test = norm.transform(samples.X[split.test])
        score = model.score_signal(X_test)
        y_test = samples.returns[split.test]
        fold = {
            "fold": k, "train": len(split.train), "test": len(split.test),
            "train_label_end": str(samples.label_ends[split.train].max()),
            "test_start": str(split.test_start), "test_end": str(split.test_end),
            **_fold_metrics(samples, split.test, score, seed, horizon),
        }  # fmt: skip
        if model.is_classifier and cuts is not None:
            truth = classify_returns(pd.Series(y_test), buy_above=cuts[1], sell_below=cuts[0])
            predicted = model.predict(X_test)
            fold["accuracy"] = float(np.mean(predicted == truth.to_numpy()))
            classes.append(predicted)
            true_classes.append(truth.to_numpy())
        scores.append(score)
        rows.append(split.test)
        folds.append(fold)
        if on_fold is not None:
            on_fold(k, fold)
    all_rows = np.concatenate(rows)
    all_scores = np.concatenate(scores)
    metrics = _fold_metrics(samples, all_rows, all_scores, seed, horizon)
    pred_classes = np.concatenate(classes) if classes else None
    truth_classes = np.concatenate(true_classes) if true_classes else None
    if pred_classes is not None and truth_classes is not None:
        metrics.update(classification_metrics(truth_classes, pred_classes))
    return WalkForwardResult(all_scores, pred_classes, truth_classes, all_rows, folds, metrics)


def scores_frame(samples: SampleSet, result: WalkForwardResult) -> pd.DataFrame:
    """OOS scores as a (time x symbol) frame for the signal backtest."""
    frame = pd.DataFrame({
        "ts": samples.times[result.rows], "symbol": samples.symbols[result.rows],
        "score": result.scores,
    })  # fmt: skip
    return frame.pivot_table(index="ts", columns="symbol", values="score", aggfunc="last")
