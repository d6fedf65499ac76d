"""Position sizing: turning a target fraction of equity into a tradeable quantity.

Stocks trade in whole lots (`lot_size`, default 1 share); crypto trades fractionally in
multiples of `qty_step`. Quantities round toward zero, so a target is never exceeded. Buys are
clipped to what the cash (plus margin, when `leverage` > 1) can pay including fees, so cash never
goes negative unless margin is configured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from qts.backtest.costs import CostModel
from qts.core.errors import ValidationError

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Sizer:
    lot_size: float = 1.0
    fractional: bool = False
    qty_step: float = 1e-8
    allow_short: bool = False
    leverage: float = 1.0
    lot_sizes: dict[str, float] = field(default_factory=dict)  # per-symbol overrides

    def __post_init__(self) -> None:
        if not self.lot_size > 0 or not self.qty_step > 0:
            raise ValidationError("lot_size and qty_step must be > 0")
        for symbol, lot in self.lot_sizes.items():
            if not lot > 0:
                raise ValidationError(f"lot size for {symbol} must be > 0")
        if not 1.0 <= self.leverage <= 100.0:
            raise ValidationError(f"leverage must be in [1, 100], got {self.leverage}")

    def unit(self, symbol: str = "") -> float:
        """The quantity step of `symbol`: qty_step when fractional, else its lot size."""
        if self.fractional:
            return self.qty_step
        return float(self.lot_sizes.get(symbol, self.lot_size))

    def round_quantity(self, quantity: float, symbol: str = "") -> float:
        """Round toward zero to a multiple of the unit."""
        return round_to_unit(quantity, self.unit(symbol))

    def target_quantity(
        self, target: float, equity: float, price: float, symbol: str = ""
    ) -> float:
        """Signed quantity worth `target` x equity at `price` (long-only clips at zero)."""
        if not self.allow_short and target < 0:
            target = 0.0
        if price <= 0 or not math.isfinite(price) or equity <= 0:
            return 0.0
        return self.round_quantity(target * equity / price, symbol)

    def max_buy(
        self, price: float, cash: float, equity: float, costs: CostModel, symbol: str = ""
    ) -> float:
        """Largest quantity whose cost plus fees keeps cash >= -(leverage - 1) * equity."""
        return max_affordable(
            price,
            cash + (self.leverage - 1.0) * max(equity, 0.0),
            self.unit(symbol),
            costs.commission,
            costs.fixed_fee,
            costs.min_fee,
        )


def round_to_unit(quantity: float, unit: float) -> float:
    steps = math.floor(abs(quantity) / unit + _EPS)
    return math.copysign(steps * unit, quantity) if steps else 0.0


def max_affordable(
    price: float, budget: float, unit: float, commission: float, fixed_fee: float, min_fee: float
) -> float:
    """Max multiple of `unit` with q*price + max(commission*q*price + fixed, min_fee) <= budget."""
    if price <= 0 or budget <= 0:
        return 0.0
    by_rate = math.floor((budget - fixed_fee) / (price * (1.0 + commission)) / unit + _EPS)
    by_min = math.floor((budget - min_fee) / price / unit + _EPS)
    steps = max(min(by_rate, by_min), 0)
    # Float rounding can leave the cost a hair over budget; step down at most a few units.
    for _ in range(3):
        q = steps * unit
        if steps <= 0 or q * price + max(commission * q * price + fixed_fee, min_fee) <= budget:
            break
        steps -= 1
    return max(steps, 0) * unit
