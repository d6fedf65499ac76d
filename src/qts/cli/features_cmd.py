"""`qts features ...`: build features from stored bars, list definitions, materialise online.

Registered by the lead in `qts.cli.main` as `app.add_typer(features_cmd.app, name="features")`.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from qts.cli.output import make_console

app = typer.Typer(help="Feature engineering and the feature store.", no_args_is_help=True)
console = make_console()
err_console = make_console(stderr=True)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _load_modules(modules: list[str] | None) -> None:
    """Import users' modules so their `@feature` definitions register."""
    for name in _split(modules):
        importlib.import_module(name)


@app.command("build")
def build(
    symbols: Annotated[list[str], typer.Option("--symbols", "-s", help="Symbols (comma list)")],
    timeframe: Annotated[str, typer.Option(help="Bar timeframe, e.g. 1d, 1h")] = "1d",
    start: Annotated[str | None, typer.Option(help="First bar to store (ISO date)")] = None,
    end: Annotated[str | None, typer.Option(help="Last bar to use (ISO date)")] = None,
    exchange: Annotated[
        str | None, typer.Option(help="Exchange, if a symbol is on several")
    ] = None,
    features: Annotated[
        list[str] | None, typer.Option("--feature", "-f", help="Only these")
    ] = None,
    module: Annotated[list[str] | None, typer.Option(help="Modules with custom features")] = None,
) -> None:
    """Compute features for symbols from stored bars and write them to the offline store."""
    from qts.cli.common import ensure_database

    ensure_database()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from qts.core.errors import QtsError
    from qts.services.ml.features import build_features

    _load_modules(module)
    names = _split(features) or None
    syms = _split(symbols)
    with Progress(
        TextColumn("[bold]features[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("", total=len(syms))

        def step(symbol: str, done: int, total: int) -> None:
            progress.update(task, completed=done, description=symbol)

        try:
            summary = build_features(
                syms, timeframe, start, end, exchange=exchange, names=names, progress=step
            )
        except QtsError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
    failed = [s for s, info in summary["symbols"].items() if info.get("error")]
    for symbol in failed:
        err_console.print(f"[yellow]{symbol}: {summary['symbols'][symbol]['error']}[/]")
    console.print(f"wrote {summary['rows']} feature rows for {len(syms) - len(failed)} symbols")
    if summary.get("warning"):
        err_console.print(f"[yellow]{summary['warning']}[/]")
    if failed and len(failed) == len(syms):
        raise typer.Exit(1)


@app.command("list")
def list_cmd(
    module: Annotated[list[str] | None, typer.Option(help="Modules with custom features")] = None,
    all_versions: Annotated[bool, typer.Option("--all", help="Show older versions too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the definitions as JSON")] = False,
) -> None:
    """List feature definitions (name, version, group, number of columns)."""
    from qts.cli.common import ensure_database

    ensure_database()
    from rich.table import Table

    from qts.services.ml.features import list_definitions

    _load_modules(module)
    shown = [d for d in list_definitions() if all_versions or d["current"]]
    if as_json:
        from qts.cli.output import print_json

        print_json(shown)
        return
    table = Table("name", "version", "group", "columns", "current", "description")
    table.columns[0].no_wrap = True
    for d in shown:
        table.add_row(
            d["name"],
            d["version"],
            d["group"],
            str(len(d["columns"] or [])),
            "yes" if d["current"] else "",
            (d["description"] or "")[:60],
        )
    console.print(table)


@app.command("materialize")
def materialize_cmd(
    timeframe: Annotated[str, typer.Option(help="Bar timeframe")] = "1d",
    full: Annotated[bool, typer.Option("--full", help="Ignore the incremental watermark")] = False,
    features: Annotated[
        list[str] | None, typer.Option("--feature", "-f", help="Only these")
    ] = None,
    module: Annotated[list[str] | None, typer.Option(help="Modules with custom features")] = None,
) -> None:
    """Copy the latest offline feature vectors to the online store (incremental by default)."""
    from qts.cli.common import ensure_database

    ensure_database()
    from rich.table import Table

    from qts.services.ml.features import materialize_features

    _load_modules(module)
    results = materialize_features(timeframe, names=_split(features) or None, incremental=not full)
    table = Table("feature", "entities", "stored")
    for r in results:
        table.add_row(r["feature"], str(r["entities"]), str(r["stored"]))
    console.print(table)
