"""Each symbol's costs in a run, as the engines take them.

A run spanning markets (a KRW portfolio of KRX and US stocks) has each symbol pay its own
market's costs (`BacktestConfig.symbol_markets`); their fixed and minimum fees are amounts in
that market's currency, converted into the run's at the FX rate its bars were converted with
(`fx_rates`: per symbol, converted close / raw close by bar time). The vectorized kernel takes
the costs as arrays per bar and symbol; the event engine a `FillModel` with per-symbol costs.
A single-market run passes one value (one column for a dated sell tax), as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.costs import CostModel
from qts.backtest.fills import FillModel
from qts.backtest.market import MarketArrays
from qts.core.errors import ValidationError


def fee_rates(
    config: BacktestConfig, market: MarketArrays, fx_rates: Mapping[str, pd.Series] | None
) -> np.ndarray | None:
    """(n, k) FX rate converting each symbol's fee amounts into the run's currency at each
    bar (1.0 for symbols whose amounts are in it already); None when no symbol needs one."""
    needs = [
        j
        for j, s in enumerate(market.symbols)
        if s in config.symbol_markets
        and s in config.symbol_currencies
        and config.costs_for(s).has_amounts
    ]
    if not needs:
        return None
    rates = np.ones(market.shape)
    for j in needs:
        symbol = market.symbols[j]
        series = (fx_rates or {}).get(symbol)
        if series is None:
            raise ValidationError(
                f"{symbol} pays fee amounts in {config.symbol_currencies[symbol]}: the run "
                "needs the FX rate of its bars (fx_rates) to convert them",
                details={"symbol": symbol},
            )
        column = series.astype(float).reindex(market.index).ffill().to_numpy(np.float64)
        rates[:, j] = np.where(np.isnan(column), 1.0, column)  # NaN: rows without its bars
    return rates


def kernel_costs(
    config: BacktestConfig, market: MarketArrays, rates: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """commission, fixed fee, minimum fee and sell tax as the kernel takes them: (1, 1) or
    (n, 1) in a single-market run, else per symbol ((1, k), or (n, k) where a rate or a dated
    tax varies by bar)."""
    index = market.index
    if not any(s in config.symbol_markets for s in market.symbols):
        costs = config.costs
        one = [np.array([[value]]) for value in (costs.commission, costs.fixed_fee, costs.min_fee)]
        return one[0], one[1], one[2], costs.sell_taxes(index).reshape(-1, 1)
    models = [config.costs_for(s) for s in market.symbols]
    commission = np.array([[c.commission for c in models]])
    fixed = np.array([[c.fixed_fee for c in models]])
    least = np.array([[c.min_fee for c in models]])
    if rates is not None:
        fixed, least = fixed * rates, least * rates
    by_model: dict[CostModel, np.ndarray] = {}
    taxes = np.empty(market.shape)
    for j, costs in enumerate(models):
        if costs not in by_model:
            by_model[costs] = costs.sell_taxes(index)
        taxes[:, j] = by_model[costs]
    return commission, fixed, least, taxes


def event_fill_model(
    config: BacktestConfig, market: MarketArrays, rates: np.ndarray | None
) -> FillModel:
    """The run's fill model with the per-bar rates of the symbols whose fee amounts convert."""
    model = config.fill_model
    if rates is None:
        return model
    by_time = {
        s: dict(zip(market.index, rates[:, j].tolist(), strict=True))
        for j, s in enumerate(market.symbols)
        if s in model.symbol_costs and model.symbol_costs[s].has_amounts
    }
    return replace(model, fee_rates=by_time)
