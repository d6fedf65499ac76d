"""Progress of long work (`qts train`, `qts optimize`, `qts paper --replay`): a Rich bar with
totals and ETA in a terminal, else one plain line on stderr every `QTS_PROGRESS_SECONDS`
(default 10) and at the end, so piped and logged runs are not silent."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

# update(done, total, note): `total` None keeps the last known total.
Update = Callable[[int, int | None, str], None]


def _interval() -> float:
    try:
        return float(os.environ.get("QTS_PROGRESS_SECONDS", "10"))
    except ValueError:
        return 10.0


def _line(label: str, done: int, total: int | None, started: float, note: str) -> str:
    elapsed = time.monotonic() - started
    text = f"{label}: {done}"
    if total:
        text += f"/{total} ({100 * done / total:.0f}%)"
    text += f", {elapsed:.0f}s elapsed"
    if total and 0 < done < total:
        text += f", ~{elapsed / done * (total - done):.0f}s left"
    return text + (f" ({note})" if note else "")


@contextmanager
def progress(
    label: str, total: int | None = None, console: Console | None = None
) -> Iterator[Update]:
    err = console or Console(stderr=True)
    started = time.monotonic()
    state: dict[str, Any] = {"done": 0, "total": total, "note": "", "printed": started}
    if err.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=total, note="")

            def update_bar(done: int, new_total: int | None = None, note: str = "") -> None:
                state.update(done=done, note=note, total=new_total or state["total"])
                bar.update(task, completed=done, total=state["total"], note=note)

            yield update_bar
        return

    every = _interval()

    def update_line(done: int, new_total: int | None = None, note: str = "") -> None:
        state.update(done=done, note=note, total=new_total or state["total"])
        now = time.monotonic()
        if now - float(state["printed"]) >= every:
            state["printed"] = now
            state["last"] = _line(label, done, state["total"], started, note)
            print(state["last"], file=sys.stderr, flush=True)

    yield update_line
    final = _line(label, int(state["done"]), state["total"], started, str(state["note"]))
    if final != state.get("last"):  # the closing line, unless it was just printed
        print(final, file=sys.stderr, flush=True)
