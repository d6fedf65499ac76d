"""Worker and schedule settings (`QTS_*`, `.env`, or the YAML profile, like `qts.config`).

The schedule is overridden per job under the `schedule` key. In the YAML profile:

    schedule:
      features: {enabled: false}
      retraining: {after_close: XNYS, offset_minutes: 45}
      batch_inference: {interval_seconds: 600, queue: ml}
      my_report: {target: mypkg.reports.daily, queue: system, cron: "0 7 * * 1-5"}

or in the environment, with `__` between levels (job names are lower case):

    QTS_SCHEDULE__FEATURES__ENABLED=false
    QTS_SCHEDULE__BATCH_INFERENCE__INTERVAL_SECONDS=600
    QTS_SCHEDULE='{"evaluation": {"cron": "0 3 * * 0"}}'

Giving one trigger field (`interval_seconds`, `cron`, `after_close`, `session`) replaces the job's
trigger; a job name that is not in the defaults defines a new job (it then needs `target` and a
trigger).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from qts.config.settings import ProfileSettings


class JobOverride(BaseModel):
    enabled: bool | None = None
    target: str | None = None
    queue: str | None = None
    interval_seconds: float | None = Field(default=None, gt=0)
    cron: str | None = None
    after_close: str | None = None  # exchange whose close (per its calendar) starts the job
    offset_minutes: int | None = None  # after_close: minutes after the close
    session: str | None = None  # exchange: run every interval_seconds only while it is open
    kwargs: dict[str, Any] | None = None
    soft_time_limit: float | None = Field(default=None, gt=0)
    time_limit: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0)


class WorkerSettings(ProfileSettings):
    model_config = SettingsConfigDict(
        env_prefix="QTS_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    redis_url: str | None = None
    celery_broker_url: str | None = None  # default: redis_url (amqp://... for RabbitMQ)
    celery_result_backend: str | None = None  # default: redis_url
    workers_key_prefix: str = "qts:"  # Redis keys of locks and Celery's own keys
    worker_concurrency: int | None = None
    heartbeat_seconds: float = Field(default=30.0, gt=0)
    retry_backoff_seconds: float = Field(default=10.0, gt=0)  # first retry; doubles each time
    max_retry_backoff_seconds: float = Field(default=600.0, gt=0)
    beat_schedule_file: str | None = None  # default: <data_dir>/celerybeat-schedule
    # Training and tuning on the `ml` queue: hard limit (the soft limit is a minute earlier).
    ml_task_time_limit_seconds: float = Field(default=6 * 3600.0, gt=60)
    # Redis broker only: a task whose worker died comes back after this many seconds. It must
    # exceed the longest task (a running task is delivered again once it passes), so the
    # default is the ML limit plus ten minutes. RabbitMQ gives a lost task back at once.
    broker_visibility_timeout_seconds: float | None = Field(default=None, gt=0)
    schedule: dict[str, JobOverride] = Field(default_factory=dict)

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.redis_url or "redis://127.0.0.1:6379/0"

    @property
    def visibility_timeout(self) -> float:
        return self.broker_visibility_timeout_seconds or self.ml_task_time_limit_seconds + 600

    @property
    def result_backend(self) -> str:
        return self.celery_result_backend or self.redis_url or "redis://127.0.0.1:6379/0"
