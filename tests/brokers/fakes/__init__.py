"""Local fake broker servers (127.0.0.1, port 0) answering in each broker's published format.

Each fake runs a threaded HTTP server (`start()` / `stop()`, `base_url`), keeps its own ledger
(`fake.ledger.orders`, balances, fills) and can be told to inject faults: rate limiting, token
expiry, and a hang after accepting an order (so a client sees a timeout for an order that
exists). The order service's crash test reuses them.
"""

from tests.brokers.fakes.binance import FakeBinanceSpot
from tests.brokers.fakes.kis import FakeKis
from tests.brokers.fakes.kiwoom import FakeKiwoom
from tests.brokers.fakes.ledger import Ledger, LedgerError, LedgerOrder

__all__ = ["FakeBinanceSpot", "FakeKis", "FakeKiwoom", "Ledger", "LedgerError", "LedgerOrder"]
