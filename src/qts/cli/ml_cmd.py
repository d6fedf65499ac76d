"""`qts train`, `qts tune` and `qts models list|promote`.

The lead registers them in `qts.cli.main`:
    app.command("train")(ml_cmd.train); app.command("tune")(ml_cmd.tune)
    app.add_typer(ml_cmd.models_app, name="models")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from qts.cli.output import make_console

console = make_console()
err_console = make_console(stderr=True)
models_app = typer.Typer(help="Registered models: list and promote.", no_args_is_help=True)

MODEL_HELP = "lstm|transformer|tcn|nbeats|cnn|attention|lightgbm|stacking|dqn|ppo|a2c"
DataDir = Annotated[Path | None, typer.Option(help="Data directory (MLflow store lives in it)")]
Symbols = Annotated[str | None, typer.Option(help="Comma-separated symbols (default: all files)")]
FEATURES_HELP = (
    "Feature groups and names, comma-separated: technical, time, fundamental, sentiment, "
    "basic (a small preset) or your @feature names (see `qts features list`)"
)
NAME_HELP = (
    "Registered model name (default: qts-<model>-<timeframe>-h<horizon>-<universe tag>); a "
    "name holds one universe"
)


def _context(data_dir: Path | None) -> Any:
    """The app context (settings with `data_dir` applied), with migrations run."""
    from qts.cli.common import app_context

    return app_context(data_dir)


def _stored_bars(ctx: Any, symbols: list[str] | None, timeframe: str) -> dict[str, Any] | None:
    """Bars from the qts database when every symbol is stored there, else None (files)."""
    from qts.core.errors import NotFoundError
    from qts.services.data.market_data import read_bars

    if not symbols:
        return None
    try:
        return {s: read_bars(s, timeframe, db=ctx.db) for s in symbols}
    except NotFoundError:
        return None


def _symbols(symbols: str | None) -> list[str] | None:
    return [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(1)


def _pct(value: Any) -> str:
    """Returns and drawdowns in percent, as `qts backtest` prints them."""
    return f"{value * 100:,.2f}%" if isinstance(value, float) else str(value)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def train(
    model: Annotated[str, typer.Option(help=MODEL_HELP)],
    symbols: Symbols = None,
    timeframe: Annotated[
        str, typer.Option(help="Bar timeframe (1d: KRX sample, 1h: crypto)")
    ] = "1d",
    horizon: Annotated[int, typer.Option(help="Forward-return horizon in bars")] = 1,
    epochs: Annotated[
        int | None,
        typer.Option(help="Epochs (boosting rounds for LightGBM; passes over the bars for RL)"),
    ] = None,
    folds: Annotated[int, typer.Option(help="Purged walk-forward folds")] = 4,
    features: Annotated[str, typer.Option(help=FEATURES_HELP)] = "technical",
    bars_dir: Annotated[Path | None, typer.Option(help="Folder of <SYMBOL>.csv bar files")] = None,
    name: Annotated[str | None, typer.Option(help=NAME_HELP)] = None,
    module: Annotated[list[str] | None, typer.Option(help="Modules with custom features")] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the first (registered) run")] = 0,
    seeds: Annotated[
        int, typer.Option(help="Evaluate with N seeds (seed, seed+1, ...): mean ± sd of IC")
    ] = 1,
    start: Annotated[str | None, typer.Option(help="First bar date of the training window")] = None,
    end: Annotated[
        str | None, typer.Option(help="Last bar date of the training window (hold-out after)")
    ] = None,
    label: Annotated[
        str, typer.Option(help="next_open (open[t+1] to open[t+1+h], default) | close")
    ] = "next_open",
    top_k: Annotated[
        int | None, typer.Option(help="Symbols held by the portfolio view (default: top 20%)")
    ] = None,
    init_from: Annotated[
        str | None,
        typer.Option(help="Fine-tune: start the final fit from NAME@alias or NAME/version"),
    ] = None,
) -> None:
    """Train MODEL with purged walk-forward evaluation, log it to MLflow and register it.
    Bars come from the qts database when the symbols are stored there, else from --bars-dir
    (or the sample files shipped with qts). IC is the daily cross-sectional IC (one symbol:
    the time-series correlation, reported as such)."""
    from qts.cli.features_cmd import _load_modules
    from qts.cli.progress import progress
    from qts.core.errors import QtsError
    from qts.ml.pipeline import train as run_train
    from qts.services.ml.model_service import feature_source, sync_models

    _load_modules(module)
    ctx = _context(data_dir)
    uri = ctx.settings.mlflow_tracking_uri
    try:
        stored = None if bars_dir is not None else _stored_bars(ctx, _symbols(symbols), timeframe)
        # Folds of every seed, then the final fit on the whole window.
        with progress("training", total=max(seeds, 1) * folds + 1) as update:
            done = iter(range(1, 10**6))
            result = run_train(
                model, stored, symbols=_symbols(symbols), timeframe=timeframe, horizon=horizon,
                epochs=epochs, n_splits=folds, feature_set=features, bars_dir=bars_dir,
                data_dir=None if uri else ctx.settings.data_dir, tracking_uri=uri,
                model_name=name, feature_source=feature_source(ctx), init_from=init_from,
                on_fold=lambda k, _fold: update(next(done), None, f"fold {k}/{folds}"),
                **_evaluation_options(seed, seeds, start, end, label, top_k),
            )  # fmt: skip
            update(max(seeds, 1) * folds + 1, None, "final fit done")
        sync_models(ctx)
    except QtsError as exc:
        raise _fail(exc) from exc
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(result, default=str))
        return
    if result.get("kind") == "policy":
        _print_policy(result, model, timeframe)
        return
    _print_training(result, model, timeframe, horizon)


def _print_policy(result: dict[str, Any], model: str, timeframe: str) -> None:
    """A policy's out-of-sample table beside buy-and-hold, a random policy and the best rule
    strategy (mean ± sd over seeds where seeds apply), and its promotion gate."""
    from qts.ml.evaluation.summary import format_mean_sd

    n = len(result["seeds"])
    table = Table(title=f"{model} {','.join(result['symbols'])} {timeframe}: out of sample "
                        f"{result['oos_start'][:10]} → {result['oos_end'][:10]}, net of costs, "
                        f"{n} seed(s)")  # fmt: skip
    for col in ("", "sharpe", "t-stat", "total return", "max drawdown", "turnover"):
        table.add_column(col)
    for who, m in result["table"].items():
        sharpe = _fmt(m["sharpe"])
        if "sharpe_sd" in m and n > 1:
            sharpe = format_mean_sd({"mean": m["sharpe"], "sd": m["sharpe_sd"], "n": n})
        table.add_row(who, sharpe, _fmt(m["sharpe_t"]), _pct(m["total_return"]),
                      _pct(m["max_drawdown"]), _fmt(m["turnover"]))  # fmt: skip
    console.print(table)
    gate = result["gate"]
    console.print(f"promotion gate (Sharpe above buy-and-hold, drawdown no deeper): "
                  f"{'passed' if gate['passed'] else 'not passed'}")  # fmt: skip
    console.print(
        f"MLflow run {result['run_id']}, registered {result['model_name']} v{result['version']}"
    )


def _print_training(result: dict[str, Any], model: str, timeframe: str, horizon: int) -> None:
    """The training result as tables: evaluation, the backtest beside its baselines."""
    console.print(
        f"[bold]{model}[/] {','.join(result['symbols'])} {timeframe} h={horizon}: "
        f"{result['samples']} samples, OOS {result['oos_start'][:10]} → {result['oos_end'][:10]}"
    )
    _print_evaluation(result)
    table = Table(title="Backtest, net of costs (out of sample)")
    for col in ("", "sharpe", "total return", "max drawdown", "turnover"):
        table.add_column(col)
    for who, m in result["backtest"].items():
        table.add_row(who, _fmt(m["sharpe"]), _pct(m["total_return"]), _pct(m["max_drawdown"]),
                      _fmt(m["turnover"]))  # fmt: skip
    console.print(table)
    console.print(
        f"MLflow run {result['run_id']}, registered {result['model_name']} v{result['version']}"
    )


def _evaluation_options(
    seed: int, seeds: int, start: str | None, end: str | None, label: str, top_k: int | None
) -> dict[str, Any]:
    from qts.core.errors import ValidationError

    if seeds < 1:
        raise ValidationError(f"--seeds must be at least 1, got {seeds}")
    return {
        "seed": seed, "seeds": list(range(seed, seed + seeds)), "start": start, "end": end,
        "label": label, "top_k": top_k,
    }  # fmt: skip


def _print_evaluation(result: dict[str, Any]) -> None:
    """Daily cross-sectional IC (or one symbol's time-series correlation) with its t-stat and
    interval, mean ± sd over seeds, and the top-k portfolio beside its baselines."""
    from qts.ml.evaluation.summary import format_mean_sd

    oos, summary = result["oos"], result["seed_summary"]
    names = (("ic", "IC"), ("rank_ic", "Rank IC")) if oos.get("cross_sectional") else (
        ("ts_corr", "time-series corr (one symbol, no cross-section)"),
        ("ts_rank_corr", "time-series rank corr"),
    )  # fmt: skip
    table = Table(title=f"Out of sample, {len(result['seeds'])} seed(s), label {result['label']}")
    for col in ("", "first seed", "t-stat", "95% interval", "mean ± sd over seeds"):
        table.add_column(col)
    for key, title in names:
        interval = f"[{_fmt(oos.get(f'{key}_ci_low'))}, {_fmt(oos.get(f'{key}_ci_high'))}]"
        table.add_row(title, _fmt(oos.get(key)), _fmt(oos.get(f"{key}_t_stat")),
                      interval if f"{key}_ci_low" in oos else "", format_mean_sd(summary.get(key)))  # fmt: skip
    if oos.get("cross_sectional"):
        table.add_row(
            "ICIR (daily)", _fmt(oos.get("icir")), "", "", format_mean_sd(summary.get("icir"))
        )
    console.print(table)
    console.print(f"training window {result['train_start'][:10]} → {result['train_end'][:10]}")
    book = result["portfolio"]
    top = Table(
        title=f"Top-{book['k']} long book, net of costs ({book['start'][:10]} → {book['end'][:10]})"
    )
    for col in ("", "sharpe", "total return", "max drawdown", "turnover"):
        top.add_column(col)
    for who in ("model", "buy_and_hold", "naive"):
        m = book[who]
        top.add_row(who, _fmt(m.get("sharpe")), _pct(m.get("total_return")),
                    _pct(m.get("max_drawdown")), _fmt(m.get("turnover")))  # fmt: skip
    console.print(top)


def tune(
    model: Annotated[str, typer.Option(help=MODEL_HELP)],
    trials: Annotated[int, typer.Option(help="Optuna trials")] = 10,
    symbols: Symbols = None,
    timeframe: Annotated[str, typer.Option()] = "1d",
    horizon: Annotated[int, typer.Option()] = 1,
    epochs: Annotated[int | None, typer.Option()] = None,
    folds: Annotated[int, typer.Option()] = 3,
    features: Annotated[str, typer.Option(help=FEATURES_HELP)] = "technical",
    storage: Annotated[
        str | None, typer.Option(help="Optuna storage URL (default: qts database)")
    ] = None,
    bars_dir: Annotated[Path | None, typer.Option()] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Optuna study over MODEL's search space; the best trial is trained and registered."""
    from qts.core.errors import QtsError
    from qts.services.ml.tuning_runs import run_tuning

    ctx = _context(data_dir)
    try:
        result = run_tuning(
            ctx, model, _symbols(symbols), timeframe, horizon, trials, n_splits=folds,
            epochs=epochs, feature_set=features, storage=storage, bars_dir=bars_dir,
        )  # fmt: skip
    except QtsError as exc:
        raise _fail(exc) from exc
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(result, default=str))
        return
    console.print(
        f"study {result['study']}: {result['trials']} trials ({result['pruned']} pruned), "
        f"best mean fold IC {result['best_value']:.4f} with {result['best_params']}"
    )
    if result.get("version"):
        console.print(f"registered {result['model_name']} v{result['version']}")


