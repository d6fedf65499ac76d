"""`BacktestResult`: metrics, equity curve, trades and fills of one run; `to_dict()` for JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.market import MarketArrays
from qts.backtest.metrics import (
    clean_number,
    drawdown,
    max_drawdown_duration,
    periods_per_year,
    return_metrics,
    trade_metrics,
)
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

    def to_dict(self, max_points: int | None = None) -> dict[str, Any]:
        """JSON-serializable summary; `max_points` thins the equity curve (keeps the last)."""
        equity, bench, dd = self.equity, self.benchmark, self.drawdown
        if max_points and len(equity) > max_points:
            step = int(np.ceil(len(equity) / max_points))
            keep = np.unique(np.r_[np.arange(0, len(equity), step), len(equity) - 1])
            equity, bench, dd = equity.iloc[keep], bench.iloc[keep], dd.iloc[keep]
        curve = [
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
        return {
            "strategy": self.strategy,
            "params": self.params,
            "symbols": self.symbols,
            "config": _jsonable(self.config.to_dict()),
            "start": self.equity.index[0].isoformat() if len(self.equity) else None,
            "end": self.equity.index[-1].isoformat() if len(self.equity) else None,
            "metrics": {k: clean_number(v) for k, v in self.metrics.items()},
            "equity_curve": curve,
            "trades": trades_to_records(self.trades),
            "warnings": list(self.warnings),
        }


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
    marks = np.nan_to_num(market.mark, nan=0.0)
    equity_all = raw.cash + (raw.qty * marks).sum(axis=1)
    index = market.index[start_row:]
    equity = pd.Series(equity_all[start_row:], index=index, name="equity")
    prev = np.r_[config.initial_cash, equity.to_numpy()[:-1]]
    returns = pd.Series(equity.to_numpy() / prev - 1.0, index=index)
    with np.errstate(invalid="ignore", divide="ignore"):
        step = market.mark[1:] / market.mark[:-1] - 1.0
    bench_r = np.nan_to_num(np.vstack([np.zeros((1, k)), step]), nan=0.0).mean(axis=1)
    bench_r = bench_r[start_row:].copy()
    if len(bench_r):
        bench_r[0] = 0.0
    benchmark = pd.Series(
        config.initial_cash * np.cumprod(1.0 + bench_r), index=index, name="benchmark"
    )

    ppy = config.periods_per_year or periods_per_year(
        market.index, config.timeframe, config.asset_class
    )
    trades = _trades_frame(trade_arrays(raw, k), market, raw)
    metrics: dict[str, Any] = {
        "initial_cash": config.initial_cash,
        "final_equity": float(equity.iloc[-1]),
    }
    metrics.update(return_metrics(returns, ppy, pd.Series(bench_r, index=index)))
    dd_bars, dd_days = max_drawdown_duration(equity)
    metrics["max_drawdown_duration_bars"] = dd_bars
    metrics["max_drawdown_duration_days"] = dd_days
    metrics.update(trade_metrics(trades))
    held = raw.qty[start_row:] != 0
    metrics["exposure"] = float(held.any(axis=1).mean()) if len(held) else 0.0
    traded = float(np.abs(raw.f_qty * raw.f_price).sum())
    mean_equity = float(equity.mean())
    metrics["turnover"] = traded / mean_equity if mean_equity > 0 else float("nan")
    metrics["turnover_annual"] = metrics["turnover"] * ppy / max(len(equity), 1)
    metrics["fees"] = float(raw.f_fee.sum())
    metrics["fills"] = len(raw.f_bar)
    metrics["bars"] = len(equity)
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
    positions = pd.DataFrame(raw.qty[start_row:], index=index, columns=market.symbols)
    prices = pd.DataFrame(market.close[start_row:], index=index, columns=market.symbols)
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


def run_warnings(config: BacktestConfig, prices: pd.DataFrame, fills: int) -> list[str]:
    """Cash that cannot buy one lot of a symbol (at its first traded bar's close), and a run
    without a single fill: both make the figures meaningless without saying so."""
    warnings = []
    cash, currency = config.initial_cash, config.currency or ""
    sizer = config.sizer
    for symbol in prices.columns:
        valid = prices[symbol].dropna()
        if not len(valid) or sizer.fractional:
            continue
        lot = sizer.unit(symbol)
        cost = lot * float(valid.iloc[0])
        if cash < cost:
            warnings.append(
                f"cash {cash:,.0f} {currency} cannot buy one lot of {symbol} ({lot:g} x "
                f"{float(valid.iloc[0]):,.2f} = {cost:,.0f} {currency} on "
                f"{valid.index[0]:%Y-%m-%d}): raise --cash".replace("  ", " ")
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
