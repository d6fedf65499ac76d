"""`qts paper`, `qts kill-switch` and `qts strategy start|stop|list|check`."""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from qts.cli import strategy_cmd
from qts.cli.output import make_console

console = make_console()
strategy_app = typer.Typer(
    help="Stored strategies: list, start, stop; check a strategy for look-ahead.",
    no_args_is_help=True,
)
strategy_app.command("check")(strategy_cmd.check)


def _context():  # type: ignore[no-untyped-def]
    from qts.cli.common import app_context

    return app_context()


def _parse_speed(speed: str) -> float | None:
    if speed == "max":
        return None
    try:
        value = float(speed)
    except ValueError as e:
        raise typer.BadParameter("speed is a positive number or 'max'") from e
    if value <= 0:
        raise typer.BadParameter("speed must be positive")
    return value


def paper(
    strategy: Annotated[str, typer.Option(help="Registered name or path.py:Class")],
    symbol: Annotated[list[str], typer.Option(help="Symbol(s)")],
    timeframe: Annotated[str, typer.Option(help="Bar timeframe, e.g. 1d, 1h")] = "1d",
    param: Annotated[list[str] | None, typer.Option(help="Strategy parameter k=v")] = None,
    replay: Annotated[bool, typer.Option("--replay", help="Replay stored bars")] = False,
    live: Annotated[bool, typer.Option("--live", help="Trade new bars as they close")] = False,
    speed: Annotated[
        str, typer.Option(help="Replay speed: a multiple of real time, or max")
    ] = "max",
    start: Annotated[str | None, typer.Option(help="First bar time (replay)")] = None,
    end: Annotated[str | None, typer.Option(help="Last bar time (replay)")] = None,
    provider: Annotated[
        str | None,
        typer.Option(help="Live bars from: ccxt, yahoo, krx (else the market data jobs)"),
    ] = None,
    exchange: Annotated[str | None, typer.Option(help="Exchange of the live bars")] = None,
    interval: Annotated[float, typer.Option(help="Seconds between checks for new bars")] = 30.0,
    cycles: Annotated[
        int | None, typer.Option(help="Stop after this many checks (default: until Ctrl-C)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Session name (stored strategy name)")] = None,
    update: Annotated[
        bool,
        typer.Option("--update", help="Change the stored strategy NAME to these parameters"),
    ] = False,
) -> None:
    """Run a paper-trading session in the foreground and keep it (orders, fills, positions):
    a replay of stored bars, or live bars as they close."""
    from qts.core.errors import QtsError
    from qts.services.trading.sessions import FeedSpec, TradingService

    if replay == live:
        raise typer.BadParameter("choose exactly one of --replay or --live")
    ctx = _context()
    trading = TradingService(ctx)
    session_name = name or f"paper-{strategy}-{'-'.join(symbol)}-{timeframe}".replace("/", "_")
    processed = 0
    error = ""
    sid: int | None = None
    try:
        sid = _stored_strategy(ctx, session_name, strategy, param, symbol, timeframe, update)
        if live:
            from qts.services.trading.live import BarSource, run_live

            trading.start(sid, "cli", FeedSpec("live"))
            source = None
            if provider:
                source = BarSource(provider, exchange)
            console.print(f"paper session {session_name}: live {timeframe} bars; Ctrl-C stops it")
            processed = run_live(
                trading, sid, interval, threading.Event(), source=source, cycles=cycles
            )
        else:
            trading.start(sid, "cli", FeedSpec("replay", _parse_speed(speed), start, end))
            session = trading.sessions[sid]
            from qts.cli.progress import progress

            total = None if start or end else _stored_bar_count(ctx, symbol, timeframe)
            with progress(f"paper replay {session_name}", total) as report:
                while session.thread.is_alive():
                    report(session.bars, None, "")
                    time.sleep(0.2)
                report(session.bars, None, "")
            processed, error = session.bars, session.error
    except QtsError as e:
        console.print(f"[red]error:[/] {e.message}")
        raise typer.Exit(1) from e
    except KeyboardInterrupt:
        pass
    finally:
        if live and sid is not None:
            trading.stop(sid, "cli")
    console.print(f"{processed} bar times processed")
    if sid is not None:
        _summary(ctx, sid, session_name)
    ctx.close()
    if error:
        console.print(f"[red]session failed:[/] {error}")
        raise typer.Exit(1)


