"""`qts predict --model NAME[@alias|/version] [--symbols A,B]`: score the newest stored bar of
each symbol with a registered version, through the online feature store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def predict(
    model: Annotated[str, typer.Option(help="NAME@alias, NAME/version or NAME (= @production)")],
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated stored symbols (default: its universe)")
    ] = None,
    record: Annotated[
        bool, typer.Option(help="Store in ml_predictions and publish on predictions:<model>")
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Score the newest bar of each symbol (none for bars inside the training window)."""
    from qts.cli.common import app_context
    from qts.core.errors import QtsError
    from qts.services.ml.model_strategies import predict_now

    ctx = app_context(data_dir)
    try:
        names = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
        out = predict_now(ctx, model, names, record)
    except QtsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(out))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{out['model']} v{out['model_version']} (trained to "
                        f"{out['train_end'][:10]})")  # fmt: skip
    for col in ("symbol", "bar", "score", "signal", "confidence"):
        table.add_column(col)
    for p in out["predictions"]:
        conf = p["signal"]["confidence"]
        table.add_row(p["symbol"], p["ts"][:19], f"{p['value']:.6g}", p["signal"]["label"],
                      "-" if conf is None else f"{conf:.2f}")  # fmt: skip
    Console().print(table)
    if out["unscored"]:
        typer.echo(f"no score (too few bars, or inside the training window): {out['unscored']}")
