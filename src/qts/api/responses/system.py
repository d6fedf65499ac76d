"""Bodies of /health, /ready and /api/v1/system/*."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from qts.api.responses.common import OpenModel


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str


class ComponentCheck(OpenModel):
    """One component's check; each component adds its own figures (latency, bytes free...)."""

    ok: bool | None = None
    backend: str | None = None
    configured: bool | None = None
    latency_ms: float | None = None
    error: str | None = None


class ReadyOut(BaseModel):
    status: Literal["ready"]
    checks: dict[str, ComponentCheck]


class VersionOut(BaseModel):
    version: str


class SystemStatusOut(OpenModel):
    version: str
    profile: str
    mode: str
    database: str
    redis: bool
    scheduler: bool
    live_trading_enabled: bool
    components: dict[str, ComponentCheck]


class WorkerProcess(OpenModel):
    name: str
    last_seen: str
    age_seconds: float
    alive: bool


class WorkersCheck(ComponentCheck):
    alive: int = 0
    stale: int = 0
    processes: list[WorkerProcess] = []


class DiskCheck(ComponentCheck):
    path: str | None = None
    total_bytes: int | None = None
    free_bytes: int | None = None
    free_percent: float | None = None


class MonitorComponents(BaseModel):
    database: ComponentCheck | None = None
    redis: ComponentCheck | None = None
    workers: WorkersCheck | None = None
    disk: DiskCheck | None = None
    queues: dict[str, int] | None = None  # messages waiting per Celery queue
    queues_error: str | None = None


class MonitorReport(BaseModel):
    """The system monitor's last report; `unknown` before its first run."""

    status: Literal["ok", "degraded", "down", "unknown"]
    checked_at: str | None
    components: MonitorComponents


class JobRunOut(BaseModel):
    id: int
    run_id: str
    job_name: str
    task_id: str | None
    trigger: str
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None
    outcome: str
    error: str | None
    attempt: int
    final: bool
    worker_host: str | None
    result: dict[str, Any] | None  # what the job reported; each job has its own fields


class ScheduledJob(BaseModel):
    name: str
    queue: str
    trigger: str
    enabled: bool
    available: bool
    next_run: str | None
    description: str


class JobsOut(BaseModel):
    runs: list[JobRunOut]
    last: dict[str, JobRunOut]  # each job's latest run, by job name
    schedule: list[ScheduledJob]


class JobTriggered(BaseModel):
    job: str
    mode: Literal["embedded", "scale-out"]
    accepted: bool
    detail: str | None = None  # embedded: "queued" or "already running"
    task_id: str | None = None  # scale-out: the Celery task id


class KillSwitchState(BaseModel):
    on: bool


class KillSwitchChange(BaseModel):
    on: bool
    by: str
    at: str
    cancelled_orders: int
