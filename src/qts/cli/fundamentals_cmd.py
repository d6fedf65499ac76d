"""`qts data fundamentals fetch|import`: fundamentals from OpenDART or from a CSV file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from qts.cli.output import make_console
from qts.core.errors import QtsError

app = typer.Typer(
    help="Fundamentals (EPS, BPS, ROE, ...) with the time each became known.",
    no_args_is_help=True,
)
console = make_console()
err_console = make_console(stderr=True)


def _database() -> Any:
    from qts.cli.common import open_database

    return open_database()


def _fail(exc: QtsError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(code=2)


@app.command("fetch")
def fetch_cmd(
    symbols: str = typer.Option(..., "--symbols", "-s", help="KRX codes, e.g. 005930,000660"),
    start: str | None = typer.Option(None, "--start", help="first filing date (default: 3y ago)"),
    end: str | None = typer.Option(None, "--end", help="last filing date (default: today)"),
    base_url: str | None = typer.Option(None, "--base-url", help="override OpenDART's URL"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Periodic reports (annual, half-year, quarterly; restatements too) from OpenDART, stored
    as TTM EPS, SPS, BPS, ROE and DPS known from the day after each filing.
    Needs QTS_OPENDART_API_KEY."""
    from qts.cli.guard import network_message
    from qts.services.data.fundamentals import fetch_fundamentals, opendart_client

    try:
        client = opendart_client(base_url=base_url)
        with client:
            result = fetch_fundamentals(_database(), symbols.split(","), start, end, client=client)
    except QtsError as exc:
        if network_message(exc):
            raise  # one line and exit code 3 (qts.cli.guard)
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(result, default=str))
        return
    table = Table("symbol", "corp code", "reports", "no data (013)", title="OpenDART fundamentals")
    for symbol, entry in result["symbols"].items():
        table.add_row(
            symbol, entry["corp_code"], str(entry["reports"]), ", ".join(entry["no_data"]) or "-"
        )
    console.print(table)
    console.print(
        f"[green]stored[/green] {result['stored']} rows, filings {result['start']} → {result['end']}"
    )


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV file, long or wide"),
    exchange: str = typer.Option("XKRX", "--exchange", "-e"),
    symbol: str | None = typer.Option(None, "--symbol", "-s", help="when the file has none"),
    lag_days: float = typer.Option(
        1.0, "--lag-days", help="without a known_at column: days after the period end"
    ),
) -> None:
    """Store fundamentals from a CSV (`symbol,metric,period_end,value[,known_at]`, or wide
    `symbol,date,eps,bps,...`)."""
    from qts.services.data.market_data import import_fundamentals

    try:
        result = import_fundamentals(_database(), file, exchange, symbol=symbol, lag_days=lag_days)
    except QtsError as exc:
        raise _fail(exc) from None
    console.print(f"[green]stored[/green] {result['stored']} rows from {file.name}")
