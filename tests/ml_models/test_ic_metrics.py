"""IC as the field defines it, checked against values worked out by hand on a small panel."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qts.core.errors import ValidationError
from qts.ml.evaluation import daily_ic, regression_metrics, series_summary
from qts.ml.evaluation.metrics import bootstrap_mean_interval
from qts.ml.evaluation.summary import seed_summary

D = pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08",
                    "2025-01-09"])  # fmt: skip

# (time, symbol, score, label). By hand, per day (x, y centred; r = sum xy / sqrt(sum xx yy)):
# d0: x = (-1, 0, 1), y = (-.02, -.01, .03): r = .05 / sqrt(2 * .0014) = 5 / sqrt(28);
#     ranks (1,2,3) vs (1,2,3): rank r = 1.
# d1: x = (1, -1, 0), y = (-.01, .01, 0): r = -.02 / sqrt(2 * .0002) = -1; rank r = -1.
# d2: scores 1..4 vs labels .01 .03 .02 .04: r = .8; ranks (1,3,2,4): rank r = .8.
# d3: one symbol; d4: labels equal; d5: scores equal: no cross-section, skipped.
PANEL = [
    (D[0], "A", 1.0, 0.00), (D[0], "B", 2.0, 0.01), (D[0], "C", 3.0, 0.05),
    (D[1], "A", 3.0, 0.01), (D[1], "B", 1.0, 0.03), (D[1], "C", 2.0, 0.02),
    (D[2], "A", 1.0, 0.01), (D[2], "B", 2.0, 0.03), (D[2], "C", 3.0, 0.02), (D[2], "D", 4.0, 0.04),
    (D[3], "A", 5.0, 0.07),
    (D[4], "A", 1.0, 0.02), (D[4], "B", 2.0, 0.02),
    (D[5], "A", 1.0, 0.02), (D[5], "B", 1.0, 0.05),
]  # fmt: skip


def panel() -> pd.DataFrame:
    frame = pd.DataFrame(PANEL, columns=["ts", "symbol", "score", "label"])
    return frame.sample(frac=1.0, random_state=3)  # the order of rows must not matter


def test_daily_cross_sectional_ic_rank_ic_and_icir_match_the_hand_computation() -> None:
    p = panel()
    ic = daily_ic(p["score"], p["label"], p["ts"])
    assert list(ic.index) == list(D[:3])
    assert ic.to_numpy() == pytest.approx([5 / math.sqrt(28), -1.0, 0.8])
    ric = daily_ic(p["score"], p["label"], p["ts"], rank=True)
    assert ric.to_numpy() == pytest.approx([1.0, -1.0, 0.8])
    m = regression_metrics(p["score"], p["label"], p["ts"], p["symbol"], seed=0)
    # IC = mean(5/sqrt 28, -1, .8) = 0.248304; sd (n-1) = 1.083488; ICIR = 0.229171;
    # t = 0.248304 / (1.083488 / sqrt 3) = 0.396935. Rank IC = .8/3, sd 1.101514,
    # Rank ICIR 0.242091, t 0.419314.
    assert m["cross_sectional"] is True and m["ic_days"] == 3
    assert m["ic"] == pytest.approx(0.248304, abs=1e-6)
    assert m["ic_std"] == pytest.approx(1.083488, abs=1e-6)
    assert m["icir"] == pytest.approx(0.229171, abs=1e-6)
    assert m["ic_t_stat"] == pytest.approx(0.396935, abs=1e-6)
    assert m["rank_ic"] == pytest.approx(0.266667, abs=1e-6)
    assert m["rank_icir"] == pytest.approx(0.242091, abs=1e-6)
    assert m["rank_ic_t_stat"] == pytest.approx(0.419314, abs=1e-6)
    # The correlation pooled over the 10 symbol-days of d0..d2 is another number (19/36):
    # it keeps its own name and is not the IC.
    assert m["pooled_corr"] != pytest.approx(m["ic"], abs=0.1)
    assert m["ic_ci_low"] <= m["ic"] <= m["ic_ci_high"]
    assert m["ic_ci_low"] >= -1.0 and m["ic_ci_high"] <= 1.0


def test_one_symbol_reports_a_time_series_correlation_never_an_ic() -> None:
    t = pd.date_range("2025-01-01", periods=5, freq="D")
    score = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    label = np.array([0.01, 0.03, 0.02, 0.04, 0.10])
    m = regression_metrics(score, label, t, np.array(["A"] * 5))
    assert m["cross_sectional"] is False and m["n_symbols"] == 1
    assert not {"ic", "rank_ic", "icir"} & set(m)
    # x = (-2..2), y - mean = (-.03, -.01, -.02, 0, .06): r = .19 / sqrt(10 * .005) = 0.849706;
    # ranks of y (1, 3, 2, 4, 5): rank r = 9 / 10; t = r sqrt((n - 2) / (1 - r^2)).
    assert m["ts_corr"] == pytest.approx(0.849706, abs=1e-6)
    assert m["ts_rank_corr"] == pytest.approx(0.9)
    assert m["ts_corr_t_stat"] == pytest.approx(2.791302, abs=1e-6)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    x = np.random.default_rng(7).normal(0.02, 0.1, 250)
    a = bootstrap_mean_interval(x, seed=1)
    assert a == bootstrap_mean_interval(x, seed=1)
    assert a != bootstrap_mean_interval(x, seed=2)
    assert a[0] < x.mean() < a[1]
    # About mean -/+ 1.96 standard errors for independent days.
    se = x.std(ddof=1) / math.sqrt(len(x))
    assert a[0] == pytest.approx(x.mean() - 1.96 * se, abs=0.4 * se)
    assert a[1] == pytest.approx(x.mean() + 1.96 * se, abs=0.4 * se)
    s = series_summary(x, seed=1, block=5)
    assert s["t_stat"] == pytest.approx(x.mean() / se) and s["n"] == 250
    with pytest.raises(ValidationError):
        daily_ic(np.ones(3), np.ones(2), D[:3])


def test_seed_summary_gives_mean_and_sd_over_seeds() -> None:
    out = seed_summary([{"ic": 0.01, "ic_t_stat": 1.0}, {"ic": 0.03, "ic_t_stat": 3.0}])
    assert out["ic"] == {"mean": pytest.approx(0.02), "sd": pytest.approx(math.sqrt(2) * 0.01),
                         "n": 2.0}  # fmt: skip
    assert out["ic_t_stat"]["mean"] == pytest.approx(2.0)
    assert seed_summary([{"ic": 0.05}])["ic"]["sd"] is None
