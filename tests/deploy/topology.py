"""The scale-out topology as real processes, without Docker: what docker-compose.yml runs, on
the machine's PostgreSQL, Redis and RabbitMQ. Each process gets its own data directory (no
shared disk); models travel through the MLflow server only."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
QTS = [sys.executable, "-m", "qts.cli"]
# Beat sends only jobs that stay on this machine (the market data jobs would call exchanges).
SCHEDULE = {
    name: {"enabled": False}
    for name in ("market_data_xkrx", "market_data_xnys", "market_data_crypto", "features",
                 "batch_inference", "retraining", "evaluation")
}  # fmt: skip


def bin_of(name: str) -> list[str]:
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", name]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Topology:
    tmp: Path
    base_env: dict[str, str]
    procs: dict[str, Proc] = field(default_factory=dict)

    def env(self, role: str, **extra: str) -> dict[str, str]:
        data_dir = self.tmp / role
        data_dir.mkdir(parents=True, exist_ok=True)
        return {**self.base_env, "QTS_DATA_DIR": str(data_dir), **extra}

    def start(self, name: str, argv: list[str], **extra: str) -> Proc:
        log = self.tmp / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(
                argv, env=self.env(name, **extra), cwd=self.tmp, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.procs[name] = Proc(name, popen, log)
        return self.procs[name]

    def run_cli(self, *args: str, stdin: str | None = None) -> str:
        r = subprocess.run([*QTS, *args], env=self.env("cli"), input=stdin, capture_output=True,
                           text=True, timeout=180)  # fmt: skip
        assert r.returncode == 0, f"qts {' '.join(args)}: {r.stdout}\n{r.stderr}"
        return r.stdout

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
        deadline = time.time() + timeout
        while True:
            try:
                value = check()
                if value:
                    return value
            except (httpx.TransportError, OSError):
                pass
            dead = [p.name for p in self.procs.values() if p.popen.poll() is not None]
            if time.time() > deadline or dead:
                logs = "\n".join(f"--- {p.name}\n{p.text()[-3000:]}" for p in self.procs.values())
                raise AssertionError(f"waiting for {what}; exited: {dead}\n{logs}")
            time.sleep(0.3)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.popen.poll() is None:
                os.killpg(proc.popen.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(5)


def rabbitmq_vhost() -> str:
    """A vhost of its own on the machine's RabbitMQ: queues of other runs never mix in."""
    vhost = f"qts-scale-{uuid.uuid4().hex[:8]}"
    for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]):
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)
    return vhost


def drop_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


def schedule_json() -> str:
    return json.dumps(SCHEDULE)
