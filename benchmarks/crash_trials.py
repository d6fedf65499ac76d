"""Crash-test tallies. Prints one table per mode.

Broker mode (default): kill the order-submitting process at random moments, restart, reconcile,
and compare with the fake KIS broker's ledger; counts the kills that found an order in flight
(claimed, not yet answered: stored `submitting`).

    python benchmarks/crash_trials.py --trials 200 --orders 12

Paper mode: kill `qts paper --replay` (a child process) at a random moment, resume it with the
same command, and compare orders, fills, positions and cash with an uninterrupted run.

    python benchmarks/crash_trials.py --paper --trials 100
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.execution.crash_trial import run_trial
from tests.execution.paper_crash_trial import crash_and_resume, differences, prepare, uninterrupted


def broker_trials(trials: int, orders: int, rng: random.Random) -> None:
    tally = {"orders": 0, "in_flight": 0, "lost": 0, "duplicated": 0, "positions_differ": 0}
    started = time.perf_counter()
    for _ in range(trials):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_trial(Path(tmp), orders, rng)
        tally["orders"] += orders
        tally["in_flight"] += 1 if r["killed_with_in_flight"] else 0
        tally["lost"] += r["lost"]
        tally["duplicated"] += r["duplicated"] + max(r["order_requests"] - orders, 0)
        tally["positions_differ"] += 0 if r["positions_equal"] else 1
    elapsed = time.perf_counter() - started
    print("| trials | orders | killed with an order in flight | lost | duplicated "
          "| positions differ | seconds |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {trials} | {tally['orders']} | {tally['in_flight']} | {tally['lost']} "
        f"| {tally['duplicated']} | {tally['positions_differ']} | {elapsed:.0f} |"
    )


def paper_trials(trials: int, rng: random.Random) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = prepare(root / "template")
        reference, seconds = uninterrupted(template, root / "reference", [])
        total = {"orders": 0, "fills": 0, "positions": 0, "cash": 0}
        mid_session = sessions_differ = 0
        started = time.perf_counter()
        for n in range(trials):
            run = crash_and_resume(template, root / f"t{n}", [], rng, within_s=seconds)
            bars = run["at_kill"]["bars_seen"]
            mid_session += 1 if run["killed"] and 0 < bars < reference["bars_seen"] else 0
            diff = differences(run["final"], reference)
            sessions_differ += 1 if any(diff.values()) else 0
            for key, value in diff.items():
                total[key] += value
        elapsed = time.perf_counter() - started
    print(
        f"uninterrupted: {reference['bars_seen']} bars, {len(reference['orders'])} orders, "
        f"{len(reference['fills'])} fills, {seconds:.1f} s"
    )
    print("| trials | killed mid-session | sessions that differ | orders differ | fills differ "
          "| positions differ | cash differs | seconds |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {trials} | {mid_session} | {sessions_differ} | {total['orders']} | {total['fills']} "
        f"| {total['positions']} | {total['cash']} | {elapsed:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--orders", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--paper", action="store_true", help="kill paper sessions instead")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.paper:
        paper_trials(args.trials, rng)
    else:
        broker_trials(args.trials, args.orders, rng)


if __name__ == "__main__":
    main()
