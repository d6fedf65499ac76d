"""Apply Alembic migrations programmatically (used by `qts db upgrade` and `qts up`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from qts.db.engine import make_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Not Alembic's default name: Optuna keeps its own `alembic_version` in the same database.
VERSION_TABLE = "qts_schema_version"
STARTUP_LOCK_KEY = 0x717473  # "qts": the PostgreSQL advisory lock id of start-up work


@contextmanager
def startup_lock(url: str) -> Iterator[None]:
    """Hold a lock across processes while one of them migrates and loads first-start data, so
    servers started together do not race (PostgreSQL: a session advisory lock; SQLite: a lock
    file beside the database)."""
    url = normalize_url(url)
    if url.startswith("sqlite:///"):
        from filelock import FileLock

        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.startup-lock", timeout=600, mode=0o600):
            yield
        return
    if url.startswith("sqlite"):  # in memory: one process only
        yield
        return
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY})
            conn.commit()  # the lock is the session's; no transaction stays open around it
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would mangle '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> str:
    """Upgrade the database at `url` to `revision`; returns the revision it ends at."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
    return current_revision(url) or ""


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE}
            ).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return script.get_current_head() or ""
