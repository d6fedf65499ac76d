"""`qts serve-models`: the inference engine as its own process and port (`qts.api.model_server`);
point strategy workers at it with `QTS_INFERENCE_URL=http://HOST:PORT`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_models(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port")] = 8100,
    max_wait_ms: Annotated[
        float, typer.Option(min=0, max=1000, help="Micro-batching: wait for more requests")
    ] = 2.0,
    max_rows: Annotated[
        int, typer.Option(min=1, help="Micro-batching: rows per model call")
    ] = 4096,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory")] = None,
) -> None:
    """Serve registered models over HTTP: /health, /v1/predict, /v1/score_history."""
    from qts.api.model_server import serve_models as run
    from qts.cli.common import ensure_database

    ensure_database(data_dir)
    typer.echo(f"qts model server on http://{host}:{port} (health: /health)")
    run(host, port, max_wait_ms, max_rows)
