"""A strategy-like process that submits numbered orders to a KIS account through the order
service; the crash test kills it at random points and starts it again.

python -m tests.execution.crash_child BASE_URL DB_URL JOURNAL N
"""

from __future__ import annotations

import sys

from qts.core.types import OrderTicket, Side
from qts.db import Database
from qts.events import InProcessEventBus
from qts.execution.brokers import JsonlOrderIdStore, KisBroker, RetryPolicy
from qts.execution.live import LiveExecutor
from qts.services.trading.order_service import OrderService
from qts.services.trading.reconcile import reconcile

APP_KEY, APP_SECRET, ACCOUNT = "PSfakeAppKey0001", "fake-app-secret-value", "50012345-01"
SYMBOLS = ("005930", "000660")


def main(base_url: str, db_url: str, journal: str, n: int) -> None:
    broker = KisBroker(
        APP_KEY,
        APP_SECRET,
        ACCOUNT,
        mock=True,
        base_url=base_url,
        rate_per_s=500,
        retry=RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05),
        timeout_s=5.0,
        store=JsonlOrderIdStore(journal),
    )
    executor = LiveExecutor(broker, "kis")
    service = OrderService(Database(db_url), InProcessEventBus(), {"kis": executor})
    reconcile(service, executor, "crash-test")  # on start: settle what the last run left open
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
    reconcile(service, executor, "crash-test")
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
