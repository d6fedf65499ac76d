"""A strategy-like process that submits numbered orders to a KIS account through the order
service; the crash test kills it at random points and starts it again.

python -m tests.execution.crash_child BASE_URL DB_URL JOURNAL N [KILL_BEFORE_SEND]

With KILL_BEFORE_SEND = k the process kills itself (SIGKILL) when order k has been claimed and
before anything of it is sent: the claim is stored, the broker has nothing.
"""

from __future__ import annotations

import os
import signal
import sys

from qts.core.types import Order, OrderTicket, Side
from qts.db import Database
from qts.events import InProcessEventBus
from qts.execution.brokers import JsonlOrderIdStore, KisBroker, RetryPolicy
from qts.execution.executor import ExecutionReport
from qts.execution.live import LiveExecutor
from qts.services.trading.order_service import OrderService
from qts.services.trading.reconcile import reconcile

APP_KEY, APP_SECRET, ACCOUNT = "PSfakeAppKey0001", "fake-app-secret-value", "50012345-01"
SYMBOLS = ("005930", "000660")
# A request may still reach the broker this long after the process died (the client's timeout).
TIMEOUT_S = 1.0


class DyingExecutor(LiveExecutor):
    """The live executor, with a process that dies just before it sends one given order."""

    kill_before: str | None = None

    def submit(self, order: Order) -> ExecutionReport:
        if order.client_order_id == self.kill_before:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().submit(order)


def main(base_url: str, db_url: str, journal: str, n: int, kill_before_send: int = -1) -> None:
    broker = KisBroker(
        APP_KEY,
        APP_SECRET,
        ACCOUNT,
        mock=True,
        base_url=base_url,
        rate_per_s=500,
        retry=RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05),
        timeout_s=TIMEOUT_S,
        store=JsonlOrderIdStore(journal),
    )
    executor = DyingExecutor(broker, "kis")
    if kill_before_send >= 0:
        executor.kill_before = f"crash-{kill_before_send:04d}"
    service = OrderService(Database(db_url), InProcessEventBus(), {"kis": executor})
    # On start: settle what the last run left open (claims it died holding included).
    reconcile(service, executor, "crash-test", settle_after_s=TIMEOUT_S)
    print("ready", flush=True)
    for i in range(n):
        ticket = OrderTicket(
            SYMBOLS[i % 2],
            Side.BUY,
            float(i + 1),
            client_order_id=f"crash-{i:04d}",
            account="kis",
            reference_price=100_000.0,
        )
        service.place(ticket, actor="crash-test")
        print(i, flush=True)
    reconcile(service, executor, "crash-test", settle_after_s=TIMEOUT_S)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), *map(int, sys.argv[5:]))
