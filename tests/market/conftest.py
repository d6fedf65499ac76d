from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import qts.db.models  # noqa: F401 - registers every table
from qts.db import Database
from qts.db.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "src" / "qts" / "sample_data"
DATA = ROOT / "tests" / "data"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    upgrade(f"sqlite:///{tmp_path / 'qts.db'}")
    db = Database(f"sqlite:///{tmp_path / 'qts.db'}")
    yield db
    db.dispose()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """A fresh PostgreSQL schema per test (the shared `pg_url` fixture empties it afterwards)."""
    upgrade(pg_url)
    db = Database(pg_url)
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Database:
    """Each test using `db` runs on SQLite and on a real PostgreSQL."""
    name = "sqlite_db" if request.param == "sqlite" else "pg_db"
    return request.getfixturevalue(name)
