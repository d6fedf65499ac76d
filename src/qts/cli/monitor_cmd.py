"""`qts monitor --model NAME`: a drift check of a served model version (stored in
`model_monitoring`; a breach notifies and starts retraining), or `--stored` for past checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def monitor(
    model: Annotated[str, typer.Option(help="Registered model name")],
    alias: Annotated[str, typer.Option(help="The alias to check")] = "production",
    window: Annotated[
        int | None, typer.Option(min=5, help="Bars after the training window (default: settings)")
    ] = None,
    stored: Annotated[
        bool, typer.Option("--stored", help="Show stored checks instead of running one")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Stored checks to show")] = 10,
    retrain: Annotated[
        bool, typer.Option(help="A breach starts a retraining run (QTS_MONITOR_RETRAIN)")
    ] = True,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """PSI and KS of each feature and of the scores against the training reference, and the
    realised IC, on bars after the training window only."""
    from qts.cli.common import app_context
    from qts.core.errors import QtsError
    from qts.services.ml import monitoring

    ctx = app_context(data_dir)
    try:
        if stored:
            records = monitoring.list_checks(ctx, model, limit)
        else:
            records = [
                monitoring.check_model(ctx, model, alias, window, None if retrain else False)
            ]
    except QtsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(records))
        return
    for record in records:
        _print(record)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def _print(record: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    report = record["report"]
    title = (f"{record['model']} v{record['version']} checked {record['checked_at'][:19]}: "
             f"{record['rows']} rows, bars {str(record['window_start'])[:10]} to "
             f"{str(record['window_end'])[:10]}")  # fmt: skip
    table = Table(title=title)
    for col in ("column", "PSI", "KS", "KS p", "mean", "training mean", "breach"):
        table.add_column(col)
    entries = [*report.get("features", {}).items(), ("prediction", report.get("prediction"))]
    for name, e in entries:
        if e:
            table.add_row(name, _fmt(e["psi"]), _fmt(e["ks"]), _fmt(e["ks_pvalue"]),
                          _fmt(e["mean"]), _fmt(e["ref_mean"]), ",".join(e["breach"]))  # fmt: skip
    console = Console()
    console.print(table)
    console.print(f"realised {record['ic_kind']}: {_fmt(record['ic'])}")
    verdict = "BREACH" if record["breach"] else "no breach"
    console.print(f"{verdict}; retraining run: {record['retraining_run_id'] or '-'}")
