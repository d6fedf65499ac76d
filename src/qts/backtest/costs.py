"""Trading costs: commission, fixed and minimum fees, sell tax, and slippage.

All prices and notionals are in the run's currency (a symbol's quote currency, or the base
currency it was converted to); a fixed or minimum fee of a symbol from another market is an
amount in that market's currency, converted per bar (`CostModel.at_rate`). The same objects
price fills in the backtester (both engines) and in paper trading.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.core.types import Side


@dataclass(frozen=True, slots=True)
class SellTaxSchedule:
    """A sell-side tax rate that changes by date: `steps` are (effective from, rate), ascending.

    A fill's rate is the one in force on its date in `timezone` (the market's local date).
    """

    steps: tuple[tuple[date, float], ...]
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValidationError("a sell tax schedule needs at least one step")
        days = [day for day, _ in self.steps]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValidationError("sell tax schedule dates must be strictly ascending")
        for _, rate in self.steps:
            _check_rate("sell_tax", rate)

    def rate_at(self, when: Any) -> float:
        """The rate on `when`'s local date (the first step's rate before the first date)."""
        return float(self.rates(pd.DatetimeIndex([pd.Timestamp(when)]))[0])

    def rates(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The rate in force at each time of `index` (vectorized, for the kernel)."""
        local = index.tz_convert(self.timezone) if index.tz is not None else index
        days = local.tz_localize(None).normalize() if local.tz is not None else local.normalize()
        starts = pd.DatetimeIndex([pd.Timestamp(day) for day, _ in self.steps])
        pos = np.searchsorted(starts.to_numpy(), days.to_numpy(), side="right") - 1
        values = np.array([rate for _, rate in self.steps], dtype=np.float64)
        return values[np.clip(pos, 0, None)]


def _check_rate(name: str, value: float) -> None:
    if not np.isfinite(value) or value < 0:
        raise ValidationError(f"{name} must be a finite number >= 0, got {value}")
    if value >= 0.1:
        raise ValidationError(f"{name} is a fraction and must be < 0.1 (10%), got {value}")


@dataclass(frozen=True, slots=True)
class CostModel:
    """fee = max(commission * notional + fixed_fee, min_fee) + sell_tax * notional (sells only).

    The sell tax is `sell_tax_schedule`'s rate on the fill's date when a schedule is given (KRX),
    else the flat `sell_tax`.
    """

    commission: float = 0.0
    fixed_fee: float = 0.0
    min_fee: float = 0.0
    sell_tax: float = 0.0
    sell_tax_schedule: SellTaxSchedule | None = None

    def __post_init__(self) -> None:
        for name in ("fixed_fee", "min_fee"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValidationError(f"{name} must be a finite number >= 0, got {value}")
        _check_rate("commission", self.commission)
        _check_rate("sell_tax", self.sell_tax)

    @property
    def has_amounts(self) -> bool:
        """Whether a fee part is an amount (fixed or minimum fee) rather than a fraction."""
        return self.fixed_fee != 0.0 or self.min_fee != 0.0

    def at_rate(self, rate: float) -> CostModel:
        """These costs with the amounts (fixed and minimum fee) converted at the FX `rate`."""
        if not self.has_amounts:
            return self
        return replace(self, fixed_fee=self.fixed_fee * rate, min_fee=self.min_fee * rate)

    def sell_tax_at(self, when: Any = None) -> float:
        if self.sell_tax_schedule is None:
            return self.sell_tax
        if when is None:
            raise ValidationError("a dated sell tax needs the fill's time")
        return self.sell_tax_schedule.rate_at(when)

    def sell_taxes(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The sell tax rate at each bar of `index`."""
        if self.sell_tax_schedule is None:
            return np.full(len(index), self.sell_tax)
        return self.sell_tax_schedule.rates(index)

    def fee(self, side: Side, quantity: float, price: float, when: Any = None) -> float:
        """The fee of a fill; `when` (the fill's time) picks a dated sell tax."""
        tax = self.sell_tax_at(when) if side is Side.SELL else 0.0
        return order_fee(
            side is Side.SELL, quantity, price,
            self.commission, self.fixed_fee, self.min_fee, tax,
        )  # fmt: skip


def order_fee(
    is_sell: bool,
    quantity: float,
    price: float,
    commission: float,
    fixed_fee: float,
    min_fee: float,
    sell_tax: float,
) -> float:
    """The fee arithmetic, as a plain function the vectorized kernel compiles too."""
    if quantity == 0.0:
        return 0.0
    notional = abs(quantity) * price
    fee = max(commission * notional + fixed_fee, min_fee)
    if is_sell:
        fee += sell_tax * notional
    return fee


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """Adverse price move as a fraction: bps / 1e4 + vol_mult * sigma.

    sigma is the standard deviation of close-to-close returns over `vol_window` bars up to the
    bar where the order was decided (0 while the window is not full).
    """

    bps: float = 0.0
    vol_mult: float = 0.0
    vol_window: int = 20

    def __post_init__(self) -> None:
        if not np.isfinite(self.bps) or self.bps < 0 or self.bps >= 1000:
            raise ValidationError(f"slippage bps must be in [0, 1000), got {self.bps}")
        if not np.isfinite(self.vol_mult) or self.vol_mult < 0:
            raise ValidationError(f"slippage vol_mult must be >= 0, got {self.vol_mult}")
        if self.vol_window < 2:
            raise ValidationError("slippage vol_window must be >= 2")

    def fraction(self, sigma: float = 0.0) -> float:
        return self.bps / 1e4 + self.vol_mult * (sigma if np.isfinite(sigma) else 0.0)

    def fractions(self, close: np.ndarray) -> np.ndarray:
        """Slippage fraction per decision bar for a close series (vectorized)."""
        base = np.full(len(close), self.bps / 1e4)
        if self.vol_mult == 0:
            return base
        sigma = volatility(close, self.vol_window)
        return base + self.vol_mult * np.nan_to_num(sigma, nan=0.0)

    @staticmethod
    def apply(side: Side, price: float, fraction: float) -> float:
        return price * (1.0 + fraction) if side is Side.BUY else price * (1.0 - fraction)


def volatility(close: np.ndarray, window: int) -> np.ndarray:
    """Rolling sample std of simple returns ending at each bar (NaN until the window is full)."""
    returns = pd.Series(close, dtype=float).pct_change()
    return returns.rolling(window, min_periods=window).std().to_numpy()
