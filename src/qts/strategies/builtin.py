"""Built-in rule-based strategies (momentum and mean reversion); indicators from TA-Lib.

Each target strategy computes a per-symbol target in {-1, 0, 1} from events that are
forward-filled into a state, so the value at bar t depends on bars up to t only (tested against
incremental evaluation in tests/strategies). Each also has a `target_stepper`
(`qts.strategies.steppers`): the same targets one bar at a time, for paper and live runners. `channel_breakout` is the event-driven example: it
works resting stop orders with attached exits through `ctx.submit` / `ctx.cancel`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pandas as pd
import talib

from qts.core.errors import ValidationError
from qts.core.types import OrderIntent, OrderType, Side
from qts.strategies import steppers
from qts.strategies.base import (
    OrderStrategy,
    StrategyContext,
    TargetStepper,
    TargetStrategy,
    cross_above,
    hold_state,
)
from qts.strategies.params import Param, ParamSet
from qts.strategies.registration import register

_ALLOW_SHORT = Param("allow_short", "bool", False, description="reverse to short on sell signals")


def _close(bars: pd.DataFrame) -> np.ndarray:
    return bars["close"].to_numpy(dtype=np.float64)


@register
class SmaCross(TargetStrategy):
    """Long when the fast SMA crosses above the slow one; exit (or go short) on the cross down."""

    name: ClassVar[str] = "sma_cross"
    params: ClassVar[tuple[Param, ...]] = (
        Param("fast", "int", 10, low=1, high=500, step=5, description="fast SMA period"),
        Param("slow", "int", 30, low=2, high=2000, step=10, description="slow SMA period"),
        _ALLOW_SHORT,
    )

    def validate_params(self) -> None:
        if self.p["fast"] >= self.p["slow"]:
            raise ValidationError(
                f"sma_cross needs fast < slow, got fast={self.p['fast']} slow={self.p['slow']}"
            )

    @property
    def warmup_bars(self) -> int:
        return int(self.p["slow"]) + 1

    def target_stepper(self) -> TargetStepper:
        return steppers.SmaCrossStepper(self.p)

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        close = _close(bars)
        fast = talib.SMA(close, timeperiod=self.p["fast"])
        slow = talib.SMA(close, timeperiod=self.p["slow"])
        events = np.full(len(close), np.nan)
        events[cross_above(slow, fast)] = -1.0 if self.p["allow_short"] else 0.0
        events[cross_above(fast, slow)] = 1.0
        return pd.Series(hold_state(events), index=bars.index)


@register
class TimeSeriesMomentum(TargetStrategy):
    """Time-series momentum: long when the return over `lookback` bars exceeds `threshold`.

    Short when it is below -threshold and shorting is allowed; flat otherwise.
    """

    name: ClassVar[str] = "ts_momentum"
    params: ClassVar[tuple[Param, ...]] = (
        Param("lookback", "int", 60, low=2, high=1000, step=10, description="return window"),
        Param("threshold", "float", 0.0, low=0.0, high=1.0, step=0.01, description="min |return|"),
        _ALLOW_SHORT,
    )

    @property
    def warmup_bars(self) -> int:
        return int(self.p["lookback"]) + 1

    def target_stepper(self) -> TargetStepper:
        return steppers.MomentumStepper(self.p)

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        close = _close(bars)
        roc = talib.ROCP(close, timeperiod=self.p["lookback"])
        threshold = self.p["threshold"]
        target = np.zeros(len(close))
        with np.errstate(invalid="ignore"):
            target[roc > threshold] = 1.0
            if self.p["allow_short"]:
                target[roc < -threshold] = -1.0
        return pd.Series(target, index=bars.index)


@register
class RsiReversion(TargetStrategy):
    """RSI mean reversion: buy when RSI < lower, exit when RSI crosses `exit_level`.

    With shorting, sell short when RSI > upper and cover on the cross back through `exit_level`.
    """

    name: ClassVar[str] = "rsi_reversion"
    params: ClassVar[tuple[Param, ...]] = (
        Param("period", "int", 14, low=2, high=200, step=2, description="RSI period"),
        Param("lower", "float", 30.0, low=1.0, high=50.0, step=5.0, description="oversold"),
        Param("upper", "float", 70.0, low=50.0, high=99.0, step=5.0, description="overbought"),
        Param("exit_level", "float", 50.0, low=1.0, high=99.0, step=5.0, description="exit RSI"),
        _ALLOW_SHORT,
    )

    def validate_params(self) -> None:
        if not self.p["lower"] < self.p["exit_level"] < self.p["upper"]:
            raise ValidationError("rsi_reversion needs lower < exit_level < upper")

    @property
    def warmup_bars(self) -> int:
        return int(self.p["period"]) + 1

    def target_stepper(self) -> TargetStepper:
        return steppers.RsiReversionStepper(self.p)

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        rsi = talib.RSI(_close(bars), timeperiod=self.p["period"])
        level = np.full(len(rsi), float(self.p["exit_level"]))
        events = np.full(len(rsi), np.nan)
        # Entries sit on the far side of the exit level, so the first cross after an entry is
        # always its exit: crossing either way means "flat".
        events[cross_above(rsi, level) | cross_above(level, rsi)] = 0.0
        with np.errstate(invalid="ignore"):
            events[rsi < self.p["lower"]] = 1.0
            if self.p["allow_short"]:
                events[rsi > self.p["upper"]] = -1.0
        return pd.Series(hold_state(events), index=bars.index)


@register
class BollingerZScore(TargetStrategy):
    """Bollinger z-score reversion: z = (close - SMA) / stdev over `period` bars.

    Long when z < -entry_z, exit when z rises back through -exit_z; short (if allowed) when
    z > entry_z, cover when it falls back through exit_z.
    """

    name: ClassVar[str] = "bollinger_zscore"
    params: ClassVar[tuple[Param, ...]] = (
        Param("period", "int", 20, low=2, high=500, step=5, description="band window"),
        Param("entry_z", "float", 2.0, low=0.1, high=5.0, step=0.25, description="entry |z|"),
        Param("exit_z", "float", 0.0, low=0.0, high=4.9, step=0.25, description="exit |z|"),
        _ALLOW_SHORT,
    )

    def validate_params(self) -> None:
        if self.p["exit_z"] >= self.p["entry_z"]:
            raise ValidationError("bollinger_zscore needs exit_z < entry_z")

    @property
    def warmup_bars(self) -> int:
        return int(self.p["period"])

    def target_stepper(self) -> TargetStepper:
        return steppers.BollingerStepper(self.p)

    def zscore(self, bars: pd.DataFrame) -> np.ndarray:
        close = _close(bars)
        upper, middle, _ = talib.BBANDS(
            close, timeperiod=self.p["period"], nbdevup=1.0, nbdevdn=1.0, matype=talib.MA_Type.SMA
        )
        width = upper - middle
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(width > 0, (close - middle) / width, 0.0)
        z[np.isnan(middle)] = np.nan
        return z

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        z = self.zscore(bars)
        n = len(z)
        entry, exit_ = float(self.p["entry_z"]), float(self.p["exit_z"])
        events = np.full(n, np.nan)
        events[cross_above(z, np.full(n, -exit_)) | cross_above(np.full(n, exit_), z)] = 0.0
        with np.errstate(invalid="ignore"):
            events[z < -entry] = 1.0
            if self.p["allow_short"]:
                events[z > entry] = -1.0
        return pd.Series(hold_state(events), index=bars.index)


@register
class ChannelBreakout(OrderStrategy):
    """Donchian breakout with resting orders: a buy stop at the `entry` channel's high, with a
    stop-loss and a take-profit attached, and a trailing sell stop at the `exit` channel's low.

    Each bar the resting orders are cancelled and re-placed at the new channel levels; they fill
    at the next bars (gaps fill at the open).
    """

    name: ClassVar[str] = "channel_breakout"
    params = ParamSet(
        Param("entry", "int", 20, low=2, high=500, step=5, description="entry channel bars"),
        Param("exit", "int", 10, low=2, high=500, step=5, description="trailing exit bars"),
        Param("stop_loss", "float", 0.05, low=0.0, high=0.5, step=0.01, description="stop %"),
        Param("take_profit", "float", 0.15, low=0.0, high=2.0, step=0.05, description="target %"),
        Param("fraction", "float", 0.95, low=0.01, high=1.0, step=0.05, description="of equity"),
    )

    @property
    def warmup_bars(self) -> int:
        return max(int(self.params.entry), int(self.params.exit))

    def on_bar(self, ctx: StrategyContext) -> None:
        for symbol in ctx.symbols:
            bars = ctx.history(symbol, self.warmup_bars)
            if len(bars) < self.warmup_bars:
                continue
            held = ctx.position(symbol)
            for order in ctx.open_orders(symbol):
                # Re-placed below; the attached exits stay while their position is open.
                if held == 0 or order.meta.get("oco") is None:
                    ctx.cancel(order.client_order_id)
            if held > 0:
                low = float(bars["low"].iloc[-self.params.exit :].min())
                ctx.submit(
                    OrderIntent(symbol, Side.SELL, held, OrderType.STOP, stop_price=low, tag="exit")
                )
                continue
            high = float(bars["high"].iloc[-self.params.entry :].max())
            quantity = self._quantity(ctx.equity / len(ctx.symbols), high)
            if quantity <= 0:
                continue
            sl, tp = self.params.stop_loss, self.params.take_profit
            ctx.submit(
                OrderIntent(
                    symbol,
                    Side.BUY,
                    quantity,
                    OrderType.STOP,
                    stop_price=high,
                    stop_loss=high * (1 - sl) if sl > 0 else None,
                    take_profit=high * (1 + tp) if tp > 0 else None,
                    tag="entry",
                )
            )

    def _quantity(self, budget: float, price: float) -> float:
        units = budget * self.params.fraction / price
        # Whole units when affordable, else fractional (crypto) to 1e-6.
        return float(math.floor(units)) if units >= 1 else math.floor(units * 1e6) / 1e6
