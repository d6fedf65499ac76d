"""Offline or failing providers end `qts data fetch` in one line naming the provider, the host
and the cause, with exit code 3 (usage errors exit 2); `-v` adds the traceback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qts.cli.guard import EXIT_NETWORK, EXIT_USAGE
from qts.cli.main import app

runner = CliRunner()
FETCH = ["data", "fetch", "--symbol", "AAPL", "--timeframe", "1d", "--since", "2024-01-01"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Unavailable(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>down for maintenance</html>")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_503() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _fetch(provider: str, base_url: str, *extra: str) -> tuple[int, str, float]:
    symbol = ["--symbol", "BTC/USDT"] if provider == "ccxt" else []
    started = time.perf_counter()
    r = runner.invoke(
        app, [*extra, *FETCH, "--provider", provider, "--base-url", base_url, *symbol]
    )
    return r.exit_code, r.output, time.perf_counter() - started


@pytest.mark.parametrize("provider", ["yahoo", "krx", "ccxt"])
def test_unresolvable_host_is_one_line_and_fast(provider: str, fresh_data_dir: Path) -> None:
    code, output, seconds = _fetch(provider, "http://nonexistent.invalid")
    name = "binance" if provider == "ccxt" else provider
    assert code == EXIT_NETWORK
    assert output.strip() == (
        f"error: {name}: cannot reach nonexistent.invalid: DNS lookup failed "
        "(unknown host, or no network)"
    )
    assert seconds < 10  # no retries with back-off on a DNS failure


@pytest.mark.parametrize("provider", ["yahoo", "krx", "ccxt"])
def test_refused_connection_names_host_and_cause(provider: str, fresh_data_dir: Path) -> None:
    code, output, _ = _fetch(provider, f"http://127.0.0.1:{_closed_port()}")
    assert code == EXIT_NETWORK
    assert "cannot reach 127.0.0.1: connection refused" in output
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output


@pytest.mark.parametrize("provider", ["yahoo", "krx"])
def test_server_error_names_the_http_status(
    provider: str, server_503: str, fresh_data_dir: Path
) -> None:
    code, output, _ = _fetch(provider, server_503)
    assert code == EXIT_NETWORK
    assert output.strip() == f"error: {provider}: 127.0.0.1 answered HTTP 503"


def test_verbose_adds_the_traceback(fresh_data_dir: Path) -> None:
    code, output, _ = _fetch("yahoo", "http://nonexistent.invalid", "-v")
    assert code == EXIT_NETWORK
    assert "Traceback" in output and output.strip().endswith("(unknown host, or no network)")


def test_usage_errors_keep_their_own_exit_code(fresh_data_dir: Path) -> None:
    r = runner.invoke(app, [*FETCH, "--provider", "carrier-pigeon"])
    assert r.exit_code == EXIT_USAGE and "unknown provider 'carrier-pigeon'" in r.output
