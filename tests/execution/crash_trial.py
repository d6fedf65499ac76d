"""One crash trial: run the child, kill it (SIGKILL) after a random number of orders, run it
again to the end, and compare qts's database with the fake broker's own ledger."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from qts.db import Database
from qts.db.migrate import upgrade
from qts.db.models import Order, Position
from tests.brokers.fakes import FakeKis

ROOT = Path(__file__).resolve().parents[2]


def _child(base_url: str, db_url: str, journal: Path, n: int) -> subprocess.Popen[str]:
    # This checkout's src first, so the child runs the code under test, not another install.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.execution.crash_child",
            base_url,
            db_url,
            str(journal),
            str(n),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def run_trial(workdir: Path, n: int, rng: random.Random) -> dict[str, Any]:
    db_url = f"sqlite:///{workdir / 'qts.db'}"
    upgrade(db_url)
    journal = workdir / "kis-orders.jsonl"
    with FakeKis(cash=1e12, prices={"005930": 70_000.0, "000660": 180_000.0}) as fake:
        kill_after = rng.randrange(0, n)
        child = _child(fake.base_url, db_url, journal, n)
        assert child.stdout is not None
        seen = 0
        for line in child.stdout:
            if line.strip().isdigit():
                seen += 1
            if seen > kill_after:
                break
        # Kill mid-flight: the next order may be stored, sent, answered or none of these.
        child.send_signal(signal.SIGKILL)
        child.wait()
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
            "killed_after": kill_after,
            "orders_at_broker": len(ledger),
            "lost": lost,
            "duplicated": duplicated,
            "positions_equal": all(
                abs(positions.get(s, 0.0) - q) < 1e-9 for s, q in holdings.items()
            ),
            "stored": stored,
            "holdings": holdings,
        }
