"""`qts optimize`: parameter search with walk-forward out-of-sample results, as a table of
rounded figures (or `--json`), with progress on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

import qts.cli.backtest_cmd as bt

# Figures shown for the stitched out-of-sample run, in this order.
SUMMARY_KEYS = ("sharpe", "total_return", "cagr", "max_drawdown", "volatility", "sortino")


def _number(key: str, value: Any) -> str:
    from qts.backtest.report import _fmt

    return "—" if value is None else _fmt(key, value)


def _params(params: dict[str, Any] | None) -> str:
    if not params:
        return "—"
    return " ".join(f"{k}={f'{v:.4g}' if isinstance(v, float) else v}" for k, v in params.items())


def _search(cls: Any, universe: Any, config: Any, args: dict[str, Any]) -> dict[str, Any]:
    from qts.backtest import optimize as opt
    from qts.cli.progress import progress

    folds, method = args["folds"], args["method"]
    total = args["trials"] * max(folds, 1) if method == "optuna" else None
    with progress(f"optimize {method}", total) as update:

        def on_trial(done: int, total: int | None) -> None:
            update(done, total, "")

        common = {"objective": args["objective"], "fixed": args["fixed"], "on_trial": on_trial}
        if folds > 0:
            wf = opt.walk_forward(
                cls, universe, config, folds=folds, method=method, grid=args["grid"],
                n_trials=args["trials"], **common,
            )  # fmt: skip
            return {"walk_forward": wf.to_dict()}
        if method == "grid":
            res = opt.grid_search(cls, universe, config, args["grid"], **common)
        else:
            res = opt.optuna_search(cls, universe, config, args["trials"], **common)
        return {"in_sample": res.to_dict()}


def print_result(out: dict[str, Any], objective: str) -> None:
    from rich.table import Table

    from qts.cli.output import make_console

    console = make_console()
    if "walk_forward" not in out:
        res = out["in_sample"]
        table = Table(title=f"in-sample only ({objective}), best 10 of {len(res['trials'])}")
        table.add_column("params", no_wrap=True)
        table.add_column(objective, justify="right")
        ranked = sorted(
            res["trials"], key=lambda t: -(t["score"] if t["score"] is not None else -1e300)
        )
        for trial in ranked[:10]:
            table.add_row(_params(trial["params"]), _number(objective, trial["score"]))
        console.print(table)
        console.print(
            f"best: {_params(res['best_params'])} ({objective} {_number(objective, res['best_score'])})"
        )
        return
    wf = out["walk_forward"]
    table = Table(title=f"walk-forward ({objective}): in-sample vs out-of-sample")
    for col in (
        "fold",
        "test window",
        "params",
        "in-sample",
        "out-of-sample",
        "OOS return",
        "OOS fills",
    ):
        table.add_column(col, justify="right" if col not in ("test window", "params") else "left",
                         no_wrap=col in ("test window", "params"))  # fmt: skip
    for row in wf["folds"]:
        table.add_row(
            str(row["fold"]), f"{row['test_start'][:10]} → {row['test_end'][:10]}",
            _params(row["params"]), _number(objective, row["in_sample"]),
            _number(objective, row["out_of_sample"]), _number("return", row["oos_total_return"]),
            str(row["oos_fills"]) if row["traded"] else "[yellow]0 (no trade)[/]",
        )  # fmt: skip
    console.print(table)
    idle = wf["folds_without_trades"]
    stitched = wf["out_of_sample"]
    figures = ", ".join(f"{k} {_number(k, stitched.get(k))}" for k in SUMMARY_KEYS)
    if len(idle) == len(wf["folds"]):
        console.print("[yellow]no fold traded out of sample: there is no out-of-sample result[/]")
        return
    left_out = f" (folds {', '.join(map(str, idle))} made no trade: left out)" if idle else ""
    console.print(f"stitched out-of-sample{left_out}: {figures}")


def optimize(
    strategy: str = typer.Option(..., "--strategy", help=bt.STRATEGY_HELP),
    symbol: str | None = typer.Option(None, "--symbol", help="Stored symbol, or the file's"),
    timeframe: str | None = typer.Option(None, "--timeframe"),
    start: str | None = typer.Option(None, "--start"),
    end: str | None = typer.Option(None, "--end"),
    data: Path | None = typer.Option(None, "--data", help="CSV file of OHLCV bars"),
    param: list[str] = typer.Option([], "--param", help="Fixed parameter k=v (repeatable)"),
    grid: list[str] = typer.Option([], "--grid", help="Searched values k=v1,v2,... (repeatable)"),
    method: str = typer.Option("grid", "--method", help="grid or optuna"),
    trials: int = typer.Option(30, "--trials", help="Optuna trials per fold"),
    objective: str = typer.Option("sharpe", "--objective", help="Metric to maximise"),
    folds: int = typer.Option(3, "--folds", help="Walk-forward folds (0: in-sample only)"),
    cash: float | None = bt.CASH,
    commission: float | None = bt.COMMISSION,
    fixed_fee: float | None = bt.FIXED_FEE,
    min_fee: float | None = bt.MIN_FEE,
    sell_tax: float | None = bt.SELL_TAX,
    slippage_bps: float | None = bt.SLIPPAGE_BPS,
    slippage_vol_mult: float | None = bt.SLIPPAGE_VOL,
    lot_size: float | None = bt.LOT_SIZE,
    fractional: bool | None = bt.FRACTIONAL,
    qty_step: float | None = bt.QTY_STEP,
    leverage: float | None = bt.LEVERAGE,
    allow_short: bool | None = bt.ALLOW_SHORT,
    market: str = bt.MARKET,
    currency: str | None = bt.CURRENCY,
    fill_at: str = bt.FILL_AT,
    rebalance: str = bt.REBALANCE,
    asset_class: str = bt.ASSET_CLASS,
    engine: str = bt.ENGINE,
    as_json: bool = typer.Option(False, "--json"),
    save: str | None = typer.Option(None, "--save", help="Store the best parameters as NAME"),
    update: bool = typer.Option(False, "--update", help="With --save: change a stored NAME"),
) -> None:
    """Search a strategy's parameters (grid or Optuna) with walk-forward out-of-sample results.
    Without --grid the declared ranges are searched, cut to what the data can warm up."""
    from qts.core.errors import QtsError, ValidationError

    options = {k: v for k, v in locals().items() if k in bt.RUN_OPTIONS}
    try:
        from qts.market.corporate_actions import adjust_universe
        from qts.strategies import parse_param_pairs

        if method not in ("grid", "optuna"):
            raise ValidationError("--method must be grid or optuna")
        cls, fixed_raw, config, universe, actions, _rates = bt._prepare(
            strategy, param, options, (data, symbol, timeframe, start, end)
        )
        # The search runs on adjusted bars (splits and dividends applied), as signals see them.
        universe = adjust_universe(universe, actions, config.price_adjustment)
        declared = {p.name: p for p in cls.params}
        fixed = {}
        for k, v in fixed_raw.items():
            if k not in declared:
                raise ValidationError(f"unknown parameter {k!r}")
            fixed[k] = declared[k].coerce(v)
        grid_values = {k: v.split(",") for k, v in parse_param_pairs(grid).items()} or None
        args = {"folds": folds, "method": method, "trials": trials, "objective": objective,
                "fixed": fixed, "grid": grid_values}  # fmt: skip
        out = _search(cls, universe, config, args)
        if save is not None:
            from qts.cli.strategy_cmd import save_optimized

            out["saved"] = save_optimized(out, save, strategy, list(universe), timeframe, update)
    except QtsError as exc:
        raise bt._fail(exc.message) from None
    if as_json:
        sys.stdout.write(json.dumps(out) + "\n")
        return
    print_result(out, objective)
