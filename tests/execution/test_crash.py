"""Kill the order-submitting process at random points, restart, reconcile: no order lost, none
duplicated, positions equal to the broker's ledger. `benchmarks/crash_trials.py` runs hundreds."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.execution.crash_trial import run_trial

N_ORDERS = 8


@pytest.mark.parametrize("seed", range(4))
def test_crash_restart_reconcile_loses_and_duplicates_nothing(tmp_path: Path, seed: int) -> None:
    result = run_trial(tmp_path, N_ORDERS, random.Random(seed))
    assert result["orders_at_broker"] == N_ORDERS, result
    assert result["lost"] == 0, result
    assert result["duplicated"] == 0, result
    assert result["positions_equal"], result
    assert sum(result["holdings"].values()) == sum(range(1, N_ORDERS + 1))
