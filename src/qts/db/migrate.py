"""Apply Alembic migrations programmatically (used by `qts db upgrade` and `qts up`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from qts.db.engine import make_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Not Alembic's default name: Optuna keeps its own `alembic_version` in the same database.
VERSION_TABLE = "qts_schema_version"


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
