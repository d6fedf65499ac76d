from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

import qts.db.models  # noqa: F401 - registers every table
from qts.config import Settings
from qts.db.migrate import upgrade
from qts.db.models.jobs import JobRun
from qts.services.context import AppContext


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    """Embedded mode: an SQLite file, no Redis."""
    settings = Settings(
        _env_file=None, data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'qts.db'}",
        redis_url=None,
    )  # fmt: skip
    upgrade(settings.effective_database_url)
    context = AppContext.from_settings(settings)
    yield context
    context.close()


def runs(ctx: AppContext, job_name: str | None = None) -> list[JobRun]:
    q = select(JobRun).order_by(JobRun.id)
    if job_name:
        q = q.where(JobRun.job_name == job_name)
    with ctx.db.session() as s:
        return list(s.scalars(q))
