"""`qts data news ...`: import news files, poll RSS/Atom feeds, list stored news."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from qts.cli.output import make_console
from qts.core.errors import QtsError

app = typer.Typer(help="News: import files, fetch RSS/Atom feeds, list (with sentiment).")
console = make_console()
err_console = make_console(stderr=True)


def _database() -> Any:
    from qts.cli.common import open_database

    return open_database()


def _symbols(value: str | None) -> list[str] | None:
    return [s.strip() for s in value.split(",") if s.strip()] if value else None


def _fail(exc: QtsError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc.message}")
    details = exc.details if isinstance(exc.details, dict) else {}
    for row in (details.get("errors") or [])[:20]:
        err_console.print(f"  row {row.get('row')}: {row.get('message')}")
    if len(details.get("errors") or []) > 20:
        err_console.print(f"  ... and {len(details['errors']) - 20} more")
    return typer.Exit(code=2)


def _summary(result: dict[str, Any]) -> str:
    scored = ", ".join(f"{n} by {model}" for model, n in result["scored"].items()) or "none"
    return (
        f"{result['inserted']} new, {result['skipped']} already stored; "
        f"{result['mapped']} mapped to symbols by name or ticker, "
        f"{result['without_symbols']} without a symbol; scored: {scored}"
        + (f"; {result['unscored']} without a score" if result["unscored"] else "")
    )


def _notes(result: dict[str, Any]) -> None:
    for note in result.get("notes") or []:
        err_console.print(f"[yellow]note:[/yellow] {note}")


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="CSV, JSON or RSS/Atom (.xml, .rss, .atom) file"),
    symbols: str | None = typer.Option(
        None, "--symbols", help="symbols of rows that name none (else mapped from the text)"
    ),
    tz: str = typer.Option("US/Eastern", "--tz", help="time zone of times written without one"),
    source: str = typer.Option("", "--source", help="source name of rows that have none"),
    score_column: str | None = typer.Option(
        None, "--score-column", help="the provider's own sentiment score column, e.g. sentiment_gpt"
    ),
    score_range: str | None = typer.Option(
        None, "--score-range", help="LOW:HIGH of that score (e.g. 1:5), mapped to -1..1"
    ),
    flag_column: str = typer.Option(
        "news_flag", "--flag-column", help="rows where this column is 0 carry no news"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Store news items with the time each was known; a file with a bad row stores nothing.

    Items that name no symbol are mapped from ticker mentions ($AAPL, (005930)) and company
    names (Korean too); each new item is scored by its language (VADER for English, the
    Korean model of QTS_KR_SENTIMENT_MODEL for Korean) unless --score-column gives a score."""
    from qts.services.data.news import import_news

    try:
        result = import_news(
            _database(), file, symbols=_symbols(symbols), tz=tz, source=source,
            score_column=score_column, score_range=score_range, flag_column=flag_column or None,
        )  # fmt: skip
    except QtsError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(result, default=str))
    else:
        console.print(f"[green]imported[/green] {result['items']} items: {_summary(result)}")
    _notes(result)


@app.command("fetch")
def fetch_cmd(
    url: list[str] | None = typer.Option(
        None, "--url", help="RSS 2.0 or Atom feed URL (repeatable; default: QTS_NEWS_FEEDS)"
    ),
    symbols: str | None = typer.Option(None, "--symbols", help="symbols of items naming none"),
    timeout: float = typer.Option(15.0, "--timeout", help="seconds per feed"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Poll feeds once; items are known from this fetch (a poll sees news when it arrives)."""
    from qts.config import get_settings
    from qts.services.data.news import fetch_news

    urls = list(url or get_settings().news_feeds)
    try:
        result = fetch_news(_database(), urls, symbols=_symbols(symbols), timeout=timeout)
    except QtsError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(result, default=str))
    for feed, summary in result["feeds"].items():
        if not as_json:
            console.print(f"[green]fetched[/green] {feed}: {summary['items']} items, "
                          f"{_summary(summary)}")  # fmt: skip
        _notes(summary)
    for feed, message in result["errors"].items():
        err_console.print(f"[red]error:[/red] {feed}: {message}")
    if result["errors"]:
        raise typer.Exit(code=3 if not result["feeds"] else 1)


@app.command("rescore")
def rescore_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Score stored items that have no score yet (e.g. Korean headlines imported before
    QTS_KR_SENTIMENT_MODEL was set)."""
    from qts.services.data.news import rescore_news

    try:
        result = rescore_news(_database())
    except QtsError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(result))
        return
    scored = ", ".join(f"{n} by {model}" for model, n in result["scored"].items()) or "none"
    console.print(f"scored: {scored}; {result['unscored']} still without a score")
    _notes(result)


@app.command("list")
def list_cmd(
    symbol: str | None = typer.Option(None, "--symbol", "-s"),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Stored news, newest first, with sentiment and language."""
    from qts.services.data.news import page_news

    page = page_news(_database(), symbol, limit=limit)
    if as_json:
        typer.echo(json.dumps(page["items"], default=str))
        return
    table = Table("published", "known", "symbols", "lang", "sentiment", "model", "headline")
    for item in page["items"]:
        score = "" if item["sentiment"] is None else f"{item['sentiment']:+.3f}"
        table.add_row(item["published_at"][:16], item["known_at"][:16], ",".join(item["symbols"]),
                      item["language"], score, item["sentiment_model"], item["headline"][:80])  # fmt: skip
    console.print(table if page["items"] else "no news stored yet")
