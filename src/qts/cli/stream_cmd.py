"""`qts stream`: the bar stream process (one per deployment in scale-out; `qts up` runs it as a
thread in embedded mode). It holds the KIS and Binance WebSockets, stores each closed bar,
back-fills gaps from REST and steps the running live sessions on that symbol at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from qts.cli.output import make_console

console = make_console()


def stream(
    symbols: Annotated[
        str | None,
        typer.Option(
            "--symbols",
            help='JSON list like QTS_LIVE_SYMBOLS, e.g. \'[{"provider": "kis", "exchange": '
            '"XKRX", "symbol": "005930", "timeframe": "1m"}]\' (default: QTS_STREAM_SYMBOLS, '
            "else the streaming ones of QTS_LIVE_SYMBOLS)",
        ),
    ] = None,
    no_steps: Annotated[
        bool, typer.Option("--no-steps", help="Store and publish bars only; step no sessions")
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (embedded mode)")] = None,
) -> None:
    """Stream live bars (KIS real-time for KRX, Binance klines) into storage and sessions."""
    import asyncio

    from qts.cli.common import app_context
    from qts.services.data.bar_stream import BarStream, streamed_symbols, streams
    from qts.services.data.live_collection import LiveSymbol

    if symbols:
        try:
            chosen = [LiveSymbol(**item) for item in json.loads(symbols)]
        except (ValueError, TypeError) as exc:
            console.print(f"[bold red]error:[/] --symbols is not a JSON list of symbols: {exc}")
            raise typer.Exit(2) from exc
        refused = [s.symbol for s in chosen if not streams(s)]
        if refused:
            console.print(
                f"[bold red]error:[/] no stream for {', '.join(refused)}: streaming providers "
                "are kis (KRX) and ccxt on binance; the market data jobs poll the others"
            )
            raise typer.Exit(2)
    else:
        chosen = streamed_symbols()
    if not chosen:
        console.print(
            "[bold red]error:[/] nothing to stream: set QTS_STREAM_SYMBOLS or QTS_LIVE_SYMBOLS "
            "with provider kis or ccxt/binance, or pass --symbols"
        )
        raise typer.Exit(2)
    ctx = app_context(data_dir)
    bar_stream = BarStream(ctx, chosen, step_sessions=not no_steps)
    names = ", ".join(f"{s.symbol} {s.timeframe} ({s.provider})" for s in chosen)
    console.print(f"streaming {names}; Ctrl-C to stop")
    try:
        asyncio.run(bar_stream.run())
    except KeyboardInterrupt:
        pass
    finally:
        console.print(f"stored {bar_stream.stored} bars, back-filled {bar_stream.backfilled}")
        ctx.close()
