"""`qts data ...`: import, fetch, synthesise and list market data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from qts.cli import fundamentals_cmd, fx_cmd, news_cmd
from qts.cli.actions_cmd import app as actions_app
from qts.cli.output import make_console
from qts.core.errors import QtsError

app = typer.Typer(help="Market data: import files, fetch from providers, generate, list.")
app.add_typer(fx_cmd.app, name="fx")
app.add_typer(fundamentals_cmd.app, name="fundamentals")
console = make_console()
err_console = make_console(stderr=True)
app.add_typer(actions_app, name="actions")
app.add_typer(news_cmd.app, name="news")


def _database() -> Any:
    from qts.cli.common import open_database

    return open_database()


def _fail(exc: QtsError) -> None:
    err_console.print(f"[red]error:[/red] {exc.message}")
    details = exc.details if isinstance(exc.details, dict) else {}
    rows = details.get("errors") or []
    if rows:
        table = Table("line", "row", "ts", "rule", "message", title="rejected rows")
        for row in rows[:50]:
            table.add_row(
                str(row.get("line") or ""),
                str(row.get("row") or ""),
                str(row.get("ts") or ""),
                row["rule"],
                row["message"],
            )
        err_console.print(table)
        if len(rows) > 50:
            err_console.print(
                f"... and {len(rows) - 50} more (counts: {details.get('error_counts')})"
            )
    raise typer.Exit(code=2)


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or Parquet file"),
    symbol: str = typer.Option(..., "--symbol", "-s"),
    timeframe: str = typer.Option("1d", "--timeframe", "-t"),
    exchange: str | None = typer.Option(None, "--exchange", "-e", help="e.g. XKRX, XNYS, binance"),
    repair: bool = typer.Option(False, "--repair", help="drop or fix bad rows and report them"),
    drop_off_calendar: bool = typer.Option(
        False,
        "--drop-off-calendar",
        help="leave out bars on days that are not sessions of the exchange (holiday rows)",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the full report as JSON"),
) -> None:
    """Validate a bar file and store it; a bad file is rejected whole with a row-level report.

    Bars on days the exchange's calendar has no session (a holiday row that repeats the
    previous session) are flagged as warnings; --drop-off-calendar leaves them out."""
    from qts.services.data.market_data import import_file

    try:
        result = import_file(
            _database(), file, symbol, timeframe, exchange, repair, drop_off_calendar
        )
    except QtsError as exc:
        _fail(exc)
        return
    if as_json:
        console.print_json(json.dumps(result, default=str))
        return
    report = result["report"]
    console.print(
        f"[green]imported[/green] {result['exchange']}:{result['symbol']} {result['timeframe']}: "
        f"{report['rows_valid']} bars ({result['inserted']} new, {result['updated']} updated, "
        f"{result['unchanged']} unchanged)"
    )
    for repair_row in report["repairs"]:
        where = f"line {repair_row['line']} " if repair_row["line"] is not None else ""
        console.print(
            f"  repaired {where}({repair_row['ts']}): "
            f"{repair_row['action']}: {repair_row['message']}"
        )
    if report["warnings"]:
        console.print(f"[yellow]{len(report['warnings'])} warning(s)[/yellow]")
        for warning in report["warnings"][:20]:
            console.print(f"  {warning['message']}")
    for note in report["notes"]:
        console.print(f"  note: {note}")


@app.command("fetch")
def fetch_cmd(
    provider: str | None = typer.Option(
        None,
        "--provider",
        "-p",
        help="ccxt, yahoo, naver, pykrx, fdr, kis or kiwoom (default by market: pykrx for KRX "
        "daily, kis for KRX intraday, yahoo for US, ccxt for crypto); kis: KRX minutes, US daily",
    ),
    exchange: str | None = typer.Option(
        None,
        "--exchange",
        "-e",
        help="where the bars are stored (default: binance for ccxt, else guessed from the "
        "symbol: XKRX for 6-digit codes, XNYS for US); kis: NASD, NYSE or AMEX pins a US listing",
    ),
    symbol: str = typer.Option(..., "--symbol", "-s"),
    timeframe: str = typer.Option("1h", "--timeframe", "-t"),
    since: str = typer.Option(..., "--since", help="start date/time (UTC), e.g. 2024-01-01"),
    until: str | None = typer.Option(None, "--until"),
    base_url: str | None = typer.Option(None, "--base-url", help="override the provider's URL"),
) -> None:
    """Download history into the database (resumes after the last stored bar)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qts.cli.guard import network_message
    from qts.services.data.market_data import fetch
    from qts.services.data.providers import default_provider

    if exchange is None:
        from qts.market.calendars import guess_exchange

        crypto = provider is None or provider.lower() == "ccxt"
        exchange = "binance" if crypto else guess_exchange(symbol)
    provider = provider or default_provider(exchange, timeframe)
    options = {"base_url": base_url} if base_url else {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        source = exchange if provider == "ccxt" else provider
        task = progress.add_task(f"{source}:{symbol} {timeframe}", total=None)

        def on_progress(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = fetch(
                provider,
                exchange,
                symbol,
                timeframe,
                since,
                on_progress,
                until=until,
                db=_database(),
                provider_options=options,
            )
        except QtsError as exc:
            progress.stop()
            if network_message(exc):
                raise  # one line and exit code 3 (qts.cli.guard)
            _fail(exc)
            return
    resumed = f" (resumed from {result['resumed_from']})" if result["resumed_from"] else ""
    console.print(
        f"[green]fetched[/green] {result['fetched']} bars{resumed}: {result['inserted']} new, "
        f"{result['updated']} updated"
    )


@app.command("synth")
def synth_cmd(
    symbols: int = typer.Option(3, "--symbols", "-n"),
    bars: int = typer.Option(1000, "--bars", "-m"),
    timeframe: str = typer.Option("1m", "--timeframe", "-t"),
    start: str = typer.Option("2024-01-01", "--start"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Generate seeded synthetic bars (correlated symbols, regimes, jumps) under exchange SYNTH."""
    from qts.services.data.market_data import synth

    try:
        result = synth(_database(), symbols, bars, timeframe, start=start, seed=seed)
    except (QtsError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    names = ", ".join(result["symbols"])
    console.print(f"[green]generated[/green] {bars} {timeframe} bars for {names} (exchange SYNTH)")


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Stored datasets with bar counts and time ranges."""
    from qts.services.data.market_data import list_datasets

    rows = list_datasets(_database())
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("exchange", "symbol", "timeframe", "bars", "first", "last")
    for r in rows:
        table.add_row(
            r["exchange"], r["symbol"], r["timeframe"], f"{r['bars']:,}", r["first"], r["last"]
        )
    console.print(table if rows else "no market data stored yet")
