"""`qts backtest` and `qts optimize`: plain Typer command functions (registered in cli/main.py).

Heavy imports (the engine, numba kernels, optuna) happen inside the commands so `qts --help`
stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import pandas as pd

    from qts.backtest.config import BacktestConfig
    from qts.strategies.base import Strategy

STRATEGY_HELP = "Registered name (e.g. sma_cross) or path/to/file.py:Class or module:Class"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _read_csv_fallback(path: Path) -> pd.DataFrame:
    """Minimal reader used only when qts.market.files is not available."""
    import pandas as pd

    from qts.core.errors import ValidationError

    if not path.is_file():
        raise ValidationError(f"data file not found: {path}")
    try:
        frame = pd.read_csv(path)
    except Exception as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    time_col = next(
        (c for c in ("ts", "timestamp", "date", "datetime", "time") if c in frame.columns), None
    )
    if time_col is None:
        raise ValidationError(f"{path} has no timestamp column")
    try:
        index = pd.to_datetime(frame[time_col], utc=True)
        bars = frame[["open", "high", "low", "close"]].astype(float)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValidationError(f"{path}: bad OHLC data ({exc})") from exc
    bars["volume"] = frame["volume"].astype(float) if "volume" in frame else 0.0
    bars.index = pd.DatetimeIndex(index, name="ts")
    return bars.sort_index()


def _load_data(
    data: Path | None,
    symbol: str | None,
    timeframe: str | None,
    start: str | None,
    end: str | None,
    warmup: int = 0,
) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, str], dict[str, list[Any]]]:
    """The bars by symbol, each symbol's stored exchange and currency, and its stored corporate
    actions (none for a file, whose symbol is `--symbol` or the file's name). With a start, up to `warmup` bars before
    it come too: they warm the strategy's indicators up and are not traded."""
    from qts.core.errors import ValidationError

    if data is not None:
        try:
            from qts.market.files import load_bars_file
        except ImportError:
            bars = _read_csv_fallback(data)
        else:
            bars = load_bars_file(data)
        if start:
            first = int(bars.index.searchsorted(bars.loc[start:].index[0])) if len(bars) else 0
            bars = bars.iloc[max(0, first - warmup) :]
        if end:
            bars = bars.loc[:end]  # type: ignore[misc]
        return {symbol or data.stem: bars}, {}, {}, {}
    if symbol is None or timeframe is None:
        raise ValidationError("give --data FILE.csv, or --symbol (or --symbols) and --timeframe")

    from qts.cli.common import open_database
    from qts.services.data.run_data import read_run_data

    symbols = [s.strip() for s in symbol.split(",") if s.strip()]
    db = open_database()
    try:
        # Raw quotes and their corporate actions: the engine adjusts what the strategy sees.
        run = read_run_data(db, symbols, timeframe, start, end, warmup)
    finally:
        db.dispose()
    return run.universe, run.exchanges, run.currencies, run.actions


def _prepare(
    strategy_spec: str,
    params: list[str],
    options: dict[str, Any],
    source: tuple[Path | None, str | None, str | None, str | None, str | None]
    | tuple[Path | None, str | None, str | None, str | None, str | None, int],
) -> tuple[
    type[Strategy],
    dict[str, str],
    BacktestConfig,
    dict[str, pd.DataFrame],
    dict[str, list[Any]],
    dict[str, pd.Series],
]:
    """The strategy class, its raw parameters, the run spec resolved against the data's market
    (options left None take the preset), the data (raw bars), its corporate actions and the
    FX rates of the symbols converted into the run's currency."""
    from qts.services.research.backtest_types import run_options
    from qts.strategies import get_strategy_class, parse_param_pairs

    cls = get_strategy_class(strategy_spec)
    given = parse_param_pairs(params)
    config = run_options({**options, "timeframe": source[2]})
    universe, exchanges, currencies, actions = _load_data(*source)
    # Shorting is settled per run by the engine (a strategy's allow_short=true opts in).
    resolved, universe, actions, rates = _with_fx(
        config, universe, exchanges, currencies, source[2], actions
    )
    return cls, given, resolved, universe, actions, rates


def _with_fx(
    config: BacktestConfig,
    universe: dict[str, pd.DataFrame],
    exchanges: dict[str, str],
    currencies: dict[str, str],
    timeframe: str | None,
    actions: dict[str, list[Any]],
) -> tuple[BacktestConfig, dict[str, pd.DataFrame], dict[str, list[Any]], dict[str, pd.Series]]:
    """The spec resolved against stored FX pairs, the bars (and dividends) of symbols in
    another currency priced in the run's at stored rates, and those rates per symbol (the
    database is opened only when one needs them)."""
    from qts.cli.common import open_database
    from qts.market.frames import infer_timeframe
    from qts.services.data.fx_rates import (
        conversion_rates,
        convert_run_actions,
        convert_run_data,
        resolve_run,
    )

    opened: list[Any] = []
    rates: dict[str, pd.Series] = {}

    def database() -> Any:
        if not opened:
            opened.append(open_database())
        return opened[0]

    try:
        resolved = resolve_run(database, config, sorted(universe), exchanges, currencies)
        if resolved.symbol_currencies:
            first = next(iter(universe.values()))
            frame = timeframe or infer_timeframe(first.index) or "1d"
            raw = universe
            universe = convert_run_data(database, resolved, raw, frame, exchanges)
            actions = convert_run_actions(resolved, raw, universe, actions)
            rates = conversion_rates(resolved, raw, universe)
    finally:
        for db in opened:
            db.dispose()
    return resolved, universe, actions, rates


RUN_OPTIONS = frozenset(
    {
        "cash", "commission", "fixed_fee", "min_fee", "sell_tax", "slippage_bps",
        "slippage_vol_mult", "lot_size", "fractional", "qty_step", "leverage", "allow_short",
        "market", "currency", "fill_at", "rebalance", "asset_class", "engine", "price_adjustment",
    }
)  # fmt: skip


# Run options shared by `qts backtest` and `qts optimize`; None = the market preset's value.
CASH = typer.Option(None, "--cash", help="Starting cash (default: the market preset's)")
COMMISSION = typer.Option(None, "--commission", help="Fraction of traded value")
FIXED_FEE = typer.Option(None, "--fixed-fee", help="Fee per order")
MIN_FEE = typer.Option(None, "--min-fee", help="Minimum fee per order")
SELL_TAX = typer.Option(None, "--sell-tax", help="Flat sell-side tax (KRX preset: dated tax)")
SLIPPAGE_BPS = typer.Option(None, "--slippage-bps", help="Adverse slippage in bps")
SLIPPAGE_VOL = typer.Option(None, "--slippage-vol-mult", help="Slippage per unit of volatility")
LOT_SIZE = typer.Option(None, "--lot-size", help="Whole-unit lot size")
FRACTIONAL = typer.Option(None, "--fractional/--whole-units", help="Fractional quantities")
QTY_STEP = typer.Option(None, "--qty-step", help="Quantity step when fractional")
LEVERAGE = typer.Option(None, "--leverage", help="Gross exposure limit (1: cash only)")
ALLOW_SHORT = typer.Option(None, "--allow-short/--no-short", help="Permit short positions")
MARKET = typer.Option("auto", "--market", help="auto (from the symbols), krx, us or crypto")
CURRENCY = typer.Option(None, "--currency", help="The run's currency (checked against data)")
FILL_AT = typer.Option("next_open", "--fill-at", help="next_open or close")
REBALANCE = typer.Option("on_change", "--rebalance", help="on_change or every_bar")
ASSET_CLASS = typer.Option("auto", "--asset-class", help="auto, stock or crypto")
ENGINE = typer.Option("auto", "--engine", help="auto, vectorized or event")
PRICES = typer.Option(
    "adjusted", "--prices", help="What the strategy sees: adjusted (splits, dividends) or raw"
)


def _print_summary(result: Any) -> None:
    from rich.table import Table

    from qts.backtest.report import _fmt
    from qts.cli.output import make_console

    console = make_console()
    if result.config.symbol_currencies:
        console.print(
            f"in {result.config.currency}: prices converted at FX rates "
            f"{', '.join(result.config.fx_pairs)}"
        )
    table = Table(title=f"{result.strategy} {result.params}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.metrics.items():
        table.add_row(key, _fmt(key, value))
    console.print(table)
    trades = Table(title=f"trades ({len(result.trades)}; last 20)")
    for col in (
        "symbol",
        "side",
        "size",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "pnl",
        "status",
    ):
        trades.add_column(col)
    for t in result.trades.tail(20).itertuples(index=False):
        trades.add_row(
            t.symbol,
            t.side,
            f"{t.size:g}",
            str(t.entry_time),
            f"{t.entry_price:.6g}",
            str(t.exit_time),
            f"{t.exit_price:.6g}",
            f"{t.pnl:,.2f}",
            t.status,
        )
    console.print(trades)


def backtest(
    strategy: str = typer.Option(..., "--strategy", help=STRATEGY_HELP),
    symbol: str | None = typer.Option(None, "--symbol", help="Stored symbol, or the file's"),
    symbols: str | None = typer.Option(
        None, "--symbols", help="Stored symbols A,B,C: one portfolio"
    ),
    universe: Path | None = typer.Option(None, "--universe", help="File listing stored symbols"),
    timeframe: str | None = typer.Option(None, "--timeframe", help="e.g. 1d, 1h, 1m"),
    start: str | None = typer.Option(None, "--start", help="First bar (date or ISO time)"),
    end: str | None = typer.Option(None, "--end", help="Last bar (date or ISO time)"),
    data: Path | None = typer.Option(None, "--data", help="CSV file of OHLCV bars"),
    param: list[str] = typer.Option([], "--param", help="Strategy parameter k=v (repeatable)"),
    cash: float | None = CASH,
    commission: float | None = COMMISSION,
    fixed_fee: float | None = FIXED_FEE,
    min_fee: float | None = MIN_FEE,
    sell_tax: float | None = SELL_TAX,
    slippage_bps: float | None = SLIPPAGE_BPS,
    slippage_vol_mult: float | None = SLIPPAGE_VOL,
    lot_size: float | None = LOT_SIZE,
    fractional: bool | None = FRACTIONAL,
    qty_step: float | None = QTY_STEP,
    leverage: float | None = LEVERAGE,
    allow_short: bool | None = ALLOW_SHORT,
    market: str = MARKET,
    currency: str | None = CURRENCY,
    fill_at: str = FILL_AT,
    rebalance: str = REBALANCE,
    asset_class: str = ASSET_CLASS,
    engine: str = ENGINE,
    price_adjustment: str = PRICES,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    equity_curve: bool = typer.Option(
        False, "--equity-curve", help="With --json: include the per-bar equity curve"
    ),
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report here"),
) -> None:
    """Backtest a strategy on a CSV file or on bars stored in the database."""
    from qts.core.errors import QtsError

    options = {k: v for k, v in locals().items() if k in RUN_OPTIONS}
    try:
        from qts.backtest.engine import run_backtest
        from qts.backtest.report import write_html_report
        from qts.cli.symbols import symbols_option
        from qts.strategies import get_strategy_class, parse_param_pairs

        instance = get_strategy_class(strategy)(**parse_param_pairs(param))
        warmup = instance.warmup_bars if start else 0
        symbol = symbols_option(symbol, symbols, universe)
        _cls, _given, config, bars, actions, rates = _prepare(
            strategy, param, options, (data, symbol, timeframe, start, end, warmup)
        )
        models = _bind_models(instance, start)
        trade_start = start if warmup else None
        result = run_backtest(
            instance, bars, config, trade_start=trade_start, actions=actions, fx_rates=rates
        )
        if report is not None:
            write_html_report(result, report)
    except QtsError as exc:
        raise _fail(exc.message) from None
    if as_json:
        out = result.to_dict(equity_curve=equity_curve)
        if models is not None:
            out["model"] = models.describe()
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        _print_summary(result)
        if models is not None:
            typer.echo(f"model: {models.describe()['mode']}")
        if report is not None:
            typer.echo(f"report written to {report}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


def _bind_models(instance: Strategy, start: str | None) -> Any:
    """A model strategy gets the registry's versions scored point in time (or refitted
    walk-forward with `refit=walk_forward`); returns the access (None for rule strategies)."""
    if not instance.uses_models:
        return None
    from qts.cli.common import app_context
    from qts.services.ml.model_strategies import bind_for_backtest

    return bind_for_backtest(app_context(), instance, start)
