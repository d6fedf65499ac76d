"""One KIS account, domestic and US stocks: the broker `kis` a live session gets.

A KIS account (종합계좌) trades both markets under one account number and app key, so qts keeps
one account `live:kis`: orders for KRX codes (6 characters starting with a digit) go to the
domestic endpoints (`KisBroker`), every other symbol to the overseas ones
(`KisOverseasBroker`), which shares the domestic client's token. Each side keeps its own
client-order-id journal (order numbers of the two sides may coincide). Balances and positions
are both sides' once the account has traded US stocks (a US order in the overseas journal or
sent now) or `overseas=True`; before, only the domestic side is asked, so an account without
the overseas service is never sent overseas requests.
"""

from __future__ import annotations

from qts.core.types import Order
from qts.execution.brokers.base import Balance, Broker, BrokerOrder, BrokerPosition
from qts.execution.brokers.kis import KisBroker
from qts.execution.brokers.kis_overseas import KisOverseasBroker
from qts.market.kis_overseas import is_krx_code  # the market-data client routes alike


class KisAccountBroker(Broker):
    name = "kis"

    def __init__(
        self,
        domestic: KisBroker,
        overseas: KisOverseasBroker,
        *,
        overseas_enabled: bool | None = None,
    ) -> None:
        super().__init__()
        self.domestic, self.overseas = domestic, overseas
        self._overseas_enabled = overseas_enabled

    def __repr__(self) -> str:
        return f"KisAccountBroker({self.domestic!r}, {self.overseas!r})"

    @property
    def overseas_enabled(self) -> bool:
        if self._overseas_enabled is not None:
            return self._overseas_enabled
        return bool(self.overseas.store.claimed_broker_ids())

    def side_for(self, symbol: str) -> KisBroker:
        return self.domestic if is_krx_code(symbol) else self.overseas

    def _side_of_order(self, client_order_id: str) -> KisBroker:
        return self.overseas if self.overseas.store.get(client_order_id) else self.domestic

    def submit(self, order: Order) -> BrokerOrder:
        return self.side_for(order.symbol).submit(order)

    def cancel(self, client_order_id: str) -> BrokerOrder:
        return self._side_of_order(client_order_id).cancel(client_order_id)

    def get_order(self, client_order_id: str) -> BrokerOrder:
        return self._side_of_order(client_order_id).get_order(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        if symbol is not None:
            return self.side_for(symbol).open_orders(symbol)
        found = self.domestic.open_orders()
        return found + self.overseas.open_orders() if self.overseas_enabled else found

    def balances(self) -> list[Balance]:
        found = self.domestic.balances()
        return found + self.overseas.balances() if self.overseas_enabled else found

    def positions(self) -> list[BrokerPosition]:
        found = self.domestic.positions()
        return found + self.overseas.positions() if self.overseas_enabled else found

    def track(self, order: BrokerOrder) -> None:
        self.side_for(order.symbol).track(order)

    def poll_updates(self) -> list[BrokerOrder]:
        return self.domestic.poll_updates() + self.overseas.poll_updates()

    def close(self) -> None:
        self.domestic.close()
        self.overseas.close()
