"""API load benchmark: requests/s, p50 and p99 latency of the read endpoints a dashboard polls.

    python benchmarks/bench_api.py [--requests 3000] [--concurrency 1,16]
    python benchmarks/bench_api.py --url http://127.0.0.1:8000 --username U --password P

Without `--url` it starts a real `qts up` server process (one uvicorn worker) on a temporary
SQLite data directory (first start loads the packaged sample bars), creates a viewer, builds the
features of `--symbol` with `qts features build`, and stops the server at the end. The load comes
from a bounded asyncio client (aiohttp, keep-alive connections; `concurrency` requests in flight at
most, a fixed number of requests per case) on 127.0.0.1 only. Each case is warmed first.
Client and server share the machine: on a busy machine both figures are load-dependent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

QTS = [sys.executable, "-m", "qts.cli"]
LOOPBACK = ("127.0.0.1", "localhost", "::1")
USER, PASSWORD = "bench", "bench-password-1"


@dataclass
class Case:
    name: str
    path: str
    target_rps: float | None = None


@dataclass
class Result:
    requests: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path, log_level: str) -> dict[str, str]:
    # Our own QTS_* settings only: embedded mode (SQLite, in-process online store, no Redis).
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTS_")}
    env.update(
        QTS_DATA_DIR=str(data_dir), QTS_RUN_SCHEDULER="false", QTS_LOG_LEVEL=log_level
    )  # fmt: skip
    return env


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    r = subprocess.run(
        [*QTS, *args], input=stdin, env=env, capture_output=True, text=True, timeout=300
    )
    if r.returncode != 0:
        raise SystemExit(f"qts {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")


@contextmanager
def local_server(symbol: str, log_level: str) -> Iterator[str]:
    """A `qts up` process on a fresh data directory, with a viewer and `symbol`'s features."""
    with tempfile.TemporaryDirectory(prefix="qts-bench-api-") as tmp:
        env = _env(Path(tmp) / "var", log_level)
        port = free_port()
        log_path = Path(tmp) / "server.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [*QTS, "up", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                _wait_healthy(base, proc, log_path)
                _cli(env, "user", "create", USER, "--role", "viewer", "--password-stdin",
                     stdin=PASSWORD + "\n")  # fmt: skip
                _cli(env, "features", "build", "--symbols", symbol, "--timeframe", "1d")
                yield base
            finally:
                proc.terminate()
                proc.wait(timeout=30)


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{log_path.read_text()}")
        time.sleep(0.2)


def login(base: str, username: str, password: str) -> dict[str, str]:
    r = httpx.post(
        base + "/api/v1/auth/login", data={"username": username, "password": password}, timeout=30
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def load(
    base: str, path: str, headers: dict[str, str], concurrency: int, requests: int, warmup: int
) -> Result:
    """`requests` GETs with at most `concurrency` in flight; every answer must be a 200.

    aiohttp drives the load: httpx's connection pool tops out near 500 req/s at 16 connections
    on this kind of machine, well below the server, so it would measure the client."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        base, headers=headers, connector=connector, timeout=timeout
    ) as session:
        latencies: list[float] = []
        remaining = 0

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with session.get(path) as r:
                    body = await r.read()
                latencies.append(time.perf_counter() - start)
                if r.status != 200:
                    raise SystemExit(f"GET {path}: {r.status} {body[:300]!r}")

        # Warm-up: every connection opened and the server's caches filled before timing.
        remaining = warmup
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        remaining = requests
        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    return Result(len(latencies), seconds, np.array(latencies) * 1e3)


def cases(symbol: str) -> list[Case]:
    return [
        Case("health (floor: no auth, no database)", "/health"),
        Case(f"features/{symbol}", f"/api/v1/features/{symbol}?timeframe=1d", 1000),
        Case(f"market/bars {symbol} (all bars)", f"/api/v1/market/bars?symbol={symbol}", 500),
    ]


def run(base: str, headers: dict[str, str], args: argparse.Namespace) -> list[list[str]]:
    rows = []
    for case in cases(args.symbol):
        for concurrency in args.concurrency:
            res = asyncio.run(
                load(base, case.path, headers, concurrency, args.requests, args.warmup)
            )
            target = f">= {case.target_rps:,.0f}" if case.target_rps and concurrency >= 16 else ""
            rows.append(
                [case.name, str(concurrency), f"{res.rps:,.0f}", f"{res.pct(50):.2f}",
                 f"{res.pct(99):.2f}", target]
            )  # fmt: skip
    return rows


def print_table(rows: list[list[str]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("endpoint", "concurrency", "req/s", "p50 (ms)", "p99 (ms)", "target"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", help="an already running server (loopback only)")
    p.add_argument("--username", default=USER)
    p.add_argument("--password", default=PASSWORD)
    p.add_argument("--symbol", default="005930", help="a stored 1d symbol (sample: 370 bars)")
    p.add_argument("--requests", type=int, default=3000, help="timed requests per case")
    p.add_argument("--warmup", type=int, default=200, help="untimed requests per case first")
    p.add_argument("--concurrency", default="1,16", help="comma list of in-flight limits")
    p.add_argument("--server-log-level", default="WARNING",
                   help="log level of the started server (INFO also writes access lines)")  # fmt: skip
    args = p.parse_args(argv)
    args.concurrency = [int(c) for c in str(args.concurrency).split(",")]
    if args.url and urlsplit(args.url).hostname not in LOOPBACK:
        p.error("--url must be a loopback address: this load is not meant for remote servers")
    if args.requests < 1 or any(c < 1 or c > 256 for c in args.concurrency):
        p.error("--requests >= 1 and each concurrency in 1..256")
    return args


def main(argv: list[str] | None = None) -> list[list[str]]:
    args = parse_args(argv)
    load_avg = "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.url:
        base = args.url.rstrip("/")
        rows = run(base, login(base, args.username, args.password), args)
    else:
        with local_server(args.symbol, args.server_log_level) as base:
            rows = run(base, login(base, USER, PASSWORD), args)
    print_table(rows, f"qts API under load ({os.cpu_count()} CPUs, {load_avg} at start)")
    return rows


if __name__ == "__main__":
    main()
