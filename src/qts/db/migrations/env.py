"""Alembic environment: the URL comes from the caller (qts db upgrade) or from settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import qts.db.models  # noqa: F401 - registers every table
from qts.db.base import Base
from qts.db.engine import make_engine, normalize_url
from qts.db.migrate import VERSION_TABLE

config = context.config
configured = config.get_main_option("sqlalchemy.url")
if not configured:
    from qts.config import get_settings

    configured = get_settings().effective_database_url
url: str = normalize_url(configured)


def run_offline() -> None:
    context.configure(
        url=url, target_metadata=Base.metadata, render_as_batch=True, version_table=VERSION_TABLE
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # Batch mode lets the same migrations ALTER tables on SQLite.
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