def _stored_bar_count(ctx: Any, symbols: list[str], timeframe: str) -> int | None:
    """Bar times a full replay walks (the longest symbol's stored bars), for the progress."""
    from qts.services.data.market_data import list_datasets

    counts = [int(d["bars"]) for d in list_datasets(ctx.db)
              if d["symbol"] in symbols and d["timeframe"] == timeframe]  # fmt: skip
    return max(counts) if counts else None


def _stored_strategy(
    ctx: Any,
    name: str,
    spec: str,
    param: list[str] | None,
    symbols: list[str],
    timeframe: str,
    update: bool = False,
) -> int:
    """The id of the stored strategy called `name`: created on first use, used again when it
    has these parameters (no --param: the stored ones), changed only with --update."""
    from qts.services.trading.strategies import get_strategy_by_name
    from qts.strategies.params import parse_param_pairs

    parameters: dict[str, Any] = dict(parse_param_pairs(param or []))
    if not param and (existing := get_strategy_by_name(ctx.db, name)) is not None:
        parameters = dict(existing.parameters)
    data = {
        "name": name,
        "strategy_class": spec,
        "parameters": parameters,
        "symbols": list(symbols),
        "timeframe": timeframe,
    }
    stored, action = strategy_cmd.save_by_name(ctx.db, data, update)
    if action != "unchanged":
        console.print(f"stored strategy {name!r} {action} (id {stored.id})")
    return stored.id


def _summary(ctx, sid: int, name: str) -> None:  # type: ignore[no-untyped-def]
    from qts.db.repositories.orders import OrderFilter
    from qts.services.trading.orders import list_orders, list_positions

    orders = list_orders(ctx.db, OrderFilter(strategy_id=sid), 500, 0)
    table = Table(
        "symbol",
        "quantity",
        "avg price",
        "last",
        "realized pnl",
        "fees",
        title=f"{name}: positions",
    )
    for p in list_positions(ctx.db, f"paper:{name}", include_flat=True):
        table.add_row(
            p.symbol,
            f"{p.quantity:g}",
            f"{p.average_price:.4f}",
            f"{(p.last_price or 0):.4f}",
            f"{p.realized_pnl:.2f}",
            f"{p.fees:.2f}",
        )
    console.print(table)
    console.print(f"{orders.total} orders stored for strategy id {sid}")


def _cancelled(count: int) -> str:
    if count == 0:
        return "; no open orders to cancel"
    return f"; cancelled {count} open order{'s' if count != 1 else ''}"


def kill_switch(
    state: Annotated[str, typer.Argument(help="on or off")],
) -> None:
    """Turn the kill switch on (cancel open orders, block new ones) or off."""
    from qts.services.trading.sessions import TradingService

    if state not in ("on", "off"):
        raise typer.BadParameter("state is on or off")
    ctx = _context()
    result = TradingService(ctx).orders.set_kill_switch(state == "on", "cli")
    if state == "on":
        done = f"new orders are blocked{_cancelled(result['cancelled_orders'])}"
    else:
        done = "new orders are allowed again"
    console.print(f"kill switch [bold]{state}[/]: {done}")
    ctx.close()


@strategy_app.command("list")
def strategy_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON")] = False,
) -> None:
    """List stored strategies."""
    from qts.cli.output import print_json
    from qts.services.trading.strategies import list_strategies

    ctx = _context()
    items = list_strategies(ctx.db, 500, 0, None).items
    ctx.close()
    if as_json:
        print_json([s.model_dump(mode="json") for s in items])
        return
    table = Table("id", "name", "class", "symbols", "timeframe", "mode", "state")
    table.columns[1].no_wrap = True
    for s in items:
        table.add_row(
            str(s.id), s.name, s.strategy_class, ",".join(s.symbols), s.timeframe, s.mode, s.state
        )
    console.print(table if items else "no stored strategies yet")


