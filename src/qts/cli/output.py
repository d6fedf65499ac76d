"""Consoles for the CLI. In a terminal Rich fits tables to its width; piped or redirected
(`qts schedule list | cat`) it would assume 80 columns and cut job names and timestamps, so
there the width is generous unless COLUMNS says otherwise."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console

PIPED_WIDTH = 200


def make_console(stderr: bool = False, **options: Any) -> Console:
    console = Console(stderr=stderr, **options)
    if not console.is_terminal and "COLUMNS" not in os.environ and "width" not in options:
        console = Console(stderr=stderr, width=PIPED_WIDTH, **options)
    return console


def print_json(data: Any) -> None:
    """Machine-readable output of a listing command (`--json`): one JSON document on stdout."""
    import json
    import sys

    sys.stdout.write(json.dumps(data, default=str) + "\n")
