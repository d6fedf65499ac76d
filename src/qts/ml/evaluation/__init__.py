"""Out-of-sample evaluation: metrics, purged walk-forward driver, signal backtest, importance."""

from qts.ml.evaluation.backtest import (
    backtest_positions,
    compare_with_baselines,
    signal_positions,
)
from qts.ml.evaluation.importance import lightgbm_gain, permutation_importance
from qts.ml.evaluation.metrics import (
    classification_metrics,
    confusion_matrix,
    directional_accuracy,
    icir,
    information_coefficient,
    period_ic,
    rank_ic,
    regression_metrics,
)
from qts.ml.evaluation.walk_forward import (
    SampleSet,
    WalkForwardResult,
    scores_frame,
    walk_forward_evaluate,
)

__all__ = [
    "SampleSet",
    "WalkForwardResult",
    "backtest_positions",
    "classification_metrics",
    "compare_with_baselines",
    "confusion_matrix",
    "directional_accuracy",
    "icir",
    "information_coefficient",
    "lightgbm_gain",
    "period_ic",
    "permutation_importance",
    "rank_ic",
    "regression_metrics",
    "scores_frame",
    "signal_positions",
    "walk_forward_evaluate",
]
