"""One crash trial: run the child, kill it (SIGKILL) at a random moment while it sends orders,
note whether an order was in flight (claimed, not yet answered: `submitting` in the database),
run it again to the end, and compare qts's database with the fake broker's own ledger."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from qts.db import Database
from qts.db.migrate import upgrade
from qts.db.models import Order, Position
from tests.brokers.fakes import FakeKis

ROOT = Path(__file__).resolve().parents[2]
ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
# The fake takes this long to handle an order, so a random kill often finds one in flight.
ORDER_LATENCY_S = 0.05


def _child(base_url: str, db_url: str, journal: Path, n: int, *extra: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    args = [base_url, db_url, str(journal), str(n), *map(str, extra)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.execution.crash_child", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def _in_flight(db_url: str) -> int:
    db = Database(db_url)
    with db.session() as s:
        found = len(s.scalars(select(Order.id).where(Order.status == "submitting")).all())
    db.dispose()
    return found


def run_trial(
    workdir: Path, n: int, rng: random.Random, kill_before_send: int | None = None
) -> dict[str, Any]:
    """Kill at a random moment of the sending (or, with `kill_before_send`, just before that
    order is sent), restart, and tally."""
    db_url = f"sqlite:///{workdir / 'qts.db'}"
    upgrade(db_url)
    journal = workdir / "kis-orders.jsonl"
    with FakeKis(cash=1e12, prices={"005930": 70_000.0, "000660": 180_000.0}) as fake:
        fake.latency_s[ORDER_PATH] = ORDER_LATENCY_S
        if kill_before_send is None:
            child = _child(fake.base_url, db_url, journal, n)
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr
            # A random moment of the sending (the orders take about n x latency).
            time.sleep(rng.uniform(0, n * ORDER_LATENCY_S * 1.2))
            child.send_signal(signal.SIGKILL)
        else:
            child = _child(fake.base_url, db_url, journal, n, kill_before_send)
        child.wait()
        in_flight = _in_flight(db_url)
        again = _child(fake.base_url, db_url, journal, n)
        _out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        db = Database(db_url)
        with db.session() as s:
            orders = s.scalars(select(Order).order_by(Order.client_order_id)).all()
            positions = {p.symbol: p.quantity for p in s.scalars(select(Position))}
            stored = [
                (o.client_order_id, o.status, o.broker_order_id, o.filled_quantity) for o in orders
            ]
        db.dispose()
        ledger = list(fake.ledger.orders.values())
        broker_ids = [o[2] for o in stored]
        lost = n - len({o[0] for o in stored if o[1] == "filled"})
        duplicated = (
            len(ledger)
            - len(set(broker_ids) & {lo.order_id for lo in ledger})
            + (len(broker_ids) - len(set(broker_ids)))
        )
        holdings = {s: fake.ledger.holding(s) for s in ("005930", "000660")}
        return {
            "killed_with_in_flight": in_flight,
            "order_requests": len(fake.requests_for_path(ORDER_PATH)),
            "orders_at_broker": len(ledger),
            "lost": lost,
            "duplicated": duplicated,
            "positions_equal": all(
                abs(positions.get(s, 0.0) - q) < 1e-9 for s, q in holdings.items()
            ),
            "stored": stored,
            "holdings": holdings,
        }
