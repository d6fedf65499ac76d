"""Kill the order-submitting process at random points, restart, reconcile: no order lost, none
duplicated, positions equal to the broker's ledger. `benchmarks/crash_trials.py` runs hundreds."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.execution.crash_trial import run_trial

N_ORDERS = 8


def _check(result: dict, n: int = N_ORDERS) -> None:  # type: ignore[type-arg]
    assert result["orders_at_broker"] == n, result
    assert result["order_requests"] == n, result  # each order sent once, none again
    assert result["lost"] == 0, result
    assert result["duplicated"] == 0, result
    assert result["positions_equal"], result
    assert sum(result["holdings"].values()) == sum(range(1, n + 1))


@pytest.mark.parametrize("seed", range(3))
def test_crash_restart_reconcile_loses_and_duplicates_nothing(tmp_path: Path, seed: int) -> None:
    _check(run_trial(tmp_path, N_ORDERS, random.Random(seed)))


def test_a_kill_between_the_claim_and_the_send_sends_that_order_once(tmp_path: Path) -> None:
    # Order 3 is claimed (stored `submitting`) and the process dies before sending it: the
    # restart asks the broker for its client order id, finds nothing, and sends it once.
    result = run_trial(tmp_path, N_ORDERS, random.Random(0), kill_before_send=3)
    assert result["killed_with_in_flight"] == 1, result
    _check(result)