@models_app.command("list")
def list_models(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Registered models with their versions, aliases and OOS metrics."""
    from qts.services.ml.model_service import sync_models

    ctx = _context(data_dir)
    models = sync_models(ctx)
    ctx.close()
    if as_json:
        typer.echo(json.dumps(models, default=str))
        return
    table = Table(title="Registered models")
    for col in ("name", "version", "aliases", "OOS IC", "OOS Sharpe", "created"):
        table.add_column(col)
    for m in models:
        for v in m["versions"]:
            table.add_row(m["name"], v["version"], ",".join(v["aliases"]),
                          _fmt(v["metrics"].get("oos_ic", "")), _fmt(v["metrics"].get("oos_sharpe", "")),
                          v["created"][:19])  # fmt: skip
    console.print(table)


@models_app.command("promote")
def promote(
    name: Annotated[str, typer.Argument(help="Registered model name")],
    version: Annotated[str, typer.Argument(help="Version to promote")],
    alias: Annotated[str, typer.Option(help="staging | production")] = "production",
    gate: Annotated[
        bool, typer.Option(help="Require better OOS Sharpe and IC than the current")
    ] = False,
    who: Annotated[str | None, typer.Option(help="Who promotes (default: $USER)")] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Point ALIAS at VERSION of NAME (optionally gated on out-of-sample figures)."""
    from qts.core.errors import QtsError
    from qts.services.ml.model_service import promote as promote_model

    ctx = _context(data_dir)
    try:
        # Through the service: the audit log records who promoted what, and the API sees it.
        record = promote_model(
            ctx, name, version, alias, who or os.environ.get("USER", "cli"), gate
        )
    except QtsError as exc:
        raise _fail(exc) from exc
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(record, default=str))
        return
    previous = record["what"]["previous_version"]
    was = f"was v{previous}" if previous else f"no version was {alias} before"
    console.print(f"{name} v{version} is now {alias} ({was}), by {record['who']}")
