"""The portfolio view: top-k targets by hand, and books run through the backtest engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qts.backtest.config import BacktestConfig
from qts.backtest.costs import CostModel
from qts.backtest.sizing import Sizer
from qts.core.errors import ValidationError
from qts.ml.datasets import return_label, training_window
from qts.ml.evaluation import topk_portfolio, topk_targets


def test_topk_targets_by_hand() -> None:
    index = pd.date_range("2025-01-01", periods=4, freq="D")
    scores = pd.DataFrame(
        {"A": [3.0, 1.0, 2.0, np.nan], "B": [1.0, 3.0, 1.0, 1.0], "C": [2.0, 2.0, 3.0, 2.0]},
        index=index,
    )
    # Rebalanced every 2 rows (rows 0 and 2), held in between; 1/2 on each of the best two.
    expected = pd.DataFrame(
        {"A": [0.5, 0.5, 0.5, 0.5], "B": [0.0, 0.0, 0.0, 0.0], "C": [0.5, 0.5, 0.5, 0.5]},
        index=index,
    )
    pd.testing.assert_frame_equal(topk_targets(scores, 2, rebalance_every=2), expected)
    # Every row: row 3 has no score for A, so B (1.0) and C make the top two.
    daily = topk_targets(scores, 2)
    assert daily.iloc[1].to_dict() == {"A": 0.0, "B": 0.5, "C": 0.5}
    assert daily.iloc[3].to_dict() == {"A": 0.0, "B": 0.5, "C": 0.5}
    with pytest.raises(ValidationError):
        topk_targets(scores, 0)


def test_a_book_that_knows_the_next_open_return_beats_buy_and_hold_net_of_costs(
    krx_bars: dict[str, pd.DataFrame],
) -> None:
    """The positive control of the portfolio view: scores equal to the label (the return
    from the next open, where the engine fills) make a top-1 book no holding can match."""
    span = krx_bars["005930"].index[200:260]
    scores = pd.DataFrame(
        {s: return_label(b, 1)[0].reindex(span) for s, b in krx_bars.items()}
    ).dropna()
    free = BacktestConfig(cash=1e6, sizer=Sizer(fractional=True))
    costly = BacktestConfig(cash=1e6, sizer=Sizer(fractional=True),
                            costs=CostModel(commission=0.001))  # fmt: skip
    book = topk_portfolio(scores, krx_bars, free, k=1)
    assert book["k"] == 1 and book["symbols"] == 3 and book["rebalance_every"] == 1
    assert book["model"]["total_return"] > book["buy_and_hold"]["total_return"] + 0.3
    assert book["model"]["turnover"] > 10 * book["buy_and_hold"]["turnover"]
    assert book["model"]["fees"] == 0.0
    net = topk_portfolio(scores, krx_bars, costly, k=1)
    assert net["model"]["fees"] > 0 and net["model"]["total_return"] < book["model"]["total_return"]
    with pytest.raises(ValidationError, match="exceeds"):
        topk_portfolio(scores, krx_bars, free, k=4)


def test_training_window_keeps_only_bars_inside_it(krx_bars: dict[str, pd.DataFrame]) -> None:
    cut = training_window(krx_bars, end="2025-01-31")
    assert all(b.index.max() <= pd.Timestamp("2025-01-31 23:59", tz="UTC") for b in cut.values())
    assert all(b.index.max() >= pd.Timestamp("2025-01-31", tz="UTC") for b in cut.values())
    both = training_window(krx_bars, start="2024-06-01", end="2024-06-30")
    assert all(b.index.min() >= pd.Timestamp("2024-06-01", tz="UTC") for b in both.values())
    with pytest.raises(ValidationError, match="after"):
        training_window(krx_bars, start="2025-02-01", end="2025-01-01")
    with pytest.raises(ValidationError, match="not a date"):
        training_window(krx_bars, end="soon")
    with pytest.raises(ValidationError, match="no bars"):
        training_window(krx_bars, end="1990-01-01")
