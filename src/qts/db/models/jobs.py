"""Scheduled job runs and system status records (workers issue).

`job_runs` keeps one row per attempt of every job, whatever ran it (Celery worker or the
embedded runner), so `GET /api/v1/system/jobs` shows the same history in both modes.
`system_status` is a small key/value store: the system monitor's last health report and each
worker's heartbeat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qts.db.base import Base, utcnow


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job_name", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36), unique=True)
    job_name: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(64), default=None)  # Celery task id
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule|manual
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    outcome: Mapped[str] = mapped_column(String(16), index=True)  # running|success|failed|skipped
    error: Mapped[str] = mapped_column(Text, default="")  # error text, or why it was skipped
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    final: Mapped[bool] = mapped_column(default=True)  # False: a retry follows this failure
    worker_host: Mapped[str] = mapped_column(String(255), default="")
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SystemStatus(Base):
    __tablename__ = "system_status"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
