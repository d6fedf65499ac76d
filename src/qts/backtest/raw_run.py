"""`RawRun`: what an engine (vectorized kernel or event loop) hands over before metrics, and
the round-trip trades rebuilt from its fills."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qts.backtest.actions import ActionArrays
from qts.backtest.kernel import ledger


@dataclass(slots=True)
class RawRun:
    """Engine output before metrics: positions and cash after each bar, and all fills."""

    qty: np.ndarray  # (n, k)
    cash: np.ndarray  # (n,)
    f_bar: np.ndarray
    f_sym: np.ndarray
    f_qty: np.ndarray  # signed
    f_price: np.ndarray
    f_fee: np.ndarray
    actions: ActionArrays = field(default_factory=ActionArrays.empty)  # applied to positions


def trade_arrays(raw: RawRun, k: int) -> dict[str, np.ndarray]:
    m = len(raw.f_bar)
    out = {
        "sym": np.zeros(m, dtype=np.int64),
        "dir": np.zeros(m, dtype=np.int64),
        "entry_bar": np.zeros(m, dtype=np.int64),
        "exit_bar": np.zeros(m, dtype=np.int64),
        "size": np.zeros(m),
        "entry_price": np.zeros(m),
        "exit_price": np.zeros(m),
        "pnl": np.zeros(m),
        "fees": np.zeros(m),
    }
    nt = ledger(
        raw.f_bar,
        raw.f_sym,
        raw.f_qty,
        raw.f_price,
        raw.f_fee,
        k,
        out["sym"],
        out["dir"],
        out["entry_bar"],
        out["exit_bar"],
        out["size"],
        out["entry_price"],
        out["exit_price"],
        out["pnl"],
        out["fees"],
        *raw.actions.kernel_args(),
    )
    return {key: value[:nt] for key, value in out.items()}
