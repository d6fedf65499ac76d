"""Crash-test tally: kill the order-submitting process at random points, restart, reconcile,
and compare with the fake KIS broker's ledger. Prints one table.

    python benchmarks/crash_trials.py --trials 200 --orders 12
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--orders", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally = {"trials": 0, "orders": 0, "lost": 0, "duplicated": 0, "positions_differ": 0}
    started = time.perf_counter()
    for _ in range(args.trials):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_trial(Path(tmp), args.orders, rng)
        tally["trials"] += 1
        tally["orders"] += args.orders
        tally["lost"] += r["lost"]
        tally["duplicated"] += r["duplicated"]
        tally["positions_differ"] += 0 if r["positions_equal"] else 1
    elapsed = time.perf_counter() - started
    print("| trials | orders | lost | duplicated | positions differ | seconds |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {tally['trials']} | {tally['orders']} | {tally['lost']} | {tally['duplicated']} "
        f"| {tally['positions_differ']} | {elapsed:.0f} |"
    )


if __name__ == "__main__":
    main()