@strategy_app.command("start")
def strategy_start(
    strategy_id: int,
    speed: Annotated[
        str, typer.Option(help="Replay speed: a multiple of real time, or max")
    ] = "max",
    start: Annotated[str | None, typer.Option(help="First bar time")] = None,
    end: Annotated[str | None, typer.Option(help="Last bar time")] = None,
) -> None:
    """Run a stored strategy's paper session on a replay, in the foreground."""
    from qts.core.errors import QtsError
    from qts.services.trading.sessions import FeedSpec, TradingService

    ctx = _context()
    trading = TradingService(ctx)
    try:
        trading.start(strategy_id, "cli", FeedSpec("replay", _parse_speed(speed), start, end))
    except QtsError as e:
        console.print(f"[red]error:[/] {e.message}")
        raise typer.Exit(1) from e
    session = trading.sessions[strategy_id]
    try:
        while session.thread.is_alive():
            time.sleep(0.2)
    except KeyboardInterrupt:
        trading.stop(strategy_id, "cli")
    console.print(f"strategy {strategy_id}: {session.bars} bars processed")
    ctx.close()


@strategy_app.command("stop")
def strategy_stop(strategy_id: int) -> None:
    """Mark a strategy stopped; a running `qts up` stops its session at the next bar."""
    from qts.services.trading.sessions import TradingService

    ctx = _context()
    TradingService(ctx).stop(strategy_id, "cli")
    console.print(f"strategy {strategy_id} stopped")
    ctx.close()


def live(
    strategy_id: Annotated[int, typer.Option("--strategy", help="Stored strategy id")],
    broker: Annotated[str, typer.Option(help="kis, kiwoom, binance or upbit")],
    confirm_live: Annotated[
        bool, typer.Option("--confirm-live", help="Confirm that real orders may be sent")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between checks for new bars")] = 30.0,
    provider: Annotated[
        str | None,
        typer.Option(help="Live bars from: ccxt, yahoo, krx (else the market data jobs)"),
    ] = None,
    exchange: Annotated[str | None, typer.Option(help="Exchange of the live bars")] = None,
) -> None:
    """Trade a stored strategy live through a broker. Refuses unless live trading is enabled in
    configuration, the risk limits are set, and --confirm-live is given."""
    from qts.config import get_settings
    from qts.core.errors import QtsError
    from qts.execution.live import LiveExecutor
    from qts.services.trading.live import BarSource, check_live_guards, make_broker, run_live
    from qts.services.trading.schemas import StrategyChanges
    from qts.services.trading.sessions import FeedSpec, TradingService
    from qts.services.trading.strategies import update_strategy

    try:
        check_live_guards(get_settings(), confirm_live)
        ctx = _context()
        executor = LiveExecutor(make_broker(ctx.settings, broker), f"live:{broker}")
        update_strategy(ctx.db, strategy_id, StrategyChanges(mode="live"), actor="cli")
        trading = TradingService(ctx)
        trading.start(strategy_id, "cli", FeedSpec("live"))
    except QtsError as e:
        console.print(f"[red]error:[/] {e.message}")
        raise typer.Exit(1) from e
    stop = threading.Event()
    source = BarSource(provider, exchange) if provider else None
    console.print(f"[bold red]LIVE[/] strategy {strategy_id} on {broker}; Ctrl-C stops it")
    try:
        run_live(trading, strategy_id, interval, stop, executor=executor, source=source)
    except KeyboardInterrupt:
        stop.set()
    finally:
        trading.stop(strategy_id, "cli")
        ctx.close()


def reconcile_cmd(
    broker: Annotated[str, typer.Option(help="kis, kiwoom, binance or upbit")],
) -> None:
    """Compare open orders and positions with the broker's, repair qts from the broker's truth,
    and print the differences."""
    import json

    from qts.core.errors import QtsError
    from qts.execution.live import LiveExecutor
    from qts.services.trading.live import make_broker
    from qts.services.trading.reconcile import reconcile
    from qts.services.trading.sessions import TradingService

    ctx = _context()
    try:
        executor = LiveExecutor(make_broker(ctx.settings, broker), f"live:{broker}")
        trading = TradingService(ctx)
        trading.orders.executors[executor.account] = executor
        report = reconcile(trading.orders, executor, "cli")
    except QtsError as e:
        console.print(f"[red]error:[/] {e.message}")
        raise typer.Exit(1) from e
    console.print_json(json.dumps(report.to_dict()))
    ctx.close()
