"""`qts data actions ...`: corporate actions (splits, dividends) stored beside the raw bars."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from qts.cli.output import make_console
from qts.core.errors import QtsError

app = typer.Typer(help="Corporate actions: splits and dividends that adjust the stored bars.")
console = make_console()
err_console = make_console(stderr=True)


def _fail(exc: QtsError) -> None:
    err_console.print(f"[red]error:[/red] {exc.message}")
    raise typer.Exit(code=2)


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="events CSV"),
    exchange: str | None = typer.Option(
        None, "--exchange", "-e", help="for rows without one (default: guessed from the symbol)"
    ),
) -> None:
    """Store the events of a CSV: exchange,symbol,ex_date,kind,ratio,amount[,source]
    (kind split: ratio = new shares per old, or "50:1"; kind dividend: amount per share)."""
    from qts.cli.common import open_database
    from qts.services.data.corporate_actions import import_csv

    try:
        result = import_csv(open_database(), file, exchange)
    except QtsError as exc:
        _fail(exc)
        return
    console.print(
        f"[green]stored[/green] {result['stored']} corporate actions for "
        f"{', '.join(result['symbols']) or 'no symbol'}"
    )


@app.command("fetch")
def fetch_cmd(
    symbol: str = typer.Option(..., "--symbol", "-s"),
    since: str = typer.Option("2000-01-01", "--since", help="first ex-date to look for"),
    provider: str | None = typer.Option(
        None, "--provider", "-p", help="yahoo (US; the default) or pykrx (KRX, 6-digit codes)"
    ),
    exchange: str | None = typer.Option(None, "--exchange", "-e", help="as the bars are stored"),
    base_url: str | None = typer.Option(None, "--base-url", help="override Yahoo's URL"),
) -> None:
    """Download a symbol's splits and dividends (Yahoo) or derive its KRX splits (pykrx's
    adjusted vs raw prices) and store them."""
    from qts.cli.common import open_database
    from qts.cli.guard import network_message
    from qts.services.data import corporate_actions as service

    name = provider or ("pykrx" if symbol.isdigit() and len(symbol) == 6 else "yahoo")
    try:
        if name == "pykrx":
            result = service.fetch_pykrx(open_database(), symbol, since, exchange)
        elif name == "yahoo":
            result = service.fetch_yahoo(open_database(), symbol, since, exchange, base_url)
        else:
            err_console.print(f"[red]error:[/red] unknown provider {name!r}: use yahoo or pykrx")
            raise typer.Exit(code=2)
    except QtsError as exc:
        if network_message(exc):
            raise
        _fail(exc)
        return
    console.print(
        f"[green]stored[/green] {result['stored']} corporate actions for "
        f"{result['exchange']}:{symbol}"
    )


@app.command("list")
def list_cmd(
    symbol: str | None = typer.Option(None, "--symbol", "-s"),
    exchange: str | None = typer.Option(None, "--exchange", "-e"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Stored splits and dividends."""
    from qts.cli.common import open_database
    from qts.services.data.corporate_actions import list_actions

    rows = list_actions(open_database(), symbol, exchange)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("exchange", "symbol", "ex_date", "kind", "ratio", "amount", "source")
    for r in rows:
        ratio = f"{r['ratio']:g}" if r["kind"] == "split" else ""
        amount = f"{r['amount']:g}" if r["kind"] == "dividend" else ""
        table.add_row(r["exchange"], r["symbol"], r["ex_date"], r["kind"], ratio, amount,
                      r["source"])  # fmt: skip
    console.print(table if rows else "no corporate actions stored")
