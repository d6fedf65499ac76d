"""Persistence: SQLAlchemy models, Alembic migrations and repositories."""

from qts.db.engine import Database, make_engine, normalize_url

__all__ = ["Database", "make_engine", "normalize_url"]
