"""Run a backtest: `run_backtest(strategy, data, config) -> BacktestResult`.

Target strategies take the vectorized path by default (targets for the whole history at once,
then the compiled rebalancing kernel); order strategies take the event-driven path
(`qts.backtest.events`), which can also run target strategies (`config.engine="event"`) and
then gives the same fills as the vectorized path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from qts.backtest.actions import ActionArrays
from qts.backtest.config import BacktestConfig
from qts.backtest.events import run_event
from qts.backtest.kernel import rebalance
from qts.backtest.market import MarketArrays, plan_execution
from qts.backtest.raw_run import RawRun
from qts.backtest.result import BacktestResult, build_result
from qts.backtest.symbol_costs import fee_rates, kernel_costs
from qts.core.errors import ValidationError
from qts.market.corporate_actions import CorporateAction, adjust_universe
from qts.strategies.base import OrderStrategy, Strategy, TargetStrategy, Universe


def run_backtest(
    strategy: Strategy,
    data: pd.DataFrame | Universe,
    config: BacktestConfig | None = None,
    *,
    trade_start: pd.Timestamp | str | None = None,
    symbol: str = "ASSET",
    actions: Mapping[str, Sequence[CorporateAction]] | None = None,
    fx_rates: Mapping[str, pd.Series] | None = None,
) -> BacktestResult:
    """Backtest `strategy` on `data` (one frame or a symbol->frame mapping).

    `config` options left unset take the preset of the symbols' market (from their names here;
    services resolve the spec against stored exchanges first).

    `trade_start`: bars before it only warm indicators up; trading and the reported equity
    curve start there (used by walk-forward out-of-sample evaluation).

    `actions`: corporate actions per symbol. Then `data` holds raw bars: the strategy sees them
    adjusted (or raw, `config.price_adjustment="raw"`), orders fill at the raw prices, and held
    positions follow splits and receive dividends (`qts.backtest.actions`).

    `fx_rates`: per symbol priced in the run's currency at FX rates, the rate its bars were
    converted with (by bar time); it converts the fee amounts of a symbol from another market
    (`qts.backtest.symbol_costs`), needed only when its market's preset has such amounts.
    """
    if isinstance(data, pd.DataFrame):
        data = {symbol: data}
    # Unset options take the market preset of the symbols (a resolved spec stays as it is).
    config = (config or BacktestConfig()).resolve(sorted(data), strategy_params=strategy.p)
    market = MarketArrays.from_universe(data)
    known = {s: list(a) for s, a in (actions or {}).items() if a and s in data}
    if known:
        adjusted = adjust_universe(data, known)
        events = ActionArrays.build(market.index, market.symbols, market.close, known)
        market = market.with_actions(events, adjusted)
        data = adjusted if config.price_adjustment == "adjusted" else data
    start_row = _start_row(market.index, trade_start)
    use_event = isinstance(strategy, OrderStrategy) or config.engine == "event"
    targets: pd.DataFrame | None = None
    if isinstance(strategy, TargetStrategy):
        targets = strategy.target_positions(data)
    elif not isinstance(strategy, OrderStrategy):
        raise ValidationError(f"{type(strategy).__name__} is neither a target nor order strategy")
    if config.engine == "vectorized" and targets is None:
        raise ValidationError("the vectorized engine runs target strategies only")
    rates = fee_rates(config, market, fx_rates)
    if use_event:
        raw = run_event(strategy, data, market, config, targets, start_row, rates)
    else:
        assert targets is not None
        raw = run_vectorized(targets, market, config, start_row, rates)
    return build_result(strategy, market, config, raw, targets, start_row)


def run_vectorized(
    targets: pd.DataFrame,
    market: MarketArrays,
    config: BacktestConfig,
    start_row: int = 0,
    rates: np.ndarray | None = None,
) -> RawRun:
    """The rebalancing kernel over `targets`; `rates`: (n, k) FX rates of fee amounts."""
    plan = plan_execution(targets, market, config, start_row)
    n, k = market.shape
    units = np.array([config.sizer.unit(s) for s in market.symbols], dtype=np.float64)
    capacity = int(plan.flag.sum()) + 1
    qty = np.zeros((n, k))
    cash = np.zeros(n)
    f_bar = np.zeros(capacity, dtype=np.int64)
    f_sym = np.zeros(capacity, dtype=np.int64)
    f_qty, f_price, f_fee = np.zeros(capacity), np.zeros(capacity), np.zeros(capacity)
    sizer = config.sizer
    nf = rebalance(
        np.ascontiguousarray(plan.price),
        np.ascontiguousarray(market.mark),
        np.ascontiguousarray(plan.want),
        np.ascontiguousarray(plan.flag),
        np.ascontiguousarray(plan.slip),
        units,
        config.initial_cash,
        *(np.ascontiguousarray(a) for a in kernel_costs(config, market, rates)),
        bool(sizer.allow_short),
        float(sizer.leverage),
        qty,
        cash,
        f_bar,
        f_sym,
        f_qty,
        f_price,
        f_fee,
        *market.actions.kernel_args(),
    )
    return RawRun(
        qty, cash, f_bar[:nf], f_sym[:nf], f_qty[:nf], f_price[:nf], f_fee[:nf], market.actions
    )


def _start_row(index: pd.DatetimeIndex, trade_start: pd.Timestamp | str | None) -> int:
    if trade_start is None:
        return 0
    ts = pd.Timestamp(trade_start)
    if ts.tzinfo is None and index.tz is not None:
        ts = ts.tz_localize(index.tz)
    row = int(index.searchsorted(ts))
    if row >= len(index):
        raise ValidationError(f"trade_start {trade_start} is after the last bar")
    return row
