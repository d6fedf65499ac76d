"""`BacktestResult`: metrics, equity curve, trades and fills of one run; `to_dict()` for JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.curve import STAT_NAMES, curves, stats
from qts.backtest.market import MarketArrays
from qts.backtest.metrics import clean_number, drawdown, periods_per_year, trade_metrics
from qts.backtest.raw_run import RawRun, trade_arrays
from qts.strategies.base import Strategy

TRADE_COLUMNS = [
    "symbol",
    "side",
    "size",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "pnl",
    "fees",
    "return",
    "bars",
    "status",
]


@dataclass(slots=True)
class BacktestResult:
    strategy: str
    params: dict[str, Any]
    config: BacktestConfig
    symbols: list[str]
    metrics: dict[str, Any]
    equity: pd.Series
    benchmark: pd.Series
    trades: pd.DataFrame
    fills: pd.DataFrame
    positions: pd.DataFrame
    prices: pd.DataFrame = field(repr=False)
    # What a user should know before trusting the figures (e.g. cash below one lot, no trade).
    warnings: list[str] = field(default_factory=list)

    @property
    def drawdown(self) -> pd.Series:
        return drawdown(self.equity)

    def to_dict(self, max_points: int | None = None, equity_curve: bool = True) -> dict[str, Any]:
        """JSON-serializable summary; `max_points` thins the equity curve (keeps the last);
        `equity_curve=False` leaves the per-bar curve out (the summary stays complete)."""
        out = self._summary()
        if equity_curve:
            out["equity_curve"] = self._curve(max_points)
        return out

    def _summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "params": self.params,
            "symbols": self.symbols,
            "config": _jsonable(self.config.to_dict()),
            "start": self.equity.index[0].isoformat() if len(self.equity) else None,
            "end": self.equity.index[-1].isoformat() if len(self.equity) else None,
            "metrics": {k: clean_number(v) for k, v in self.metrics.items()},
            "trades": trades_to_records(self.trades),
            "warnings": list(self.warnings),
        }

    def _curve(self, max_points: int | None) -> list[dict[str, Any]]:
        equity, bench, dd = self.equity, self.benchmark, self.drawdown
        if max_points and len(equity) > max_points:
            step = int(np.ceil(len(equity) / max_points))
            keep = np.unique(np.r_[np.arange(0, len(equity), step), len(equity) - 1])
            equity, bench, dd = equity.iloc[keep], bench.iloc[keep], dd.iloc[keep]
        return [
            {
                "ts": ts.isoformat(),
                "equity": clean_number(e),
                "drawdown": clean_number(d),
                "benchmark": clean_number(b),
            }
            for ts, e, d, b in zip(
                equity.index, equity.to_numpy(), dd.to_numpy(), bench.to_numpy(), strict=True
            )
        ]


def trades_to_records(trades: pd.DataFrame) -> list[dict[str, Any]]:
    records = []
    for row in trades.itertuples(index=False):
        item = {}
        for col, value in zip(TRADE_COLUMNS, row, strict=True):
            if isinstance(value, pd.Timestamp):
                item[col] = value.isoformat()
            elif value is pd.NaT or value is None:
                item[col] = None
            else:
                item[col] = clean_number(value)
        records.append(item)
    return records


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return clean_number(value)


def build_result(
    strategy: Strategy,
    market: MarketArrays,
    config: BacktestConfig,
    raw: RawRun,
    targets: pd.DataFrame | None,
    start_row: int = 0,
) -> BacktestResult:
    k = market.shape[1]
    index = market.index[start_row:]
    n = len(index)
    equity_values, bench_values = np.empty(n), np.empty(n)
    curves(
        raw.cash,
        raw.qty,
        market.mark,
        market.benchmark_mark,
        start_row,
        config.initial_cash,
        equity_values,
        bench_values,
    )
    equity = pd.Series(equity_values, index=index, name="equity")
    benchmark = pd.Series(bench_values, index=index, name="benchmark")
    ppy = config.periods_per_year or periods_per_year(
        market.index, config.timeframe, config.asset_class
    )
    figures = np.empty(14)
    stats(equity_values, bench_values, config.initial_cash, ppy, figures)
    trades = _trades_frame(trade_arrays(raw, k), market, raw)
    metrics: dict[str, Any] = {
        "initial_cash": config.initial_cash,
        "final_equity": float(equity_values[-1]),
    }
    metrics.update({name: float(figures[j]) for j, name in enumerate(STAT_NAMES)})
    dd_bars, dd_peak = int(figures[11]), int(figures[12])
    span = index[dd_peak + dd_bars] - index[dd_peak] if dd_bars else pd.Timedelta(0)
    metrics["max_drawdown_duration_bars"] = dd_bars
    metrics["max_drawdown_duration_days"] = span.total_seconds() / 86400
    metrics.update(trade_metrics(trades))
    metrics["exposure"] = exposure(raw.qty[start_row:])
    traded = float(np.abs(raw.f_qty * raw.f_price).sum())
    mean_equity = float(figures[13])
    metrics["turnover"] = traded / mean_equity if mean_equity > 0 else float("nan")
    metrics["turnover_annual"] = metrics["turnover"] * ppy / max(n, 1)
    metrics["fees"] = float(raw.f_fee.sum())
    metrics["fills"] = len(raw.f_bar)
    metrics["bars"] = n
    metrics["periods_per_year"] = ppy

    fills = pd.DataFrame(
        {
            "ts": market.index[raw.f_bar],
            "symbol": [market.symbols[j] for j in raw.f_sym],
            "quantity": raw.f_qty,
            "price": raw.f_price,
            "fee": raw.f_fee,
        }
    )
    positions = pd.DataFrame(raw.qty[start_row:], index=index, columns=market.symbols, copy=False)
    prices = pd.DataFrame(market.close[start_row:], index=index, columns=market.symbols, copy=False)
    return BacktestResult(
        strategy=type(strategy).name or type(strategy).__name__,
        params=dict(strategy.p),
        config=config,
        symbols=list(market.symbols),
        metrics=metrics,
        equity=equity,
        benchmark=benchmark,
        trades=trades,
        fills=fills,
        positions=positions,
        prices=prices,
        warnings=run_warnings(config, prices, len(raw.f_bar)),
    )


def exposure(qty: np.ndarray) -> float:
    """Share of bars with any position open."""
    if not len(qty):
        return 0.0
    held = qty[:, 0] != 0 if qty.shape[1] == 1 else (qty != 0).any(axis=1)
    return float(np.count_nonzero(held)) / len(qty)


def run_warnings(config: BacktestConfig, prices: pd.DataFrame, fills: int) -> list[str]:
    """Cash that cannot buy one lot of a symbol (at its first traded bar's close), and a run
    without a single fill: both make the figures meaningless without saying so."""
    warnings = []
    cash, currency = config.initial_cash, config.currency or ""
    sizer = config.sizer
    for j, symbol in enumerate(prices.columns):
        column = prices.iloc[:, j].to_numpy()
        has_bar = ~np.isnan(column)
        if sizer.fractional or not has_bar.any():
            continue
        first = int(np.argmax(has_bar))
        lot, price = sizer.unit(symbol), float(column[first])
        cost = lot * price
        if cash < cost:
            warnings.append(
                f"cash {cash:,.0f} {currency} cannot buy one lot of {symbol} ({lot:g} x "
                f"{price:,.2f} = {cost:,.0f} {currency} on "
                f"{prices.index[first]:%Y-%m-%d}): raise --cash".replace("  ", " ")
            )
    if fills == 0:
        warnings.append("the run made no trade: every figure is that of holding cash")
    return warnings


def _trades_frame(t: dict[str, np.ndarray], market: MarketArrays, raw: RawRun) -> pd.DataFrame:
    closed = t["exit_bar"] >= 0
    last = len(market.index) - 1
    exit_bar = np.where(closed, t["exit_bar"], last)
    exit_price = t["exit_price"].copy()
    pnl = t["pnl"].copy()
    for j in np.flatnonzero(~closed):
        s = t["sym"][j]
        mark = market.mark[last, s]
        exit_price[j] = mark
        pnl[j] += raw.qty[last, s] * (mark - t["entry_price"][j])
    basis = t["entry_price"] * t["size"]
    frame = pd.DataFrame(
        {
            "symbol": [market.symbols[s] for s in t["sym"]],
            "side": np.where(t["dir"] > 0, "long", "short"),
            "size": t["size"],
            "entry_time": market.index[t["entry_bar"]],
            "entry_price": t["entry_price"],
            "exit_time": market.index[exit_bar],
            "exit_price": exit_price,
            "pnl": pnl,
            "fees": t["fees"],
            "return": np.divide(pnl, basis, out=np.zeros_like(pnl), where=basis > 0),
            "bars": exit_bar - t["entry_bar"],
            "status": np.where(closed, "closed", "open"),
        }
    )
    return frame[TRADE_COLUMNS]
