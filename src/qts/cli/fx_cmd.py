"""`qts data fx ...`: FX rates as bars (exchange FX, BASE/QUOTE, close = QUOTE per BASE)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from qts.cli.output import make_console
from qts.core.errors import QtsError

app = typer.Typer(help="FX rates (stored as bars, exchange FX): import a file, fetch, show.")
console = make_console()

PAIR = typer.Option(..., "--pair", help="BASE/QUOTE, e.g. USD/KRW (close = KRW per 1 USD)")


def _fail(exc: QtsError) -> None:
    """The error, and the rejected rows of a bad file (first 20), then exit code 2."""
    err = make_console(stderr=True)
    err.print(f"[red]error:[/red] {exc.message}")
    details = exc.details if isinstance(exc.details, dict) else {}
    for row in (details.get("errors") or [])[:20]:
        where = f"line {row['line']}" if row.get("line") else f"row {row.get('row')}"
        err.print(f"  {where} ({row.get('ts') or '-'}): {row['rule']}: {row['message']}")
    raise typer.Exit(code=2)


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: date,close or OHLC"),
    pair: str = PAIR,
    timeframe: str = typer.Option("1d", "--timeframe", "-t"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Validate a rate file and store it; a bad row (a rate <= 0, an unreadable date) rejects
    the whole file and nothing is stored."""
    from qts.cli.common import open_database
    from qts.services.data.fx_rates import import_rates

    try:
        result = import_rates(open_database(), file, pair, timeframe)
    except QtsError as exc:
        _fail(exc)
        return
    if as_json:
        console.print_json(json.dumps(result, default=str))
        return
    console.print(
        f"[green]imported[/green] FX:{result['pair']} {timeframe}: "
        f"{result['report']['rows_valid']} rates ({result['inserted']} new, "
        f"{result['updated']} updated, {result['unchanged']} unchanged)"
    )


@app.command("fetch")
def fetch_cmd(
    pair: str = PAIR,
    start: str | None = typer.Option(
        None, "--start", help="first date (default: after the last stored rate, or 5 years)"
    ),
    end: str | None = typer.Option(None, "--end", help="last date (default: now)"),
    timeframe: str = typer.Option("1d", "--timeframe", "-t"),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Yahoo chart API URL (default: QTS_YAHOO_URL or Yahoo's)"
    ),
) -> None:
    """Download rates from Yahoo Finance's chart API (USD/KRW is KRW=X) and store them."""
    from qts.cli.common import open_database
    from qts.cli.guard import network_message
    from qts.services.data.fx_rates import fetch_rates

    try:
        result = fetch_rates(open_database(), pair, start, end, timeframe, base_url)
    except QtsError as exc:
        if network_message(exc):
            raise  # one line and exit code 3 (qts.cli.guard)
        _fail(exc)
        return
    console.print(
        f"[green]fetched[/green] {result['fetched']} {result['pair']} rates from "
        f"{result['source']} ({result['first']} .. {result['last']}): "
        f"{result['inserted']} new, {result['updated']} updated"
    )


@app.command("show")
def show_cmd(
    pair: str = PAIR,
    start: str | None = typer.Option(None, "--start"),
    end: str | None = typer.Option(None, "--end"),
    last: int = typer.Option(10, "--last", help="how many of the newest rates to print"),
) -> None:
    """Stored rates of a pair (the inverse of a stored pair is derived: 1/rate)."""
    from rich.table import Table

    from qts.cli.common import open_database
    from qts.services.data.fx_rates import read_rates

    try:
        bars = read_rates(open_database(), pair, start, end)
    except QtsError as exc:
        _fail(exc)
        return
    table = Table("date", "close", title=f"{pair.upper()} ({len(bars)} stored)")
    for ts, close in bars["close"].tail(last).items():
        table.add_row(f"{ts:%Y-%m-%d}", f"{close:,.6g}")
    console.print(table)
