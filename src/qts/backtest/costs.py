"""Trading costs: commission, fixed and minimum fees, sell tax, and slippage.

All prices and notionals are in the symbol's quote currency. The same objects price fills in the
backtester (both engines) and in paper trading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.core.types import Side

# KRX securities transaction tax (KOSPI: 0.03% tax + 0.15% rural tax in 2025) charged on sells.
KRX_SELL_TAX_2025 = 0.0018


@dataclass(frozen=True, slots=True)
class CostModel:
    """fee = max(commission * notional + fixed_fee, min_fee) + sell_tax * notional (sells only)."""

    commission: float = 0.0
    fixed_fee: float = 0.0
    min_fee: float = 0.0
    sell_tax: float = 0.0

    def __post_init__(self) -> None:
        for name in ("commission", "fixed_fee", "min_fee", "sell_tax"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValidationError(f"{name} must be a finite number >= 0, got {value}")
        if self.commission >= 0.1 or self.sell_tax >= 0.1:
            raise ValidationError("commission and sell_tax are fractions and must be < 0.1 (10%)")

    @classmethod
    def krx(cls, commission: float = 0.00015) -> CostModel:
        """Typical Korean retail stock costs: broker commission plus the sell-side tax."""
        return cls(commission=commission, sell_tax=KRX_SELL_TAX_2025)

    def fee(self, side: Side, quantity: float, price: float) -> float:
        return order_fee(
            side is Side.SELL, quantity, price,
            self.commission, self.fixed_fee, self.min_fee, self.sell_tax,
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
