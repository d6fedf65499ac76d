"""Settings of one backtest run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from qts.backtest.costs import CostModel, SlippageModel
from qts.backtest.fills import FillModel
from qts.backtest.sizing import Sizer
from qts.core.errors import ValidationError

FILL_AT = ("next_open", "close")
REBALANCE = ("on_change", "every_bar")
ASSET_CLASSES = ("auto", "stock", "crypto")


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """`fill_at`: "next_open" (decided at t, filled at t+1's open) or "close" (t's close).

    `rebalance`: "on_change" trades a symbol only when its target changes; "every_bar" trades
    back to the target fraction at every bar.
    `asset_class`/`timeframe`/`periods_per_year` drive annualization (inferred when not given).
    `engine`: "auto" (vectorized for target strategies, event-driven for order strategies),
    "vectorized" or "event".
    """

    cash: float = 10_000.0
    costs: CostModel = field(default_factory=CostModel)
    slippage: SlippageModel = field(default_factory=SlippageModel)
    sizer: Sizer = field(default_factory=Sizer)
    fill_at: str = "next_open"
    rebalance: str = "on_change"
    asset_class: str = "auto"
    timeframe: str | None = None
    periods_per_year: float | None = None
    engine: str = "auto"

    def __post_init__(self) -> None:
        if not self.cash > 0:
            raise ValidationError(f"cash must be > 0, got {self.cash}")
        if self.fill_at not in FILL_AT:
            raise ValidationError(f"fill_at must be one of {FILL_AT}, got {self.fill_at!r}")
        if self.rebalance not in REBALANCE:
            raise ValidationError(f"rebalance must be one of {REBALANCE}")
        if self.asset_class not in ASSET_CLASSES:
            raise ValidationError(f"asset_class must be one of {ASSET_CLASSES}")
        if self.engine not in ("auto", "vectorized", "event"):
            raise ValidationError("engine must be auto, vectorized or event")
        if self.periods_per_year is not None and not self.periods_per_year > 0:
            raise ValidationError("periods_per_year must be > 0")

    @property
    def fill_model(self) -> FillModel:
        return FillModel(costs=self.costs, slippage=self.slippage, sizer=self.sizer)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
