"""Out-of-sample evaluation: metrics (daily cross-sectional IC), purged walk-forward driver,
signal backtest, top-k portfolio view, importance."""

from qts.ml.evaluation.backtest import (
    backtest_positions,
    compare_with_baselines,
    signal_positions,
)
from qts.ml.evaluation.importance import lightgbm_gain, permutation_importance
from qts.ml.evaluation.metrics import (
    classification_metrics,
    confusion_matrix,
    daily_ic,
    directional_accuracy,
    icir,
    information_coefficient,
    pearson_corr,
    rank_ic,
    regression_metrics,
    series_summary,
    spearman_corr,
)
from qts.ml.evaluation.portfolio import topk_portfolio, topk_targets
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
    "daily_ic",
    "directional_accuracy",
    "icir",
    "information_coefficient",
    "lightgbm_gain",
    "pearson_corr",
    "permutation_importance",
    "rank_ic",
    "regression_metrics",
    "scores_frame",
    "series_summary",
    "signal_positions",
    "spearman_corr",
    "topk_portfolio",
    "topk_targets",
    "walk_forward_evaluate",
]
