"""A paper session killed with SIGKILL and resumed ends exactly as an uninterrupted one: same
orders, fills, positions and cash (issue 14, defect 1). `benchmarks/crash_trials.py --paper`
runs a hundred random kills."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.execution.paper_crash_trial import crash_and_resume, differences, prepare, uninterrupted

END = ["--end", "2024-07-15"]  # 149 bars, 38 orders: enough for the kills below, quick
NONE = {"orders": 0, "fills": 0, "positions": 0, "cash": 0}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare(tmp_path_factory.mktemp("paper-template") / "var")


@pytest.fixture(scope="module")
def reference(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    snap, _seconds = uninterrupted(template, tmp_path_factory.mktemp("ref") / "var", END)
    assert len(snap["fills"]) > 20 and snap["bars_seen"] == 149
    return snap


def test_a_kill_right_after_the_tenth_fill_is_saved_resumes_exactly(
    template: Path, reference: dict[str, Any], tmp_path: Path
) -> None:
    run = crash_and_resume(template, tmp_path / "var", END, kill_at="fill:10")
    assert run["killed"]
    assert len(run["at_kill"]["fills"]) == 10  # stored with the cash and runner state
    assert 0 < run["at_kill"]["bars_seen"] < 149
    assert differences(run["final"], reference) == NONE
    assert run["final"]["cash"] == reference["cash"]


def test_an_order_decided_at_a_bar_never_fills_on_that_bar_after_a_kill(
    template: Path, reference: dict[str, Any], tmp_path: Path
) -> None:
    # Killed right after the 5th order is acknowledged, before its bar is committed.
    run = crash_and_resume(template, tmp_path / "var", END, kill_at="submitted:5")
    assert run["killed"]
    assert len(run["at_kill"]["orders"]) == 4  # the killed bar left nothing behind
    assert differences(run["final"], reference) == NONE


@pytest.mark.parametrize("seed", range(3))
def test_random_kills_resume_exactly(
    template: Path, reference: dict[str, Any], tmp_path: Path, seed: int
) -> None:
    run = crash_and_resume(template, tmp_path / "var", END, random.Random(seed), within_s=3.5)
    assert differences(run["final"], reference) == NONE
