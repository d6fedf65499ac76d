"""`qts worker`, `qts beat` and `qts schedule list|run` (scale-out workers and the schedule).

The lead registers them in `qts.cli.main`:
    app.command()(worker); app.command()(beat); app.add_typer(schedule_app, name="schedule")
Celery is imported inside the commands, so `qts --help` stays fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from qts.cli.output import make_console

schedule_app = typer.Typer(help="The schedule of background jobs", no_args_is_help=True)
console = make_console()


def _prepare(role: str) -> None:
    from qts.config import get_settings
    from qts.observability.logging_setup import configure_logging
    from qts.workers.settings import WorkerSettings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    workers = WorkerSettings()
    if not (workers.celery_broker_url or workers.redis_url):
        console.print(
            f"[red]qts {role} needs a broker:[/] set QTS_REDIS_URL (or QTS_CELERY_BROKER_URL). "
            "In embedded mode `qts up` runs the schedule in process."
        )
        raise typer.Exit(2)


def worker(
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="Comma-separated queues (default: all)")
    ] = "",
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", help="Worker processes")
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l")] = "INFO",
    hostname: Annotated[
        str | None,
        typer.Option("--hostname", "-n", help="Node name, unique per host (default celery@HOST)"),
    ] = None,
) -> None:
    """Start a Celery worker (scale-out mode)."""
    _prepare("worker")
    from qts.workers.celery_app import app
    from qts.workers.schedule import QUEUES

    chosen = [q.strip() for q in queues.split(",") if q.strip()] or list(QUEUES)
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown:
        console.print(f"[red]unknown queue(s) {', '.join(unknown)}[/]; queues: {', '.join(QUEUES)}")
        raise typer.Exit(2)
    argv = ["worker", "-Q", ",".join(chosen), "--loglevel", loglevel]
    if concurrency:
        argv += ["-c", str(concurrency)]
    if hostname:
        argv += ["-n", hostname]
    app.worker_main(argv)


def beat(loglevel: Annotated[str, typer.Option("--loglevel", "-l")] = "INFO") -> None:
    """Start Celery beat: it sends the schedule's jobs to their queues (scale-out mode)."""
    _prepare("beat")
    from qts.config import get_settings
    from qts.workers.celery_app import app
    from qts.workers.settings import WorkerSettings

    schedule_file = WorkerSettings().beat_schedule_file or str(
        get_settings().ensure_data_dir() / "celerybeat-schedule"
    )
    app.start(["beat", "--loglevel", loglevel, "--schedule", schedule_file])


def _last_runs() -> dict[str, dict[str, object]]:
    try:
        from qts.services.context import AppContext
        from qts.services.ops.jobs import last_run_per_job

        ctx = AppContext.from_settings()
        try:
            return last_run_per_job(ctx)
        finally:
            ctx.close()
    except Exception:  # no database yet: the schedule is still worth showing
        return {}


def _job_rows(now: datetime) -> list[dict[str, object]]:
    from qts.services.ops.jobs import target_available
    from qts.workers.schedule import get_schedule, next_run_time

    last_runs = _last_runs()
    rows = []
    for job in get_schedule():
        last = last_runs.get(job.name)
        next_at = None
        if job.enabled:
            last_start = None
            if last and last.get("started_at"):
                last_start = datetime.fromisoformat(str(last["started_at"]))
            next_at = max(next_run_time(job, last_start, now), now)
        rows.append({
            "job": job.name, "queue": job.queue, "trigger": job.trigger.describe(),
            "target": job.target, "available": target_available(job.target),
            "enabled": job.enabled, "last_outcome": last["outcome"] if last else None,
            "last_started_at": str(last["started_at"]) if last else None,
            "next_run": next_at.isoformat() if next_at else None,
        })  # fmt: skip
    return rows


@schedule_app.command("list")
def list_jobs(
    as_json: Annotated[bool, typer.Option("--json", help="Print the jobs as JSON")] = False,
) -> None:
    """Every job with its queue, trigger, target availability, last outcome and next run."""
    now = datetime.now(UTC)
    rows = _job_rows(now)
    if as_json:
        from qts.cli.output import print_json

        print_json(rows)
        return
    table = Table(title=f"qts schedule (now {now:%Y-%m-%d %H:%M:%S} UTC)")
    for column in ("job", "queue", "trigger", "target", "last run", "next run (UTC)"):
        table.add_column(column, no_wrap=column in ("job", "last run", "next run (UTC)"))
    for row in rows:
        status = "" if row["available"] else " [yellow](not available)[/]"
        last = row["last_started_at"]
        last_text = f"{row['last_outcome']} {str(last)[:19]}" if last else "-"
        next_run = row["next_run"]
        next_text = str(next_run)[:19].replace("T", " ") if next_run else "[dim]disabled[/]"
        table.add_row(
            str(row["job"]), str(row["queue"]), str(row["trigger"]), f"{row['target']}{status}",
            last_text, next_text,
        )  # fmt: skip
    console.print(table)


@schedule_app.command("run")
def run_now(name: Annotated[str, typer.Argument(help="Job name")]) -> None:
    """Run one job now in this process and record it (useful to test a job)."""
    from qts.core.errors import NotFoundError
    from qts.services.context import AppContext
    from qts.services.ops.jobs import run_job
    from qts.workers.schedule import get_schedule

    try:
        job = get_schedule().get(name)
    except NotFoundError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from None
    ctx = AppContext.from_settings()
    try:
        outcome = run_job(ctx, job.name, job.target, job.kwargs, lock_seconds=job.lock_seconds,
                          trigger="manual")  # fmt: skip
    finally:
        ctx.close()
    colour = {"success": "green", "skipped": "yellow"}.get(outcome.outcome, "red")
    console.print(f"[{colour}]{job.name}: {outcome.outcome}[/] {outcome.error[-500:]}")
    if outcome.outcome == "failed":
        raise typer.Exit(1)
