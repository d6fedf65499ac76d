"""The `qts` command. Heavy modules are imported inside commands so `qts --help` is instant."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from qts.cli import (
    backtest_cmd,
    data_cmd,
    doctor_cmd,
    features_cmd,
    ml_cmd,
    monitor_cmd,
    optimize_cmd,
    predict_cmd,
    serve_cmd,
    stream_cmd,
    trading_cmd,
    worker_cmd,
)
from qts.cli.guard import guard_all, set_verbose
from qts.cli.output import make_console

app = typer.Typer(
    name="qts",
    help="qts: quant trading system. Data, features, models, backtests, paper and live trading.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(data_cmd.app, name="data", help="Market data: import, fetch, synthesize, list.")
app.add_typer(trading_cmd.strategy_app, name="strategy")
app.command("backtest")(backtest_cmd.backtest)
app.command("optimize")(optimize_cmd.optimize)
app.add_typer(features_cmd.app, name="features", help="Features: build, list, materialize.")
app.command("train")(ml_cmd.train)
app.command("tune")(ml_cmd.tune)
app.command("predict")(predict_cmd.predict)
app.command("monitor")(monitor_cmd.monitor)
app.command("serve-models")(serve_cmd.serve_models)
app.add_typer(ml_cmd.models_app, name="models", help="Registered models: list, promote.")
app.command("paper")(trading_cmd.paper)
app.command("worker")(worker_cmd.worker)
app.command("beat")(worker_cmd.beat)
app.add_typer(worker_cmd.schedule_app, name="schedule", help="The job schedule.")
app.command("kill-switch")(trading_cmd.kill_switch)
app.command("live")(trading_cmd.live)
app.command("reconcile")(trading_cmd.reconcile_cmd)
app.command("stream")(stream_cmd.stream)
app.command("doctor")(doctor_cmd.doctor)

console = make_console()
err_console = make_console(stderr=True)


@app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Tracebacks on errors; third-party logs")
    ] = False,
) -> None:
    """qts: quant trading system. Data, features, models, backtests, paper and live trading.

    Exit codes: 0 ok, 1 failed, 2 usage or invalid input, 3 network, 4 missing extra."""
    set_verbose(verbose)


def _apply_data_dir(data_dir: Path | None) -> None:
    import os

    from qts.config import reset_settings_cache

    if data_dir is not None:
        os.environ["QTS_DATA_DIR"] = str(data_dir)
    reset_settings_cache()


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@app.command()
def version() -> None:
    """Print the qts version."""
    import qts

    console.print(f"qts {qts.__version__}")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (embedded mode)")] = None,
) -> None:
    """Apply database migrations (SQLite in embedded mode, PostgreSQL when configured)."""
    _apply_data_dir(data_dir)
    from qts.config import get_settings
    from qts.db.migrate import upgrade

    settings = get_settings()
    settings.ensure_data_dir()
    rev = upgrade(settings.effective_database_url, revision)
    console.print(f"database at revision [bold]{rev}[/] ({settings.public_summary()['database']})")


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Username")],
    role: Annotated[str, typer.Option(help="admin, trader or viewer")] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (embedded mode)")] = None,
) -> None:
    """Create a user. The password comes from stdin or a prompt, never from an argument."""
    _apply_data_dir(data_dir)
    from qts.cli.common import open_database
    from qts.core.errors import QtsError
    from qts.services.auth.schemas import NewUser
    from qts.services.auth.users import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = open_database()
    try:
        user = create_user(db, NewUser.parse(username=name, password=password, role=role))
    except QtsError as e:
        raise fail(e.message) from e
    finally:
        db.dispose()
    console.print(f"created user [bold]{user.username}[/] with role {user.role}")


@user_app.command("list")
def user_list(
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (embedded mode)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON")] = False,
) -> None:
    """List users."""
    _apply_data_dir(data_dir)
    from rich.table import Table

    from qts.cli.common import open_database
    from qts.cli.output import print_json
    from qts.services.auth.users import list_users

    db = open_database()
    users = list_users(db)
    db.dispose()
    if as_json:
        print_json([u.model_dump(mode="json") for u in users])
        return
    table = Table("id", "username", "role", "active", "created")
    table.columns[1].no_wrap = True
    for u in users:
        table.add_row(str(u.id), u.username, u.role, str(u.is_active), u.created_at)
    console.print(
        table if users else "no users yet: qts user create NAME --role admin --password-stdin"
    )


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (embedded mode)")] = None,
    scheduler: Annotated[
        bool | None,
        typer.Option("--scheduler/--no-scheduler", help="Run scheduled jobs in process"),
    ] = None,
) -> None:
    """Start the API server and (embedded mode) the in-process job runner."""
    _apply_data_dir(data_dir)
    from qts.api.server import serve
    from qts.core.errors import QtsError

    try:
        serve(host=host, port=port, run_scheduler=scheduler, console=console)
    except QtsError as e:  # a bad database URL or setting: one line, not a traceback
        err_console.print(f"[bold red]error:[/] {e.message}", soft_wrap=True)
        raise typer.Exit(1) from None


guard_all(app)


def main() -> None:  # pragma: no cover - console entry point
    app()
