"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import qts.db.models  # noqa: F401 - registers every table
from qts.db import Database
from qts.db.base import Base
from qts.db.migrate import VERSION_TABLE, current_revision, head_revision, upgrade


def test_migrations_match_the_models(db_url: str) -> None:
    assert upgrade(db_url) == head_revision() == current_revision(db_url)
    db = Database(db_url)
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}), Base.metadata
        )
    db.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
