"""The headline of an out-of-sample report, and its spread over training seeds.

A model's IC moves with its seed (bagging, initialisation, batch order); one seed's figure
alone overstates what is known. `seed_summary` gives each headline figure's mean and standard
deviation over the seeds run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

HEADLINE = (
    "ic", "ic_t_stat", "ic_ci_low", "ic_ci_high", "icir",
    "rank_ic", "rank_ic_t_stat", "rank_ic_ci_low", "rank_ic_ci_high", "rank_icir", "ic_days",
    "ts_corr", "ts_corr_t_stat", "ts_rank_corr", "ts_rank_corr_t_stat",
    "pooled_corr", "directional_accuracy", "n",
)  # fmt: skip


def headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The headline figures present in one report (IC for panels, ts_corr for one symbol)."""
    return {k: metrics[k] for k in HEADLINE if k in metrics}


def seed_summary(reports: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | None]]:
    """{figure: {"mean", "sd", "n"}} over the seeds' reports (sd None with one seed)."""
    out: dict[str, dict[str, float | None]] = {}
    for key in HEADLINE:
        values = np.asarray([float(r[key]) for r in reports if key in r], dtype=np.float64)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        sd = float(values.std(ddof=1)) if len(values) > 1 else None
        out[key] = {"mean": float(values.mean()), "sd": sd, "n": float(len(values))}
    return out


def format_mean_sd(entry: Mapping[str, float | None] | None) -> str:
    if not entry or entry.get("mean") is None:
        return "n/a"
    mean, sd = float(entry["mean"] or 0.0), entry.get("sd")
    return f"{mean:.4f}" if sd is None or not math.isfinite(sd) else f"{mean:.4f} ± {sd:.4f}"
