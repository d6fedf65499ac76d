"""Pre-trade risk checks, in front of every order in paper and live mode alike.

The manager is pure: it is given the account's state and answers allow/reject with the rule
that rejected. Orders that only reduce exposure pass the size rules (they lower risk), but
nothing passes the kill switch, the symbol list, trading hours or the order-rate limit.

Exposure counts the account's working orders as if they filled (a position plus its open buys,
or minus its open sells, whichever is larger), so many small orders cannot pass one by one.
Across processes the order service gives the state from the database (positions, open orders,
orders claimed in the last minute) and checks under one database lock (`OrderService.place`);
the in-memory window below serves a manager used on its own.

Limits state their currency (`RiskLimits.currency`, else the account's base currency): every
notional of a symbol trading in another currency is converted at the FX rate in force, given in
the state (`AccountState.fx`); a needed rate that is missing rejects the order (rule `fx_rate`,
naming the pair), never lets it pass unchecked.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qts.core.errors import ValidationError
from qts.core.types import Side
from qts.execution.currency import FxRates, MissingFxRateError, check_currency


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Unset (None) limits are not enforced. Notional values (and the daily loss) are in
    `currency`; None: the account's base currency."""

    max_position_notional: float | None = None  # |position| x price per symbol
    max_gross_exposure: float | None = None  # sum over symbols of |position| x price
    max_order_notional: float | None = None
    max_orders_per_minute: int | None = None
    daily_loss_limit: float | None = None  # positive amount; trading stops once lost today
    allowed_symbols: frozenset[str] | None = None
    enforce_trading_hours: bool = False
    currency: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RiskLimits:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValidationError(f"unknown risk limits: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = dict(data)
        if values.get("allowed_symbols") is not None:
            values["allowed_symbols"] = frozenset(values["allowed_symbols"])
        limits = cls(**values)
        if limits.currency is not None:
            check_currency(limits.currency)
        for name in ("max_position_notional", "max_gross_exposure", "max_order_notional"):
            v = getattr(limits, name)
            if v is not None and not (v > 0 and math.isfinite(v)):
                raise ValidationError(f"{name} must be a positive number")
        return limits

    @property
    def sizes_set(self) -> bool:
        """True when any limit in money (order, position, gross exposure, daily loss) is set."""
        return (
            self.max_order_notional,
            self.max_position_notional,
            self.max_gross_exposure,
            self.daily_loss_limit,
        ) != (None, None, None, None)

    @property
    def is_set(self) -> bool:
        """True when the size limits live trading requires are all configured."""
        return None not in (
            self.max_position_notional,
            self.max_order_notional,
            self.daily_loss_limit,
        )


@dataclass(frozen=True, slots=True)
class AccountState:
    positions: Mapping[str, float]  # signed quantities
    prices: Mapping[str, float]  # latest marks
    realized_pnl_today: float = 0.0
    unrealized_pnl: float = 0.0
    kill_switch: bool = False
    # Remaining quantities of working orders, per symbol (positive numbers).
    open_buys: Mapping[str, float] = field(default_factory=dict)
    open_sells: Mapping[str, float] = field(default_factory=dict)
    # Orders that passed the check in the last 60 s, counted by whoever shares the window
    # (None: this manager's own in-memory window).
    orders_last_minute: int | None = None
    # The account's base currency, each symbol's trading currency and the FX rates in force:
    # notionals are converted into the limits' currency (unknown currencies: not converted).
    currency: str | None = None
    symbol_currencies: Mapping[str, str] = field(default_factory=dict)
    fx: FxRates = field(default_factory=FxRates)
    # Today's P&L (realized net of fees, plus unrealized) per symbol, in each symbol's currency,
    # for a daily loss limit across currencies (empty: the two totals above are used as is).
    pnl_by_symbol: Mapping[str, float] = field(default_factory=dict)

    def worst_case(self, symbol: str) -> float:
        """The position if every working order of `symbol` on its larger side filled."""
        q = self.positions.get(symbol, 0.0)
        longest, shortest = (
            q + self.open_buys.get(symbol, 0.0),
            q - self.open_sells.get(symbol, 0.0),
        )
        return longest if abs(longest) >= abs(shortest) else shortest


@dataclass(frozen=True, slots=True)
class RiskDecision:
    allowed: bool
    rule: str = ""
    message: str = ""


ALLOW = RiskDecision(True)


@dataclass
class RiskManager:
    limits: RiskLimits
    # Answers whether `symbol` is in session at `now` (exchange calendar); crypto is always open.
    is_open: Callable[[str, datetime], bool] | None = None
    # The base currency of an account (the limits' currency unless they state one); None:
    # the order service's default (live accounts by broker, else unknown: no conversion).
    account_currency: Callable[[str], str | None] | None = None
    _recent: deque[float] = field(default_factory=deque)

    def account_currency_of(self, account: str) -> str | None:
        """The account's base currency as this manager resolves it (None: not known)."""
        if self.account_currency is not None:
            return self.account_currency(account)
        return None

    def check(
        self,
        symbol: str,
        side: Side,
        quantity: float,
        price: float,
        state: AccountState,
        now: datetime,
    ) -> RiskDecision:
        lim = self.limits
        if state.kill_switch:
            return RiskDecision(False, "kill_switch", "the kill switch is on")
        if quantity <= 0 or not math.isfinite(quantity):
            return RiskDecision(False, "invalid_quantity", "quantity must be positive")
        if price <= 0 or not math.isfinite(price):
            return RiskDecision(False, "no_price", f"no valid price for {symbol}")
        if lim.allowed_symbols is not None and symbol not in lim.allowed_symbols:
            return RiskDecision(False, "allowed_symbols", f"{symbol} is not an allowed symbol")
        if lim.enforce_trading_hours and self.is_open is not None and not self.is_open(symbol, now):
            return RiskDecision(False, "trading_hours", f"{symbol}'s market is closed")
        if lim.max_orders_per_minute is not None:
            t = now.timestamp()
            while self._recent and t - self._recent[0] >= 60:
                self._recent.popleft()
            recent = state.orders_last_minute
            if (len(self._recent) if recent is None else recent) >= lim.max_orders_per_minute:
                return RiskDecision(
                    False,
                    "max_orders_per_minute",
                    f"more than {lim.max_orders_per_minute} a minute",
                )
        # The position this order adds to: now, plus what working orders on its side will add.
        current = state.positions.get(symbol, 0.0) + (
            state.open_buys.get(symbol, 0.0)
            if side is Side.BUY
            else -state.open_sells.get(symbol, 0.0)
        )
        after = current + side.sign * quantity
        reduces = abs(after) < abs(current) and current * after >= 0
        if lim.daily_loss_limit is not None and not reduces:
            try:
                loss = -self._pnl_today(state)
            except MissingFxRateError as e:
                return RiskDecision(
                    False, "fx_rate", f"{e.message}: cannot check the daily loss limit"
                )
            if loss >= lim.daily_loss_limit:
                return RiskDecision(
                    False, "daily_loss_limit", f"today's loss {loss:.2f} reached the limit"
                )
        if not reduces:
            try:
                refusal = self._size_rules(symbol, quantity, after, price, state)
            except MissingFxRateError as e:
                sizes = "notional limits" if lim.currency else "the account's notional limits"
                return RiskDecision(False, "fx_rate", f"{e.message}: cannot check {sizes}")
            if refusal is not None:
                return refusal
        if lim.max_orders_per_minute is not None and state.orders_last_minute is None:
            self._recent.append(now.timestamp())
        return ALLOW

    def _in_limits_currency(self, state: AccountState, symbol: str, amount: float) -> float:
        """`amount` in `symbol`'s currency, converted into the limits' currency."""
        target = self.limits.currency or state.currency
        money = state.symbol_currencies.get(symbol)
        if target is None or money is None or money == target:
            return amount
        return state.fx.convert(amount, money, target)

    def _pnl_today(self, state: AccountState) -> float:
        if not state.pnl_by_symbol:
            return state.realized_pnl_today + state.unrealized_pnl
        return sum(self._in_limits_currency(state, s, v) for s, v in state.pnl_by_symbol.items())

    def _size_rules(
        self, symbol: str, quantity: float, after: float, price: float, state: AccountState
    ) -> RiskDecision | None:
        """Order, position and gross notionals, each converted into the limits' currency."""
        lim = self.limits
        if not lim.sizes_set:
            return None
        target = lim.currency or state.currency
        unit = f" {target}" if target else ""

        def value(sym: str, amount: float) -> float:
            return self._in_limits_currency(state, sym, amount)

        notional = value(symbol, quantity * price)
        if lim.max_order_notional is not None and notional > lim.max_order_notional:
            return RiskDecision(
                False, "max_order_notional", f"order notional {notional:.2f}{unit} over the limit"
            )
        position = value(symbol, abs(after) * price)
        if lim.max_position_notional is not None and position > lim.max_position_notional:
            return RiskDecision(
                False,
                "max_position_notional",
                f"position in {symbol} would be {position:.2f}{unit}",
            )
        if lim.max_gross_exposure is not None:
            others = set(state.positions) | set(state.open_buys) | set(state.open_sells)
            gross = position + sum(
                value(s, abs(state.worst_case(s)) * state.prices.get(s, 0.0))
                for s in others
                if s != symbol
            )
            if gross > lim.max_gross_exposure:
                return RiskDecision(
                    False, "max_gross_exposure", f"gross exposure would be {gross:.2f}{unit}"
                )
        return None
