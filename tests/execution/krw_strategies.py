"""A test strategy trading a fixed coin quantity with market orders (`module:Class` spec): an
SMA cross that buys `quantity` on the cross up and sells what it holds on the cross down."""

from __future__ import annotations

from typing import ClassVar

from qts.core.types import OrderIntent, OrderType, Side
from qts.strategies.base import OrderStrategy, StrategyContext
from qts.strategies.params import Param, ParamSet


class FixedQuantityCross(OrderStrategy):
    name: ClassVar[str] = ""
    params = ParamSet(
        Param("fast", "int", 3, low=1, high=100, description="fast SMA bars"),
        Param("slow", "int", 8, low=2, high=400, description="slow SMA bars"),
        Param("quantity", "float", 0.001, low=1e-8, high=1e6, description="coins per entry"),
    )

    @property
    def warmup_bars(self) -> int:
        return int(self.params.slow) + 1

    def on_bar(self, ctx: StrategyContext) -> None:
        for symbol in ctx.symbols:
            close = ctx.history(symbol, self.warmup_bars)["close"]
            if len(close) < self.warmup_bars:
                continue
            fast, slow = int(self.params.fast), int(self.params.slow)
            now = close.iloc[-fast:].mean() > close.iloc[-slow:].mean()
            before = close.iloc[-fast - 1 : -1].mean() > close.iloc[-slow - 1 : -1].mean()
            held = ctx.position(symbol)
            if now and not before and held == 0:
                ctx.submit(
                    OrderIntent(symbol, Side.BUY, float(self.params.quantity), OrderType.MARKET)
                )
            elif before and not now and held > 0:
                ctx.submit(OrderIntent(symbol, Side.SELL, held, OrderType.MARKET))
